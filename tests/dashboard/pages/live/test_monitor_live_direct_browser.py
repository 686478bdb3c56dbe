"""The direct live path of /monitor (assets/monitor_live.js): a new case is drawn and counted in the event handler.

Without the Dash round trip (applyLive replaced by a no-op) the marker and the KPI figures still follow the event;
with it, the Dash live layer's own marker replaces the one drawn at once (one marker per case, never two); with
the "实时新增病例" overlay switched off nothing is drawn until it is switched back on.
"""
from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from tests.dashboard.pages.live.test_live_browser import (
    KPI_TODAY_JS,
    LIVE_CASES_JS,
    Screen,
    _diagnosed,
    _post,
    _reported_today,
    _wait_ms,
    base_url,  # noqa: F401  (fixture)
    browser,  # noqa: F401  (fixture)
    open_monitor,
)
from tests.factories.intake import World, case

pytestmark = pytest.mark.browser
LIVE_OVERLAY = ".leaflet-control-layers-overlays label"
# Event ids of the cases this page heard of, by their source id.
RECORD_IDS_JS = """() => { window.__ids = {}; window.addEventListener('onemap:change', e => {
  const ev = e.detail;
  if (ev.kind === 'case_report' && ev.fields) { window.__ids[ev.fields.source_id] = ev.id; } }); }"""
# The text of the tooltip of the marker drawn at once (its content is escaped markup from assets/markup.js).
DIRECT_TIP_JS = """() => { let t = null; window.onemap.map.leafletMap().eachLayer(l => {
  if (l.onemapDirect && l.getTooltip()) { const c = l.getTooltip().getContent();
    t = new DOMParser().parseFromString(String(c), 'text/html').body.textContent; } }); return t; }"""
DASH_LIVE_IDS_JS = """() => { const n = window.dash_component_api.getLayout('mon-live-cases');
  return ((n && n.props.data && n.props.data.features) || []).map(f => f.id); }"""


def _open_monitor(app: Any, base: str, browser: Any, world: World) -> Screen:  # noqa: F811
    screen = open_monitor(app, base, browser, world.district_a)
    screen.page.evaluate(RECORD_IDS_JS)
    return screen


def _post_case(base: str, world: World, lon: float, lat: float) -> str:
    """A confirmed case reported today in district A; its source id."""
    t = _reported_today()
    rid = f"direct-{uuid.uuid4().hex[:8]}"
    _post(base, world, "case_report", case(world, rid, lon=lon, lat=lat, case_type="confirmed",
                                           report_time=t.isoformat(), onset_date=t.date().isoformat(),
                                           diagnosis_time=_diagnosed(t).isoformat()))
    return f"{world.inst_a}:{rid}"


def _event_id(page: Any, source_id: str) -> int:
    page.wait_for_function("(sid) => window.__ids[sid] !== undefined", arg=source_id, timeout=10_000)
    return int(page.evaluate("(sid) => window.__ids[sid]", source_id))


def _markers_of(page: Any, event_id: int) -> int:
    return int(page.evaluate("(id) => document.querySelectorAll("
                             "`.leaflet-overlay-pane path.live-case[data-case-id='${id}']`).length", event_id))


