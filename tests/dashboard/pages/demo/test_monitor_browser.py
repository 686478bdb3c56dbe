"""/monitor in headless Chromium with the seeded demo: local-only requests, no console errors, drill-down, wall."""
from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from demo import geography
from tests.paths import ARTIFACTS

pytestmark = pytest.mark.browser
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
OVERLAYS = ("发病率分级（每10万）", "病例点位（聚合）", "病例热力", "实时新增病例", "时空聚集区", "预警信号", "综合监测哨点",
            "发热门诊", "肠道门诊", "实验室", "预防接种门诊", "学校因病缺课", "药店哨点药品销售", "舆情")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(app, demo_data) -> Iterator[str]:  # type: ignore[no-untyped-def]
    from werkzeug.serving import make_server

    port = _free_port()
    srv = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    srv.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        yield b
        b.close()


def _cookie(app: Any, role: str, region: str) -> str:
    from tests.factories.users import login, make_user

    user, _ = make_user(app.extensions["onemap"], role, region)
    client = app.test_client()
    login(client, user)
    return client.get_cookie("onemap_session").value  # type: ignore[union-attr]


class Page:
    """A logged-in page that records console errors and every request URL."""

    def __init__(self, browser: Any, base: str, cookie: str, width: int, height: int) -> None:
        self.ctx = browser.new_context(viewport={"width": width, "height": height}, timezone_id="Asia/Shanghai")
        self.ctx.add_cookies([{"name": "onemap_session", "value": cookie, "url": base}])
        self.page = self.ctx.new_page()
        self.errors: list[str] = []
        self.urls: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.urls.append(r.url))
        self.base = base

    def open(self, path: str) -> Any:
        self.page.goto(self.base + path)
        self.page.wait_for_selector("#mon-kpi-days28", state="attached", timeout=30000)
        self.page.wait_for_selector(".leaflet-overlay-pane path", state="attached", timeout=30000)
        self.page.wait_for_timeout(800)
        return self.page

    def check_clean(self) -> None:
        assert self.errors == []
        foreign = [u for u in self.urls if not (u.startswith(self.base + "/") or u.startswith(("data:", "blob:")))]
        assert foreign == []

    def close(self) -> None:
        self.ctx.close()


def _text(page: Any, selector: str) -> str:
    return page.locator(selector).inner_text().strip()


def test_monitor_layers_and_drill_down(app, server, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    p = Page(browser, server, _cookie(app, "district_analyst", "310105"), 1920, 1080)
    page = p.open("/monitor")
    labels = page.locator(".leaflet-control-layers-overlays label").all_inner_texts()
    for name in OVERLAYS:
        assert any(name in label for label in labels), name
    assert page.locator("img.leaflet-marker-icon[src$='fever.svg']").count() > 0
    assert page.locator("img.leaflet-marker-icon[src$='sentinel.svg']").count() > 0
    assert "OpenStreetMap contributors, geoBoundaries" in _text(page, ".leaflet-control-attribution")
    assert len(page.locator(".region-label").all()) == 10  # Changning's streets
    district_total = _text(page, "#mon-kpi-days28")
    district_qc = _text(page, "#mon-qc-incidence")
    page.screenshot(path=str(ARTIFACTS / "monitor_1920.png"))

    # the heat layer (kernel density image) is computed on demand only
    assert page.locator("img.leaflet-image-layer").count() == 0
    page.locator(".leaflet-control-layers-overlays label", has_text="病例热力").locator("input").check()
    page.wait_for_function("() => { const i = document.querySelector('img.leaflet-image-layer');"
                           " return i && i.src.length > 1000 && i.naturalWidth > 50; }", timeout=15000)
    page.screenshot(path=str(ARTIFACTS / "monitor_heat.png"))
    page.locator(".leaflet-control-layers-overlays label", has_text="病例热力").locator("input").uncheck()

    # drill down: click one street polygon
    street = page.locator(".leaflet-overlay-pane path[fill-opacity='0.72']").first
    street.dispatch_event("click")
    page.wait_for_function("() => document.querySelectorAll('#mon-crumbs .crumb').length == 2", timeout=15000)
    page.wait_for_function(f"() => document.querySelector('#mon-kpi-days28').innerText.trim() != '{district_total}'",
                           timeout=15000)
    assert _text(page, "#mon-qc-incidence") != district_qc
    crumbs = page.locator("#mon-crumbs .crumb").all_inner_texts()
    assert crumbs[0] == "长宁区" and crumbs[1].endswith(("街道", "镇"))
    page.screenshot(path=str(ARTIFACTS / "monitor_drilled.png"))
    page.locator("#mon-crumbs .crumb").first.click()
    page.wait_for_function(f"() => document.querySelector('#mon-kpi-days28').innerText.trim() == '{district_total}'",
                           timeout=15000)

    # a live case arrives: drawn in place on the live layer, no reload
    page.evaluate("""() => document.dispatchEvent(new CustomEvent('onemap:change', {detail: {
        kind: 'case_report', id: 99999999, action: 'created', district_code: '310105', region_code: null,
        geometry: [121.40, 31.21], fields: {disease_code: 'influenza', onset_date: null}, time: new Date().toISOString()}}))""")
    page.wait_for_selector("path.live-case", state="attached", timeout=10000)
    p.check_clean()
    p.close()


@pytest.mark.parametrize("width, height", [(1920, 1080), (3840, 2160)])
def test_wall_mode_fits_screen(app, server, browser, width, height):
    p = Page(browser, server, _cookie(app, "city_admin", "310000"), width, height)
    page = p.open("/monitor?wall=1&rotate=0")
    page.wait_for_function("() => document.querySelector('.wall-clock').innerText.length > 10", timeout=5000)
    dims = page.evaluate("""() => ({sw: document.documentElement.scrollWidth, sh: document.documentElement.scrollHeight,
                                    w: innerWidth, h: innerHeight,
                                    kpi: parseFloat(getComputedStyle(document.querySelector('.kpi-value')).fontSize),
                                    label: parseFloat(getComputedStyle(document.querySelector('.kpi-label')).fontSize)})""")
    assert dims["sw"] <= dims["w"] and dims["sh"] <= dims["h"]
    assert dims["label"] >= 0.009 * width  # scales with the viewport: ≥ 17 px on 1080p, ≥ 35 px on 4K
    assert page.locator(".wall .layer-age").count() == 4
    # The city at district level: the 16 districts (plus this package's two far-away test districts).
    shown = {label.inner_text().strip() for label in page.locator(".region-label").all()}
    assert {d.name for d in geography.districts()} <= shown
    assert page.locator(".wall-banner").is_hidden()
    page.screenshot(path=str(ARTIFACTS / f"monitor_wall_{width}.png"))
    p.check_clean()
    p.close()
