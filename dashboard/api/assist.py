"""`/api/v1/assist/...`: 跨地区信息协查 — district staff create and handle requests; the city relays messages.

Staff call with a bearer token or their session; the city platform calls `/assist/inbound` SM2-signed
with messages from the other district (assist.inbound). Every route is in the OpenAPI registry. Each
committed change is announced to open screens (kind "assist", assist.live).
"""
from __future__ import annotations

from typing import Any

from flask import request
from pydantic import BaseModel
from sqlalchemy.orm import Session

from assist import inbound, service, views
from assist.models import (
    AnswerBody,
    AssignBody,
    AssistCreate,
    AssistDetail,
    AssistMessage,
    AssistOut,
    AssistPage,
    InboundAnswer,
    ListQuery,
    NoteBody,
    ReturnBody,
)
from dashboard.api import bp
from dashboard.api.requests import caller, in_transaction, json_body, path_id, publish_one, query_args, render
from dashboard.auth import require_principal, require_signed_client
from dashboard.extensions import services
from dashboard.openapi import RouteRow, register_operation

TAGS = ("assist 跨地区协查",)
STAFF = ("district_commander", "district_analyst")


def _id(request_id: int) -> int:
    return path_id(request_id, "assist", "协查请求不存在")


@bp.post("/assist/requests")
@require_principal(*STAFF)
def create_assist():
    data, actor, svc = json_body(AssistCreate), caller(), services()

    def flow(s: Session) -> dict[str, Any]:
        req = service.create_request(s, actor=actor, data=data, district=svc.settings.district_code,
                                     cipher=svc.cipher, publish=publish_one)
        return views.request_dict(req, actor)

    return render(AssistOut, in_transaction(flow), 201)


@bp.get("/assist/requests")
@require_principal()
def list_assists():
    query, actor = query_args(ListQuery), caller()
    return render(AssistPage, in_transaction(lambda s: views.list_requests(s, actor=actor, query=query)))


@bp.get("/assist/requests/<int:request_id>")
@require_principal()
def get_assist(request_id: int):
    actor, rid, cipher = caller(), _id(request_id), services().cipher
    return render(AssistDetail, in_transaction(
        lambda s: views.detail(s, actor=actor, request_id=rid, cipher=cipher, ip=request.remote_addr)))


def _act(request_id: int, model: type[BaseModel], to_state: str, **arg_of: str) -> Any:
    body, actor, rid = json_body(model), caller(), _id(request_id)
    kwargs = {param: getattr(body, attr) for param, attr in arg_of.items()}

    def flow(s: Session) -> dict[str, Any]:
        req = service.act(s, actor=actor, request_id=rid, to_state=to_state, publish=publish_one, **kwargs)
        return views.request_dict(req, actor)

    return render(AssistOut, in_transaction(flow))


@bp.post("/assist/requests/<int:request_id>/accept")
@require_principal(*STAFF)
def accept_assist(request_id: int):
    return _act(request_id, NoteBody, "accepted", note="note")


@bp.post("/assist/requests/<int:request_id>/return")
@require_principal(*STAFF)
def return_assist(request_id: int):
    return _act(request_id, ReturnBody, "returned", note="reason")


@bp.post("/assist/requests/<int:request_id>/assign")
@require_principal(*STAFF)
def assign_assist(request_id: int):
    return _act(request_id, AssignBody, "assigned", assignee="assignee", note="note")


@bp.post("/assist/requests/<int:request_id>/answer")
@require_principal(*STAFF)
def answer_assist(request_id: int):
    body = json_body(AnswerBody)
    actor, rid = caller(), _id(request_id)

    def flow(s: Session) -> dict[str, Any]:
        req = service.act(s, actor=actor, request_id=rid, to_state="answered", answer=body, publish=publish_one)
        return views.request_dict(req, actor)

    return render(AssistOut, in_transaction(flow))


@bp.post("/assist/requests/<int:request_id>/close")
@require_principal(*STAFF)
def close_assist(request_id: int):
    return _act(request_id, NoteBody, "closed", note="note")


@bp.post("/assist/inbound")
@require_signed_client()
def assist_inbound():
    msg, actor, svc = json_body(AssistMessage), caller(), services()
    key = svc.settings.district_signing_key.get_secret_value()
    return render(InboundAnswer, in_transaction(lambda s: inbound.apply_message(
        s, msg, actor=actor, district=svc.settings.district_code, private_key_hex=key, cipher=svc.cipher,
        publish=publish_one)))


# ---------------------------------------------------------------- OpenAPI

_P = "/api/v1/assist"
_R = f"{_P}/requests/<int:request_id>"
_ROUTES: list[RouteRow] = [
    (f"{_P}/requests", "post", "发起协查（个人信息加密保存，仅对接收区密封传输）", AssistCreate, AssistOut, {"status": 201}),
    (f"{_P}/requests", "get", "协查收件箱与发件箱", None, AssistPage, {"query_model": ListQuery}),
    (_R, "get", "协查详情与时间线", None, AssistDetail, {}),
    (f"{_R}/accept", "post", "受理（接收区）", NoteBody, AssistOut, {}),
    (f"{_R}/return", "post", "退回（接收区，须说明原因）", ReturnBody, AssistOut, {}),
    (f"{_R}/assign", "post", "指派承办人（接收区）", AssignBody, AssistOut, {}),
    (f"{_R}/answer", "post", "反馈核查结果与附件信息（接收区）", AnswerBody, AssistOut, {}),
    (f"{_R}/close", "post", "办结（发起区）", NoteBody, AssistOut, {}),
    (f"{_P}/inbound", "post", "市级平台转发的协查消息（SM2 签名）", AssistMessage, InboundAnswer, {"auth": ("sm2",)}),
]
for _path, _method, _summary, _req, _resp, _opts in _ROUTES:
    register_operation(_path, _method, _summary, _req, _resp, TAGS, **_opts)
