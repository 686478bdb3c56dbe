"""API rules: roles and scope, state transitions, validation errors with field and code, no half-writes."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from store.dispatch import Task, TaskEvent
from tests.factories.dispatch import World


@pytest.fixture(scope="module")
def world(dispatch_world: Any) -> Any:
    """This module's `world`: `dispatch_world` (tests/factories/dispatch.py)."""
    return dispatch_world

API = "/api/v1/dispatch/tasks"


def _deadline(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


def _local_task(client: Any, world: World, **extra: Any) -> dict[str, Any]:
    body = {"title": "社区发热门诊排查", "type": "screening", "deadline": _deadline(24), **extra}
    resp = client.post(API, json=body, headers=world.auth("commander"))
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["task"]


def _error(resp: Any) -> dict[str, Any]:
    return resp.get_json()["error"]


@pytest.mark.parametrize("body, status, code, field", [
    ({"title": "x", "type": "epi"}, 422, "invalid.request", "deadline"),
    ({"title": " ", "type": "epi", "deadline": _deadline(1)}, 422, "invalid.request", "title"),
    ({"title": "a\x00b", "type": "epi", "deadline": _deadline(1)}, 422, "invalid.request", "title"),
    ({"title": "x", "type": "flood", "deadline": _deadline(1)}, 422, "invalid.request", "type"),
    ({"title": "x", "type": "epi", "deadline": "2026-01-01T08:00:00"}, 422, "invalid.request", "deadline"),
    ({"title": "x", "type": "epi", "deadline": _deadline(1), "location": {"type": "Point", "coordinates": [200, 31]}},
     422, "invalid.request", "location.coordinates.0"),
    ({"title": "x", "type": "epi", "deadline": _deadline(1), "area": {"type": "Polygon", "coordinates": [
        [[121.0, 31.0], [121.1, 31.1], [121.1, 31.0], [121.0, 31.1], [121.0, 31.0]]]}}, 422, "geometry.invalid", "area"),
    ({"title": "x", "type": "epi", "deadline": _deadline(1), "city_task_id": "SH-1"}, 422,
     "task.city_task_id_forbidden", "city_task_id"),
    ({"title": "x", "type": "epi", "deadline": _deadline(1), "district_code": "310104"}, 403,
     "task.forbidden_district", "district_code"),
    ({"title": "x", "type": "epi", "deadline": _deadline(1), "signal_id": 2_000_000_000}, 422,
     "task.signal_unknown", "signal_id"),
    ({"title": "x", "type": "epi", "deadline": _deadline(1), "surprise": 1}, 422, "invalid.request", "surprise"),
])
def test_create_rejects_bad_input_with_field_and_code(client, world: World, body, status, code,
                                                      field) -> None:  # type: ignore[no-untyped-def]
    resp = client.post(API, json=body, headers=world.auth("commander"))
    assert resp.status_code == status, resp.get_json()
    err = _error(resp)
    assert (err["code"], err["field"]) == (code, field) and err["message_zh"]


def test_non_json_body_and_unauthenticated_calls_are_refused(client, world: World) -> None:  # type: ignore[no-untyped-def]
    resp = client.post(API, data="title=x", headers=world.auth("commander"))
    assert resp.status_code == 400 and _error(resp)["code"] == "invalid.json"
    assert _error(client.get(API))["code"] == "auth.required"
    bad_sig = {"X-OneMap-Key-Id": world.city_key_id, "X-OneMap-Timestamp": "1", "X-OneMap-Nonce": "a" * 20,
               "X-OneMap-Signature": "AAAA"}
    resp = client.post(API, json={}, headers=bad_sig)
    assert resp.status_code == 401 and _error(resp)["code"] == "sig.expired"


def test_roles_and_scope(client, world: World, services) -> None:  # type: ignore[no-untyped-def]
    task = _local_task(client, world)
    # Another district's commander cannot see it; an analyst can see but not act; institutions cannot create.
    assert client.get(f"{API}/{task['id']}", headers=world.auth("other_commander")).status_code == 404
    assert client.get(f"{API}/{task['id']}", headers=world.auth("analyst")).status_code == 200
    resp = client.post(f"{API}/{task['id']}/accept", json={}, headers=world.auth("analyst"))
    assert resp.status_code == 403 and _error(resp)["code"] == "task.forbidden"
    resp = client.post(API, json={"title": "x", "type": "epi", "deadline": _deadline(1)}, headers=world.auth("inst0"))
    assert resp.status_code == 403
    # The city's admin creates city tasks only with a city_task_id.
    resp = client.post(API, json={"title": "x", "type": "epi", "deadline": _deadline(1)},
                       headers=world.auth("city_admin"))
    assert resp.status_code == 422 and _error(resp)["field"] == "city_task_id"
    ids = {t["id"] for t in client.get(f"{API}?limit=500", headers=world.auth("other_commander")).get_json()["items"]}
    assert task["id"] not in ids
    assert client.get(f"{API}/2147483648", headers=world.auth("commander")).status_code == 404
    for odd in ("a%00b", "SH-1%0A", "x" * 81):
        resp = client.get(f"/api/v1/dispatch/city-tasks/{odd}", headers=world.auth("commander"))
        assert resp.status_code == 404 and _error(resp)["code"] == "task.not_found"
    resp = client.get(f"{API}?q=a%00b", headers=world.auth("commander"))
    assert resp.status_code == 422 and _error(resp)["field"] == "q"


def test_return_needs_reason_and_only_before_accepting(client, world: World) -> None:  # type: ignore[no-untyped-def]
    task = _local_task(client, world)
    resp = client.post(f"{API}/{task['id']}/return", json={"reason": "  "}, headers=world.auth("commander"))
    assert resp.status_code == 422 and _error(resp)["field"] == "reason"
    resp = client.post(f"{API}/{task['id']}/return", json={"reason": "不属于本区辖区"}, headers=world.auth("commander"))
    assert resp.status_code == 200 and resp.get_json()["state"] == "returned"
    resp = client.post(f"{API}/{task['id']}/accept", json={}, headers=world.auth("commander"))
    assert resp.status_code == 409 and _error(resp)["code"] == "task.invalid_transition"
    events = client.get(f"{API}/{task['id']}/events", headers=world.auth("commander")).get_json()["items"]
    assert events[-1]["kind"] == "returned" and events[-1]["note"] == "不属于本区辖区"


def test_split_validates_every_subtask_and_writes_nothing_on_error(client, world: World,
                                                                   services) -> None:  # type: ignore[no-untyped-def]
    task = _local_task(client, world, deadline=_deadline(10))
    ok = {"title": "采样", "deadline": _deadline(5), "assignee_institution_id": world.institutions[0]}
    resp = client.post(f"{API}/{task['id']}/split", json={"subtasks": [ok]}, headers=world.auth("commander"))
    assert resp.status_code == 409 and _error(resp)["code"] == "task.not_accepted"
    client.post(f"{API}/{task['id']}/accept", json={}, headers=world.auth("commander"))
    cases = [
        ({**ok, "deadline": _deadline(11)}, "task.deadline_after_parent", "subtasks.1.deadline"),
        ({**ok, "assignee_institution_id": world.other_institution}, "task.assignee_unknown",
         "subtasks.1.assignee_institution_id"),
        ({**ok, "assignee_team_id": world.team}, "invalid.request", "subtasks.1"),
        ({"title": "x", "deadline": _deadline(1)}, "invalid.request", "subtasks.1"),
    ]
    for bad, code, field in cases:
        resp = client.post(f"{API}/{task['id']}/split", json={"subtasks": [ok, bad]}, headers=world.auth("commander"))
        assert resp.status_code == 422 and (_error(resp)["code"], _error(resp)["field"]) == (code, field)
    with services.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Task).where(Task.parent_id == task["id"])) == 0
    resp = client.post(f"{API}/{task['id']}/split", json={"subtasks": [ok]}, headers=world.auth("commander"))
    assert resp.status_code == 201
    sub = resp.get_json()["children"][0]
    # The split parent's progress comes from its sub-tasks only.
    resp = client.post(f"{API}/{task['id']}/feedback", json={"progress": 50}, headers=world.auth("commander"))
    assert resp.status_code == 409 and _error(resp)["code"] == "task.progress_rolled_up"
    # The assignee returns the sub-task; the district cancels it and the parent no longer waits for it.
    resp = client.post(f"{API}/{sub['id']}/return", json={"reason": "人员不足"}, headers=world.auth("inst0"))
    assert resp.status_code == 200
    resp = client.post(f"{API}/{sub['id']}/cancel", json={}, headers=world.auth("commander"))
    assert resp.status_code == 200 and resp.get_json()["state"] == "cancelled"


