"""`/api/v1/signals...`: warning signals in the caller's scope, their lifecycle, receipts, the inbox,
and signals pushed down by the city platform (SM2-signed, idempotent by the city's signal id)."""
from __future__ import annotations

from typing import Any

from flask import request
from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.principal import Principal
from alerting import service
from alerting.city_fusion import fuse_city_signal
from alerting.config import load_config
from alerting.schemas import (
    AssignRequest,
    CitySignalIn,
    CitySignalResult,
    InboxItemOut,
    InboxPage,
    InboxQuery,
    ReceiptResult,
    SignalDetail,
    SignalOut,
    SignalPage,
    SignalQuery,
    TransitionRequest,
)
from dashboard.api import bp
from dashboard.api.requests import (
    caller,
    in_transaction,
    json_body,
    listing,
    path_id,
    publish_one,
    query_args,
    read_transaction,
    render,
)
from dashboard.auth import require_principal, require_signed_client
from dashboard.openapi import RouteRow, register_operation
from exchange import inbound
from fieldwork.review import close_event
from store.signals import Signal

TAGS = ("signals 预警信号",)


def _signal_id(value: int) -> int:
    return path_id(value, "signal", "信号不存在")


def _one(session: Session, signal: Any) -> dict[str, Any]:
    return service.signal_dicts(session, [signal])[0]


@bp.get("/signals")
@require_principal()
def list_signals():
    return listing(SignalQuery, SignalPage, service.list_signals, service.signal_dicts)


@bp.get("/signals/<int:signal_id>")
@require_principal()
def get_signal(signal_id: int):
    actor, sid = caller(), _signal_id(signal_id)
    return render(SignalDetail, in_transaction(lambda s: service.signal_detail(s, actor=actor, signal_id=sid)))


def move_signal(s: Session, *, actor: Principal, signal_id: int, to: str, reason: str, ip: str | None = None) -> None:
    """A signal's transition; closing a warning event is the closed loop's first step (issue 20): the reason is its
    disposal summary (处置说明), recorded with the close so evaluation and review can follow."""
    if to == "closed" and s.scalar(select(Signal.kind).where(Signal.id == signal_id)) == "event":
        close_event(s, actor=actor, signal_id=signal_id, summary=reason, ip=ip, publish=publish_one)
        return
    service.transition(s, actor=actor, signal_id=signal_id, to=to, reason=reason, ip=ip, publish=publish_one)


@bp.post("/signals/<int:signal_id>/transition")
@require_principal()
def transition_signal(signal_id: int):
    body, actor, sid = json_body(TransitionRequest), caller(), _signal_id(signal_id)

    def flow(s: Session) -> dict[str, Any]:
        move_signal(s, actor=actor, signal_id=sid, to=body.to, reason=body.reason, ip=request.remote_addr)
        return service.signal_detail(s, actor=actor, signal_id=sid)

    return render(SignalDetail, in_transaction(flow))


@bp.post("/signals/<int:signal_id>/assign")
@require_principal()
def assign_signal(signal_id: int):
    body, actor, sid = json_body(AssignRequest), caller(), _signal_id(signal_id)

    def flow(s: Session) -> dict[str, Any]:
        sig = service.assign(s, actor=actor, signal_id=sid, user_id=body.user_id, reason=body.reason,
                             ip=request.remote_addr, publish=publish_one)
        return _one(s, sig)

    return render(SignalOut, in_transaction(flow))


@bp.post("/signals/<int:signal_id>/acknowledge")
@require_principal()
def acknowledge_signal(signal_id: int):
    actor, sid = caller(), _signal_id(signal_id)

    def flow(s: Session) -> dict[str, Any]:
        service.acknowledge(s, actor=actor, signal_id=sid, ip=request.remote_addr, publish=publish_one)
        detail = service.signal_detail(s, actor=actor, signal_id=sid)
        return {"signal_id": sid, "receipt": detail["receipts"][0]}

    return render(ReceiptResult, in_transaction(flow))


@bp.get("/signals/inbox")
@require_principal()
def my_inbox():
    query, actor = query_args(InboxQuery), caller()
    return render(InboxPage, read_transaction(
        lambda s: service.inbox(s, actor=actor, unread_only=query.unread_only, limit=query.limit)))


@bp.post("/signals/inbox/<int:item_id>/read")
@require_principal()
def read_inbox_item(item_id: int):
    actor, iid = caller(), path_id(item_id, "inbox", "消息不存在")

    def flow(s: Session) -> dict[str, Any]:
        item = service.mark_read(s, actor=actor, item_id=iid)
        return {"id": item.id, "kind": item.kind, "signal_id": item.signal_id, "title": item.title,
                "created_at": item.created_at, "read_at": item.read_at}

    return render(InboxItemOut, in_transaction(flow))


@bp.post("/signals")
@require_signed_client()
def receive_city_signal():
    body, actor = json_body(CitySignalIn), caller()

    def flow(s: Session) -> tuple[dict[str, Any], bool]:
        sig, created = service.receive_city_signal(s, actor=actor, data=body, ip=request.remote_addr)
        inbound.record_warning(s, signal_id=body.signal_id, issued_at=body.issued_at, created=created)
        if created:  # the city's signal is one more source of the district's warning events
            fuse_city_signal(s, sig, cfg=load_config(s), publish=publish_one)
        return _one(s, sig), created

    signal, created = in_transaction(flow)
    return render(CitySignalResult, {"created": created, "signal": signal}, 201 if created else 200)


# ---------------------------------------------------------------- OpenAPI

_P = "/api/v1/signals"
_ROUTES: list[RouteRow] = [
    (_P, "get", "预警信号列表与筛选（按权限范围）", None, SignalPage, {"query_model": SignalQuery}),
    (f"{_P}/<int:signal_id>", "get", "信号详情：证据、时间线、签收情况、可执行操作", None, SignalDetail, {}),
    (f"{_P}/<int:signal_id>/transition", "post", "信号状态流转（须说明原因）", TransitionRequest, SignalDetail, {}),
    (f"{_P}/<int:signal_id>/assign", "post", "指派核实人", AssignRequest, SignalOut, {}),
    (f"{_P}/<int:signal_id>/acknowledge", "post", "机构签收信号", None, ReceiptResult, {}),
    (f"{_P}/inbox", "get", "我的待办消息", None, InboxPage, {"query_model": InboxQuery}),
    (f"{_P}/inbox/<int:item_id>/read", "post", "标记消息已读", None, InboxItemOut, {}),
    (_P, "post", "市级平台下发预警信号（SM2签名，按 signal_id 幂等）", CitySignalIn, CitySignalResult,
     {"status": 201, "auth": ("sm2",),
      "description": "A repeated signal_id answers 200 with the existing signal (created=false)."}),
]
for _path, _method, _summary, _req, _resp, _extra in _ROUTES:
    register_operation(_path, _method, _summary, request_model=_req, response_model=_resp, tags=TAGS, **_extra)
