"""Task flows: create, accept, return, cancel, split, feedback, roll-up — each an event, an audit row
and, for a city task, a callback in the same transaction."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import Point, Polygon, mapping
from sqlalchemy import event, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from accounts import audit
from accounts.people import actor_label, people
from accounts.principal import Principal
from core.errors import DomainError
from dispatch.models import (
    CallbackPayload,
    FeedbackRequest,
    PointGeometry,
    PolygonGeometry,
    SubtaskSpec,
    TaskCreate,
    TaskQuery,
)
from geo.crs import to_wgs84
from geo.srid import SRID
from store.dispatch import CallbackDelivery, Task, TaskEvent
from store.places import Institution
from store.response import Incident, Team
from store.signals import Signal

Publish = Callable[[dict[str, Any]], None]

STATE_ZH = {"issued": "已下发", "accepted": "已签收", "in_progress": "处置中", "done": "已完成",
            "returned": "已退回", "cancelled": "已撤销"}
TYPE_ZH = {"epi": "流调", "sampling": "采样", "disinfection": "消杀", "supply": "物资调拨", "screening": "排查",
           "other": "其他"}
PRIORITY_ZH = {1: "特急", 2: "紧急", 3: "一般", 4: "低"}
OPEN_STATES = ("issued", "accepted", "in_progress")
CITY_ROLES = frozenset({"city_api", "city_admin"})
COMMANDER = "district_commander"
# Allowed moves; in_progress → in_progress is a progress update. Overdue is derived, never stored.
TRANSITIONS = {
    "issued": {"accepted", "returned", "cancelled"},
    "accepted": {"in_progress", "done", "cancelled"},
    "in_progress": {"in_progress", "done", "cancelled"},
    "returned": {"cancelled"},
    "done": set(),
    "cancelled": set(),
}


class DispatchError(DomainError):
    """A refused dispatch action: `kind` is not_found | forbidden | conflict | invalid; `code` is stable."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def is_overdue(task: Task, now: datetime) -> bool:
    """Deadline passed and the task still open."""
    return task.state in OPEN_STATES and task.deadline < now


# ---------------------------------------------------------------- geometry

def _point(geom: PointGeometry | None, crs: str) -> Any:
    if geom is None:
        return None
    lon, lat = to_wgs84(geom.coordinates[0], geom.coordinates[1], crs)
    return from_shape(Point(float(lon), float(lat)), srid=SRID)


def _polygon(geom: PolygonGeometry, crs: str, field: str) -> Any:
    rings = []
    for ring in geom.coordinates:
        lons, lats = to_wgs84([p[0] for p in ring], [p[1] for p in ring], crs)
        rings.append(list(zip(lons.tolist(), lats.tolist(), strict=True)))
    shape = Polygon(rings[0], rings[1:])
    if not shape.is_valid or shape.area == 0:
        raise DispatchError("invalid", "geometry.invalid", "area is not a valid polygon", "区域多边形无效", field)
    return from_shape(shape, srid=SRID)


def geojson(geom: Any) -> dict[str, Any] | None:
    """A stored geometry as a GeoJSON geometry dict."""
    return None if geom is None else dict(mapping(to_shape(geom)))


# ---------------------------------------------------------------- scope and permissions

def _visible_clause(actor: Principal) -> Any:
    if actor.is_city:
        return True
    if actor.role == "institution_user":
        teams = select(Team.id).where(Team.institution_id == actor.institution_id)
        return or_(Task.assignee_institution_id == actor.institution_id, Task.assignee_team_id.in_(teams))
    return Task.district_code == actor.district_code


def _is_assignee(session: Session, actor: Principal, task: Task) -> bool:
    if actor.institution_id is None:
        return False
    if task.assignee_institution_id is not None:
        return task.assignee_institution_id == actor.institution_id
    if task.assignee_team_id is not None:
        team = session.get(Team, task.assignee_team_id)
        return team is not None and team.institution_id == actor.institution_id
    return False


def _is_commander(actor: Principal, task: Task) -> bool:
    return actor.role == COMMANDER and actor.may_see_district(task.district_code)


