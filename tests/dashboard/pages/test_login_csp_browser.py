"""Headless Chromium: the full two-factor login works and /monitor renders under the strict CSP."""
from __future__ import annotations

import base64
import shutil
import threading
from collections.abc import Iterator

import pytest
from werkzeug.serving import make_server

from security.sm2 import generate_keypair, sm2_sign
from tests.factories.users import TEST_PASSWORD, make_user

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.browser, pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed")]


@pytest.fixture(scope="module")
def live_url(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_login_and_monitor_render_without_csp_violations(live_url: str, services) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    priv, pub = generate_keypair()
    user, _ = make_user(services, "district_analyst", "310105", sm2_public_key=pub)
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(f"{live_url}/monitor")
        assert page.url.startswith(f"{live_url}/login?next=")
        page.fill("#username", user.username)
        page.fill("#password", TEST_PASSWORD)
        page.click("button[type=submit]")
        challenge = page.inner_text("#challenge")
        page.fill("#signature", base64.b64encode(sm2_sign(priv, challenge.encode())).decode())
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_url}/monitor")
        page.wait_for_selector(".page-monitor", timeout=20_000)  # rendered by Dash's callbacks
        assert "监测预警一张图" in page.inner_text("body")
        browser.close()
    csp = [p for p in problems if "Content Security Policy" in p or "Refused to" in p]
    assert not csp, csp
    assert not any("403" in p or "401" in p for p in problems), problems


