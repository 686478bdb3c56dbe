"""Overdue tasks: one 督办 reminder, then escalation after the delay; the map layer of open tasks."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from dispatch.models import SubtaskSpec, TaskCreate
from dispatch.scheduled import check_overdue
from dispatch.service import accept_task, create_task, split_task
from layers.base import LayerFilters
from layers.tasks import _layer, tasks_geojson
from store.dispatch import Task, TaskEvent
from tests.factories.dispatch import DISTRICT, World


def test_reminder_then_escalation(db, world: World) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    cmd = world.principals["commander"]
    parent, _ = create_task(db, actor=cmd, default_district=DISTRICT, data=TaskCreate(
        title="流调", type="epi", deadline=now + timedelta(hours=3)))
    accept_task(db, actor=cmd, task_id=parent.id)
    [sub] = split_task(db, actor=cmd, task_id=parent.id, specs=[SubtaskSpec(
        title="流调子任务", deadline=now + timedelta(hours=1), assignee_institution_id=world.institutions[0])])
    messages: list[dict[str, Any]] = []

    later = now + timedelta(hours=2)  # sub-task overdue, parent not yet
    result = check_overdue(db, later, publish=messages.append)
    assert sub.id in result.reminded and parent.id not in result.reminded + result.escalated
    assert check_overdue(db, later + timedelta(minutes=30)).reminded == []  # no second reminder
    assert sub.id not in check_overdue(db, later + timedelta(minutes=30)).escalated  # too early
    result = check_overdue(db, later + timedelta(hours=2, minutes=1))
    assert sub.id in result.escalated and parent.id in result.reminded
    assert sub.id not in check_overdue(db, later + timedelta(hours=9)).escalated + check_overdue(
        db, later + timedelta(hours=9)).reminded
    kinds = list(db.scalars(select(TaskEvent.kind).where(TaskEvent.task_id == sub.id).order_by(TaskEvent.id)))
    assert kinds == ["created", "reminder", "escalation"]
    assert db.get(Task, sub.id).escalation_level == 2
    assert messages == []  # published only after a commit; this session is rolled back


def test_task_layer_lists_open_tasks_with_place(db, world: World) -> None:  # type: ignore[no-untyped-def]
    cmd = world.principals["commander"]
    deadline = datetime.now(UTC) + timedelta(hours=5)
    title = f"消杀-{uuid.uuid4().hex[:6]}"
    placed, _ = create_task(db, actor=cmd, default_district=DISTRICT, data=TaskCreate.model_validate({
        "title": title, "type": "disinfection", "deadline": deadline.isoformat(),
        "location": {"type": "Point", "coordinates": [121.4303, 31.2259]}, "crs": "GCJ02"}))
    create_task(db, actor=cmd, default_district=DISTRICT, data=TaskCreate(title="无位置", type="other",
                                                                            deadline=deadline))
    fc = tasks_geojson(db, district_code=DISTRICT)
    mine = [f for f in fc["features"] if f["properties"]["title"] == title]
    assert len(mine) == 1 and mine[0]["properties"]["state_zh"] == "已下发"
    lon, lat = mine[0]["geometry"]["coordinates"]
    # GCJ-02 input was shifted back to WGS84 (a few hundred metres in Shanghai).
    assert 0.002 < abs(121.4303 - lon) + abs(31.2259 - lat) < 0.01
    assert all(f["properties"]["title"] != "无位置" for f in fc["features"])
    assert not [f for f in tasks_geojson(db, district_code="310104")["features"] if f["id"] == placed.id]
    near = tasks_geojson(db, district_code=DISTRICT, bbox=(lon - 0.001, lat - 0.001, lon + 0.001, lat + 0.001))
    assert placed.id in [f["id"] for f in near["features"]]
    far = tasks_geojson(db, district_code=DISTRICT, bbox=(120.0, 30.0, 120.1, 30.1))
    assert placed.id not in [f["id"] for f in far["features"]]
    # Through the layer registry, scoped by the principal: the other district sees nothing of ours.
    ours = _layer(db, world.principals["commander"], LayerFilters())
    theirs = _layer(db, world.principals["other_commander"], LayerFilters())
    assert placed.id in [f["id"] for f in ours["features"]]
    assert placed.id not in [f["id"] for f in theirs["features"]]
