"""/monitor map interaction in Chromium with the seeded demo (issue #15, items 1, 2, 5 and the heat map).

A click on a street drills down whatever overlays are on (the space-time cluster shapes drawn over every
street used to swallow it); the layer switcher's choices survive drill-down, filter changes, live events and
a reload; KPIs, QC, top diseases and the signal list follow the drilled street; the heat map is drawn above
the choropleth.
"""
from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
import requests
from sqlalchemy import text

from layers.base import CST
from tests.paths import ARTIFACTS

pytestmark = pytest.mark.browser
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
DISTRICT = "310105"
CLUSTER_STROKE = "#ff1744"  # assets/monitor_map.js clusterStyle
OVERLAY_LABELS = ".leaflet-control-layers-overlays label"

# A point of `lats`/`lngs` that is inside the drawn region `code`, not under a marker, label or control.
PICK_JS = """([code, lats, lngs]) => {
  const m = window.onemap.map.leafletMap();
  if (!m) { return null; }
  let region = null;
  m.eachLayer(l => { if (l.onemapRegion && l.feature.properties.code === code) { region = l; } });
  if (!region) { return null; }
  const box = m.getContainer().getBoundingClientRect();
  for (let i = 0; i < lats.length; i++) {
    const p = m.latLngToContainerPoint([lats[i], lngs[i]]);
    const el = document.elementFromPoint(box.left + p.x, box.top + p.y);
    if (el && el.tagName === 'path' && el.closest('.leaflet-overlay-pane')) {
      return {x: box.left + p.x, y: box.top + p.y, stroke: el.getAttribute('stroke')};
    }
  }
  return null;
}"""
# Resolves once the map view has not moved for half a second (the fly-to animation is over).
SETTLED_JS = """() => new Promise(done => { const m = window.onemap.map.leafletMap(); let last = null, same = 0;
  const t = setInterval(() => { const c = m.getCenter(), k = `${c.lat},${c.lng},${m.getZoom()}`;
    same = k === last ? same + 1 : 0; last = k; if (same >= 5) { clearInterval(t); done(k); } }, 100); })"""
# The view was fitted to the drawn regions (the answer's fly-to has happened): they fill a good part of it.
FITTED_JS = """() => { const m = window.onemap.map.leafletMap(); if (!m) { return false; }
  let b = null; m.eachLayer(l => { if (l.onemapRegion) { b = b ? b.extend(l.getBounds()) : L.latLngBounds(
    l.getBounds().getSouthWest(), l.getBounds().getNorthEast()); } });
  if (!b) { return true; }  // the choropleth is switched off: nothing to fit
  const v = m.getBounds(), area = x => (x.getNorth() - x.getSouth()) * (x.getEast() - x.getWest());
  return v.pad(0.05).contains(b) && area(b) > 0.2 * area(v); }"""
DRAWN_JS = """() => document.querySelectorAll('.leaflet-overlay-pane path').length
  + document.querySelectorAll('.leaflet-marker-pane > *').length + document.querySelectorAll('img.leaflet-image-layer').length"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def raised(services, demo_data) -> int:  # type: ignore[no-untyped-def]
    """The warning run over the demo, as `make run` does: signals whose areas cover Changning's streets."""
    from alerting.runner import run_all
    from ingest.events import announce_bulk_change
    from tests.conftest import reference_date

    with services.session_factory() as session, session.begin():
        run_all(session, as_of=reference_date(), district_code=DISTRICT)
    # make run warns before it serves; here pages opened by earlier tests may hold cached answers from before
    announce_bulk_change(services.redis, services.settings.redis_namespace)
    with services.session_factory() as session:
        return int(session.scalar(text("SELECT count(*) FROM signal WHERE district_code = :d AND kind = 'event' "
                                       "AND geom IS NOT NULL"),
                                  {"d": DISTRICT}))


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


@pytest.fixture(scope="module")
def analyst(app) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """(session cookie, bearer token) of a district analyst of Changning, like cn_analyst."""
    from tests.factories.users import login, make_user

    user, token = make_user(app.extensions["onemap"], "district_analyst", DISTRICT, may_view_pii=True)
    client = app.test_client()
    login(client, user)
    return client.get_cookie("onemap_session").value, token  # type: ignore[union-attr]


class Screen:
    """A logged-in 1920×1080 /monitor that records console errors and uncaught exceptions."""

    def __init__(self, browser: Any, base: str, cookie: str) -> None:
        self.ctx = browser.new_context(viewport={"width": 1920, "height": 1080}, timezone_id="Asia/Shanghai")
        self.ctx.add_cookies([{"name": "onemap_session", "value": cookie, "url": base}])
        self.page = self.ctx.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.base = base

    def open(self) -> Any:
        self.page.goto(self.base + "/monitor")
        return self.ready()

    def ready(self) -> Any:
        self.page.wait_for_selector("#mon-kpi-days28", state="attached", timeout=60000)
        self.page.wait_for_function("() => window.onemap.map.leafletMap() !== null", timeout=60000)
        self.page.evaluate(SETTLED_JS)
        return self.page

    def close(self) -> None:
        self.ctx.close()


