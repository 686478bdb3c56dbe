"""How requests are shown: list rows, one request with its timeline, and (to those who may) personal data."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from geoalchemy2.shape import to_shape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accounts import audit
from accounts.principal import Principal
from assist.districts import name_of
from assist.models import ListQuery
from assist.service import (
    OPEN_STATES,
    ORIGIN_SIDE,
    STAFF_ROLES,
    STATE_ZH,
    TRANSITIONS,
    load,
    local_district,
    personal_of,
    utcnow,
)
from security.pii import FieldCipher
from store.assist import AssistEvent, AssistRequest

ACTION_OF_STATE = {"accepted": "accept", "returned": "return", "assigned": "assign", "answered": "answer",
                   "closed": "close"}


def actions(actor: Principal | None, req: AssistRequest) -> list[str]:
    """What `actor` may do next on this copy of the request."""
    if actor is None or actor.role not in STAFF_ROLES or actor.district_code != local_district(req):
        return []
    return [ACTION_OF_STATE[s] for s in sorted(TRANSITIONS[req.state])
            if s in ORIGIN_SIDE and ORIGIN_SIDE[s] == req.direction]


def _place(req: AssistRequest) -> dict[str, float] | None:
    if req.place is None:
        return None
    shape = to_shape(req.place)
    return {"lon": shape.x, "lat": shape.y}


def request_dict(req: AssistRequest, actor: Principal | None = None, now: datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    return {
        "id": req.id, "request_no": req.request_no, "direction": req.direction,
        "from_district": req.from_district, "from_name": name_of(req.from_district),
        "to_district": req.to_district, "to_name": name_of(req.to_district), "subject_kind": req.subject_kind,
        "reason": req.reason, "facts": req.facts, "place_name": req.place_name, "place": _place(req),
        "deadline": req.deadline, "state": req.state, "state_zh": STATE_ZH[req.state], "assignee": req.assignee,
        "findings": req.findings, "attachments": req.attachments or [],
        "overdue": req.state in OPEN_STATES and req.deadline < now, "escalation_level": req.escalation_level,
        "actions": actions(actor, req), "created_at": req.created_at, "updated_at": req.updated_at,
    }


def _visible(actor: Principal) -> Any:
    if actor.is_city:
        return True
    mine_out = (AssistRequest.direction == "out") & (AssistRequest.from_district == actor.district_code)
    mine_in = (AssistRequest.direction == "in") & (AssistRequest.to_district == actor.district_code)
    return mine_out | mine_in


def list_requests(session: Session, *, actor: Principal, query: ListQuery) -> dict[str, Any]:
    stmt = select(AssistRequest).where(_visible(actor))
    if query.box:
        stmt = stmt.where(AssistRequest.direction == ("in" if query.box == "inbox" else "out"))
    if query.state:
        stmt = stmt.where(AssistRequest.state == query.state)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(AssistRequest.id.desc()).limit(query.limit))
    return {"total": total, "items": [request_dict(r, actor) for r in rows]}


def timeline(session: Session, req: AssistRequest) -> list[dict[str, Any]]:
    events = session.scalars(select(AssistEvent).where(AssistEvent.request_id == req.id)
                             .order_by(AssistEvent.at, AssistEvent.id))
    return [{"at": e.at, "kind": e.kind, "from_state": e.from_state, "to_state": e.to_state,
             "district_code": e.district_code, "actor_name": e.actor_name, "note": e.note} for e in events]


def detail(session: Session, *, actor: Principal, request_id: int, cipher: FieldCipher | None,
           ip: str | None = None) -> dict[str, Any]:
    """One request with its timeline; personal data in clear only for those with the right, and audited."""
    req = load(session, actor=actor, request_id=request_id)
    out = {**request_dict(req, actor), "events": timeline(session, req), "personal": None,
           "personal_masked": req.personal_enc is not None}
    if req.personal_enc is not None and actor.can_unmask_pii and not actor.is_city:
        out["personal"], out["personal_masked"] = personal_of(req, cipher), False
        audit.record(session, actor=actor, action="assist.personal_read", object_type="assist_request",
                     object_id=req.request_no, district_code=local_district(req), ip=ip)
    return out
