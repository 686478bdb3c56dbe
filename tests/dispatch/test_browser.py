"""Headless Chromium: an embed token opens a session; /tasks lists a task, shows it and accepts it."""
from __future__ import annotations

import shutil
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import requests
from sqlalchemy import select

from store.dispatch import Task
from tests.dispatch.conftest import World

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.browser, pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed")]


def test_tasks_page_in_a_browser(live_url: str, world: World, services) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    title = f"浏览器测试任务-{uuid.uuid4().hex[:6]}"
    deadline = (datetime.now(timezone.utc) + timedelta(hours=4)).isoformat()
    resp = requests.post(f"{live_url}/api/v1/dispatch/tasks", headers=world.auth("commander"), timeout=10,
                         json={"title": title, "type": "sampling", "deadline": deadline})
    task_id = resp.json()["task"]["id"]
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(f"{live_url}/embed/command?region=310105&token={world.tokens['commander']}")
        assert page.url == f"{live_url}/embed/command?region=310105"  # the token left the address bar
        page.goto(f"{live_url}/tasks")
        page.fill("#tasks-q", title)
        page.press("#tasks-q", "Enter")
        page.get_by_role("button", name=title).click(timeout=20_000)
        page.wait_for_selector("text=时间线", timeout=20_000)
        page.click("#tasks-accept")
        page.wait_for_selector("#tasks-message >> text=已签收", timeout=20_000)
        page.wait_for_selector("#tasks-detail >> text=已签收", timeout=20_000)
        browser.close()
    with services.session_factory() as s:
        assert s.scalar(select(Task.state).where(Task.id == task_id)) == "accepted"
    assert not problems, problems