def test_marker_and_kpis_follow_the_event_without_the_dash_round_trip(  # noqa: F811  (fixtures)
        app, base_url, browser, live_world) -> None:  # type: ignore[no-untyped-def]
    screen = _open_monitor(app, base_url, browser, live_world)
    page = screen.page
    before = {k: int(page.inner_text(f"#mon-kpi-{k}").replace(",", "")) for k in ("today", "days7", "days28")}
    live_before = page.evaluate(LIVE_CASES_JS)
    page.evaluate("""() => { window.__applied = 0; const nu = window.dash_clientside.no_update;
        window.dash_clientside.onemap_monitor.applyLive = () => { window.__applied += 1; return [nu, nu]; }; }""")

    event_id = _event_id(page, _post_case(base_url, live_world, 121.3333, 31.2333))
    _wait_ms(page, f"() => ({LIVE_CASES_JS})() > {live_before}")
    for key, n in before.items():
        _wait_ms(page, f"() => document.getElementById('mon-kpi-{key}').innerText === '{n + 1:,}'")
    page.wait_for_function("() => window.__applied > 0", timeout=10_000)  # the Dash path ran and drew nothing
    assert _markers_of(page, event_id) == 1
    tip = page.evaluate(DIRECT_TIP_JS)
    assert tip and "新报告" in tip and not re.search(r"[A-Za-z]", tip), tip  # the disease by its Chinese name
    assert event_id not in page.evaluate(DASH_LIVE_IDS_JS)
    assert int(page.evaluate(KPI_TODAY_JS).replace(",", "")) == before["today"] + 1
    screen.ctx.close()
    assert not screen.errors, screen.errors


def test_one_marker_per_case_and_none_while_the_overlay_is_off(  # noqa: F811  (fixtures)
        app, base_url, browser, live_world) -> None:  # type: ignore[no-untyped-def]
    screen = _open_monitor(app, base_url, browser, live_world)
    page = screen.page
    shown = _event_id(page, _post_case(base_url, live_world, 121.3444, 31.2444))
    page.wait_for_function(f"() => ({DASH_LIVE_IDS_JS})().includes({shown})", timeout=10_000)
    page.wait_for_timeout(300)  # a frame or two for the Dash layer to draw
    assert _markers_of(page, shown) == 1  # the Dash layer's marker replaced the one drawn at once

    page.locator(LIVE_OVERLAY, has_text="实时新增病例").locator("input").uncheck()
    page.wait_for_function(f"() => ({LIVE_CASES_JS})() === 0", timeout=10_000)
    hidden = _event_id(page, _post_case(base_url, live_world, 121.3555, 31.2555))
    page.wait_for_function(f"() => ({DASH_LIVE_IDS_JS})().includes({hidden})", timeout=10_000)
    assert page.evaluate(LIVE_CASES_JS) == 0  # switched off: nothing drawn, not even at once

    page.locator(LIVE_OVERLAY, has_text="实时新增病例").locator("input").check()
    page.wait_for_function(f"() => document.querySelector(`path.live-case[data-case-id='{hidden}']`) !== null",
                           timeout=10_000)
    assert _markers_of(page, hidden) == 1 and _markers_of(page, shown) == 1
    screen.ctx.close()
    assert not screen.errors, screen.errors


def _pulses(page: Any, event_id: int) -> bool:
    return bool(page.evaluate("(id) => document.querySelector(`path.live-case[data-case-id='${id}']`)"
                              ".classList.contains('live-pulse')", event_id))


def test_a_new_case_pulses_on_a_quiet_map_and_not_in_a_burst(  # noqa: F811  (fixtures)
        app, base_url, browser, live_world) -> None:  # type: ignore[no-untyped-def]
    screen = _open_monitor(app, base_url, browser, live_world)
    page = screen.page
    first = _event_id(page, _post_case(base_url, live_world, 121.3366, 31.2366))
    _wait_ms(page, f"() => document.querySelector(`path.live-case[data-case-id='{first}']`) !== null")
    assert _pulses(page, first)  # the first new case on a quiet map draws the eye
    second = _event_id(page, _post_case(base_url, live_world, 121.3377, 31.2377))
    _wait_ms(page, f"() => document.querySelector(`path.live-case[data-case-id='{second}']`) !== null")
    assert not _pulses(page, second)  # a second within 10 s: a burst, drawn without the costly pulse
    page.wait_for_function(f"() => ({DASH_LIVE_IDS_JS})().includes({second})", timeout=10_000)
    page.wait_for_timeout(300)
    assert not _pulses(page, second)  # nor once the Dash layer has drawn its own marker
    screen.ctx.close()
    assert not screen.errors, screen.errors