def _forbid(what: str, zh: str) -> DispatchError:
    return DispatchError("forbidden", "task.forbidden", f"you may not {what} this task", zh)


def load_task(session: Session, *, actor: Principal, task_id: int, lock: bool = False) -> Task:
    """A task the actor may see (404 otherwise, so ids of other districts do not leak)."""
    stmt = select(Task).where(Task.id == task_id, _visible_clause(actor))
    task = session.scalar(stmt.with_for_update() if lock else stmt)
    if task is None:
        raise DispatchError("not_found", "task.not_found", f"task {task_id} not found", "任务不存在")
    return task


def load_city_task(session: Session, *, actor: Principal, city_task_id: str) -> Task:
    task = session.scalar(select(Task).where(Task.city_task_id == city_task_id, _visible_clause(actor)))
    if task is None:
        raise DispatchError("not_found", "task.not_found", f"city task {city_task_id} not found", "任务不存在")
    return task


# ---------------------------------------------------------------- events, audit, outbox, live push

def _queue_publish(session: Session, publish: Publish | None, message: dict[str, Any]) -> None:
    """Send `message` only after the transaction commits (never for a rolled-back change)."""
    if publish is None:
        return
    pending = session.info.setdefault("dispatch_publish", [])
    if not pending:
        def _after_commit(sess: Session) -> None:
            for fn, msg in sess.info.pop("dispatch_publish", []):
                fn(msg)

        def _after_rollback(sess: Session) -> None:
            sess.info.pop("dispatch_publish", None)

        event.listen(session, "after_commit", _after_commit, once=True)
        event.listen(session, "after_rollback", _after_rollback, once=True)
    pending.append((publish, message))


def record_event(session: Session, task: Task, actor: Principal | None, kind: str, *,
                 from_state: str | None = None, note: str | None = None, counts: dict[str, int] | None = None,
                 location: Any = None, attachments: list[dict[str, Any]] | None = None, ip: str | None = None,
                 publish: Publish | None = None) -> TaskEvent:
    """Write the task event and its audit row, and queue the live-push message."""
    ev = TaskEvent(
        task_id=task.id, actor_user_id=actor.user_id if actor and actor.user_id > 0 else None,
        actor_name=actor.username if actor else "system", kind=kind, from_state=from_state,
        to_state=task.state, progress=task.progress, note=note, counts=counts or {}, location=location,
        attachments=attachments or [],
    )
    session.add(ev)
    session.flush()
    audit.record(session, actor=actor, action=f"task.{kind}", object_type="task", object_id=str(task.id),
                 district_code=task.district_code, ip=ip,
                 detail={"from": from_state, "to": task.state, "progress": task.progress, "note": note})
    _queue_publish(session, publish, {
        "kind": "task", "id": task.id, "action": "created" if kind == "created" else "updated",
        "district_code": task.district_code, "institution_id": task.assignee_institution_id,
        "fields": {"state": task.state, "progress": task.progress, "title": task.title,
                   "parent_id": task.parent_id, "event": kind},
    })
    return ev


def _children(session: Session, task: Task) -> list[Task]:
    return list(session.scalars(select(Task).where(Task.parent_id == task.id).order_by(Task.id)))


def _assignee_names(session: Session, tasks: Iterable[Task]) -> dict[int, str]:
    tasks = list(tasks)
    inst_ids = {t.assignee_institution_id for t in tasks if t.assignee_institution_id}
    team_ids = {t.assignee_team_id for t in tasks if t.assignee_team_id}
    insts = dict(session.execute(select(Institution.id, Institution.name).where(Institution.id.in_(inst_ids))).all()) \
        if inst_ids else {}
    teams = dict(session.execute(select(Team.id, Team.name).where(Team.id.in_(team_ids))).all()) if team_ids else {}
    names = {}
    for t in tasks:
        if t.assignee_institution_id:
            names[t.id] = insts.get(t.assignee_institution_id, "")
        elif t.assignee_team_id:
            names[t.id] = teams.get(t.assignee_team_id, "")
    return names


