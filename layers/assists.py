"""Open 跨地区协查 requests by place, as GeoJSON for the command map (应急指挥一张图).

Registered as layer "assists" (group "command"), served at /api/v1/layers/assists. A district sees the
requests it sent or received (its own copies) that are not closed and have a place; the city sees all.
Properties carry codes, the state and the deadline only: never the reason, the facts or personal data.
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from geoalchemy2.shape import to_shape
from shapely.geometry import mapping
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from accounts.principal import Principal
from geo import beijing
from geo.geojson import FeatureCollection, feature, feature_collection
from geo.srid import SRID
from layers.base import Layer, LayerFilters
from layers.registry import register
from store import topics
from store.assist import STATE_ZH, AssistRequest

OPEN_STATES = ("sent", "received", "accepted", "assigned")  # overdue when past the deadline (督办)
DIRECTION_ZH = {"out": "本区发出", "in": "本区收到"}


def held_by(district_code: str | None) -> ColumnElement[bool]:
    """This district's own copies: requests it sent ('out') or received ('in'); None: every district."""
    if district_code is None:
        return AssistRequest.id.is_not(None)
    sent = (AssistRequest.direction == "out") & (AssistRequest.from_district == district_code)
    got = (AssistRequest.direction == "in") & (AssistRequest.to_district == district_code)
    return sent | got


def _properties(req: AssistRequest, now: datetime) -> dict[str, Any]:
    return {"id": req.id, "request_no": req.request_no, "direction": req.direction,
            "direction_zh": DIRECTION_ZH[req.direction], "from_district": req.from_district,
            "to_district": req.to_district, "subject_kind": req.subject_kind, "place_name": req.place_name,
            "state": req.state, "state_zh": STATE_ZH[req.state], "deadline": beijing.iso(req.deadline),
            "overdue": req.state in OPEN_STATES and req.deadline < now, "escalation_level": req.escalation_level}


def assists_geojson(session: Session, *, district_code: str | None, bbox: tuple[float, float, float, float] | None = None,
                    limit: int = 20000, now: datetime | None = None) -> FeatureCollection:
    """Requests held by `district_code` (None: all) that are not closed and have a place, soonest deadline first."""
    now = now or datetime.now(UTC)
    stmt = select(AssistRequest).where(held_by(district_code), AssistRequest.state != "closed",
                                       AssistRequest.place.is_not(None))
    if bbox is not None:
        stmt = stmt.where(func.ST_Intersects(AssistRequest.place, func.ST_MakeEnvelope(*bbox, SRID)))
    rows = session.scalars(stmt.order_by(AssistRequest.deadline, AssistRequest.id).limit(limit))
    return feature_collection([feature(dict(mapping(to_shape(r.place))), id=r.id, properties=_properties(r, now))
                               for r in rows])


def _layer(session: Session, principal: Principal, filters: LayerFilters) -> FeatureCollection:
    if principal.role == "institution_user":  # 协查 is the district CDC's business, not its institutions'
        return feature_collection([])
    return assists_geojson(session, district_code=principal.district_code, bbox=filters.bbox, limit=filters.limit)


def _updated_at(session: Session, principal: Principal) -> datetime | None:
    latest: datetime | None = session.scalar(select(func.max(AssistRequest.updated_at))
                                             .where(held_by(principal.district_code)))
    return latest


register(Layer("assists", "协查请求", "Point", _layer, _updated_at, group="command", depends_on=(topics.ASSIST,)))