def _crumbs(page: Any) -> list[str]:
    return [t.strip() for t in page.locator("#mon-crumbs .crumb").all_inner_texts()]


def _period(page: Any) -> tuple[date, date]:
    since, _, rest = page.locator("#mon-period").inner_text().partition(" 至 ")
    return date.fromisoformat(since.strip()), date.fromisoformat(rest.split("·")[0].strip())


def _streets(db: Any) -> list[tuple[str, str, list[float], list[float]]]:
    """Each Changning street with candidate click points inside it: its point on surface, then 60 more."""
    rows = db.execute(text("""
        SELECT r.code, r.name, array_agg(ST_Y(g.geom) ORDER BY g.path), array_agg(ST_X(g.geom) ORDER BY g.path)
        FROM region r, LATERAL ST_Dump(ST_Collect(ST_PointOnSurface(r.geom),
                                                  ST_GeneratePoints(ST_Buffer(r.geom, -0.001), 60, 15))) g
        WHERE r.level = 'street' AND r.district_code = :d GROUP BY r.code, r.name ORDER BY r.code"""), {"d": DISTRICT})
    return [(r[0], r[1], list(r[2]), list(r[3])) for r in rows]


def _reported(db: Any, street: str, first: date, last: date) -> int:
    """KPI definition (layers/indicators.py): counted cases of the street reported in [first, last], CST days."""
    return int(db.scalar(text("""SELECT count(*) FROM case_report WHERE region_code = :s AND district_code = :d
                                  AND case_type IN ('confirmed', 'clinical') AND report_time >= :a AND report_time < :b"""),
                         {"s": street, "d": DISTRICT, "a": datetime.combine(first, datetime.min.time(), CST),
                          "b": datetime.combine(last + timedelta(days=1), datetime.min.time(), CST)}))


def _expected_panels(db: Any, street: str, since: date, until: date) -> dict[str, Any]:
    population = db.scalar(text("SELECT population FROM region WHERE code = :s"), {"s": street})
    period_cases = _reported(db, street, since, until)
    top = db.execute(text("""SELECT d.name, count(*) FROM case_report c JOIN disease d ON d.code = c.disease_code
                             WHERE c.region_code = :s AND c.district_code = :d
                               AND c.case_type IN ('confirmed', 'clinical') AND c.onset_date BETWEEN :a AND :b
                             GROUP BY c.disease_code, d.name ORDER BY count(*) DESC, c.disease_code LIMIT 1"""),
                     {"s": street, "d": DISTRICT, "a": since, "b": until}).first()
    return {"days28": _reported(db, street, until - timedelta(days=27), until),
            "days7": _reported(db, street, until - timedelta(days=6), until),
            "today": _reported(db, street, until, until),
            "incidence": f"{period_cases * 100000.0 / population:.2f}", "top": (top[0], top[1]) if top else None}


def _signals(db: Any, street: str) -> tuple[set[int], set[int], set[int]]:
    """Active warning events of Changning: the street's own, district-wide ones covering the street, any
    district-wide one (a model's raw alarm, kind 'alarm', is evidence of its event and never listed)."""
    active = "s.kind = 'event' AND s.district_code = :d AND s.state NOT IN ('excluded', 'closed')"
    own = db.scalars(text(f"""SELECT s.id FROM signal s WHERE {active} AND (s.region_code = :s OR s.region_code IN
                              (SELECT code FROM region WHERE parent_code = :s))"""), {"d": DISTRICT, "s": street})
    covering = db.scalars(text(f"""SELECT s.id FROM signal s WHERE {active} AND s.region_code = :d
                                   AND ST_Covers(s.geom, (SELECT geom FROM region WHERE code = :s))"""),
                          {"d": DISTRICT, "s": street})
    district = db.scalars(text(f"SELECT s.id FROM signal s WHERE {active} AND s.region_code = :d"), {"d": DISTRICT})
    return set(own), set(covering), set(district)


def _listed_signals(page: Any) -> set[int]:
    ids = page.evaluate("""() => [...document.querySelectorAll('#mon-signal-list .sig-item')]
                             .map(b => JSON.parse(b.id).id)""")
    return {int(i) for i in ids}


def _back_to_district(page: Any) -> None:
    page.locator("#mon-crumbs .crumb").first.click()
    page.wait_for_function("() => document.querySelectorAll('#mon-crumbs .crumb').length == 1", timeout=20000)
    page.evaluate(SETTLED_JS)