def _enqueue_callback(session: Session, root: Task, ev: TaskEvent, kind: str) -> None:
    """Outbox row for the city, in this transaction; the root row is locked so sequences are gap-free."""
    if root.city_task_id is None:
        return
    seq = (session.scalar(select(func.count()).select_from(CallbackDelivery)
                          .where(CallbackDelivery.task_id == root.id)) or 0) + 1
    key = f"{root.district_code}:{root.id}:{seq}"
    subs = _children(session, root)
    names = _assignee_names(session, subs)
    payload = CallbackPayload(
        idempotency_key=key, event=kind, sequence=seq, city_task_id=root.city_task_id, task_id=root.id,
        district_code=root.district_code, state=root.state, progress=root.progress, counts=root.counts or {},
        note=ev.note, time=utcnow(),
        subtasks=[{"id": s.id, "title": s.title, "state": s.state, "progress": s.progress,
                   "assignee": names.get(s.id)} for s in subs],
    ).model_dump(mode="json")
    session.add(CallbackDelivery(idempotency_key=key, task_id=root.id, task_event_id=ev.id, payload=payload))


def _root_locked(session: Session, task: Task) -> Task:
    if task.root_id is None:
        return task
    root = session.scalar(select(Task).where(Task.id == task.root_id).with_for_update())
    assert root is not None
    return root


# ---------------------------------------------------------------- state changes

def _change(session: Session, task: Task, actor: Principal | None, to_state: str, kind: str, *,
            note: str | None = None, progress: int | None = None, counts: dict[str, int] | None = None,
            location: Any = None, attachments: list[dict[str, Any]] | None = None, ip: str | None = None,
            publish: Publish | None = None) -> TaskEvent:
    """Apply one transition or progress update, then roll it up the tree and notify the city."""
    if to_state not in TRANSITIONS[task.state]:
        raise DispatchError("conflict", "task.invalid_transition",
                            f"cannot go from {task.state} to {to_state}",
                            f"任务当前为{STATE_ZH[task.state]}，不能变为{STATE_ZH[to_state]}", "status")
    from_state = task.state
    task.state = to_state
    if to_state == "done":
        task.progress = 100
    elif progress is not None:
        task.progress = progress
    if counts:
        task.counts = {**(task.counts or {}), **counts}
    if attachments:
        task.attachments = [*(task.attachments or []), *attachments]
    ev = record_event(session, task, actor, kind, from_state=from_state, note=note, counts=counts,
                      location=location, attachments=attachments, ip=ip, publish=publish)
    if task.parent_id is None:
        if task.city_task_id:
            _enqueue_callback(session, task, ev, "task.state_changed" if from_state != to_state else "task.progress")
    else:
        _rollup(session, task.parent_id, publish=publish)
    return ev


def _split_baseline(session: Session, parent: Task) -> tuple[int, dict[str, int]]:
    """Work done before the split is never lost: the parent's progress at its latest split and the
    counts it reported itself before its first split."""
    rows = session.execute(select(TaskEvent.progress, TaskEvent.counts).where(
        TaskEvent.task_id == parent.id, TaskEvent.kind == "split").order_by(TaskEvent.id)).all()
    if not rows:
        return 0, {}
    return int(rows[-1].progress or 0), {k: int(v) for k, v in (rows[0].counts or {}).items()}


def rolled_up_progress(baseline: int, child_progress: list[int]) -> int:
    """The sub-tasks share the work left at the split: baseline + (100 − baseline) × their mean."""
    mean = sum(child_progress) / len(child_progress)
    return round(baseline + (100 - baseline) * mean / 100)


def _rollup(session: Session, parent_id: int, *, publish: Publish | None) -> None:
    """Parent progress = its progress at the split plus its live sub-tasks' mean share of the rest
    (so a split never sends it backwards); counts summed; done when all are done."""
    parent = session.scalar(select(Task).where(Task.id == parent_id).with_for_update())
    assert parent is not None
    live = [c for c in _children(session, parent) if c.state != "cancelled"]
    if not live or parent.state not in OPEN_STATES:
        return
    baseline, counts = _split_baseline(session, parent)
    progress = rolled_up_progress(baseline, [c.progress for c in live])
    for c in live:
        for k, v in (c.counts or {}).items():
            counts[k] = counts.get(k, 0) + int(v)
    state = parent.state
    if all(c.state == "done" for c in live):
        state = "done"
    elif parent.state == "accepted" and any(c.state in ("in_progress", "done") or c.progress > 0 for c in live):
        state = "in_progress"
    if (state, progress, counts) == (parent.state, parent.progress, parent.counts or {}):
        return
    from_state = parent.state
    parent.state, parent.progress, parent.counts = state, progress if state != "done" else 100, counts
    ev = record_event(session, parent, None, "rollup", from_state=from_state, note=None, publish=publish)
    if parent.parent_id is None:
        if parent.city_task_id:
            _enqueue_callback(session, parent, ev, "task.state_changed" if from_state != state else "task.progress")
    else:
        _rollup(session, parent.parent_id, publish=publish)


