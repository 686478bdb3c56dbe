"""What the 流调 layers share: who sees which investigations, the area asked for, the period in Beijing time.

流调 data are the district CDC's: a district sees its own investigations, the city all of them, an
institution user none (as 协查). An area filter (district, street or grid code) keeps rows whose geometry
lies in that region; an institution area keeps nothing (流调 records belong to no institution).
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, false, func, select, true

from accounts.principal import Principal
from accounts.scope import scope_clause
from geo.dates import CST
from geo.srid import SRID
from layers.base import LayerFilters
from store.fieldwork import Investigation
from store.places import Region

DEFAULT_DAYS = 28


def investigations_in_scope(principal: Principal) -> ColumnElement[bool]:
    """Investigations `principal` may see (no institution column: institution users see none)."""
    return scope_clause(principal, Investigation.district_code)


def area_clause(filters: LayerFilters, geom: Any) -> ColumnElement[bool]:
    """Rows whose `geom` lies in the asked region and box (the scope was checked by Layer.run)."""
    clause: ColumnElement[bool] = true()
    if filters.region is not None and filters.region.startswith("inst:"):
        return false()
    if filters.region is not None:
        region_geom = select(Region.geom).where(Region.code == filters.region).scalar_subquery()
        clause = func.ST_Intersects(geom, region_geom)
    if filters.bbox is not None:
        clause = clause & func.ST_Intersects(geom, func.ST_MakeEnvelope(*filters.bbox, SRID))
    return clause


def period_times(filters: LayerFilters) -> tuple[datetime, datetime]:
    """[start, end) of the asked days in Beijing time (default: the last 28 days)."""
    since, until = filters.period(DEFAULT_DAYS)
    return _midnight(since), _midnight(until) + timedelta(days=1)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=CST)
