"""Headless Chromium: an embed ticket opens the framed page; /tasks lists a task, shows it and accepts it."""
from __future__ import annotations

import json
import shutil
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from sqlalchemy import select

from store.dispatch import Task
from tests.factories.dispatch import World

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.browser, pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed")]


def _embed_ticket(live_url: str, world: World) -> str:
    """What the city platform does before framing: ask for a single-use ticket over the signed API."""
    from accounts.request_signing import sign_request

    body = json.dumps({"page": "command", "region": "310105"}).encode()
    headers = sign_request(private_key_hex=world.city_private, key_id=world.city_key_id, method="POST",
                           path="/api/v1/embed/tickets", body=body)
    resp = requests.post(f"{live_url}/api/v1/embed/tickets", data=body, timeout=10,
                         headers={**headers, "Content-Type": "application/json"})
    assert resp.status_code == 201, resp.text
    return str(resp.json()["ticket"])


def _session_cookie(app: Any, world: World, who: str) -> str:
    """A signed Flask session cookie holding a live web session of `who` (the two-factor form is tested elsewhere)."""
    from accounts.sessions import SessionStore

    svc = app.extensions["onemap"]
    ws = SessionStore(svc.redis, svc.settings.redis_namespace, 30).create(world.principals[who], method="test")
    return str(app.session_interface.get_signing_serializer(app).dumps({"sid": ws.sid, "csrf": "t" * 32}))


def test_tasks_page_in_a_browser(app, live_url: str, world: World, services) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    title = f"浏览器测试任务-{uuid.uuid4().hex[:6]}"
    deadline = (datetime.now(UTC) + timedelta(hours=4)).isoformat()
    resp = requests.post(f"{live_url}/api/v1/dispatch/tasks", headers=world.auth("commander"), timeout=10,
                         json={"title": title, "type": "sampling", "deadline": deadline})
    task_id = resp.json()["task"]["id"]
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        framed = browser.new_context().new_page()
        framed.goto(f"{live_url}/embed/command?ticket={_embed_ticket(live_url, world)}")
        assert framed.url == f"{live_url}/embed/command?region=310105"  # the ticket left the address bar
        context = browser.new_context()
        context.add_cookies([{"name": "onemap_session", "value": _session_cookie(app, world, "commander"),
                              "url": live_url}])
        page = context.new_page()
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(f"{live_url}/tasks")
        page.fill("#tasks-q", title)
        page.press("#tasks-q", "Enter")
        # Click only once the search has answered: the list holds this task alone (a click on the unfiltered
        # list can land on a button that the search's re-render replaces a moment later).
        page.wait_for_function("t => { const b = [...document.querySelectorAll('#tasks-list .link-button')];"
                               " return b.length > 0 && b.every(e => e.textContent === t); }", arg=title,
                               timeout=20_000)
        page.get_by_role("button", name=title).click(timeout=20_000)
        page.wait_for_selector("text=时间线", timeout=20_000)
        page.click("#tasks-accept")
        page.wait_for_selector("#tasks-message >> text=已签收", timeout=20_000)
        page.wait_for_selector("#tasks-detail >> text=已签收", timeout=20_000)
        browser.close()
    with services.session_factory() as s:
        assert s.scalar(select(Task.state).where(Task.id == task_id)) == "accepted"
    assert not problems, problems
