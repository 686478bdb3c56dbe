"""Incidents being handled (created by hand or from a confirmed signal) with their affected area, plus confirmed
or responding signals that have no incident yet."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from accounts.principal import Principal
from accounts.scope import scope_sql
from geo import beijing
from geo.geojson import FeatureCollection, feature, feature_collection, parsed
from layers.base import Layer, LayerFilters
from layers.registry import register
from store import topics

STATUS_ZH = {"open": "处置中", "closed": "已结案", "confirmed": "已确认", "responding": "处置中"}
OPEN_SIGNAL_STATES = ("confirmed", "responding")


def _district(principal: Principal) -> tuple[str, dict[str, Any]]:
    return scope_sql(principal, "x.district_code")


def incidents_geojson(session: Session, principal: Principal, filters: LayerFilters | None = None,
                      include_closed: bool = False) -> FeatureCollection:
    """Open incidents (area polygon, else point) and confirmed warning events (not raw alarms) without an incident."""
    where, params = _district(principal)
    status = "" if include_closed else "AND x.status <> 'closed'"
    rows = session.execute(text(f"""
        SELECT 'incident', x.id, x.title, x.kind, x.status, x.district_code, x.signal_id,
               ST_AsGeoJSON(COALESCE(x.area, x.geom), 6), ST_X(ST_PointOnSurface(COALESCE(x.geom, x.area))),
               ST_Y(ST_PointOnSurface(COALESCE(x.geom, x.area))), x.created_at
        FROM incident x WHERE COALESCE(x.area, x.geom) IS NOT NULL AND {where} {status}
        UNION ALL
        SELECT 'signal', x.id, x.title, x.model, x.state, x.district_code, x.id,
               ST_AsGeoJSON(x.geom, 6), ST_X(ST_PointOnSurface(x.geom)), ST_Y(ST_PointOnSurface(x.geom)), x.last_fired_at
        FROM signal x WHERE x.kind = 'event' AND x.geom IS NOT NULL AND x.state = ANY(:states) AND {where}
          AND NOT EXISTS (SELECT 1 FROM incident i WHERE i.signal_id = x.id)
        ORDER BY 11 DESC"""), {**params, "states": list(OPEN_SIGNAL_STATES)}).all()
    features = [feature(parsed(r[7]), id=f"{r[0]}:{r[1]}", properties={
        "source": r[0], "id": r[1], "title": r[2], "kind": r[3], "status": r[4],
        "status_zh": STATUS_ZH.get(r[4], r[4]), "district_code": r[5], "signal_id": r[6],
        "lon": r[8], "lat": r[9], "time": beijing.iso(r[10]),
    }) for r in rows]
    return feature_collection(features)


def _updated_at(session: Session, principal: Principal) -> datetime | None:
    where, params = _district(principal)
    return session.execute(text(f"SELECT MAX(x.created_at) FROM incident x WHERE {where}"), params).scalar()


register(Layer("incidents", "突发事件", "Geometry", incidents_geojson, _updated_at, group="command",
               depends_on=(topics.INCIDENTS, topics.SIGNALS)))
