"""`/api/v1/signals...`: warning signals in the caller's scope, their lifecycle, receipts, the inbox,
and signals pushed down by the city platform (SM2-signed, idempotent by the city's signal id)."""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import jsonify, request
from pydantic import BaseModel
from sqlalchemy.orm import Session

from accounts.principal import Principal
from alerting import service
from alerting.city_fusion import fuse_city_signal
from alerting.config import WarnConfigError, load_config
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
from alerting.service import SignalError
from dashboard.api import bp
from dashboard.auth import current_principal, require_principal, require_signed_client
from dashboard.errors import ApiError
from dashboard.extensions import services
from dashboard.openapi import register_operation

log = logging.getLogger(__name__)
TAGS = ("signals 预警信号",)
MAX_ID = 2**31 - 1
_STATUS = {"not_found": 404, "forbidden": 403, "conflict": 409, "invalid": 422}


def publish_signal(message: dict[str, Any]) -> None:
    """Live push after commit; a Redis failure must not fail the committed request."""
    from ingest.events import ChangeEvent, publish_change

    svc = services()
    try:
        publish_change(svc.redis, svc.settings.redis_namespace, ChangeEvent(**message))
    except Exception as exc:  # committed; screens catch up on their next refresh
        log.warning("live push of signal %s failed: %s", message.get("id"), exc)


def _body(model: type[BaseModel]) -> Any:
    data = request.get_json(silent=True)
    if data is None:
        raise ApiError(400, "invalid.json", "body must be JSON (Content-Type: application/json)", "请求体须为 JSON")
    return model.model_validate(data)


def _actor() -> Principal:
    principal = current_principal()
    assert principal is not None
    return principal


def _id(value: int, what: str = "signal") -> int:
    if not 1 <= value <= MAX_ID:
        raise ApiError(404, f"{what}.not_found", f"{what} {value} not found", "信号不存在" if what == "signal" else "消息不存在")
    return value


def _run(fn: Callable[[Session], Any]) -> Any:
    """One transaction; domain refusals become API errors with their code and field."""
    try:
        with services().session_factory() as session, session.begin():
            return fn(session)
    except SignalError as exc:
        raise ApiError(_STATUS[exc.kind], exc.code, exc.message, exc.message_zh, exc.field) from None
    except WarnConfigError as exc:
        raise ApiError(500, exc.code, str(exc), "预警参数配置有误，请联系管理员", exc.field) from None


def _out(model: type[BaseModel], data: Any, status: int = 200) -> Any:
    return jsonify(model.model_validate(data).model_dump(mode="json")), status


def _one(session: Session, signal: Any) -> dict[str, Any]:
    return service.signal_dicts(session, [signal])[0]


@bp.get("/signals")
@require_principal()
def list_signals():  # type: ignore[no-untyped-def]
    query, actor = SignalQuery.model_validate(request.args.to_dict()), _actor()

    def flow(s: Session) -> dict[str, Any]:
        total, rows = service.list_signals(s, actor=actor, query=query)
        return {"total": total, "items": service.signal_dicts(s, rows)}

    return _out(SignalPage, _run(flow))


@bp.get("/signals/<int:signal_id>")
@require_principal()
def get_signal(signal_id: int):  # type: ignore[no-untyped-def]
    actor, sid = _actor(), _id(signal_id)
    return _out(SignalDetail, _run(lambda s: service.signal_detail(s, actor=actor, signal_id=sid)))


@bp.post("/signals/<int:signal_id>/transition")
@require_principal()
def transition_signal(signal_id: int):  # type: ignore[no-untyped-def]
    body, actor, sid = _body(TransitionRequest), _actor(), _id(signal_id)

    def flow(s: Session) -> dict[str, Any]:
        service.transition(s, actor=actor, signal_id=sid, to=body.to, reason=body.reason, ip=request.remote_addr,
                           publish=publish_signal)
        return service.signal_detail(s, actor=actor, signal_id=sid)

    return _out(SignalDetail, _run(flow))


@bp.post("/signals/<int:signal_id>/assign")
@require_principal()
def assign_signal(signal_id: int):  # type: ignore[no-untyped-def]
    body, actor, sid = _body(AssignRequest), _actor(), _id(signal_id)

    def flow(s: Session) -> dict[str, Any]:
        sig = service.assign(s, actor=actor, signal_id=sid, user_id=body.user_id, reason=body.reason,
                             ip=request.remote_addr, publish=publish_signal)
        return _one(s, sig)

    return _out(SignalOut, _run(flow))


@bp.post("/signals/<int:signal_id>/acknowledge")
@require_principal()
def acknowledge_signal(signal_id: int):  # type: ignore[no-untyped-def]
    actor, sid = _actor(), _id(signal_id)

    def flow(s: Session) -> dict[str, Any]:
        service.acknowledge(s, actor=actor, signal_id=sid, ip=request.remote_addr, publish=publish_signal)
        detail = service.signal_detail(s, actor=actor, signal_id=sid)
        return {"signal_id": sid, "receipt": detail["receipts"][0]}

    return _out(ReceiptResult, _run(flow))


@bp.get("/signals/inbox")
@require_principal()
def my_inbox():  # type: ignore[no-untyped-def]
    query, actor = InboxQuery.model_validate(request.args.to_dict()), _actor()
    return _out(InboxPage, _run(lambda s: service.inbox(s, actor=actor, unread_only=query.unread_only,
                                                         limit=query.limit)))


@bp.post("/signals/inbox/<int:item_id>/read")
@require_principal()
def read_inbox_item(item_id: int):  # type: ignore[no-untyped-def]
    actor, iid = _actor(), _id(item_id, "inbox")

    def flow(s: Session) -> dict[str, Any]:
        item = service.mark_read(s, actor=actor, item_id=iid)
        return {"id": item.id, "kind": item.kind, "signal_id": item.signal_id, "title": item.title,
                "created_at": item.created_at, "read_at": item.read_at}

    return _out(InboxItemOut, _run(flow))


@bp.post("/signals")
@require_signed_client()
def receive_city_signal():  # type: ignore[no-untyped-def]
    body, actor = _body(CitySignalIn), _actor()

    def flow(s: Session) -> tuple[dict[str, Any], bool]:
        sig, created = service.receive_city_signal(s, actor=actor, data=body, ip=request.remote_addr)
        if created:  # the city's signal is one more source of the district's warning events
            fuse_city_signal(s, sig, cfg=load_config(s), publish=publish_signal)
        return _one(s, sig), created

    signal, created = _run(flow)
    return _out(CitySignalResult, {"created": created, "signal": signal}, 201 if created else 200)


# ---------------------------------------------------------------- OpenAPI

_P = "/api/v1/signals"
for _path, _method, _summary, _req, _resp, _extra in [
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
]:
    register_operation(_path, _method, _summary, request_model=_req, response_model=_resp, tags=TAGS, **_extra)
