"""Active dispatched tasks with a place, as GeoJSON for the command map (应急指挥一张图).

Registered as layer "tasks" (group "command"); list "layers.tasks" in layers.registry.LAYER_MODULES
to serve it at /api/v1/layers/tasks.
"""
from __future__ import annotations

from datetime import UTC, datetime

from geoalchemy2.shape import to_shape
from shapely.geometry import mapping
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from accounts.principal import Principal
from accounts.scope import scope_clause
from geo import beijing
from geo.geojson import FeatureCollection, feature, feature_collection
from geo.srid import SRID
from layers.base import Layer, LayerFilters
from layers.registry import register
from store import topics
from store.dispatch import Task

OPEN_STATES = ("issued", "accepted", "in_progress")
STATE_ZH = {"issued": "已下发", "accepted": "已签收", "in_progress": "处置中", "done": "已完成",
            "returned": "已退回", "cancelled": "已撤销"}
TYPE_ZH = {"epi": "流调", "sampling": "采样", "disinfection": "消杀", "supply": "物资调拨", "screening": "排查",
           "other": "其他"}


def tasks_geojson(session: Session, *, district_code: str | None, states: tuple[str, ...] = OPEN_STATES,
                  institution_id: int | None = None, bbox: tuple[float, float, float, float] | None = None,
                  limit: int = 20000, now: datetime | None = None,
                  scope: ColumnElement[bool] | None = None) -> FeatureCollection:
    """Tasks with a location or area in `district_code` (None: every district), open ones by default.

    `institution_id` limits the layer to tasks assigned to that institution (institution users);
    `bbox` (west, south, east, north) to the area on screen. Geometry is WGS84; properties carry
    codes plus Chinese labels for the popup.
    """
    now = now or datetime.now(UTC)
    stmt = select(Task).where(Task.location.is_not(None), Task.state.in_(states))
    if scope is not None:  # the caller's scope (accounts.scope.scope_clause)
        stmt = stmt.where(scope)
    if district_code is not None:
        stmt = stmt.where(Task.district_code == district_code)
    if institution_id is not None:
        stmt = stmt.where(Task.assignee_institution_id == institution_id)
    if bbox is not None:
        stmt = stmt.where(func.ST_Intersects(Task.location, func.ST_MakeEnvelope(*bbox, SRID)))
    features = []
    for task in session.scalars(stmt.order_by(Task.priority, Task.deadline).limit(limit)):
        features.append(feature(dict(mapping(to_shape(task.location))), id=task.id, properties={
            "id": task.id, "parent_id": task.parent_id, "city_task_id": task.city_task_id, "title": task.title,
            "type": task.type, "type_zh": TYPE_ZH.get(task.type, task.type), "priority": task.priority,
            "state": task.state, "state_zh": STATE_ZH.get(task.state, task.state), "progress": task.progress,
            "deadline": beijing.iso(task.deadline), "overdue": task.state in OPEN_STATES and task.deadline < now,
            "escalation_level": task.escalation_level, "district_code": task.district_code,
            "assignee_institution_id": task.assignee_institution_id,
            "assignee_team_id": task.assignee_team_id,
        }))
    return feature_collection(features)


def _layer(session: Session, principal: Principal, filters: LayerFilters) -> FeatureCollection:
    return tasks_geojson(session, bbox=filters.bbox, limit=filters.limit, district_code=None,
                         scope=scope_clause(principal, Task.district_code, Task.assignee_institution_id))


def _updated_at(session: Session, principal: Principal) -> datetime | None:
    stmt = select(func.max(Task.updated_at)).where(Task.location.is_not(None),
                                                   scope_clause(principal, Task.district_code,
                                                                Task.assignee_institution_id))
    latest: datetime | None = session.scalar(stmt)
    return latest


register(Layer("tasks", "处置任务", "Geometry", _layer, _updated_at, group="command", depends_on=(topics.TASKS,)))