def _click_street(page: Any, code: str, name: str, lats: list[float], lngs: list[float]) -> str | None:
    """Click a point inside the street away from markers; the stroke of the shape that was hit.

    The map must be at rest first (no callback in flight, no fly-to animation); a second try only when the
    map moved under the pointer between picking the point and the click (a late answer re-fitting the view).
    """
    for attempt in range(2):
        _wait_idle(page)
        page.wait_for_function(FITTED_JS, timeout=30000)
        page.evaluate(SETTLED_JS)
        point = page.wait_for_function(PICK_JS, arg=[code, lats, lngs], timeout=30000).json_value()
        centre = page.evaluate("() => window.onemap.map.leafletMap().getCenter().toString()")
        page.mouse.click(point["x"], point["y"])
        try:
            page.wait_for_function("(name) => { const c = [...document.querySelectorAll('#mon-crumbs .crumb')];"
                                   " return c.length == 2 && c[1].innerText.trim() == name; }", arg=name, timeout=45000)
            return point["stroke"]
        except Exception:
            moved = page.evaluate("() => window.onemap.map.leafletMap().getCenter().toString()") != centre
            if attempt or not moved or len(_crumbs(page)) != 1:
                raise
    raise AssertionError(name)


def test_click_on_each_street_drills_down_and_rescopes_panels(app, server, browser, services, raised, analyst):
    assert raised > 0
    screen = Screen(browser, server, analyst[0])
    page = screen.open()
    assert page.locator(f"path[stroke='{CLUSTER_STROKE}']").count() > 0  # cluster shapes drawn by default
    since, until = _period(page)
    with services.session_factory() as db:
        streets = _streets(db)
        assert len(streets) == 10
        on_overlay = 0
        for code, name, lats, lngs in streets:
            stroke = _click_street(page, code, name, lats, lngs)
            on_overlay += stroke == CLUSTER_STROKE
            assert _crumbs(page) == ["长宁区", name]
            want = _expected_panels(db, code, since, until)
            page.wait_for_function("(n) => document.querySelector('#mon-kpi-days28').innerText.trim() == n",
                                   arg=f"{want['days28']:,}", timeout=20000)
            assert page.locator("#mon-kpi-days7").inner_text().strip() == f"{want['days7']:,}", name
            assert page.locator("#mon-kpi-today").inner_text().strip() == f"{want['today']:,}", name
            assert page.locator("#mon-qc-incidence").inner_text().strip() == want["incidence"], name
            if want["top"]:
                first = page.locator("#mon-top li").first
                assert first.locator(".top-name").inner_text().strip() == want["top"][0], name
                assert first.locator(".top-count").inner_text().strip() == f"{want['top'][1]:,}", name
            own, covering, district = _signals(db, code)
            listed = _listed_signals(page)
            assert own | covering <= listed, name  # every signal of the street and those covering it
            assert listed <= own | district, (name, listed - own - district)  # no neighbouring street's signal
            if code == streets[-1][0]:
                page.screenshot(path=str(ARTIFACTS / "monitor_map_drilled_1920.png"))
            _back_to_district(page)
    # The cluster shapes lie over every street: the clicks reached the region through them.
    assert on_overlay == len(streets)
    assert screen.errors == []
    screen.close()


def _set_overlays(page: Any, shown: bool) -> tuple[list[str], list[str]]:
    """Every overlay's name, and those the user had to switch."""
    names, switched = [], []
    for label in page.locator(OVERLAY_LABELS).all():
        box = label.locator("input")
        names.append(label.inner_text().strip())
        if box.is_checked() != shown:
            box.set_checked(shown)
            switched.append(names[-1])
    return names, switched


