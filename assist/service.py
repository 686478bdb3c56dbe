"""协查 flows on one district: create, accept, return, assign, answer, close — each an event, an audit row
and a message to the other district (through the city) in the same transaction.

The receiving side ('in') accepts, returns, assigns and answers; the sending side ('out') closes. The
other side applies the same transition when the message arrives (assist.inbound), so both timelines agree.
"""
from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from accounts import audit
from accounts.people import people
from accounts.principal import Principal
from accounts.whoami import role_name
from assist.districts import name_of
from assist.errors import AssistError, not_found
from assist.live import Publish, announce
from assist.models import AnswerBody, AssistCreate, PlacePoint
from geo.dates import CST
from geo.srid import SRID
from security.pii import FieldCipher
from store.assist import STATE_ZH as STATE_ZH  # re-exported: the Chinese state names
from store.assist import AssistEvent, AssistOutbox, AssistRequest

ACTION_ZH = {"accepted": "受理", "returned": "退回", "assigned": "指派", "answered": "反馈", "closed": "办结"}
TRANSITIONS: dict[str, set[str]] = {
    "sent": {"received"}, "received": {"accepted", "returned"}, "accepted": {"assigned"},
    "assigned": {"answered"}, "answered": {"closed"}, "returned": {"closed"}, "closed": set(),
}
ORIGIN_SIDE = {"accepted": "in", "returned": "in", "assigned": "in", "answered": "in", "closed": "out"}
OPEN_STATES = ("sent", "received", "accepted", "assigned")
STAFF_ROLES = frozenset({"district_commander", "district_analyst"})
PERSONAL_FIELD = "assist.personal"
NUMBER_LOCK = 0x0A5517  # pg advisory lock serialising request numbers


def utcnow() -> datetime:
    return datetime.now(UTC)


def local_district(req: AssistRequest) -> str:
    """The district that holds this copy of the request."""
    return req.from_district if req.direction == "out" else req.to_district


def may_see(actor: Principal, req: AssistRequest) -> bool:
    """City-wide roles and the holding district's own staff; never the other district's users."""
    return actor.is_city or actor.district_code == local_district(req)


def load(session: Session, *, actor: Principal, request_id: int, lock: bool = False) -> AssistRequest:
    stmt = select(AssistRequest).where(AssistRequest.id == request_id)
    req = session.scalar(stmt.with_for_update() if lock else stmt)
    if req is None or not may_see(actor, req):
        raise not_found(request_id)
    return req


def _actor_label(session: Session, actor: Principal, district: str) -> str:
    """How the timelines on both sides name who acted: district, display name and organisation (not the login)."""
    who = people(session, [actor.user_id]).get(actor.user_id) or role_name(actor.role)
    return f"{name_of(district)} {who}"


def record_event(session: Session, req: AssistRequest, kind: str, *, from_state: str | None, actor_name: str,
                 district_code: str, at: datetime, actor: Principal | None = None, note: str | None = None,
                 message_id: str | None = None) -> AssistEvent:
    """The timeline entry and its audit row."""
    ev = AssistEvent(request_id=req.id, at=at, kind=kind, from_state=from_state, to_state=req.state,
                     district_code=district_code, actor_name=actor_name[:100], note=note, message_id=message_id)
    session.add(ev)
    session.flush()
    audit.record(session, actor=actor, action=f"assist.{kind}", object_type="assist_request",
                 object_id=req.request_no, district_code=local_district(req),
                 detail={"from": from_state, "to": req.state, "note": note, "message_id": message_id})
    return ev


def enqueue(session: Session, req: AssistRequest, kind: str, *, origin: str, at: datetime, actor_name: str,
            **fields: Any) -> AssistOutbox:
    """The message for the other district, written in this transaction (sent later by assist.sender)."""
    message_id = uuid.uuid4().hex
    payload = {"message_id": message_id, "kind": kind, "request_no": req.request_no,
               "from_district": req.from_district, "to_district": req.to_district, "origin": origin,
               "at": at.isoformat(), "actor": actor_name[:100], **fields}
    row = AssistOutbox(message_id=message_id, request_id=req.id, kind=kind, payload=payload, status="pending",
                       attempts=0)
    session.add(row)
    return row


# ---------------------------------------------------------------- create


def _next_number(session: Session, district: str, now: datetime) -> str:
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": NUMBER_LOCK})
    prefix = f"XC-{district}-{now.astimezone(CST):%Y%m%d}-"
    count = session.scalar(select(func.count()).select_from(AssistRequest)
                           .where(AssistRequest.request_no.like(prefix + "%"))) or 0
    return f"{prefix}{count + 1:04d}"


def _check_creator(actor: Principal, data: AssistCreate, district: str) -> None:
    if actor.role not in STAFF_ROLES or actor.district_code != district:
        raise AssistError("forbidden", "assist.forbidden", "only this district's staff send 协查 requests",
                          "仅本区工作人员可发起协查")
    if data.to_district == district:
        raise AssistError("invalid", "assist.same_district", "to_district: a request goes to another district",
                          "协查须发往其他区", "to_district")


