"""流调 contacts counted by street, as GeoJSON points at the streets' label points (应急指挥一张图).

Registered as layer "fieldwork.contacts" (group "command"). Counts only, for every role: never a contact's
identity, point or record id. A contact counts in the asked days by its last exposure date (or, without
one, the day it was listed); contacts without a street are not on the map.
"""
from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, and_, case, cast, func, or_, select
from sqlalchemy.orm import Session

from accounts.principal import Principal
from geo.geojson import FeatureCollection, feature, feature_collection
from layers.base import Layer, LayerFilters
from layers.fieldwork_common import DEFAULT_DAYS, area_clause, investigations_in_scope
from layers.registry import register
from store import topics
from store.fieldwork import Contact, Investigation
from store.places import Region

# count name → the follow-up states it counts (待追踪, 医学观察, 转为病例; 已追踪 = past pending)
COUNTS: dict[str, tuple[str, ...]] = {"to_trace": ("pending",), "traced": ("traced", "observing", "released",
                                                                          "became_case"),
                                      "observing": ("observing",), "became_case": ("became_case",)}


def _in_period(since: date, until: date) -> Any:
    listed_day = cast(func.timezone("Asia/Shanghai", Contact.listed_at), Date)
    dated = and_(Contact.last_exposure_date >= since, Contact.last_exposure_date <= until)
    undated = and_(Contact.last_exposure_date.is_(None), listed_day >= since, listed_day <= until)
    return or_(dated, undated)


def _counts() -> list[Any]:
    return [func.count().label("total"),
            *(func.count(case((Contact.state.in_(states), 1))).label(name) for name, states in COUNTS.items())]


def contact_counts(session: Session, principal: Principal, filters: LayerFilters) -> list[Any]:
    """Rows (street code, name, label point, total and per-state counts) of contacts in scope, area and period."""
    since, until = filters.period(DEFAULT_DAYS)
    stmt = (select(Region.code, Region.name, func.ST_AsGeoJSON(Region.label_point).label("point"), *_counts())
            .select_from(Contact)
            .join(Investigation, Investigation.id == Contact.investigation_id)
            .join(Region, Region.code == Contact.region_code)
            .where(investigations_in_scope(principal), _in_period(since, until),
                   area_clause(filters, Region.label_point))
            .group_by(Region.code, Region.name, Region.label_point).order_by(Region.code))
    return list(session.execute(stmt.limit(filters.limit)))


def _properties(row: Any) -> dict[str, Any]:
    counts = {name: int(getattr(row, name)) for name in ("total", *COUNTS)}
    return {"street": row.code, "street_name": row.name, "district_code": row.code[:6], **counts}


def contact_streets_geojson(session: Session, principal: Principal, filters: LayerFilters) -> FeatureCollection:
    """Per street: contacts in total, to trace, traced, under observation and become cases (counts only)."""
    return feature_collection([feature(json.loads(r.point), id=r.code, properties=_properties(r))
                               for r in contact_counts(session, principal, filters) if r.point])


def _updated_at(session: Session, principal: Principal) -> datetime | None:
    latest: datetime | None = session.scalar(
        select(func.max(Contact.updated_at)).join(Investigation, Investigation.id == Contact.investigation_id)
        .where(investigations_in_scope(principal)))
    return latest


register(Layer("fieldwork.contacts", "密接分布（按街道）", "Point", contact_streets_geojson, _updated_at,
               group="command", depends_on=(topics.FIELDWORK,)))