def _post_case(base: str, token: str, db: Any, disease: str, onset: date) -> None:
    inst, lon, lat = db.execute(text("""SELECT code, ST_X(geom), ST_Y(geom) FROM institution
                                         WHERE district_code = :d AND geom IS NOT NULL ORDER BY id LIMIT 1"""),
                                {"d": DISTRICT}).one()
    now = datetime.now(CST).replace(microsecond=0)
    # diagnosed an hour ago, but never before the onset day (just after midnight the onset may be today)
    diagnosed = max(now - timedelta(hours=1), datetime.combine(onset, datetime.min.time(), CST))
    record = {"institution_code": inst, "record_id": f"h10-live-{now.timestamp():.0f}", "disease_code": disease,
              "onset_date": onset.isoformat(), "diagnosis_time": diagnosed.isoformat(),
              "report_time": now.isoformat(), "lon": lon + 0.001, "lat": lat + 0.001, "age": 30, "sex": "M"}
    resp = requests.post(f"{base}/api/v1/ingest/case_report", json={"records": [record]},
                         headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert resp.status_code == 200, resp.text


def _wait_idle(page: Any) -> None:
    """No Dash callback in flight (the live stream keeps a request open, so not the network's idle)."""
    page.wait_for_function("() => !document.querySelector('[data-dash-is-loading=\"true\"]')", timeout=30000)


def _wait_street_level(page: Any) -> None:
    page.wait_for_function("() => document.querySelector('#mon-legend').innerText.includes('街道')", timeout=20000)
    _wait_idle(page)


def _synced(page: Any) -> str:
    return str(page.evaluate("() => document.querySelector('#mon-ages .layer-age[data-layer=cases]')"
                             ".getAttribute('data-synced') || ''"))


def test_switched_off_overlays_stay_off(app, server, browser, services, raised, analyst):
    screen = Screen(browser, server, analyst[0])
    page = screen.open()
    with services.session_factory() as db:
        code, name, lats, lngs = _streets(db)[-1]
        _click_street(page, code, name, lats, lngs)  # drilled down, then everything off
        names, switched = _set_overlays(page, False)
        assert len(names) == 14 and "病例点位（聚合）" in names
        _back_to_district(page)  # drill-down (back up) with every overlay off

        page.locator("#mon-disease").click()
        page.locator("[role=option]", has_text="流行性感冒").first.click()
        page.keyboard.press("Escape")
        disease = db.scalar(text("SELECT code FROM disease WHERE name LIKE '流行性感冒%' ORDER BY code LIMIT 1"))
        since, until = _period(page)
        new_since = until - timedelta(days=13)
        page.locator("#mon-dates").fill(new_since.isoformat())
        page.locator("#mon-dates").press("Enter")
        page.wait_for_function("(s) => document.querySelector('#mon-period').innerText.startsWith(s)",
                               arg=new_since.isoformat(), timeout=20000)
        page.locator("#mon-level label", has_text="街道").click()
        _wait_street_level(page)

        synced, received = _synced(page), page.evaluate("() => window.OneMapLive.received")
        _post_case(server, analyst[1], db, disease, until)
        page.wait_for_function("(n) => window.OneMapLive.received > n", arg=received, timeout=20000)
        page.wait_for_function("(s) => document.querySelector('#mon-ages .layer-age[data-layer=cases]')"
                               ".getAttribute('data-synced') != s", arg=synced, timeout=20000)
        _wait_idle(page)

    def all_off() -> None:
        boxes = page.locator(f"{OVERLAY_LABELS} input")
        assert [boxes.nth(i).is_checked() for i in range(boxes.count())] == [False] * 14
        assert page.evaluate(DRAWN_JS) == 0  # nothing of any overlay drawn

    all_off()
    assert page.evaluate("() => JSON.parse(sessionStorage.getItem('mon-overlays'))") == {n: False for n in switched}
    # the live case did reach the (hidden) live layer: shown as soon as the user switches it back on
    page.locator(OVERLAY_LABELS, has_text="实时新增病例").locator("input").check()
    page.wait_for_selector("path.live-case", state="attached", timeout=20000)
    page.locator(OVERLAY_LABELS, has_text="实时新增病例").locator("input").uncheck()
    page.reload()  # a new layout of the page in the same tab, as the wall's rotation back to /monitor
    screen.ready()
    _wait_idle(page)
    all_off()
    assert screen.errors == []
    screen.close()


def test_heat_map_is_drawn_above_the_choropleth(app, server, browser, raised, analyst):
    screen = Screen(browser, server, analyst[0])
    page = screen.open()
    page.locator(OVERLAY_LABELS, has_text="病例热力").locator("input").check()
    page.wait_for_function("() => { const i = document.querySelector('img.leaflet-image-layer');"
                           " return i && i.src.length > 1000 && i.complete && i.naturalWidth > 50; }", timeout=30000)
    z = page.evaluate("""() => { const pane = e => parseInt(getComputedStyle(e.closest('.leaflet-pane')).zIndex);
        return {heat: pane(document.querySelector('img.leaflet-image-layer')),
                choropleth: pane(document.querySelector('.leaflet-overlay-pane path')),
                markers: pane(document.querySelector('.leaflet-marker-pane > *'))}; }""")
    assert z["choropleth"] < z["heat"] < z["markers"], z
    page.locator("#mon-level label", has_text="街道").click()  # still on after a filter change
    _wait_street_level(page)
    assert page.locator(OVERLAY_LABELS, has_text="病例热力").locator("input").is_checked()
    assert page.locator("img.leaflet-image-layer").count() == 1
    page.screenshot(path=str(ARTIFACTS / "monitor_map_heat_1920.png"))
    assert screen.errors == []
    screen.close()
