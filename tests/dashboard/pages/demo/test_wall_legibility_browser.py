"""Both video walls read from 5 m (issue #15, item 7): at 3840×2160 no visible text below 28 px (14 px at
1920×1080), nothing overflows or is cut off, and the command wall fills the screen with street names on the map.

The kiosk logs in the way a wall does, with a device token; the demo data make the walls look like the real thing.
Screenshots go to tests/artifacts/wall_legibility_<page>_<width>.png.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

from accounts.tokens import create_token
from tests.dashboard.pages.demo.browser_pages import ARTIFACTS, browser, server  # noqa: F401  (fixtures)
from tests.factories.users import make_user

pytestmark = pytest.mark.browser
SIZES = [(1920, 1080), (3840, 2160)]
WALLS = [("monitor", "/monitor?wall=1&rotate=0", "#mon-kpi-days28"), ("command", "/command?wall=1&rotate=0", ".cmd-team")]

# Every visible element with text of its own: its text, its rendered font size in CSS px, where it is.
# SVG text (plotly) is sized in user units: its computed size times the scale of its screen transform.
TEXTS_JS = """() => {
  const out = [];
  const vw = innerWidth, vh = innerHeight;
  const shown = el => {
    for (let e = el; e && e.nodeType === 1; e = e.parentElement) {
      const s = getComputedStyle(e);
      if (s.display === 'none' || s.visibility === 'hidden' || parseFloat(s.opacity) === 0) { return false; }
    }
    return true;
  };
  for (const el of document.querySelectorAll('body *')) {
    if (['SCRIPT', 'STYLE', 'NOSCRIPT', 'TITLE'].includes(el.tagName)) { continue; }
    const own = Array.from(el.childNodes).filter(n => n.nodeType === 3).map(n => n.textContent).join('').trim();
    if (!own) { continue; }
    const r = el.getBoundingClientRect();
    if (r.width < 1 || r.height < 1 || r.right <= 0 || r.bottom <= 0 || r.left >= vw || r.top >= vh) { continue; }
    if (!shown(el)) { continue; }
    let size = parseFloat(getComputedStyle(el).fontSize);
    if (el instanceof SVGElement && el.getScreenCTM) {
      const m = el.getScreenCTM();
      if (m) { size *= Math.sqrt(m.a * m.a + m.b * m.b); }
    }
    const cls = typeof el.className === 'string' ? el.className : (el.className && el.className.baseVal) || '';
    const kind = ['case-cluster', 'region-label', 'street-label', 'layer-age', 'leaflet-control', 'mon-legend']
      .find(k => el.closest('.' + k)) || (el instanceof SVGElement ? 'svg' : '');
    out.push({text: own.slice(0, 40), size: Math.round(size * 10) / 10, tag: el.tagName, cls: cls, kind: kind});
  }
  return out;
}"""

# Elements that clip their content but have more than fits (map panes excepted: a map is meant to be cut at its
# edge), text cut off with an ellipsis, and text wider than its own box.
CLIPPED_JS = """() => {
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    if (!(el instanceof HTMLElement)) { continue; }  // SVG (plotly) clips through clip paths, not boxes
    if (el.closest('.leaflet-container') && !el.closest('.leaflet-control-container, .leaflet-tooltip-pane,'
                                                         + ' .leaflet-marker-pane')) { continue; }
    if (el.classList.contains('leaflet-container')) { continue; }
    const s = getComputedStyle(el);
    if (s.display === 'none' || s.visibility === 'hidden') { continue; }
    const r = el.getBoundingClientRect();
    if (r.width < 1 || r.height < 1) { continue; }
    const clipX = ['hidden', 'clip', 'auto', 'scroll'].includes(s.overflowX);
    const clipY = ['hidden', 'clip', 'auto', 'scroll'].includes(s.overflowY);
    const overX = el.scrollWidth > el.clientWidth + 1, overY = el.scrollHeight > el.clientHeight + 1;
    const ellipsis = s.textOverflow === 'ellipsis' && overX;
    // a box with text of its own that spills out of it sideways (e.g. a scale bar narrower than its label)
    const own = Array.from(el.childNodes).some(n => n.nodeType === 3 && n.textContent.trim());
    const spill = own && el.clientWidth > 0 && overX;
    if ((clipX && overX) || (clipY && overY) || ellipsis || spill) {
      const cls = typeof el.className === 'string' ? el.className : '';
      out.push({tag: el.tagName, id: el.id, cls: cls, text: (el.innerText || '').slice(0, 60),
                sw: el.scrollWidth, cw: el.clientWidth, sh: el.scrollHeight, ch: el.clientHeight});
    }
  }
  return out;
}"""

# Share of a 60×34 grid of viewport points that land on the map, a panel, the legend or the wall's title bar.
COVER_JS = """(sel) => {
  let hit = 0, all = 0;
  for (let i = 0; i < 60; i++) {
    for (let j = 0; j < 34; j++) {
      const el = document.elementFromPoint((i + 0.5) * innerWidth / 60, (j + 0.5) * innerHeight / 34);
      all++;
      if (el && el.closest(sel)) { hit++; }
    }
  }
  return hit / all;
}"""


@pytest.fixture(scope="module")
def device_token(services) -> str:  # type: ignore[no-untyped-def]
    """A wall kiosk of Changning with its device token (what `/login/device?token=…` takes)."""
    user, _ = make_user(services, "wall_kiosk", "310105")
    with services.session_factory() as db:
        _, token = create_token(db, user_id=user.id, name="大屏", kind="device")
        db.commit()
    return token


@pytest.fixture(scope="module", params=SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def walls(request, browser, server, device_token) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """Both walls at one screen size, logged in as the kiosk: what they show, measured once."""
    width, height = request.param
    ctx = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=1,
                              timezone_id="Asia/Shanghai")
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    assert page.goto(f"{server}/login/device?token={device_token}").ok
    seen: dict[str, Any] = {"width": width, "height": height, "errors": errors}
    for name, path, ready in WALLS:
        page.goto(server + path)
        page.wait_for_selector(ready, state="attached", timeout=120000)  # a busy CI machine: a first render is slow
        page.wait_for_selector(".leaflet-overlay-pane path", state="attached", timeout=60000)
        page.wait_for_function("() => document.documentElement.classList.contains('wall-mode')", timeout=15000)
        page.wait_for_function("() => Array.from(document.querySelectorAll('.layer-age .age-value'))"
                               ".every(e => e.textContent.startsWith('数据') || e.textContent.startsWith('同步'))",
                               timeout=60000)
        if name == "monitor":
            page.wait_for_selector("#mon-epicurve .xtick text", state="attached", timeout=60000)
            page.wait_for_selector(".case-cluster", state="attached", timeout=60000)
        else:  # the street names; their absence is test_command_wall_names_the_streets's failure, not the fixture's
            page.wait_for_function("() => document.querySelectorAll('.street-label').length > 0 || "
                                   "performance.now() > 20000", timeout=30000)
        page.wait_for_selector("._dash-loading", state="detached", timeout=60000)
        page.wait_for_timeout(1500)  # the fit to the district and the figure's rescale settle
        seen[name] = {"texts": page.evaluate(TEXTS_JS), "clipped": page.evaluate(CLIPPED_JS),
                      "doc": page.evaluate("() => [document.documentElement.scrollWidth, "
                                           "document.documentElement.scrollHeight]"),
                      "cover": page.evaluate(COVER_JS, ".wall-header, .cmd-legend, .cmd-map, .cmd-card, .mon-map-wrap, .mon-card"),
                      "labels": page.evaluate("() => Array.from(document.querySelectorAll('.street-label'))"
                                              ".map(e => e.textContent.trim())")}
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"wall_legibility_{name}_{width}.png"))
    yield seen
    ctx.close()


@pytest.mark.parametrize("name", [w[0] for w in WALLS])
def test_no_visible_text_below_the_distance_minimum(walls, name) -> None:  # type: ignore[no-untyped-def]
    """28 px on a 3840-wide wall, 14 px on 1920: every text, map label, cluster count, chart tick and legend."""
    minimum = 14 * walls["width"] / 1920
    texts = walls[name]["texts"]
    assert len(texts) > 40  # the walk saw the page, not an empty frame
    small = [t for t in texts if t["size"] < minimum - 0.05]
    assert small == [], f"{len(small)} texts below {minimum:.0f} px, e.g. {small[:12]}"


def test_the_walk_sees_map_and_chart_text(walls) -> None:  # type: ignore[no-untyped-def]
    """The walk covers what was too small before: cluster counts, place names, chart ticks, data ages, controls."""
    monitor = {t["kind"] for t in walls["monitor"]["texts"]}
    assert {"case-cluster", "region-label", "svg", "layer-age", "leaflet-control", "mon-legend"} <= monitor
    command = {t["kind"] for t in walls["command"]["texts"]}
    assert {"street-label", "layer-age", "leaflet-control"} <= command


@pytest.mark.parametrize("name", [w[0] for w in WALLS])
def test_nothing_overflows_or_is_cut_off(walls, name) -> None:  # type: ignore[no-untyped-def]
    seen = walls[name]
    assert seen["doc"] == [walls["width"], walls["height"]]  # no scrolling, nothing past the screen
    assert seen["clipped"] == []


def test_command_wall_fills_the_screen(walls) -> None:  # type: ignore[no-untyped-def]
    assert walls["command"]["cover"] >= 0.95


def test_command_wall_names_the_streets(walls, services) -> None:  # type: ignore[no-untyped-def]
    """The command wall's map carries Changning's street names (a label layer, text escaped by markup.js)."""
    with services.session_factory() as s:
        streets = set(s.scalars(text("SELECT name FROM region WHERE parent_code = '310105' AND level = 'street'")))
    assert len(streets) == 10
    assert sorted(walls["command"]["labels"]) == sorted(streets)


def test_no_console_errors(walls) -> None:  # type: ignore[no-untyped-def]
    assert walls["errors"] == []
