"""The /tasks screen and the /embed pages, driven through Dash's callback endpoint like a browser."""
from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select

from accounts.sessions import SessionStore
from dashboard import create_app
from store.dispatch import Task
from tests.factories.dispatch import World

API = "/api/v1/dispatch/tasks"


def _login(app: Any, world: World, who: str) -> Any:
    """A test client with a live web session for `who`, and its CSRF token."""
    svc = app.extensions["onemap"]
    ws = SessionStore(svc.redis, svc.settings.redis_namespace, 30).create(world.principals[who], method="test")
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["sid"], sess["csrf"] = ws.sid, "t" * 32
    return client


def _callback(client: Any, outputs: list[tuple[str, str]], inputs: list[dict[str, Any]],
              state: list[dict[str, Any]] | None = None, changed: list[str] | None = None) -> dict[str, Any]:
    spec = ["{}.{}".format(json.dumps(i, separators=(",", ":")) if isinstance(i, dict) else i, p) for i, p in outputs]
    body = {"output": "..{}..".format("...".join(spec)) if len(outputs) > 1 else spec[0],
            "outputs": [{"id": i, "property": p} for i, p in outputs] if len(outputs) > 1
            else {"id": outputs[0][0], "property": outputs[0][1]},
            "inputs": inputs, "state": state or [], "changedPropIds": changed or []}
    resp = client.post("/_dash-update-component", json=body, headers={"X-CSRFToken": "t" * 32})
    assert resp.status_code in (200, 204), resp.data[:500]
    return resp.get_json() if resp.status_code == 200 else {}


