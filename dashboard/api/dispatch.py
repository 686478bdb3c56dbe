"""`/api/v1/dispatch/...`: city → district tasks, sub-tasks, feedback and the callback delivery log.

The city platform calls with SM2-signed requests (X-OneMap-* headers); district staff, institutions
and teams with a bearer token or their session (`dashboard.auth.current_principal` resolves all three).
Every route is documented in the OpenAPI registry (dashboard/openapi.py).
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from flask import jsonify, request
from pydantic import BaseModel
from sqlalchemy.orm import Session

from accounts.principal import Principal
from dashboard.api import bp
from dashboard.auth import current_principal, require_principal
from dashboard.errors import ApiError
from dashboard.extensions import services
from dashboard.openapi import register_operation
from dispatch import outbox, service
from dispatch.models import (
    AcceptRequest,
    CancelRequest,
    DeliveryList,
    DeliveryQuery,
    EventList,
    FeedbackRequest,
    ReturnRequest,
    SplitRequest,
    TaskCreate,
    TaskCreated,
    TaskOut,
    TaskPage,
    TaskQuery,
    TaskTree,
)
from dispatch.service import DispatchError

log = logging.getLogger(__name__)
TAGS = ("dispatch 任务派单",)
MAX_ID = 2**31 - 1
_CITY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,79}")
_STATUS = {"not_found": 404, "forbidden": 403, "conflict": 409, "invalid": 422}


def publish_task_change(message: dict[str, Any]) -> None:
    """Live push after commit; a Redis failure must not fail the committed request."""
    from ingest.events import ChangeEvent, publish_change

    svc = services()
    try:
        publish_change(svc.redis, svc.settings.redis_namespace, ChangeEvent(**message))
    except Exception as exc:  # the change is committed; screens catch up on their next refresh
        log.warning("live push of task %s failed: %s", message.get("id"), exc)


def _body(model: type[BaseModel]) -> Any:
    data = request.get_json(silent=True)
    if data is None:
        raise ApiError(400, "invalid.json", "body must be JSON (Content-Type: application/json)", "请求体须为 JSON")
    return model.model_validate(data)


def _query(model: type[BaseModel]) -> Any:
    return model.model_validate(request.args.to_dict())


def _actor() -> Principal:
    principal = current_principal()
    assert principal is not None
    return principal


def _task_id(task_id: int) -> int:
    if not 1 <= task_id <= MAX_ID:
        raise ApiError(404, "task.not_found", f"task {task_id} not found", "任务不存在")
    return task_id


def _city_task_id(city_task_id: str) -> str:
    """Ids the city can have (as TaskCreate accepts them); anything else cannot exist."""
    if not _CITY_ID.fullmatch(city_task_id):
        raise ApiError(404, "task.not_found", f"city task {city_task_id[:80]!r} not found", "任务不存在")
    return city_task_id


def _run(fn: Callable[[Session], Any]) -> Any:
    """Run a flow in one transaction; domain refusals become API errors."""
    try:
        with services().session_factory() as session, session.begin():
            return fn(session)
    except DispatchError as exc:
        raise ApiError(_STATUS[exc.kind], exc.code, exc.message, exc.message_zh, exc.field) from None


def _out(model: type[BaseModel], data: Any, status: int = 200) -> Any:
    return jsonify(model.model_validate(data).model_dump(mode="json")), status


# ---------------------------------------------------------------- routes

@bp.post("/dispatch/tasks")
@require_principal()
def create_task():  # type: ignore[no-untyped-def]
    data = _body(TaskCreate)
    actor = _actor()

    def flow(s: Session) -> tuple[dict[str, Any], bool]:
        task, created = service.create_task(s, actor=actor, data=data,
                                            default_district=services().settings.district_code,
                                            ip=request.remote_addr, publish=publish_task_change)
        return service.task_dict(s, task), created

    task, created = _run(flow)
    return _out(TaskCreated, {"created": created, "task": task}, 201 if created else 200)


@bp.get("/dispatch/tasks")
@require_principal()
def list_tasks():  # type: ignore[no-untyped-def]
    query, actor = _query(TaskQuery), _actor()

    def flow(s: Session) -> dict[str, Any]:
        total, rows = service.list_tasks(s, actor=actor, query=query)
        return {"total": total, "items": service.task_dicts(s, rows)}

    return _out(TaskPage, _run(flow))


@bp.get("/dispatch/tasks/<int:task_id>")
@require_principal()
def get_task(task_id: int):  # type: ignore[no-untyped-def]
    actor, tid = _actor(), _task_id(task_id)
    return _out(TaskTree, _run(lambda s: service.task_tree(s, actor=actor, task_id=tid)))


@bp.get("/dispatch/tasks/<int:task_id>/events")
@require_principal()
def task_events(task_id: int):  # type: ignore[no-untyped-def]
    actor, tid = _actor(), _task_id(task_id)
    return _out(EventList, {"items": _run(lambda s: service.task_events(s, actor=actor, task_id=tid))})


def _action(task_id: int, model: type[BaseModel], fn: Callable[..., Any], **arg_of: str) -> Any:
    body, actor, tid = _body(model), _actor(), _task_id(task_id)
    kwargs = {param: getattr(body, attr) for param, attr in arg_of.items()}

    def flow(s: Session) -> dict[str, Any]:
        task = fn(s, actor=actor, task_id=tid, ip=request.remote_addr, publish=publish_task_change, **kwargs)
        return service.task_dict(s, task)

    return _out(TaskOut, _run(flow))


@bp.post("/dispatch/tasks/<int:task_id>/accept")
@require_principal()
def accept_task(task_id: int):  # type: ignore[no-untyped-def]
    return _action(task_id, AcceptRequest, service.accept_task, note="note")


@bp.post("/dispatch/tasks/<int:task_id>/return")
@require_principal()
def return_task(task_id: int):  # type: ignore[no-untyped-def]
    return _action(task_id, ReturnRequest, service.return_task, reason="reason")


@bp.post("/dispatch/tasks/<int:task_id>/cancel")
@require_principal()
def cancel_task(task_id: int):  # type: ignore[no-untyped-def]
    return _action(task_id, CancelRequest, service.cancel_task, reason="reason")


@bp.post("/dispatch/tasks/<int:task_id>/feedback")
@require_principal()
def feedback(task_id: int):  # type: ignore[no-untyped-def]
    body, actor, tid = _body(FeedbackRequest), _actor(), _task_id(task_id)

    def flow(s: Session) -> dict[str, Any]:
        task = service.report_feedback(s, actor=actor, task_id=tid, data=body, ip=request.remote_addr,
                                       publish=publish_task_change)
        return service.task_dict(s, task)

    return _out(TaskOut, _run(flow))


@bp.post("/dispatch/tasks/<int:task_id>/split")
@require_principal()
def split_task(task_id: int):  # type: ignore[no-untyped-def]
    body, actor, tid = _body(SplitRequest), _actor(), _task_id(task_id)

    def flow(s: Session) -> dict[str, Any]:
        service.split_task(s, actor=actor, task_id=tid, specs=body.subtasks, ip=request.remote_addr,
                           publish=publish_task_change)
        return service.task_tree(s, actor=actor, task_id=tid)

    return _out(TaskTree, _run(flow), 201)


@bp.get("/dispatch/city-tasks/<city_task_id>")
@require_principal()
def get_city_task(city_task_id: str):  # type: ignore[no-untyped-def]
    actor, city_task_id = _actor(), _city_task_id(city_task_id)

    def flow(s: Session) -> dict[str, Any]:
        task = service.load_city_task(s, actor=actor, city_task_id=city_task_id)
        return service.task_tree(s, actor=actor, task_id=task.id)

    return _out(TaskTree, _run(flow))


@bp.post("/dispatch/city-tasks/<city_task_id>/cancel")
@require_principal()
def cancel_city_task(city_task_id: str):  # type: ignore[no-untyped-def]
    body, actor, city_task_id = _body(CancelRequest), _actor(), _city_task_id(city_task_id)

    def flow(s: Session) -> dict[str, Any]:
        task = service.load_city_task(s, actor=actor, city_task_id=city_task_id)
        task = service.cancel_task(s, actor=actor, task_id=task.id, reason=body.reason, ip=request.remote_addr,
                                   publish=publish_task_change)
        return service.task_dict(s, task)

    return _out(TaskOut, _run(flow))


@bp.get("/dispatch/deliveries")
@require_principal("district_commander", "city_admin")
def deliveries():  # type: ignore[no-untyped-def]
    query, actor = _query(DeliveryQuery), _actor()
    return _out(DeliveryList, {"items": _run(lambda s: outbox.list_deliveries(s, actor=actor, query=query))})


# ---------------------------------------------------------------- OpenAPI

_P = "/api/v1/dispatch"
_ANY = ("sm2", "bearer", "session")
for _path, _method, _summary, _req, _resp, _extra in [
    (f"{_P}/tasks", "post", "下发任务（市级按 city_task_id 幂等；区级可自建任务）", TaskCreate, TaskCreated,
     {"status": 201, "description": "A repeated city_task_id answers 200 with the existing task (created=false)."}),
    (f"{_P}/tasks", "get", "任务列表与筛选", None, TaskPage, {"query_model": TaskQuery}),
    (f"{_P}/tasks/<int:task_id>", "get", "任务详情（含子任务树）", None, TaskTree, {}),
    (f"{_P}/tasks/<int:task_id>/events", "get", "任务时间线", None, EventList, {}),
    (f"{_P}/tasks/<int:task_id>/accept", "post", "签收", AcceptRequest, TaskOut, {}),
    (f"{_P}/tasks/<int:task_id>/return", "post", "退回（须说明原因）", ReturnRequest, TaskOut, {}),
    (f"{_P}/tasks/<int:task_id>/cancel", "post", "撤销（连同未完成的子任务）", CancelRequest, TaskOut, {}),
    (f"{_P}/tasks/<int:task_id>/split", "post", "分解为子任务（期限不晚于上级任务）", SplitRequest, TaskTree,
     {"status": 201}),
    (f"{_P}/tasks/<int:task_id>/feedback", "post", "反馈进度、数量、位置与附件", FeedbackRequest, TaskOut, {}),
    (f"{_P}/city-tasks/<city_task_id>", "get", "按市级任务号查询", None, TaskTree, {}),
    (f"{_P}/city-tasks/<city_task_id>/cancel", "post", "市级撤销任务", CancelRequest, TaskOut, {}),
    (f"{_P}/deliveries", "get", "回调投递记录（区级管理）", None, DeliveryList,
     {"query_model": DeliveryQuery, "auth": ("bearer", "session")}),
]:
    register_operation(_path, _method, _summary, request_model=_req, response_model=_resp, tags=TAGS,
                       **{"auth": _ANY, **_extra})
