"""Sentinel hospitals, fever and intestinal clinics, labs and vaccination clinics as point layers."""
from __future__ import annotations

from collections.abc import Callable
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

# layer id → (title, SQL condition on institution i, icon file under assets/icons/)
KINDS: dict[str, tuple[str, str, str]] = {
    "sentinel": ("综合监测哨点", "cardinality(i.sentinel_types) > 0", "sentinel.svg"),
    "fever_clinic": ("发热门诊", "i.fever_clinic", "fever.svg"),
    "intestinal_clinic": ("肠道门诊", "i.intestinal_clinic", "intestinal.svg"),
    "lab": ("实验室", "i.is_lab", "lab.svg"),
    "vaccination_clinic": ("预防接种门诊", "i.vaccination_clinic", "vaccination.svg"),
}


def _scope(principal: Principal) -> tuple[str, dict[str, Any]]:
    return scope_sql(principal, "i.district_code", "i.id")


def institutions(session: Session, principal: Principal, filters: LayerFilters, *, kind: str) -> FeatureCollection:
    """Institutions of `kind` in the principal's scope and the filtered area (district or street)."""
    title, condition, icon = KINDS[kind]
    scope, params = _scope(principal)
    where = [condition, scope, "i.geom IS NOT NULL"]
    if filters.region:
        area = resolve_area(session, principal, filters.region)
        if area.kind == "district":
            where.append("i.district_code = :area")
            params["area"] = area.code
        elif area.kind == "street":
            where.append("i.region_code = :area")
            params["area"] = area.code
        elif area.kind == "institution":
            where.append("i.id = :area_inst")
            params["area_inst"] = area.institution_id
    if filters.bbox:
        where.append("i.geom && ST_MakeEnvelope(:w, :s, :e, :n, 4326)")
        params.update(dict(zip("wsen", filters.bbox, strict=True)))
    sql = f"""SELECT i.id, i.code, i.name, i.kind, i.level, i.sentinel_types, i.fever_clinic, i.intestinal_clinic,
                     i.is_lab, i.vaccination_clinic, i.region_code, i.district_code, ST_X(i.geom) AS lon,
                     ST_Y(i.geom) AS lat
              FROM institution i WHERE {' AND '.join(where)} ORDER BY i.id"""
    features = [feature(point(r.lon, r.lat), id=r.id, properties={
        "id": r.id, "code": r.code, "name": r.name, "kind": r.kind, "level": r.level,
        "sentinel_types": list(r.sentinel_types or []), "fever_clinic": r.fever_clinic,
        "intestinal_clinic": r.intestinal_clinic, "is_lab": r.is_lab,
        "vaccination_clinic": r.vaccination_clinic, "region_code": r.region_code,
        "district_code": r.district_code, "layer": kind, "icon": icon,
    }) for r in session.execute(text(sql), params)]
    return feature_collection(features, title=title)


def _updated_at(session: Session, principal: Principal) -> datetime | None:
    scope, params = _scope(principal)
    return session.execute(text(f"SELECT max(i.created_at) FROM institution i WHERE {scope}"), params).scalar()


def _query_for(kind: str) -> Callable[[Session, Principal, LayerFilters], FeatureCollection]:
    return lambda session, principal, filters: institutions(session, principal, filters, kind=kind)


for _kind, (_title, _cond, _icon) in KINDS.items():
    register(Layer(f"institutions.{_kind}", _title, "Point", _query_for(_kind), _updated_at, meta={"icon": _icon},
                   depends_on=(topics.INSTITUTIONS,)))