def _find(tree: Any, component_id: str) -> dict[str, Any]:
    """The props of the component with this id anywhere in a callback answer."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("props", {}).get("id") == component_id:
                return node["props"]  # type: ignore[no-any-return]
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    raise AssertionError(f"{component_id} not found")


def _route(client: Any, path: str, search: str = "") -> str:
    out = _callback(client, [("page-content", "children")],
                    [{"id": "url", "property": "pathname", "value": path},
                     {"id": "url", "property": "search", "value": search}], changed=["url.pathname"])
    return json.dumps(out, ensure_ascii=False)


def test_tasks_page_lists_shows_tree_and_accepts(app, world: World, services) -> None:  # type: ignore[no-untyped-def]
    title = f"页面测试任务-{uuid.uuid4().hex[:6]}"
    api = app.test_client()
    deadline = (datetime.now(UTC) + timedelta(hours=6)).isoformat()
    task = api.post(API, json={"title": title, "type": "epi", "deadline": deadline},
                    headers=world.auth("commander")).get_json()["task"]
    client = _login(app, world, "commander")
    assert client.get("/tasks").status_code == 200
    page = _route(client, "/tasks")
    assert "tasks-state" in page and "任务派单" in page

    listing = _callback(client, [("tasks-list", "children")], [
        {"id": "tasks-state", "property": "value", "value": None},
        {"id": "tasks-type", "property": "value", "value": None},
        {"id": "tasks-overdue", "property": "value", "value": []},
        {"id": "tasks-q", "property": "value", "value": title},
        {"id": "tasks-view", "property": "value", "value": "board"},
        {"id": "tasks-tick", "property": "n_intervals", "value": None},
        {"id": "tasks-changed", "property": "data", "value": 0}])
    text = json.dumps(listing, ensure_ascii=False)
    assert title in text and "已下发（1）" in text

    tree = _callback(client, [("tasks-detail", "children")], [
        {"id": "tasks-selected", "property": "data", "value": task["id"]},
        {"id": "tasks-changed", "property": "data", "value": 0}])
    detail = json.dumps(tree, ensure_ascii=False)
    assert "任务树" in detail and "时间线" in detail and "创建" in detail
    assert _find(tree, "tasks-accept")["disabled"] is False
    assert _find(tree, "tasks-split")["children"] == "下发子任务"

    states = [{"id": f"tasks-{n}", "property": "value", "value": None} for n in
              ("return-reason", "sub-title", "sub-type", "sub-assignee", "sub-deadline", "fb-status", "fb-progress",
               "fb-note", "fb-persons_traced", "fb-samples_taken", "fb-sites_disinfected")]
    out = _callback(client, [("tasks-message", "children"), ("tasks-changed", "data")], [
        {"id": "tasks-accept", "property": "n_clicks", "value": 1},
        *[{"id": f"tasks-{n}", "property": "n_clicks", "value": None} for n in ("return", "cancel", "split", "feedback")],
    ], state=[{"id": "tasks-selected", "property": "data", "value": task["id"]},
              {"id": "tasks-changed", "property": "data", "value": 0}, *states], changed=["tasks-accept.n_clicks"])
    assert "已签收" in json.dumps(out, ensure_ascii=False)
    with services.session_factory() as s:
        assert s.scalar(select(Task.state).where(Task.id == task["id"])) == "accepted"

    # Splitting with a deadline after the parent's is refused with a Chinese message, nothing written.
    bad = [dict(s_) for s_ in states]
    later = (datetime.fromisoformat(deadline) + timedelta(days=30)).astimezone(timezone(timedelta(hours=8)))
    values = {"sub-title": "子任务", "sub-assignee": f"inst:{world.institutions[0]}",
              "sub-deadline": later.strftime("%Y-%m-%dT%H:%M")}
    for s_ in bad:
        s_["value"] = values.get(s_["id"][6:], s_["value"])
    out = _callback(client, [("tasks-message", "children"), ("tasks-changed", "data")], [
        {"id": "tasks-accept", "property": "n_clicks", "value": 1},
        *[{"id": f"tasks-{n}", "property": "n_clicks", "value": 1 if n == "split" else None}
          for n in ("return", "cancel", "split", "feedback")],
    ], state=[{"id": "tasks-selected", "property": "data", "value": task["id"]},
              {"id": "tasks-changed", "property": "data", "value": 1}, *bad], changed=["tasks-split.n_clicks"])
    assert "子任务期限不能晚于上级任务期限" in json.dumps(out, ensure_ascii=False)


@pytest.fixture(scope="module")
def embed_app(settings):  # type: ignore[no-untyped-def]
    return create_app(settings.model_copy(update={"city_origin": "https://city.example.gov.cn"}))


def _embed_ticket(app: Any, world: World, page: str, region: str) -> str:
    """A single-use embed ticket, asked for by the city platform over the SM2-signed API."""
    from accounts.request_signing import sign_request

    body = json.dumps({"page": page, "region": region}).encode()
    headers = sign_request(private_key_hex=world.city_private, key_id=world.city_key_id, method="POST",
                           path="/api/v1/embed/tickets", body=body)
    resp = app.test_client().post("/api/v1/embed/tickets", data=body,
                                  headers={**headers, "Content-Type": "application/json"})
    assert resp.status_code == 201, resp.data[:300]
    return str(resp.get_json()["ticket"])


def test_embed_exchanges_ticket_for_session_and_allows_only_the_city_to_frame(
        embed_app, world: World) -> None:  # type: ignore[no-untyped-def]
    client = embed_app.test_client()
    assert client.get("/embed/monitor?region=310105&ticket=et_wrong").status_code == 401
    # a personal token in the URL is no login any more (issue #14, finding 1)
    assert client.get(f"/embed/monitor?region=310105&token={world.tokens['commander']}").status_code == 401
    ticket = _embed_ticket(embed_app, world, "monitor", "310105")
    assert client.get(f"/embed/monitor?region=310104&ticket={ticket}").status_code == 403
    ticket = _embed_ticket(embed_app, world, "monitor", "310105")
    resp = client.get(f"/embed/monitor?ticket={ticket}")
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/embed/monitor?region=310105")
    page = client.get("/embed/monitor?region=310105")
    assert page.status_code == 200
    csp = page.headers["Content-Security-Policy"]
    assert "frame-ancestors https://city.example.gov.cn" in csp and "X-Frame-Options" not in page.headers
    with client.session_transaction() as sess:
        sess["csrf"] = "t" * 32
    assert "page-monitor" in _route(client, "/embed/monitor", "?region=310105")
    assert "无权查看该区域" in _route(client, "/embed/monitor", "?region=310104")
    command = embed_app.test_client()
    resp = command.get(f"/embed/command?ticket={_embed_ticket(embed_app, world, 'command', '310105')}")
    assert resp.status_code == 303
    with command.session_transaction() as sess:
        sess["csrf"] = "t" * 32
    assert "page-command" in _route(command, "/embed/command", "")
    # Ordinary pages still refuse to be framed.
    assert "frame-ancestors 'none'" in embed_app.test_client().get("/login").headers["Content-Security-Policy"]
