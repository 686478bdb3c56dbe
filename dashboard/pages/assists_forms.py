"""跨地区协查 (/assists): the form fields read into the assist models, and the actions run through assist.service.

Every change goes through the same domain flows as the API (event, audit row, outbox message) and is
announced to open screens after commit. Refusals come back as one Chinese sentence (form_errors.describe
or the domain error's own Chinese message).
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from dash import html
from pydantic import ValidationError

from accounts.principal import Principal
from assist import service
from assist.errors import AssistError
from assist.models import AnswerBody, AssignBody, AssistCreate, NoteBody, ReturnBody
from dashboard.api.requests import publish_one
from dashboard.extensions import services
from dashboard.form_errors import describe
from geo.dates import CST

DONE_ZH = {"accept": "已受理", "return": "已退回", "assign": "已指派", "answer": "已反馈", "close": "已办结"}
TO_STATE = {"accept": "accepted", "return": "returned", "assign": "assigned", "answer": "answered", "close": "closed"}


def _text(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def deadline(raw: str | None) -> datetime | str | None:
    """'YYYY-MM-DD HH:MM' typed as Beijing time; unreadable text goes on to the model, which names the field."""
    text = (raw or "").strip()
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return text
    return value.replace(tzinfo=CST) if value.tzinfo is None else value


def lines(raw: str | None) -> list[str]:
    return [line.strip() for line in (raw or "").splitlines() if line.strip()]


def _personal(name: Any, id_number: Any, phone: Any, address: Any) -> dict[str, str] | None:
    values = {"name": _text(name), "id_number": _text(id_number), "phone": _text(phone), "address": _text(address)}
    given = {k: v for k, v in values.items() if v is not None}
    return given or None


def create_body(form: dict[str, Any]) -> AssistCreate:
    """The new request from the form's values (keys as the form's field names)."""
    lon, lat = form.get("lon"), form.get("lat")
    place = None if lon in (None, "") and lat in (None, "") else {"lon": lon, "lat": lat}
    return AssistCreate.model_validate({
        "to_district": form.get("to_district"), "subject_kind": form.get("subject_kind"),
        "reason": form.get("reason") or "", "facts": lines(form.get("facts")),
        "personal": _personal(form.get("name"), form.get("id_number"), form.get("phone"), form.get("address")),
        "place_name": _text(form.get("place_name")), "place": place, "deadline": deadline(form.get("deadline")),
    })


def attachment(line: str) -> dict[str, Any]:
    """'name, size, sha256' (Chinese or Latin commas); what does not read goes on to the model."""
    parts = [p.strip() for p in re.split(r"[,，]", line)]
    if len(parts) != 3:
        return {"name": line}
    name, size, digest = parts
    return {"name": name, "size": int(size) if size.isdigit() else size, "sha256": digest.lower()}


def action_body(action: str, values: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of service.act for `action`, validated by the API's own body models."""
    if action == "accept":
        return {"note": NoteBody(note=_text(values.get("accept-note"))).note}
    if action == "return":
        return {"note": ReturnBody.model_validate({"reason": values.get("return-reason") or ""}).reason}
    if action == "assign":
        body = AssignBody.model_validate({"assignee": values.get("assignee") or "",
                                          "note": _text(values.get("assign-note"))})
        return {"assignee": body.assignee, "note": body.note}
    if action == "answer":
        return {"answer": AnswerBody.model_validate({
            "findings": values.get("findings") or "",
            "attachments": [attachment(x) for x in lines(values.get("attachments"))]})}
    return {"note": NoteBody(note=_text(values.get("close-note"))).note}


def _refused(exc: Exception) -> Any:
    text = describe(exc) if isinstance(exc, ValidationError) else getattr(exc, "message_zh", "输入有误")
    return html.Span(text, className="error")


def perform(actor: Principal, action: str, request_id: int, values: dict[str, Any]) -> tuple[Any, bool]:
    """Run one action; (message, whether it changed anything)."""
    try:
        kwargs = action_body(action, values)
        with services().session_factory() as s, s.begin():
            service.act(s, actor=actor, request_id=request_id, to_state=TO_STATE[action], publish=publish_one,
                        **kwargs)
    except (ValidationError, AssistError) as exc:
        return _refused(exc), False
    return html.Span(DONE_ZH[action], className="ok"), True


def create(actor: Principal, form: dict[str, Any]) -> tuple[Any, int | None]:
    """Send a new request; (message, its id) — the id is None when refused."""
    svc = services()
    try:
        data = create_body(form)
        with svc.session_factory() as s, s.begin():
            req = service.create_request(s, actor=actor, data=data, district=svc.settings.district_code,
                                         cipher=svc.cipher, publish=publish_one)
            number, request_id = req.request_no, req.id
    except (ValidationError, AssistError) as exc:
        return _refused(exc), None
    return html.Span(f"协查请求 {number} 已发出", className="ok"), request_id
