"""/monitor draws case points from vector tiles above a threshold (issue 18), in Chromium.

The monitor's small test world (tests/factories/monitor.py, `world` in tests/dashboard/conftest.py) with the
threshold lowered so that its cases count as many: the page then sends no case markers, Leaflet.VectorGrid
(assets/vendor/vectorgrid) fetches /api/v1/tiles/cases tiles with the page's filters and paints them on canvas;
clicks still reach the street underneath (drill-down), the layer switcher still hides them, and below the
threshold the clustered markers come back.
"""
from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from dashboard.pages import monitor_layout
from tests.factories.monitor import D1, STREETS
from tests.factories.users import login, make_user
from tests.paths import ARTIFACTS

pytestmark = pytest.mark.browser
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
OVERLAY_LABELS = ".leaflet-control-layers-overlays label"
# Painted pixels on the case-tile canvases (VectorGrid draws each tile on its own canvas).
PAINTED_JS = """() => { let n = 0;
  document.querySelectorAll('.leaflet-mon-case-tiles-pane-pane canvas').forEach(c => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 3; i < d.length; i += 4) { if (d[i] > 0) { n++; } } });
  return n; }"""
# The container point of street `code`'s interior and what a click there hits (the case canvas must not catch it).
STREET_JS = """(code) => { const m = window.onemap.map.leafletMap(); let region = null;
  m.eachLayer(l => { if (l.onemapRegion && l.feature.properties.code === code) { region = l; } });
  if (!region) { return null; }
  const box = m.getContainer().getBoundingClientRect(), p = m.latLngToContainerPoint(region.getBounds().getCenter());
  const el = document.elementFromPoint(box.left + p.x, box.top + p.y);
  return {x: box.left + p.x, y: box.top + p.y, tag: el && el.tagName}; }"""


@pytest.fixture(scope="module")
def screen(app, live_url, world) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    user, _ = make_user(app.extensions["onemap"], "district_analyst", D1, may_view_pii=True)
    client = app.test_client()
    login(client, user)
    cookie = client.get_cookie("onemap_session").value  # type: ignore[union-attr]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        ctx = browser.new_context(viewport={"width": 1600, "height": 1000}, timezone_id="Asia/Shanghai")
        ctx.add_cookies([{"name": "onemap_session", "value": cookie, "url": live_url}])
        screen = SimpleNamespace(page=ctx.new_page(), errors=[], tiles=[])
        screen.page.on("console", lambda m: screen.errors.append(m.text) if m.type == "error" else None)
        screen.page.on("pageerror", lambda e: screen.errors.append(str(e)))
        screen.page.on("response", lambda r: screen.tiles.append((r.url, r.status)) if "/api/v1/tiles/" in r.url
                       else None)
        yield screen
        browser.close()


def _case_labels(page: Any) -> list[str]:
    """The case overlay's labels in the layer switcher (either mode's text)."""
    texts = page.locator(OVERLAY_LABELS).all_inner_texts()
    return [t.strip() for t in texts if t.strip().startswith("病例点位")]


def _mode(page: Any, mode: str) -> None:
    page.wait_for_function(f"() => (document.getElementById('mon-case-mode') || {{}}).textContent === '{mode}'",
                           timeout=60000)


def test_many_cases_come_as_tiles_clicks_drill_down_and_few_are_markers_again(screen, live_url, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    page = screen.page
    monkeypatch.setattr(monitor_layout, "CASE_TILE_THRESHOLD", 5)
    page.goto(live_url + "/monitor")
    _mode(page, "tiles")
    page.wait_for_selector(".mon-map[data-case-tiles=loaded]", state="attached", timeout=60000)
    assert page.evaluate(PAINTED_JS) > 0
    page.wait_for_function("(t) => (document.getElementById('mon-legend-cases') || {}).innerText === t",
                           arg=f"图层：{monitor_layout.CASE_TILES_LABEL}", timeout=30000)
    assert page.locator(".case-point, .case-cluster").count() == 0  # no markers were sent
    assert screen.tiles and all(status == 200 for _, status in screen.tiles)
    assert all("since=" in url and "until=" in url for url, _ in screen.tiles)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "monitor_case_tiles.png"))

    street = next(iter(STREETS))
    spot = page.evaluate(STREET_JS, street)
    assert spot and spot["tag"] == "path", spot  # the case canvas lets the click through to the street
    screen.tiles.clear()
    page.mouse.click(spot["x"], spot["y"])
    page.wait_for_function("() => document.querySelector('#mon-crumbs .crumb.is-current') && "
                           "document.querySelector('#mon-crumbs .crumb.is-current').textContent.includes('测试街道')",
                           timeout=60000)
    page.wait_for_function("() => { const l = window.onemap.map.caseTileLayer(); "
                           f"return !!l && l.onemapUrl.includes('region={street}'); }}", timeout=60000)

    assert _case_labels(page) == [monitor_layout.CASE_TILES_LABEL]  # tiles are not clustered: not （聚合）
    page.locator(".leaflet-control-layers").hover()
    page.locator(OVERLAY_LABELS, has_text=monitor_layout.CASE_TILES_LABEL).click()
    page.wait_for_selector(".mon-map[data-case-tiles=off]", state="attached", timeout=30000)
    assert page.evaluate("() => window.onemap.map.caseTileLayer()") is None
    # the switcher rebuilt its labels (a layer left the map): still the tiles' label, the key unchanged
    assert _case_labels(page) == [monitor_layout.CASE_TILES_LABEL]
    assert page.evaluate("() => JSON.parse(sessionStorage.getItem('mon-overlays'))")[monitor_layout.CASE_OVERLAY] \
        is False

    monkeypatch.setattr(monitor_layout, "CASE_TILE_THRESHOLD", 100000)
    page.locator(OVERLAY_LABELS, has_text=monitor_layout.CASE_TILES_LABEL).click()
    page.goto(live_url + "/monitor")
    _mode(page, "markers")
    page.wait_for_selector(".case-point, .case-cluster", state="attached", timeout=60000)
    assert page.evaluate("() => window.onemap.map.caseTileLayer()") is None
    assert _case_labels(page) == [monitor_layout.CASE_OVERLAY]  # clustered markers again: （聚合）
    assert page.locator("#mon-legend-cases").inner_text() == f"图层：{monitor_layout.CASE_OVERLAY}"
    assert not [e for e in screen.errors if "favicon" not in e], screen.errors