def seal_at_rest(cipher: FieldCipher | None, personal_json: str | None) -> bytes | None:
    """Personal data encrypted with this district's cipher (None when there is none)."""
    if personal_json is None:
        return None
    if cipher is None:
        raise AssistError("unavailable", "pii.unavailable", "no personal-data key is configured",
                          "未配置个人信息加密密钥，不能保存个人信息", "personal")
    return cipher.encrypt(personal_json, PERSONAL_FIELD)


def point(place: PlacePoint | None) -> Any:
    return None if place is None else from_shape(Point(place.lon, place.lat), srid=SRID)


def create_request(session: Session, *, actor: Principal, data: AssistCreate, district: str,
                   cipher: FieldCipher | None, now: datetime | None = None, publish: Publish | None = None
                   ) -> AssistRequest:
    """A new outgoing request in state 'sent', its first event, audit row and the message for the receiver."""
    _check_creator(actor, data, district)
    now = now or utcnow()
    personal = data.personal.model_dump_json(exclude_none=True) if data.personal else None
    req = AssistRequest(
        request_no=_next_number(session, district, now), direction="out", from_district=district,
        to_district=data.to_district, subject_kind=data.subject_kind, reason=data.reason, facts=list(data.facts),
        personal_enc=seal_at_rest(cipher, personal), place_name=data.place_name, place=point(data.place),
        deadline=data.deadline, state="sent", attachments=[], escalation_level=0, created_by_user_id=actor.user_id)
    session.add(req)
    session.flush()
    name = _actor_label(session, actor, district)
    record_event(session, req, "sent", from_state=None, actor_name=name, district_code=district, at=now,
                 actor=actor)
    request_part = {"subject_kind": data.subject_kind, "reason": data.reason, "facts": list(data.facts),
                    "place_name": data.place_name, "place": data.place.model_dump() if data.place else None,
                    "deadline": data.deadline.isoformat()}
    enqueue(session, req, "request", origin=district, at=now, actor_name=name, request=request_part)
    announce(session, publish, req, "created")
    return req


# ---------------------------------------------------------------- state changes


def check_transition(req: AssistRequest, to_state: str) -> None:
    if to_state not in TRANSITIONS[req.state]:
        raise AssistError("conflict", "assist.invalid_transition", f"cannot go from {req.state} to {to_state}",
                          f"协查当前为{STATE_ZH[req.state]}，不能{ACTION_ZH.get(to_state, STATE_ZH[to_state])}",
                          "state")


def _check_actor(actor: Principal, req: AssistRequest, to_state: str) -> None:
    if actor.role not in STAFF_ROLES or actor.district_code != local_district(req):
        raise AssistError("forbidden", "assist.forbidden", "only the holding district's staff act on a request",
                          "仅本区工作人员可办理协查")
    if ORIGIN_SIDE[to_state] != req.direction:
        side = "receiving" if ORIGIN_SIDE[to_state] == "in" else "sending"
        raise AssistError("forbidden", "assist.wrong_side", f"only the {side} district may do this",
                          "接收方受理、退回、指派、反馈；发起方办结")


def apply_change(req: AssistRequest, to_state: str, fields: dict[str, Any]) -> None:
    """Set the new state and what the change carries (assignee, findings, attachments)."""
    req.state = to_state
    if fields.get("assignee"):
        req.assignee = fields["assignee"]
    answer = fields.get("answer")
    if answer:
        req.findings, req.attachments = answer["findings"], answer.get("attachments") or []


def act(session: Session, *, actor: Principal, request_id: int, to_state: str, note: str | None = None,
        assignee: str | None = None, answer: AnswerBody | None = None, now: datetime | None = None,
        publish: Publish | None = None) -> AssistRequest:
    """One local transition: event + audit + the message telling the other district."""
    req = load(session, actor=actor, request_id=request_id, lock=True)
    _check_actor(actor, req, to_state)
    check_transition(req, to_state)
    now, from_state, district = now or utcnow(), req.state, local_district(req)
    fields: dict[str, Any] = {"assignee": assignee, "answer": answer.model_dump() if answer else None}
    apply_change(req, to_state, fields)
    name = _actor_label(session, actor, district)
    record_event(session, req, to_state, from_state=from_state, actor_name=name, district_code=district, at=now,
                 actor=actor, note=note)
    kind = "answer" if to_state == "answered" else "state"
    extra = {"answer": fields["answer"]} if answer else {"state": to_state, "assignee": assignee}
    enqueue(session, req, kind, origin=district, at=now, actor_name=name, note=note, **extra)
    announce(session, publish, req)
    return req


def personal_of(req: AssistRequest, cipher: FieldCipher | None) -> dict[str, Any] | None:
    """The decrypted personal data (callers check the right to see it and audit the read)."""
    if req.personal_enc is None or cipher is None:
        return None
    value: dict[str, Any] = json.loads(cipher.decrypt(req.personal_enc, PERSONAL_FIELD))
    return value