# ---------------------------------------------------------------- flows

def _task_district(actor: Principal, data: TaskCreate, default_district: str) -> str:
    """The district a new task goes to; only the city (with city_task_id) and a commander may create tasks."""
    if actor.role in CITY_ROLES:
        if data.city_task_id is None:
            raise DispatchError("invalid", "task.city_task_id_required", "city_task_id is required",
                                "市级任务必须提供 city_task_id", "city_task_id")
        return data.district_code or default_district
    if actor.role != COMMANDER:
        raise _forbid("create", "当前角色无权下发任务")
    if data.city_task_id is not None:
        raise DispatchError("invalid", "task.city_task_id_forbidden", "only the city sets city_task_id",
                            "仅市级平台可提供 city_task_id", "city_task_id")
    district = data.district_code or actor.district_code or default_district
    if not actor.may_see_district(district):
        raise DispatchError("forbidden", "task.forbidden_district", "not your district", "不能向其他区下发任务",
                            "district_code")
    return district


def _check_links(session: Session, data: TaskCreate) -> None:
    """The signal and incident a new task refers to must exist."""
    if data.signal_id is not None and session.get(Signal, data.signal_id) is None:
        raise DispatchError("invalid", "task.signal_unknown", "no such signal", "关联的预警信号不存在", "signal_id")
    if data.incident_id is not None and session.get(Incident, data.incident_id) is None:
        raise DispatchError("invalid", "task.incident_unknown", "no such incident", "关联的事件不存在", "incident_id")


def create_task(session: Session, *, actor: Principal, data: TaskCreate, default_district: str,
                ip: str | None = None, publish: Publish | None = None) -> tuple[Task, bool]:
    """Create a task; a repeated city_task_id returns the existing task and False."""
    district = _task_district(actor, data, default_district)
    if data.city_task_id is not None:
        existing = session.scalar(select(Task).where(Task.city_task_id == data.city_task_id))
        if existing is not None:
            return existing, False
    _check_links(session, data)
    geom = _point(data.location, data.crs) if data.location else (
        _polygon(data.area, data.crs, "area") if data.area else None)
    task = Task(
        city_task_id=data.city_task_id, title=data.title, type=data.type, priority=data.priority,
        deadline=data.deadline, state="issued", progress=0, description=data.description, location=geom,
        district_code=district, signal_id=data.signal_id, incident_id=data.incident_id,
        created_by_user_id=actor.user_id if actor.user_id > 0 else None, counts={},
        attachments=[a.model_dump(exclude_none=True) for a in data.attachments],
    )
    try:
        with session.begin_nested():
            session.add(task)
            session.flush()
    except IntegrityError:
        # A concurrent request with the same city_task_id committed first: answer with its task.
        existing = session.scalar(select(Task).where(Task.city_task_id == data.city_task_id))
        if data.city_task_id is None or existing is None:
            raise
        return existing, False
    ev = record_event(session, task, actor, "created", note=data.description, ip=ip, publish=publish,
                 attachments=task.attachments)
    if task.city_task_id:
        _enqueue_callback(session, task, ev, "task.state_changed")
    return task, True


def _lock_for_action(session: Session, actor: Principal, task_id: int) -> Task:
    task = load_task(session, actor=actor, task_id=task_id)
    _root_locked(session, task)  # root first, then the task: one lock order for every flow
    session.refresh(task, with_for_update=True)
    return task


