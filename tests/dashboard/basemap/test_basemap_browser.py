"""/monitor in headless Chromium draws the offline basemap from /basemap/ (the generated MBTiles), nothing from outside."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from store.cases import CaseReport
from store.signals import Signal
from tests.dashboard.pages.demo.browser_pages import ARGS, _free_port, demo_cookie
from tests.paths import ARTIFACTS

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(app, demo_data) -> Iterator[str]:  # type: ignore[no-untyped-def]
    from werkzeug.serving import make_server

    srv = make_server("127.0.0.1", _free_port(), app, threaded=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        yield b
        b.close()


def _page(browser: Any, app: Any, server: str, user: str) -> tuple[Any, dict[str, list[Any]]]:
    ctx = browser.new_context(viewport={"width": 1920, "height": 1080}, timezone_id="Asia/Shanghai")
    ctx.add_cookies([{"name": "onemap_session", "value": demo_cookie(app, user), "url": server}])
    page = ctx.new_page()
    seen: dict[str, list[Any]] = {"errors": [], "urls": [], "tiles": []}
    page.on("console", lambda m: seen["errors"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("request", lambda r: seen["urls"].append(r.url))
    page.on("response", lambda r: seen["tiles"].append(r.status) if "/basemap/" in r.url else None)
    return page, seen


def test_monitor_shows_tiles_from_the_offline_file(app, server, browser) -> None:  # type: ignore[no-untyped-def]
    page, seen = _page(browser, app, server, "cn_analyst")
    page.goto(server + "/monitor")
    page.wait_for_selector("img.leaflet-tile-loaded[src*='/basemap/']", state="attached", timeout=45000)
    page.wait_for_selector(".leaflet-overlay-pane path", state="attached", timeout=45000)
    page.wait_for_timeout(1500)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "basemap_monitor_1920.png"))
    loaded = page.eval_on_selector_all("img.leaflet-tile-loaded", "els => els.map(e => e.src)")
    assert loaded and all("/basemap/" in src and src.endswith(".png") for src in loaded)
    assert seen["tiles"] and set(seen["tiles"]) == {200}  # the bounds keep Leaflet from asking for missing tiles
    assert all(url.startswith(server) or url.startswith(("data:", "blob:")) for url in seen["urls"])
    attribution = page.inner_text(".leaflet-control-attribution")
    assert "长宁区规划资源局 测试底图" in attribution and "alert" not in attribution
    assert seen["errors"] == []
    page.context.close()


def test_identity_action_on_the_signal_evidence(app, server, browser, services) -> None:  # type: ignore[no-untyped-def]
    with services.session_factory() as db:  # a single-case signal over three of the demo's Changning cases
        rows = db.scalars(select(CaseReport).where(CaseReport.district_code == "310105", CaseReport.name_enc.is_not(None))
                          .order_by(CaseReport.id).limit(3)).all()
        cases = [{"id": c.id, "onset_date": c.onset_date.isoformat(), "report_date": c.onset_date.isoformat(),
                  "region_code": c.region_code} for c in rows]
        day = rows[0].onset_date
        signal = Signal(dedup_key=f"basemap-test-{rows[0].id}", origin="model", model="single_case",
                        district_code="310105", disease_code=rows[0].disease_code, title="测试单病例预警", state="new",
                        observed=3.0, threshold=1.0, window_start=day, window_end=day, params={"min_cases": 1},
                        evidence={"model": "single_case", "level": "district", "as_of": day.isoformat(),
                                  "alarm_day": day.isoformat(), "observed": 3, "threshold": 1, "baseline": 0,
                                  "parameters": {"min_cases": 1}, "cases": cases, "disease_name": "测试"})
        db.add(signal)
        db.commit()
        signal_id = signal.id
    page, seen = _page(browser, app, server, "cn_analyst")
    page.goto(f"{server}/signals?id={signal_id}")
    button = page.locator("#sig-id-cases button", has_text="查看身份信息").first
    button.wait_for(timeout=45000)
    button.click()
    page.fill("#sig-id-purpose", "流调电话回访")
    page.click("#sig-id-submit")
    page.wait_for_selector(".sig-id-shown dl", timeout=20000)
    page.locator(".sig-id").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "signals_identity_1920.png"))
    assert "身份证号" in page.inner_text(".sig-id-shown") and "已记入审计" in page.inner_text(".sig-id-shown")
    assert seen["errors"] == []
    page.context.close()

    masked, seen = _page(browser, app, server, "cn_commander")
    masked.goto(f"{server}/signals?id={signal_id}")
    masked.wait_for_selector("#sig-id-cases button", timeout=45000)
    first = masked.locator("#sig-id-cases button").first
    assert first.is_disabled() and first.get_attribute("title") == "需有个人信息查看权限"
    assert "需有个人信息查看权限" in masked.inner_text("#sig-id-no-right")
    masked.context.close()