def test_feedback_transitions(client, world: World) -> None:  # type: ignore[no-untyped-def]
    task = _local_task(client, world)
    resp = client.post(f"{API}/{task['id']}/feedback", json={"progress": 101}, headers=world.auth("commander"))
    assert resp.status_code == 422 and _error(resp)["field"] == "progress"
    resp = client.post(f"{API}/{task['id']}/feedback", json={"counts": {"Bad Key": 1}}, headers=world.auth("commander"))
    assert resp.status_code == 422 and _error(resp)["field"].startswith("counts")
    resp = client.post(f"{API}/{task['id']}/feedback", json={"progress": 40, "counts": {"persons_traced": 3}},
                       headers=world.auth("commander"))
    body = resp.get_json()
    assert resp.status_code == 200 and (body["state"], body["progress"]) == ("in_progress", 40)
    resp = client.post(f"{API}/{task['id']}/feedback", json={"status": "done"}, headers=world.auth("commander"))
    assert resp.get_json()["progress"] == 100
    resp = client.post(f"{API}/{task['id']}/feedback", json={"progress": 10}, headers=world.auth("commander"))
    assert resp.status_code == 409
    kinds = [e["kind"] for e in client.get(f"{API}/{task['id']}/events", headers=world.auth("commander"))
             .get_json()["items"]]
    assert kinds == ["created", "accepted", "feedback", "feedback"]


