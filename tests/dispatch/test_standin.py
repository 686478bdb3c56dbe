"""End to end over real HTTP: the stand-in city issues a task (SM2-signed), the district accepts and
splits it, assignees report, and the city receives signed callbacks in order with the roll-up."""
from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from sqlalchemy import func, select

from dispatch.outbox import deliver_due
from store.audit import AuditLog
from store.dispatch import CallbackDelivery, Task
from tests.factories.dispatch import World


def _deadline(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


def city_task(**extra: Any) -> dict[str, Any]:
    return {"city_task_id": f"SH-{uuid.uuid4().hex[:12]}", "title": "聚集性疫情流调", "type": "epi", "priority": 1,
            "deadline": _deadline(24), "location": {"type": "Point", "coordinates": [121.4241, 31.2204]},
            "description": "某小区3例聚集性病例，请组织流调、采样与消杀",
            "attachments": [{"name": "病例一览表.xlsx", "size": 10240, "content_type": "application/vnd.ms-excel"}],
            **extra}


def test_dispatch_accept_split_feedback_reaches_city_in_order(world: World, standin, target, live_url,
                                                              services) -> None:  # type: ignore[no-untyped-def]
    body = city_task()
    status, created = standin.issue_task(body)
    assert status == 201 and created["created"] is True
    task_id = created["task"]["id"]
    assert created["task"]["state"] == "issued" and created["task"]["location"]["coordinates"] == [121.4241, 31.2204]

    # The city repeats its POST (lost answer), also concurrently: still one task.
    status, again = standin.issue_task(body)
    assert status == 200 and again == {"created": False, "task": again["task"]} and again["task"]["id"] == task_id
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: standin.issue_task(body), range(4)))
    assert {r[1]["task"]["id"] for r in results} == {task_id}
    with services.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Task).where(Task.city_task_id == body["city_task_id"])) == 1

    api = f"{live_url}/api/v1/dispatch/tasks"
    cmd = world.auth("commander")
    r = requests.post(f"{api}/{task_id}/accept", json={"note": "已签收，立即部署"}, headers=cmd, timeout=10)
    assert r.status_code == 200 and r.json()["state"] == "accepted"

    subs = [
        {"title": "病例家庭流调", "type": "epi", "deadline": _deadline(12), "assignee_institution_id": world.institutions[0]},
        {"title": "密接采样", "type": "sampling", "deadline": _deadline(12), "assignee_institution_id": world.institutions[1]},
        {"title": "疫点消杀", "type": "disinfection", "deadline": _deadline(20), "assignee_team_id": world.team},
    ]
    r = requests.post(f"{api}/{task_id}/split", json={"subtasks": subs}, headers=cmd, timeout=10)
    assert r.status_code == 201, r.text
    children = r.json()["children"]
    assert [c["assignee_name"] for c in children] == ["测试社区卫生服务中心0", "测试社区卫生服务中心1", "长宁区流调一队"]
    ids = [c["id"] for c in children]

    def feedback(who: str, sub: int, **fb: Any) -> dict[str, Any]:
        resp = requests.post(f"{api}/{sub}/feedback", json=fb, headers=world.auth(who), timeout=10)
        assert resp.status_code == 200, resp.text
        return resp.json()

    # An institution cannot report on another institution's sub-task (it cannot even see it).
    r = requests.post(f"{api}/{ids[0]}/feedback", json={"progress": 10}, headers=world.auth("inst1"), timeout=10)
    assert r.status_code == 404
    feedback("inst0", ids[0], progress=50, note="已流调2户", counts={"persons_traced": 8})
    feedback("inst1", ids[1], progress=30, counts={"samples_taken": 40},
             location={"type": "Point", "coordinates": [121.40, 31.21]})
    feedback("inst2", ids[2], status="done", note="消杀完成", counts={"sites_disinfected": 3},
             attachments=[{"name": "消杀记录.jpg", "size": 2048}])
    feedback("inst0", ids[0], status="done", counts={"persons_traced": 12})
    feedback("inst1", ids[1], status="done", counts={"samples_taken": 96})

    tree = requests.get(f"{api}/{task_id}", headers=cmd, timeout=10).json()
    assert tree["state"] == "done" and tree["progress"] == 100
    assert tree["counts"] == {"persons_traced": 12, "samples_taken": 96, "sites_disinfected": 3}

    stats = deliver_due(services.session_factory, target=target)
    assert stats.failed == 0
    got = standin.received_for(body["city_task_id"])
    assert standin.rejected == []
    assert [p["sequence"] for p in got] == list(range(1, len(got) + 1))
    states = [(p["event"], p["state"], p["progress"]) for p in got]
    # created, accepted, split, then one update per change of the roll-up:
    # (50+0+0)/3=17 → (50+30+0)/3=27 → (50+30+100)/3=60 → (100+30+100)/3=77 → done.
    assert states == [
        ("task.state_changed", "issued", 0), ("task.state_changed", "accepted", 0), ("task.split", "accepted", 0),
        ("task.state_changed", "in_progress", 17),
        ("task.progress", "in_progress", 27), ("task.progress", "in_progress", 60),
        ("task.progress", "in_progress", 77), ("task.state_changed", "done", 100),
    ]
    assert got[-1]["state"] == "done" and got[-1]["counts"]["samples_taken"] == 96
    assert all(s["state"] == "done" for s in got[-1]["subtasks"]) and len(got[-1]["subtasks"]) == 3
    assert all(r.times_received == 1 for r in standin.callbacks)

    # Every step is a task event and is audited.
    events = requests.get(f"{api}/{task_id}/events", headers=cmd, timeout=10).json()["items"]
    assert [e["kind"] for e in events][:3] == ["created", "accepted", "split"]
    with services.session_factory() as s:
        n_audit = s.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.object_type == "task", AuditLog.object_id.in_([str(i) for i in [task_id, *ids]])))
        assert n_audit >= len(events) + 3 * 3
        pending = s.scalar(select(func.count()).select_from(CallbackDelivery).where(
            CallbackDelivery.task_id == task_id, CallbackDelivery.status != "delivered"))
        assert pending == 0
