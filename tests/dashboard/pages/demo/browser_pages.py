"""Shared by the Beijing-time and Chinese-only browser tests: a server, Chromium, and a demo user's page.

The browser context runs in America/Los_Angeles on purpose: what the pages show must be Beijing time
whatever zone the user's computer (or the wall kiosk) is set to.
"""
from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from store.accounts import AppUser
from tests.paths import ARTIFACTS

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
BROWSER_ZONE = "America/Los_Angeles"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(app, demo_data) -> Iterator[str]:  # type: ignore[no-untyped-def]
    from werkzeug.serving import make_server

    srv = make_server("127.0.0.1", _free_port(), app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        yield b
        b.close()


def demo_cookie(app: Any, username: str) -> str:
    """A live session cookie for one of the demo users (Chinese display names, real organisations)."""
    from tests.factories.users import login

    with app.extensions["onemap"].session_factory() as db:
        user = db.scalar(select(AppUser).where(AppUser.username == username))
    assert user is not None, username
    client = app.test_client()
    login(client, user)
    return client.get_cookie("onemap_session").value  # type: ignore[union-attr]


class Screen:
    """A logged-in 1920×1080 page in a non-Beijing browser zone that records console errors."""

    def __init__(self, browser: Any, base: str, cookie: str, width: int = 1920, height: int = 1080) -> None:
        self.ctx = browser.new_context(viewport={"width": width, "height": height}, timezone_id=BROWSER_ZONE,
                                       locale="en-US")
        self.ctx.add_cookies([{"name": "onemap_session", "value": cookie, "url": base}])
        self.page = self.ctx.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.base = base

    def open(self, path: str, ready: str) -> Any:
        self.page.goto(self.base + path)
        self.page.wait_for_selector(ready, state="attached", timeout=90000)
        self.page.wait_for_timeout(1200)
        return self.page

    def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / name
        self.page.screenshot(path=str(path))
        return path

    def close(self) -> None:
        self.ctx.close()
