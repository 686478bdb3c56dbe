"""Issue #14 finding 5: stored text in map tooltips renders as text, never as markup (headless Chromium).

Every text field that reaches a Leaflet tooltip on /monitor, /command, their walls and the briefing map
holds `<img src=x onerror=…>` or `<svg onload=…>`. The browser opens every bound tooltip and checks that
no element was made from a payload, the payload is shown literally and no CSP violation was needed.
Screenshots go to tests/artifacts/markup/.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from layers.base import today_cst
from store.cases import CaseReport, Disease
from store.dispatch import Task
from store.feeds import DrugSales, OpinionItem, Pharmacy, School, SchoolAbsence
from store.places import Institution, Region
from store.response import Incident, ResourceSite, Stock, Team
from store.signals import Signal
from tests.factories.places import point, square
from tests.factories.users import login, make_user
from tests.paths import ARTIFACTS as ARTIFACTS_ROOT

pytestmark = pytest.mark.browser
ARTIFACTS = ARTIFACTS_ROOT / "markup"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
DISTRICT = "310112"  # a district no other security test writes to
IMG = "<img src=x onerror=window.__xss=1>"
SVG = "<svg onload=window.__xss=1>"
BOX = (121.30, 31.00, 121.40, 31.10)  # the synthetic district: two streets, west and east half

# Installed before any page script: record every layer that gets a tooltip or popup, and every CSP report.
HOOK = """
window.__bound = []; window.__csp = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__csp.push(e.violatedDirective + ' ' + e.blockedURI);
});
(function () {
  var current;
  function wrap(L) {
    if (!L || !L.Layer || L.Layer.prototype.__hooked) { return; }
    L.Layer.prototype.__hooked = true;
    ['bindTooltip', 'bindPopup'].forEach(function (name) {
      var orig = L.Layer.prototype[name];
      L.Layer.prototype[name] = function () { window.__bound.push(this); return orig.apply(this, arguments); };
    });
  }
  Object.defineProperty(window, 'L', {configurable: true, get: function () { return current; },
                                      set: function (v) { current = v; wrap(v); }});
})();
"""

# Turn on every overlay, then open the tooltip of every bound layer that is on the map.
OPEN_ALL = """
() => {
  document.querySelectorAll('.leaflet-control-layers-overlays input[type=checkbox]').forEach(function (i) {
    if (!i.checked) { i.click(); }
  });
}
"""
# Open every tooltip (a group's shared tooltip once per member) and read what each one shows.
OPEN_TOOLTIPS = """
() => {
  var out = {opened: 0, texts: [], made: []};
  function open(layer, target) {
    try { layer.openTooltip(target); } catch (e) { return; }
    var el = layer.getTooltip().getElement && layer.getTooltip().getElement();
    if (!el) { return; }
    out.opened++;
    out.texts.push(el.textContent);
    el.querySelectorAll('img, svg, [onerror], [onload]').forEach(function (x) { out.made.push(x.outerHTML); });
  }
  window.__bound.forEach(function (l) {
    if (!l._map || !l.getTooltip || !l.getTooltip()) { return; }
    if (l.eachLayer) { l.eachLayer(function (sub) { open(l, sub); }); } else { open(l); }
  });
  return out;
}
"""
# Switched-on overlays mount through a store and a re-render: wait until every box stays checked and the number
# of tooltip-bound layers on the map has not changed for a second.
SETTLED = """
() => {
  var boxes = Array.from(document.querySelectorAll('.leaflet-control-layers-overlays input[type=checkbox]'));
  var count = window.__bound.filter(function (l) { return !!l._map; }).length;
  var key = boxes.every(function (i) { return i.checked; }) + ':' + count;
  var now = Date.now();
  if (window.__settleKey !== key) { window.__settleKey = key; window.__settleSince = now; }
  return key.indexOf('true:') === 0 && now - window.__settleSince >= 1000;
}
"""
DOM_CHECK = """
() => ({
  xss: typeof window.__xss,
  csp: window.__csp,
  made: Array.from(document.querySelectorAll('img[src="x"], [onerror], [onload]')).map(e => e.outerHTML),
  tips: Array.from(document.querySelectorAll('.leaflet-tooltip, .leaflet-popup-content')).map(e => e.textContent),
})
"""


@dataclass
class Stored:
    """The payload-bearing texts that must show up, literally, in some tooltip of a page."""

    monitor: list[str]
    command: list[str]
    briefing: list[str]


def _regions(db: Any) -> list[str]:
    w, s, e, n = BOX
    mid = (w + e) / 2
    streets = [(f"{DISTRICT}001", f"西街道{IMG}", (w, s, mid, n)), (f"{DISTRICT}002", f"东街道{SVG}", (mid, s, e, n))]
    if db.get(Region, "310000") is None:
        db.add(Region(code="310000", name="上海市", level="city", geom=square(120.8, 30.6, 122.1, 31.9)))
    if db.get(Region, DISTRICT) is None:
        db.add(Region(code=DISTRICT, name="测试区", level="district", parent_code="310000", district_code=DISTRICT,
                      population=200_000, geom=square(*BOX), label_point=point((w + e) / 2, (s + n) / 2)))
    db.flush()
    for code, name, box in streets:
        if db.get(Region, code) is None:
            db.add(Region(code=code, name=name, level="street", parent_code=DISTRICT, district_code=DISTRICT,
                          population=100_000, geom=square(*box),
                          label_point=point((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)))
    db.flush()
    return [name for _, name, _ in streets]


def _seed(db: Any) -> Stored:
    now = datetime.now(UTC)
    day = today_cst() - timedelta(days=2)
    streets = _regions(db)
    west, east = f"{DISTRICT}001", f"{DISTRICT}002"
    disease = Disease(code="XSS-D", name=f"病{SVG}", name_en="payload disease", klass="乙", category="test")
    inst = Institution(code="XSS-INST", name=f"医院{IMG}", kind="hospital", district_code=DISTRICT, region_code=west,
                       sentinel_types=["ili"], fever_clinic=True, intestinal_clinic=True, is_lab=True,
                       vaccination_clinic=True, geom=point(121.32, 31.03))
    db.add_all([disease, inst])
    db.flush()
    texts: dict[str, str] = {
        "signal": f"信号${{window.__xss=1}}{IMG}", "cluster": f"聚集{SVG}", "opinion": f"舆情{IMG}", "opinion_source": f"来源{SVG}",
        "school": f"学校{SVG}", "pharmacy": f"药店{IMG}", "team": f"队伍{SVG}", "site": f"仓库{IMG}",
        "item": f"物资{SVG}", "incident": f"事件{IMG}", "task": f"任务{SVG}",
    }
    case = CaseReport(source_id="XSS-INST:C1", disease_code="XSS-D", onset_date=day, diagnosis_time=now,
                      report_time=now, reporting_institution_id=inst.id, district_code=DISTRICT, region_code=west,
                      geom=point(121.33, 31.04))
    signal = Signal(dedup_key="xss-signal", origin="model", model="ears", district_code=DISTRICT, region_code=west,
                    title=texts["signal"], state="new", geom=point(121.34, 31.05), first_fired_at=now,
                    last_fired_at=now)
    cluster = Signal(dedup_key="xss-cluster", origin="model", model="satscan", district_code=DISTRICT,
                     region_code=east, title=texts["cluster"], state="verifying",
                     geom=square(121.36, 31.06, 121.38, 31.08), first_fired_at=now, last_fired_at=now)
    school = School(code="XSS-SCH", name=texts["school"], kind="primary", district_code=DISTRICT, region_code=west,
                    geom=point(121.31, 31.02))
    pharmacy = Pharmacy(code="XSS-PH", name=texts["pharmacy"], district_code=DISTRICT, region_code=east,
                        geom=point(121.37, 31.02))
    opinion = OpinionItem(source_id="XSS-OP", published_at=now - timedelta(days=1), source=texts["opinion_source"],
                          title=texts["opinion"], district_code=DISTRICT, region_code=east, geom=point(121.38, 31.03))
    team = Team(code="XSS-TEAM", name=texts["team"], type="epi", status="standby", members=3, district_code=DISTRICT,
                geom=point(121.35, 31.07), position_time=now)
    site = ResourceSite(code="XSS-SITE", name=texts["site"], kind="warehouse", district_code=DISTRICT,
                        geom=point(121.36, 31.01))
    incident = Incident(title=texts["incident"], kind="outbreak", district_code=DISTRICT, geom=point(121.33, 31.08))
    db.add_all([case, signal, cluster, school, pharmacy, opinion, team, site, incident])
    db.flush()
    db.add_all([
        SchoolAbsence(source_id="XSS-SA", school_id=school.id, district_code=DISTRICT, day=day, enrolled=500,
                      absent=20, absent_ill=10),
        DrugSales(source_id="XSS-DS", pharmacy_id=pharmacy.id, region_code=east, district_code=DISTRICT, day=day,
                  drug_group="antipyretic", units=40),
        Stock(site_id=site.id, item_code="XSS-ITEM", item_name=texts["item"], category="ppe", unit="箱", quantity=5,
              min_level=10),
        Task(title=texts["task"], type="investigate", deadline=now + timedelta(days=1), district_code=DISTRICT,
             location=point(121.39, 31.09), incident_id=incident.id),
    ])
    db.flush()
    monitor = [*streets, disease.name, inst.name, texts["signal"], texts["cluster"], texts["school"],
               texts["pharmacy"], texts["opinion"], texts["opinion_source"]]
    command = [*streets, texts["team"], texts["site"], texts["item"], texts["incident"], texts["task"]]
    return Stored(monitor=monitor, command=command, briefing=[*streets, texts["signal"]])


@pytest.fixture(scope="module")
def stored(services) -> Stored:  # type: ignore[no-untyped-def]
    with services.session_factory() as db:
        if db.scalar(select(Institution).where(Institution.code == "XSS-INST")) is not None:
            pytest.skip("payload data already seeded in this database")
        result = _seed(db)
        db.commit()
    return result


@pytest.fixture(scope="module")
def server(app, stored) -> Iterator[str]:  # type: ignore[no-untyped-def]
    from werkzeug.serving import make_server

    srv = make_server("127.0.0.1", 0, app, threaded=True)
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


def _cookie(app: Any, role: str) -> str:
    user, _ = make_user(app.extensions["onemap"], role, DISTRICT)
    client = app.test_client()
    login(client, user)
    return client.get_cookie("onemap_session").value  # type: ignore[union-attr]


def _visit(browser: Any, app: Any, base: str, role: str, path: str, ready: str, shot: str) -> dict[str, Any]:
    ctx = browser.new_context(viewport={"width": 1600, "height": 1000}, timezone_id="Asia/Shanghai")
    ctx.add_cookies([{"name": "onemap_session", "value": _cookie(app, role), "url": base}])
    ctx.add_init_script(HOOK)
    page = ctx.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: console.append(str(e)))
    try:
        page.goto(base + path)
        page.wait_for_selector(ready, state="attached", timeout=30_000)
        page.evaluate(OPEN_ALL)
        page.wait_for_function("() => window.__bound.filter(l => l._map).length > 0", timeout=30_000)
        page.wait_for_load_state("networkidle")
        page.wait_for_function(SETTLED, polling=250, timeout=30_000)
        opened = page.evaluate(OPEN_TOOLTIPS)
        page.wait_for_selector(".leaflet-tooltip", state="attached", timeout=10_000)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{shot}.png"), full_page=True)
        result = page.evaluate(DOM_CHECK)
    finally:
        ctx.close()
    result["opened"] = opened["opened"]
    result["made"] += opened["made"]
    result["tips"] += opened["texts"]
    result["console"] = [c for c in console if "Content Security Policy" in c or "Refused to" in c]
    return result


def _assert_inert(result: dict[str, Any], expected: list[str]) -> None:
    assert result["opened"] > 0
    assert result["made"] == [], result["made"]
    assert result["xss"] == "undefined"
    assert result["csp"] == [] and result["console"] == [], (result["csp"], result["console"])
    shown = "\n".join(result["tips"])
    missing = [text for text in expected if text not in shown]
    assert missing == [], f"not shown literally in any tooltip: {missing}"


@pytest.mark.parametrize("path,role,shot", [
    ("/monitor", "district_analyst", "monitor"),
    ("/monitor?wall=1", "wall_kiosk", "monitor-wall"),
])
def test_monitor_tooltips_render_stored_text_as_text(app, server, browser, stored, path, role, shot) -> None:  # type: ignore[no-untyped-def]
    result = _visit(browser, app, server, role, path, "#mon-map .leaflet-overlay-pane path", shot)
    _assert_inert(result, stored.monitor)


@pytest.mark.parametrize("path,role,shot", [
    ("/command", "district_commander", "command"),
    ("/command?wall=1", "wall_kiosk", "command-wall"),
])
def test_command_tooltips_render_stored_text_as_text(app, server, browser, stored, path, role, shot) -> None:  # type: ignore[no-untyped-def]
    result = _visit(browser, app, server, role, path, "#cmd-map .cmd-site", shot)
    _assert_inert(result, stored.command)


def test_briefing_map_tooltips_render_stored_text_as_text(app, server, browser, stored) -> None:  # type: ignore[no-untyped-def]
    day = today_cst().isoformat()  # the day the payload signal fired
    result = _visit(browser, app, server, "district_analyst", f"/reports/briefing?date={day}&period=week",
                    ".folium-map .leaflet-overlay-pane", "briefing")
    _assert_inert(result, stored.briefing)
