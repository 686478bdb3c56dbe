"""`/api/v1/dispatch/...`: city → district tasks, sub-tasks, feedback and the callback delivery log.

The city platform calls with SM2-signed requests (X-OneMap-* headers); district staff, institutions
and teams with a bearer token or their session (`dashboard.auth.current_principal` resolves all three).
Every route is documented in the OpenAPI registry (dashboard/openapi.py).
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import request
from pydantic import BaseModel
from sqlalchemy.orm import Session

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
from dashboard.auth import require_principal
from dashboard.errors import ApiError
from dashboard.extensions import services
from dashboard.openapi import OperationOptions, RouteRow, register_operation
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

TAGS = ("dispatch 任务派单",)
_CITY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,79}")


def _task_id(task_id: int) -> int:
    return path_id(task_id, "task", "任务不存在")


def _city_task_id(city_task_id: str) -> str:
    """Ids the city can have (as TaskCreate accepts them); anything else cannot exist."""
    if not _CITY_ID.fullmatch(city_task_id):
        raise ApiError(404, "task.not_found", f"city task {city_task_id[:80]!r} not found", "任务不存在")
    return city_task_id


# ---------------------------------------------------------------- routes

@bp.post("/dispatch/tasks")
@require_principal()
def create_task():
    data = json_body(TaskCreate)
    actor = caller()

    def flow(s: Session) -> tuple[dict[str, Any], bool]:
        task, created = service.create_task(s, actor=actor, data=data,
                                            default_district=services().settings.district_code,
                                            ip=request.remote_addr, publish=publish_one)
        return service.task_dict(s, task), created

    task, created = in_transaction(flow)
    return render(TaskCreated, {"created": created, "task": task}, 201 if created else 200)


@bp.get("/dispatch/tasks")
@require_principal()
def list_tasks():
    return listing(TaskQuery, TaskPage, service.list_tasks, service.task_dicts)


@bp.get("/dispatch/tasks/<int:task_id>")
@require_principal()
def get_task(task_id: int):
    actor, tid = caller(), _task_id(task_id)
    return render(TaskTree, read_transaction(lambda s: service.task_tree(s, actor=actor, task_id=tid)))


@bp.get("/dispatch/tasks/<int:task_id>/events")
@require_principal()
def task_events(task_id: int):
    actor, tid = caller(), _task_id(task_id)
    return render(EventList, {"items": read_transaction(lambda s: service.task_events(s, actor=actor, task_id=tid))})


def _action(task_id: int, model: type[BaseModel], fn: Callable[..., Any], **arg_of: str) -> Any:
    body, actor, tid = json_body(model), caller(), _task_id(task_id)
    kwargs = {param: getattr(body, attr) for param, attr in arg_of.items()}

    def flow(s: Session) -> dict[str, Any]:
        task = fn(s, actor=actor, task_id=tid, ip=request.remote_addr, publish=publish_one, **kwargs)
        return service.task_dict(s, task)

    return render(TaskOut, in_transaction(flow))


@bp.post("/dispatch/tasks/<int:task_id>/accept")
@require_principal()
def accept_task(task_id: int):
    return _action(task_id, AcceptRequest, service.accept_task, note="note")


@bp.post("/dispatch/tasks/<int:task_id>/return")
@require_principal()
def return_task(task_id: int):
    return _action(task_id, ReturnRequest, service.return_task, reason="reason")


@bp.post("/dispatch/tasks/<int:task_id>/cancel")
@require_principal()
def cancel_task(task_id: int):
    return _action(task_id, CancelRequest, service.cancel_task, reason="reason")


@bp.post("/dispatch/tasks/<int:task_id>/feedback")
@require_principal()
def feedback(task_id: int):
    body, actor, tid = json_body(FeedbackRequest), caller(), _task_id(task_id)

    def flow(s: Session) -> dict[str, Any]:
        task = service.report_feedback(s, actor=actor, task_id=tid, data=body, ip=request.remote_addr,
                                       publish=publish_one)
        return service.task_dict(s, task)

    return render(TaskOut, in_transaction(flow))


@bp.post("/dispatch/tasks/<int:task_id>/split")
@require_principal()
def split_task(task_id: int):
    body, actor, tid = json_body(SplitRequest), caller(), _task_id(task_id)

    def flow(s: Session) -> dict[str, Any]:
        service.split_task(s, actor=actor, task_id=tid, specs=body.subtasks, ip=request.remote_addr,
                           publish=publish_one)
        return service.task_tree(s, actor=actor, task_id=tid)

    return render(TaskTree, in_transaction(flow), 201)


@bp.get("/dispatch/city-tasks/<city_task_id>")
@require_principal()
def get_city_task(city_task_id: str):
    actor, city_task_id = caller(), _city_task_id(city_task_id)

    def flow(s: Session) -> dict[str, Any]:
        task = service.load_city_task(s, actor=actor, city_task_id=city_task_id)
        return service.task_tree(s, actor=actor, task_id=task.id)

    return render(TaskTree, in_transaction(flow))


@bp.post("/dispatch/city-tasks/<city_task_id>/cancel")
@require_principal()
def cancel_city_task(city_task_id: str):
    body, actor, city_task_id = json_body(CancelRequest), caller(), _city_task_id(city_task_id)

    def flow(s: Session) -> dict[str, Any]:
        task = service.load_city_task(s, actor=actor, city_task_id=city_task_id)
        task = service.cancel_task(s, actor=actor, task_id=task.id, reason=body.reason, ip=request.remote_addr,
                                   publish=publish_one)
        return service.task_dict(s, task)

    return render(TaskOut, in_transaction(flow))


@bp.get("/dispatch/deliveries")
@require_principal("district_commander", "city_admin")
def deliveries():
    query, actor = query_args(DeliveryQuery), caller()
    return render(DeliveryList, {"items": in_transaction(lambda s: outbox.list_deliveries(s, actor=actor, query=query))})


# ---------------------------------------------------------------- OpenAPI

_P = "/api/v1/dispatch"
_ANY = ("sm2", "bearer", "session")
_ROUTES: list[RouteRow] = [
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
]
for _path, _method, _summary, _req, _resp, _extra in _ROUTES:
    register_operation(_path, _method, _summary, request_model=_req, response_model=_resp, tags=TAGS,
                       **(OperationOptions(auth=_ANY) | _extra))
