"""The 流调 hotspot overlay: H3 cells where cases, exposure places and contacts coincide within days.

Registered as layer "fieldwork.hotspots" (group "command"). Cases are counted case reports with a point
(onset day), exposure places the 流调 windows (at a point on the place), contacts those with a point (last
exposure day); layers.hotspot_core groups them per cell. Properties are counts, days and the street most of
the cell's records lie in: never a record's identity or point.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import h3
from sqlalchemy import Date, cast, func, null, select
from sqlalchemy.orm import Session

from accounts.principal import Principal
from accounts.scope import scope_clause
from geo.geojson import FeatureCollection, feature, feature_collection
from layers.base import Layer, LayerFilters
from layers.fieldwork_common import DEFAULT_DAYS, area_clause, investigations_in_scope
from layers.hotspot_core import MIN_KINDS, WINDOW_DAYS, Hotspot, Sighting, find_hotspots
from layers.registry import register
from store import topics
from store.cases import CaseReport
from store.fieldwork import Contact, ExposurePlace, Investigation
from store.locate import regions_by_code

RESOLUTION = 8  # H3 cells of ~0.74 km² (edge ~460 m)
COUNTED = ("confirmed", "clinical")


def _bj_day(column: Any) -> Any:
    return cast(func.timezone("Asia/Shanghai", column), Date)


def _cases(session: Session, principal: Principal, filters: LayerFilters, since: date, until: date) -> Any:
    stmt = select(func.ST_X(CaseReport.geom), func.ST_Y(CaseReport.geom), CaseReport.onset_date,
                  CaseReport.onset_date, CaseReport.region_code).where(
        scope_clause(principal, CaseReport.district_code), CaseReport.case_type.in_(COUNTED),
        CaseReport.geom.is_not(None), CaseReport.onset_date >= since, CaseReport.onset_date <= until,
        area_clause(filters, CaseReport.geom))
    if filters.disease:
        stmt = stmt.where(CaseReport.disease_code.in_(filters.disease))
    return session.execute(stmt)


def _places(session: Session, principal: Principal, filters: LayerFilters, since: date, until: date) -> Any:
    spot = func.ST_PointOnSurface(ExposurePlace.geom)
    return session.execute(
        select(func.ST_X(spot), func.ST_Y(spot), _bj_day(ExposurePlace.start_time), _bj_day(ExposurePlace.end_time),
               null().label("street"))
        .join(Investigation, Investigation.id == ExposurePlace.investigation_id)
        .where(investigations_in_scope(principal), ExposurePlace.geom.is_not(None),
               _bj_day(ExposurePlace.end_time) >= since, _bj_day(ExposurePlace.start_time) <= until,
               area_clause(filters, ExposurePlace.geom)))


def _contacts(session: Session, principal: Principal, filters: LayerFilters, since: date, until: date) -> Any:
    return session.execute(
        select(func.ST_X(Contact.geom), func.ST_Y(Contact.geom), Contact.last_exposure_date,
               Contact.last_exposure_date, Contact.region_code)
        .join(Investigation, Investigation.id == Contact.investigation_id)
        .where(investigations_in_scope(principal), Contact.geom.is_not(None),
               Contact.last_exposure_date >= since, Contact.last_exposure_date <= until,
               area_clause(filters, Contact.geom)))


def sightings(session: Session, principal: Principal, filters: LayerFilters, *, window_days: int = WINDOW_DAYS,
              resolution: int = RESOLUTION) -> Iterator[Sighting]:
    """Every case, exposure place and contact in scope, area and the asked days (plus the window before)."""
    since, until = filters.period(DEFAULT_DAYS)
    since -= timedelta(days=window_days)
    for kind, rows in (("case", _cases), ("place", _places), ("contact", _contacts)):
        for lon, lat, first, last, street in rows(session, principal, filters, since, until):
            yield Sighting(kind, h3.latlng_to_cell(lat, lon, resolution), first, last, street)


def _properties(spot: Hotspot, names: dict[str, str]) -> dict[str, Any]:
    street = spot.streets.most_common(1)[0][0] if spot.streets else None
    return {"cell": spot.cell, "kinds": spot.kinds, "score": spot.kinds, "cases": spot.counts["case"],
            "places": spot.counts["place"], "contacts": spot.counts["contact"], "first": spot.first.isoformat(),
            "last": spot.last.isoformat(), "street": street, "street_name": names.get(street or "")}


def _polygon(cell: str) -> dict[str, Any]:
    ring = [[round(lng, 6), round(lat, 6)] for lat, lng in h3.cell_to_boundary(cell)]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def hotspots_geojson(session: Session, principal: Principal, filters: LayerFilters, *,
                     window_days: int = WINDOW_DAYS, min_kinds: int = MIN_KINDS) -> FeatureCollection:
    """Cells × days where at least `min_kinds` of cases, exposure places and contacts coincide."""
    since, _until = filters.period(DEFAULT_DAYS)
    spots = [s for s in find_hotspots(sightings(session, principal, filters, window_days=window_days),
                                      window_days=window_days, min_kinds=min_kinds) if s.last >= since]
    names = {code: ref.name for code, ref in regions_by_code(
        session, [c for s in spots for c in s.streets]).items()}
    return feature_collection([feature(_polygon(s.cell), id=f"{s.cell}:{s.first}", properties=_properties(s, names))
                               for s in spots[:filters.limit]])


def _layer(session: Session, principal: Principal, filters: LayerFilters) -> FeatureCollection:
    return hotspots_geojson(session, principal, filters)


def _updated_at(session: Session, principal: Principal) -> datetime | None:
    latest: datetime | None = session.scalar(select(func.max(Investigation.updated_at))
                                             .where(investigations_in_scope(principal)))
    return latest


register(Layer("fieldwork.hotspots", "流调热点（病例·暴露场所·密接时空重合）", "Polygon", _layer, _updated_at,
               group="command", depends_on=(topics.FIELDWORK, topics.CASES)))
