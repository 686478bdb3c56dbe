"""Schools coloured by illness absenteeism (education bureau feed) over the period, with symptom groups."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from accounts.principal import Principal
from accounts.scope import scope_sql
from geo.geojson import FeatureCollection, feature, feature_collection, point
from layers.base import Layer, LayerFilters, resolve_area
from layers.registry import register
from store import topics

KIND_ZH = {"kindergarten": "幼儿园", "primary": "小学", "middle": "中学"}
# illness absence rate (‰ of pupil-days) → colour, lowest class first
RATE_CLASSES = ((5.0, "#1a9850"), (10.0, "#fee08b"), (20.0, "#fc8d59"), (float("inf"), "#d73027"))


def feed_scope(principal: Principal, alias: str) -> tuple[str, dict[str, Any]]:
    """Feeds belong to districts: city roles see all, district roles their district, institutions none."""
    return scope_sql(principal, f"{alias}.district_code")


def feed_area(session: Session, principal: Principal, filters: LayerFilters, alias: str) -> tuple[str, dict[str, Any]]:
    """Scope, the filtered area (district or street, by `<alias>.region_code`) and the bbox on `<alias>.geom`."""
    where, params = feed_scope(principal, alias)
    parts = [where]
    if filters.region:
        area = resolve_area(session, principal, filters.region)
        if area.kind == "district":
            parts.append(f"{alias}.district_code = :area")
            params["area"] = area.code
        elif area.kind == "street":
            parts.append(f"{alias}.region_code = :area")
            params["area"] = area.code
    if filters.bbox:
        parts.append(f"{alias}.geom && ST_MakeEnvelope(:w, :s, :e, :n, 4326)")
        params.update(dict(zip("wsen", filters.bbox, strict=True)))
    return " AND ".join(parts), params


def rate_color(rate: float | None) -> str:
    if rate is None:
        return "#bdbdbd"
    return next(color for limit, color in RATE_CLASSES if rate < limit)


def schools_layer(session: Session, principal: Principal, filters: LayerFilters) -> FeatureCollection:
    """Each school with its illness absence rate (‰ pupil-days) and symptom-group counts in the period (7 days)."""
    since, until = filters.period(default_days=7)
    where, params = feed_area(session, principal, filters, "s")
    rows = session.execute(text(f"""
        SELECT s.id, s.code, s.name, s.kind, s.region_code, s.district_code, s.position_is_demo,
               ST_X(s.geom) AS lon, ST_Y(s.geom) AS lat, count(a.id) AS days, sum(a.enrolled) AS pupil_days,
               sum(a.absent) AS absent, sum(a.absent_ill) AS ill, sum(a.fever) AS fever,
               sum(a.respiratory) AS respiratory, sum(a.gastrointestinal) AS gastrointestinal, sum(a.rash) AS rash,
               max(a.day) AS last_day
        FROM school s LEFT JOIN school_absence a ON a.school_id = s.id AND a.day BETWEEN :since AND :until
        WHERE s.geom IS NOT NULL AND {where}
        GROUP BY s.id ORDER BY s.code LIMIT :limit"""), {**params, "since": since, "until": until,
                                                          "limit": filters.limit}).all()
    features = []
    for r in rows:
        rate = round(1000 * r.ill / r.pupil_days, 2) if r.pupil_days else None
        features.append(feature(point(r.lon, r.lat), id=r.id, properties={
            "id": r.id, "code": r.code, "name": r.name, "kind": r.kind,
            "kind_zh": KIND_ZH.get(r.kind, r.kind), "region_code": r.region_code,
            "district_code": r.district_code, "position_is_demo": r.position_is_demo,
            "days": r.days, "absent": r.absent, "absent_ill": r.ill, "ill_rate_permille": rate,
            "fever": r.fever, "respiratory": r.respiratory, "gastrointestinal": r.gastrointestinal,
            "rash": r.rash, "last_day": r.last_day.isoformat() if r.last_day else None,
            "color": rate_color(rate), "layer": "schools"}))
    legend = [{"below": None if limit == float("inf") else limit, "color": color} for limit, color in RATE_CLASSES]
    return feature_collection(features, title="学校因病缺课", period=[since.isoformat(), until.isoformat()],
                              legend=legend, unit="‰")


def feed_updated_at(table: str, alias: str = "x") -> Any:
    """When data of `table` visible to the principal last changed (the layer's freshness)."""
    def updated(session: Session, principal: Principal) -> datetime | None:
        where, params = feed_scope(principal, alias)
        return session.execute(text(f"SELECT max({alias}.updated_at) FROM {table} {alias} WHERE {where}"),
                               params).scalar()
    return updated


register(Layer("schools", "学校因病缺课", "Point", schools_layer, feed_updated_at("school_absence"),
               meta={"source_dept": "education", "unit": "‰"}, depends_on=(topics.feed("school_absence"),)))