def accept_task(session: Session, *, actor: Principal, task_id: int, note: str | None = None,
                ip: str | None = None, publish: Publish | None = None) -> Task:
    """签收: the district (for its own task) or the assignee (for a sub-task)."""
    task = _lock_for_action(session, actor, task_id)
    if not (_is_commander(actor, task) or _is_assignee(session, actor, task)):
        raise _forbid("accept", "无权签收该任务")
    if task.state != "issued":
        raise DispatchError("conflict", "task.invalid_transition", f"task is {task.state}, not issued",
                            f"任务当前为{STATE_ZH[task.state]}，不能签收")
    _change(session, task, actor, "accepted", "accepted", note=note, ip=ip, publish=publish)
    return task


def return_task(session: Session, *, actor: Principal, task_id: int, reason: str,
                ip: str | None = None, publish: Publish | None = None) -> Task:
    """退回 with a reason, before the task is accepted."""
    task = _lock_for_action(session, actor, task_id)
    if not (_is_commander(actor, task) or _is_assignee(session, actor, task)):
        raise _forbid("return", "无权退回该任务")
    if task.state != "issued":
        raise DispatchError("conflict", "task.invalid_transition", f"task is {task.state}, only issued tasks return",
                            f"任务当前为{STATE_ZH[task.state]}，只有已下发的任务可以退回")
    _change(session, task, actor, "returned", "returned", note=reason, ip=ip, publish=publish)
    return task


def cancel_task(session: Session, *, actor: Principal, task_id: int, reason: str | None = None,
                ip: str | None = None, publish: Publish | None = None) -> Task:
    """撤销: the city for its tasks, the district for its own and sub-tasks; open sub-tasks follow."""
    task = _lock_for_action(session, actor, task_id)
    city_owned = task.city_task_id is not None
    allowed = actor.role in CITY_ROLES if city_owned else _is_commander(actor, task)
    if not allowed:
        raise _forbid("cancel", "无权撤销该任务")
    if "cancelled" not in TRANSITIONS[task.state]:
        raise DispatchError("conflict", "task.invalid_transition", f"task is {task.state}",
                            f"任务当前为{STATE_ZH[task.state]}，不能撤销")
    _cancel_subtree(session, task, actor, ip=ip, publish=publish)
    _change(session, task, actor, "cancelled", "cancelled", note=reason, ip=ip, publish=publish)
    return task


def _cancel_subtree(session: Session, task: Task, actor: Principal, *, ip: str | None,
                    publish: Publish | None) -> None:
    for child in _children(session, task):
        _cancel_subtree(session, child, actor, ip=ip, publish=publish)
        if "cancelled" in TRANSITIONS[child.state]:
            from_state, child.state = child.state, "cancelled"
            record_event(session, child, actor, "cancelled", from_state=from_state, note="上级任务已撤销", ip=ip,
                    publish=publish)


def split_task(session: Session, *, actor: Principal, task_id: int, specs: list[SubtaskSpec],
               ip: str | None = None, publish: Publish | None = None) -> list[Task]:
    """Split an accepted district task into sub-tasks for institutions or teams of the district."""
    task = _lock_for_action(session, actor, task_id)
    if not _is_commander(actor, task) or task.assignee_institution_id or task.assignee_team_id:
        raise _forbid("split", "只有区级指挥人员可以分解本区任务")
    if task.state not in ("accepted", "in_progress"):
        raise DispatchError("conflict", "task.not_accepted", f"task is {task.state}; accept it before splitting",
                            "任务签收后才能分解")
    subs = []
    for i, spec in enumerate(specs):
        if spec.deadline > task.deadline:
            raise DispatchError("invalid", "task.deadline_after_parent", "deadline is later than the parent's",
                                "子任务期限不能晚于上级任务期限", f"subtasks.{i}.deadline")
        _check_assignee(session, spec, task.district_code, i)
        sub = Task(
            parent_id=task.id, root_id=task.root_id or task.id, title=spec.title, type=spec.type or task.type,
            priority=spec.priority or task.priority, deadline=spec.deadline, state="issued", progress=0,
            description=spec.description, location=_point(spec.location, spec.crs) if spec.location else None,
            district_code=task.district_code, assignee_institution_id=spec.assignee_institution_id,
            assignee_team_id=spec.assignee_team_id, created_by_user_id=actor.user_id or None,
            signal_id=task.signal_id, incident_id=task.incident_id, counts={}, attachments=[],
        )
        session.add(sub)
        session.flush()
        record_event(session, sub, actor, "created", note=spec.description, ip=ip, publish=publish)
        subs.append(sub)
    ev = record_event(session, task, actor, "split", from_state=task.state, note=f"分解为{len(subs)}个子任务",
                      counts=dict(task.counts or {}), ip=ip, publish=publish)
    if task.parent_id is None and task.city_task_id:
        _enqueue_callback(session, task, ev, "task.split")
    _rollup(session, task.id, publish=publish)
    return subs


