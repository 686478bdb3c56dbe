"""Response teams at their live positions with status, type, members, video link and a short recent track."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from accounts.principal import Principal
from accounts.scope import scope_sql
from geo import beijing
from geo.geojson import FeatureCollection, feature, feature_collection, point
from layers.base import Layer, LayerFilters
from layers.registry import register
from store import topics

STATUS_ZH = {"standby": "待命", "dispatched": "出动", "on_site": "在岗", "resting": "休整"}
TYPE_ZH = {"epi": "流调", "sampling": "采样检测", "disinfection": "消杀", "treatment": "医疗救治"}
TRACK_POINTS = 6


def _scope(principal: Principal) -> tuple[str, dict[str, Any]]:
    return scope_sql(principal, "t.district_code", "t.institution_id")


def teams_geojson(session: Session, principal: Principal, filters: LayerFilters | None = None,
                  track_points: int = TRACK_POINTS) -> FeatureCollection:
    """Teams with a position; `track` holds up to `track_points` latest fixes, oldest first, as [lon, lat]."""
    where, params = _scope(principal)
    if filters is not None and filters.bbox:
        where += " AND t.geom && ST_MakeEnvelope(:w, :s, :e, :n, 4326)"
        params.update(dict(zip("wsen", filters.bbox, strict=True)))
    rows = session.execute(text(f"""
        SELECT t.id, t.code, t.name, t.type, t.status, t.members, t.video_online, t.district_code,
               t.position_time, ST_X(t.geom), ST_Y(t.geom),
               (SELECT json_agg(json_build_array(ST_X(p.geom), ST_Y(p.geom)) ORDER BY p.time)
                  FROM (SELECT geom, time FROM team_position WHERE team_id = t.id ORDER BY time DESC LIMIT :n) p)
        FROM team t WHERE t.geom IS NOT NULL AND {where} ORDER BY t.code"""), {**params, "n": track_points}).all()
    features = [feature(point(r[9], r[10], ndigits=None), id=r[0], properties={
        "id": r[0], "code": r[1], "name": r[2], "type": r[3], "type_zh": TYPE_ZH.get(r[3], r[3]),
        "status": r[4], "status_zh": STATUS_ZH.get(r[4], r[4]), "members": r[5], "video_online": r[6],
        "district_code": r[7], "position_time": beijing.iso(r[8]),
        "track": r[11] if isinstance(r[11], list) else json.loads(r[11] or "[]"),
    }) for r in rows]
    return feature_collection(features)


def _updated_at(session: Session, principal: Principal) -> datetime | None:
    where, params = _scope(principal)
    return session.execute(text(f"SELECT GREATEST(MAX(t.updated_at), MAX(t.position_time)) FROM team t WHERE {where}"),
                           params).scalar()


register(Layer("teams", "应急队伍", "Point", teams_geojson, _updated_at, group="command",
               meta={"statuses": STATUS_ZH, "types": TYPE_ZH}, depends_on=(topics.TEAMS,)))
