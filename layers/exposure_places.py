"""流调 exposure places whose time window overlaps the asked days, as GeoJSON (应急指挥一张图, playback).

Registered as layer "fieldwork.places" (group "command"). Properties: the place's name, kind and window
in Beijing time, the investigation and district. For roles without the personal-data right a home (住所)
is shown without its name and at the centre of its ~200 m grid cell (as case points are).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from geoalchemy2.shape import to_shape
from shapely.geometry import mapping
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accounts.principal import Principal
from accounts.scope import precise_locations
from geo import beijing
from geo.geojson import FeatureCollection, feature, feature_collection
from layers.base import Layer, LayerFilters
from layers.fieldwork_common import area_clause, investigations_in_scope, period_times
from layers.precision import snap_point
from layers.registry import register
from store import topics
from store.fieldwork import ExposurePlace, Investigation

KIND_ZH = {"home": "住所", "work": "工作场所", "school": "学校", "public": "公共场所", "medical": "医疗机构",
           "transport": "交通工具", "other": "其他"}


def places_query(principal: Principal, filters: LayerFilters, start: datetime, end: datetime) -> Any:
    """Places in scope and area whose window [start_time, end_time] overlaps [start, end)."""
    return (select(ExposurePlace, Investigation.district_code)
            .join(Investigation, Investigation.id == ExposurePlace.investigation_id)
            .where(investigations_in_scope(principal), ExposurePlace.geom.is_not(None),
                   ExposurePlace.start_time < end, ExposurePlace.end_time >= start,
                   area_clause(filters, ExposurePlace.geom)))


def _geometry(place: ExposurePlace, precise: bool) -> dict[str, Any]:
    shape = to_shape(place.geom)
    if precise or place.kind != "home":
        return dict(mapping(shape))
    centre = shape.representative_point()
    return {"type": "Point", "coordinates": snap_point(centre.x, centre.y)}


def _properties(place: ExposurePlace, district: str, precise: bool) -> dict[str, Any]:
    hidden = not precise and place.kind == "home"
    return {"id": place.id, "name": KIND_ZH["home"] if hidden else place.name, "kind": place.kind,
            "kind_zh": KIND_ZH.get(place.kind, place.kind), "start": beijing.iso(place.start_time),
            "end": beijing.iso(place.end_time), "investigation_id": place.investigation_id, "district_code": district}


def exposure_places_geojson(session: Session, principal: Principal, filters: LayerFilters) -> FeatureCollection:
    """Exposure places visible to `principal` in the asked days (since/until, Beijing), earliest first."""
    start, end = period_times(filters)
    precise = precise_locations(principal)
    stmt = places_query(principal, filters, start, end).order_by(ExposurePlace.start_time, ExposurePlace.id)
    rows = session.execute(stmt.limit(filters.limit)).all()
    return feature_collection([feature(_geometry(p, precise), id=p.id, properties=_properties(p, d, precise))
                               for p, d in rows])


def _updated_at(session: Session, principal: Principal) -> datetime | None:
    latest: datetime | None = session.scalar(select(func.max(Investigation.updated_at))
                                             .where(investigations_in_scope(principal)))
    return latest


register(Layer("fieldwork.places", "流调暴露场所", "Geometry", exposure_places_geojson, _updated_at, group="command",
               depends_on=(topics.FIELDWORK,)))