def _check_assignee(session: Session, spec: SubtaskSpec, district: str, i: int) -> None:
    if spec.assignee_institution_id is not None:
        inst = session.get(Institution, spec.assignee_institution_id)
        if inst is None or inst.district_code != district:
            raise DispatchError("invalid", "task.assignee_unknown", "no such institution in this district",
                                "本区不存在该机构", f"subtasks.{i}.assignee_institution_id")
    else:
        team = session.get(Team, spec.assignee_team_id)
        if team is None or team.district_code != district:
            raise DispatchError("invalid", "task.assignee_unknown", "no such team in this district",
                                "本区不存在该队伍", f"subtasks.{i}.assignee_team_id")


def report_feedback(session: Session, *, actor: Principal, task_id: int, data: FeedbackRequest,
                    ip: str | None = None, publish: Publish | None = None) -> Task:
    """Progress, counts, note, place and attachments from the assignee (or the district commander)."""
    task = _lock_for_action(session, actor, task_id)
    if not (_is_assignee(session, actor, task) or _is_commander(actor, task)):
        raise _forbid("report on", "无权反馈该任务")
    if any(c.state != "cancelled" for c in _children(session, task)):
        raise DispatchError("conflict", "task.progress_rolled_up", "progress of a split task comes from its sub-tasks",
                            "已分解任务的进度由子任务汇总，不能直接反馈")
    location = _point(data.location, data.crs) if data.location else None
    attachments = [a.model_dump(exclude_none=True) for a in data.attachments]
    if data.status == "accepted":
        if task.state != "issued":
            raise DispatchError("conflict", "task.invalid_transition", f"task is {task.state}, not issued",
                                f"任务当前为{STATE_ZH[task.state]}，不能签收", "status")
    elif task.state == "issued":
        _change(session, task, actor, "accepted", "accepted", note="随反馈签收", ip=ip, publish=publish)
    _change(session, task, actor, data.status, "feedback", note=data.note, progress=data.progress,
            counts=dict(data.counts), location=location, attachments=attachments, ip=ip, publish=publish)
    return task


# ---------------------------------------------------------------- reads

def list_tasks(session: Session, *, actor: Principal, query: TaskQuery, now: datetime | None = None
               ) -> tuple[int, list[Task]]:
    """Tasks the actor may see, filtered, most urgent first."""
    now = now or utcnow()
    stmt = select(Task).where(_visible_clause(actor))
    if query.state:
        stmt = stmt.where(Task.state == query.state)
    if query.type:
        stmt = stmt.where(Task.type == query.type)
    if query.priority:
        stmt = stmt.where(Task.priority == query.priority)
    if query.roots_only:
        stmt = stmt.where(Task.parent_id.is_(None))
    if query.parent_id:
        stmt = stmt.where(Task.parent_id == query.parent_id)
    if query.q:
        like = "%" + query.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(or_(Task.title.ilike(like), Task.city_task_id.ilike(like)))
    if query.overdue is not None:
        overdue = Task.state.in_(OPEN_STATES) & (Task.deadline < now)
        stmt = stmt.where(overdue if query.overdue else ~overdue)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(Task.priority, Task.deadline, Task.id).limit(query.limit)
                           .offset(query.offset))
    return total, list(rows)


