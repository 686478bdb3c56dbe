"""Messages from the other district, relayed signed by the city: a new request, a state change, the answer.

Each message is applied in the caller's transaction, once: a message id already on the timeline is a
duplicate (the sender retried) and changes nothing. Sealed personal data is opened with this district's
SM2 private key and stored encrypted with its own cipher; if it does not open, nothing is written.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.principal import Principal
from assist.errors import AssistError
from assist.live import Publish, announce
from assist.models import AssistMessage, Personal, RequestPart
from assist.service import (
    ORIGIN_SIDE,
    apply_change,
    check_transition,
    point,
    record_event,
    seal_at_rest,
    utcnow,
)
from security.envelope import EnvelopeError, EnvelopeHeader, open_data_key, open_item
from security.pii import FieldCipher
from store.assist import AssistEvent, AssistRequest


def sealed_context(request_no: str) -> str:
    """What a request's sealed personal data is bound to (it cannot be moved to another request)."""
    return f"assist:{request_no}:personal"


def apply_message(session: Session, msg: AssistMessage, *, actor: Principal | None, district: str,
                  private_key_hex: str, cipher: FieldCipher | None, now: datetime | None = None,
                  publish: Publish | None = None) -> dict[str, Any]:
    """Apply one message addressed to `district`; {"message_id", "received_at", "duplicate"}."""
    seen = session.scalar(select(AssistEvent).where(AssistEvent.message_id == msg.message_id))
    if seen is not None:
        return {"message_id": msg.message_id, "received_at": seen.recorded_at, "duplicate": True}
    if msg.destination != district:
        raise AssistError("invalid", "assist.wrong_district", f"message is for {msg.destination}, not {district}",
                          "该消息不是发给本区的", "to_district")
    now = now or utcnow()
    if msg.kind == "request":
        req = _new_request(session, msg, actor=actor, private_key_hex=private_key_hex, cipher=cipher, now=now)
        announce(session, publish, req, "created")
    else:
        announce(session, publish, _change(session, msg, actor=actor, district=district))
    return {"message_id": msg.message_id, "received_at": now, "duplicate": False}


def open_personal(part: RequestPart, request_no: str, private_key_hex: str) -> str | None:
    """The sealed personal data as JSON text, validated; AssistError when it does not open."""
    if part.envelope is None or part.personal_sealed is None:
        return None
    try:
        key = open_data_key(private_key_hex, EnvelopeHeader(**part.envelope.model_dump()))
        opened = open_item(key, part.personal_sealed, sealed_context(request_no))
        return Personal.model_validate_json(opened).model_dump_json(exclude_none=True)
    except (EnvelopeError, ValidationError, ValueError) as exc:
        raise AssistError("invalid", "assist.sealed_unreadable", "the sealed personal data does not open here",
                          "密封的个人信息无法用本区密钥打开", "request.personal_sealed") from exc


def _new_request(session: Session, msg: AssistMessage, *, actor: Principal | None, private_key_hex: str,
                 cipher: FieldCipher | None, now: datetime) -> AssistRequest:
    part = msg.request
    assert part is not None  # AssistMessage checks that a request message carries it
    if session.scalar(select(AssistRequest.id).where(AssistRequest.request_no == msg.request_no)) is not None:
        raise AssistError("conflict", "assist.duplicate_number", f"request {msg.request_no} already exists",
                          "协查编号已存在", "request_no")
    personal = open_personal(part, msg.request_no, private_key_hex)
    req = AssistRequest(
        request_no=msg.request_no, direction="in", from_district=msg.from_district, to_district=msg.to_district,
        subject_kind=part.subject_kind, reason=part.reason, facts=list(part.facts),
        personal_enc=seal_at_rest(cipher, personal), place_name=part.place_name, place=point(part.place),
        deadline=part.deadline, state="sent", attachments=[], escalation_level=0)
    session.add(req)
    session.flush()
    record_event(session, req, "sent", from_state=None, actor_name=msg.actor, district_code=msg.from_district,
                 at=msg.at, actor=actor)
    req.state = "received"
    record_event(session, req, "received", from_state="sent", actor_name="市级平台转发",
                 district_code=msg.to_district, at=now, actor=actor, message_id=msg.message_id)
    return req


def _change(session: Session, msg: AssistMessage, *, actor: Principal | None, district: str) -> AssistRequest:
    local_side = "in" if district == msg.to_district else "out"
    req = session.scalar(select(AssistRequest).where(AssistRequest.request_no == msg.request_no,
                                                     AssistRequest.direction == local_side).with_for_update())
    if req is None:
        raise AssistError("not_found", "assist.not_found", f"request {msg.request_no} not found", "协查请求不存在",
                          "request_no")
    to_state = "answered" if msg.kind == "answer" else str(msg.state)
    if ORIGIN_SIDE[to_state] == local_side:
        raise AssistError("forbidden", "assist.wrong_side", "the other district may not make this change",
                          "对方无权进行此项办理", "state")
    check_transition(req, to_state)
    from_state = req.state
    apply_change(req, to_state, {"assignee": msg.assignee,
                                 "answer": msg.answer.model_dump() if msg.answer else None})
    record_event(session, req, to_state, from_state=from_state, actor_name=msg.actor, district_code=msg.origin,
                 at=msg.at, actor=actor, note=msg.note, message_id=msg.message_id)
    return req