def test_list_filters(client, world: World) -> None:  # type: ignore[no-untyped-def]
    tag = uuid.uuid4().hex[:6]
    late = _local_task(client, world, title=f"超期任务{tag}", deadline=_deadline(-2), priority=1)
    _local_task(client, world, title=f"普通任务{tag}", type="supply", priority=3)
    items = client.get(f"{API}?q={tag}&overdue=true", headers=world.auth("commander")).get_json()["items"]
    assert [t["id"] for t in items] == [late["id"]] and items[0]["overdue"] is True
    page = client.get(f"{API}?q={tag}&type=supply", headers=world.auth("commander")).get_json()
    assert page["total"] == 1 and page["items"][0]["type"] == "supply"
    resp = client.get(f"{API}?state=lost", headers=world.auth("commander"))
    assert resp.status_code == 422 and _error(resp)["field"] == "state"
    assert client.get(f"{API}?q=%25", headers=world.auth("commander")).status_code == 200


def test_delivery_log_is_for_administrators(client, world: World) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/api/v1/dispatch/deliveries", headers=world.auth("inst0")).status_code == 403
    resp = client.get("/api/v1/dispatch/deliveries?status=pending", headers=world.auth("commander"))
    assert resp.status_code == 200 and isinstance(resp.get_json()["items"], list)


def test_city_cancel_cascades(client, world: World, standin, services) -> None:  # type: ignore[no-untyped-def]
    city_id = f"SH-{uuid.uuid4().hex[:10]}"
    status, body = standin.issue_task({"city_task_id": city_id, "title": "物资调拨", "type": "supply",
                                       "deadline": _deadline(8)})
    assert status == 201
    tid = body["task"]["id"]
    client.post(f"{API}/{tid}/accept", json={}, headers=world.auth("commander"))
    client.post(f"{API}/{tid}/split", headers=world.auth("commander"), json={"subtasks": [
        {"title": "调拨口罩", "deadline": _deadline(4), "assignee_institution_id": world.institutions[1]}]})
    # The district may not cancel the city's task; the city may.
    assert client.post(f"{API}/{tid}/cancel", json={}, headers=world.auth("commander")).status_code == 403
    status, body = standin.cancel_task(city_id, "疫情解除")
    assert status == 200 and body["state"] == "cancelled"
    status, tree = standin.call("GET", f"/api/v1/dispatch/city-tasks/{city_id}")
    assert status == 200 and [c["state"] for c in tree["children"]] == ["cancelled"]
    with services.session_factory() as s:
        kinds = list(s.scalars(select(TaskEvent.kind).where(TaskEvent.task_id == tid).order_by(TaskEvent.id)))
    assert kinds[-1] == "cancelled"