def task_dict(session: Session, task: Task, now: datetime | None = None, names: dict[int, str] | None = None
              ) -> dict[str, Any]:
    """The API view of a task (TaskOut fields)."""
    now = now or utcnow()
    names = names if names is not None else _assignee_names(session, [task])
    return {
        "id": task.id, "parent_id": task.parent_id, "root_id": task.root_id, "city_task_id": task.city_task_id,
        "title": task.title, "type": task.type, "priority": task.priority, "deadline": task.deadline,
        "state": task.state, "state_zh": STATE_ZH[task.state], "overdue": is_overdue(task, now),
        "progress": task.progress, "description": task.description, "district_code": task.district_code,
        "assignee_institution_id": task.assignee_institution_id, "assignee_team_id": task.assignee_team_id,
        "assignee_name": names.get(task.id), "counts": task.counts or {}, "attachments": task.attachments or [],
        "location": geojson(task.location), "escalation_level": task.escalation_level,
        "created_at": task.created_at, "updated_at": task.updated_at,
    }


def task_dicts(session: Session, tasks: list[Task], now: datetime | None = None) -> list[dict[str, Any]]:
    names = _assignee_names(session, tasks)
    return [task_dict(session, t, now, names) for t in tasks]


def task_tree(session: Session, *, actor: Principal, task_id: int, now: datetime | None = None) -> dict[str, Any]:
    """The task with its sub-tasks, recursively (only those the actor may see)."""
    task = load_task(session, actor=actor, task_id=task_id)
    visible = {t.id for t in session.scalars(select(Task).where(
        or_(Task.root_id == (task.root_id or task.id), Task.id == (task.root_id or task.id)), _visible_clause(actor)))}

    def build(t: Task) -> dict[str, Any]:
        kids = [c for c in _children(session, t) if c.id in visible]
        names = _assignee_names(session, [t, *kids])
        node = task_dict(session, t, now, names)
        node["children"] = [build(c) for c in kids]
        return node

    return build(task)


def task_events(session: Session, *, actor: Principal, task_id: int) -> list[dict[str, Any]]:
    """The timeline of one task, oldest first."""
    load_task(session, actor=actor, task_id=task_id)
    rows = list(session.scalars(select(TaskEvent).where(TaskEvent.task_id == task_id).order_by(TaskEvent.id)))
    known = people(session, (e.actor_user_id for e in rows))
    return [{"id": e.id, "task_id": e.task_id, "time": e.time, "actor_name": e.actor_name,
             "actor_display": actor_label(known, e.actor_user_id, e.actor_name), "kind": e.kind,
             "from_state": e.from_state, "to_state": e.to_state, "progress": e.progress, "note": e.note,
             "counts": e.counts or {}, "attachments": e.attachments or [], "location": geojson(e.location)}
            for e in rows]


def allowed_actions(session: Session, *, actor: Principal, task: Task) -> set[str]:
    """What the actor may do to this task now (the screens enable only these)."""
    out: set[str] = set()
    commander, assignee = _is_commander(actor, task), _is_assignee(session, actor, task)
    if task.state == "issued" and (commander or assignee):
        out |= {"accept", "return"}
    has_live_children = any(c.state != "cancelled" for c in _children(session, task))
    if task.state in ("issued", "accepted", "in_progress") and (commander or assignee) and not has_live_children:
        out.add("feedback")
    if commander and not (task.assignee_institution_id or task.assignee_team_id) \
            and task.state in ("accepted", "in_progress"):
        out.add("split")
    owner_ok = actor.role in CITY_ROLES if task.city_task_id else commander
    if owner_ok and "cancelled" in TRANSITIONS[task.state]:
        out.add("cancel")
    return out


def assignee_options(session: Session, *, district_code: str) -> list[tuple[str, str]]:
    """(value, label) of the institutions and teams of a district a sub-task can go to."""
    insts = session.execute(select(Institution.id, Institution.name).where(Institution.district_code == district_code)
                            .order_by(Institution.name)).all()
    teams = session.execute(select(Team.id, Team.name).where(Team.district_code == district_code)
                            .order_by(Team.name)).all()
    return [(f"team:{i}", f"队伍 · {n}") for i, n in teams] + [(f"inst:{i}", f"机构 · {n}") for i, n in insts]
