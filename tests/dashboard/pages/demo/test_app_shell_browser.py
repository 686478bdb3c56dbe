"""The app shell (issue #15, item 3): every page reaches every other page through the navigation, logout works
from each page and ends the session, `<html lang="zh-CN">`, no console errors, the wall stays chrome-less.

Runs in headless system Chromium on the package's small world (district 319901 测试一区), not the demo data.
Screenshots of every page at 1920×1080 go to tests/artifacts/app_shell/.
"""
from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.serving import make_server

from accounts.principal import Principal
from dashboard.components.shell import NAV, frame, nav_links
from tests.factories.monitor import D1, MonitorWorld
from tests.factories.users import login, make_user
from tests.paths import ARTIFACTS

pytestmark = pytest.mark.browser  # a missing browser fails, never skips
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
SHOTS = ARTIFACTS / "app_shell"
# page → (path, an element only that page has)
PAGES: dict[str, tuple[str, str]] = {
    "monitor": ("/monitor", "#mon-page .mon-map-wrap"),
    "command": ("/command", "#cmd-page .cmd-main"),
    "signals": ("/signals", ".page-signals .sig-filters"),
    "tasks": ("/tasks", ".page-tasks .tasks-filters"),
    "assists": ("/assists", ".page-assists .assist-filters"),
    "briefing": ("/reports/briefing", "#b-today"),
    "exchange": ("/exchange", ".page-exchange #exch-status"),
    "profile": ("/profile", "#stepup-challenge"),
    "apidocs": ("/api/docs", "#apidocs-root .op"),
}
LABELS = {item.key: item.label for item in NAV}


def _tour(nodes: list[str]) -> list[str]:
    """A walk over every ordered pair (a → b, a ≠ b) exactly once (Hierholzer on the complete digraph)."""
    unused = {a: [b for b in nodes if b != a] for a in nodes}
    stack, walk = [nodes[0]], []
    while stack:
        here = stack[-1]
        if unused[here]:
            stack.append(unused[here].pop())
        else:
            walk.append(stack.pop())
    return walk[::-1]


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def live_url(app, world: MonitorWorld) -> Iterator[str]:  # type: ignore[no-untyped-def]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="module")
def analyst(app):  # type: ignore[no-untyped-def]
    user, _ = make_user(app.extensions["onemap"], "district_analyst", D1)
    return user


def _cookie(app: Any, user: Any) -> str:
    """A fresh logged-in session for `user` (the value of the session cookie)."""
    client = app.test_client()
    login(client, user)
    return str(client.get_cookie("onemap_session").value)  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Screen:
    """A 1920×1080 page logged in with `cookie`, recording console errors."""

    def __init__(self, browser: Any, base: str, cookie: str) -> None:
        self.base = base
        self.ctx = browser.new_context(viewport={"width": 1920, "height": 1080}, timezone_id="Asia/Shanghai",
                                       locale="zh-CN")
        self.ctx.add_cookies([{"name": "onemap_session", "value": cookie, "url": base}])
        self.page = self.ctx.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(f"{self.page.url}: {m.text}") if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"{self.page.url}: {e}"))

    def wait_for(self, key: str) -> None:
        path, marker = PAGES[key]
        self.page.wait_for_url(re.compile(re.escape(self.base + path) + r"(\?.*)?$"), timeout=30000)
        self.page.wait_for_selector(marker, state="attached", timeout=30000)
        self.page.wait_for_selector("#om-header .om-nav-link.is-active", state="attached", timeout=30000)

    def open(self, key: str) -> None:
        self.page.goto(self.base + PAGES[key][0])
        self.wait_for(key)

    def click_nav(self, key: str) -> None:
        self.page.locator("#om-header .om-nav-link", has_text=LABELS[key]).click()
        self.wait_for(key)

    def active(self) -> list[str]:
        return self.page.locator("#om-header .om-nav-link.is-active").all_inner_texts()


# ---------------------------------------------------------------- browser tests


def test_every_page_reaches_every_other_page(app, live_url, analyst, browser) -> None:  # type: ignore[no-untyped-def]
    screen = Screen(browser, live_url, _cookie(app, analyst))
    SHOTS.mkdir(parents=True, exist_ok=True)
    walk = _tour(list(PAGES))
    assert len(walk) == len(PAGES) * (len(PAGES) - 1) + 1
    screen.open(walk[0])
    shot = set()
    for here, there in zip(walk, walk[1:], strict=False):
        page = screen.page
        assert page.evaluate("document.documentElement.lang") == "zh-CN", here
        assert screen.active() == [LABELS[here]], here
        header = page.locator("#om-header").inner_text()
        assert "OneMap 一张图" in header and "测试一区" in header, header
        assert analyst.display_name in header and "区级分析员" in header, header
        assert [t.strip() for t in page.locator("#om-header .om-nav-link").all_inner_texts()] == list(LABELS.values())
        family = page.evaluate("getComputedStyle(document.querySelector('#om-header')).fontFamily")
        assert "serif" not in family.replace("sans-serif", ""), family
        if here not in shot:
            page.wait_for_timeout(600)  # maps and charts settle before the picture
            page.screenshot(path=str(SHOTS / f"{here}-1920x1080.png"))
            shot.add(here)
        screen.click_nav(there)
    assert shot == set(PAGES)
    assert screen.errors == []
    screen.ctx.close()


@pytest.mark.parametrize("key", list(PAGES))
def test_logout_from_each_page_ends_the_session(app, live_url, analyst, browser, key) -> None:  # type: ignore[no-untyped-def]
    cookie = _cookie(app, analyst)
    screen = Screen(browser, live_url, cookie)
    screen.open(key)
    screen.page.locator("#om-logout").click()
    screen.page.wait_for_url(re.compile(re.escape(live_url) + r"/login(\?.*)?$"), timeout=30000)
    screen.page.goto(live_url + "/signals")  # a later page load
    assert urlparts(screen.page.url) == "/login"
    screen.ctx.add_cookies([{"name": "onemap_session", "value": cookie, "url": live_url}])  # the old cookie is dead
    screen.page.goto(live_url + "/tasks")
    assert urlparts(screen.page.url) == "/login"
    assert screen.errors == []
    screen.ctx.close()


def inner_width(pane: float) -> float:
    return pane - 1  # sub-pixel rounding


def urlparts(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).path


def test_signals_and_tasks_tables_are_full_width_and_sans(app, live_url, analyst, browser) -> None:  # type: ignore[no-untyped-def]
    screen = Screen(browser, live_url, _cookie(app, analyst))
    for key, table in (("signals", ".sig-list table"), ("tasks", ".tasks-list table")):
        screen.open(key)
        screen.page.wait_for_selector(table, timeout=30000)
        body_font = screen.page.evaluate(f"getComputedStyle(document.querySelector('.page-{key}')).fontFamily")
        assert "Noto Sans CJK SC" in body_font and "serif" not in body_font.replace("sans-serif", ""), body_font
        table_w, pane_w, page_w = screen.page.evaluate("""(sel) => { const t = document.querySelector(sel);
            const pane = t.closest('.sig-list, .tasks-list'), style = getComputedStyle(pane);
            const inner = pane.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
            return [t.getBoundingClientRect().width, inner, document.documentElement.clientWidth]; }""", table)
        assert table_w >= inner_width(pane_w), (key, table_w, pane_w)  # the table fills its pane
        assert pane_w >= 0.5 * page_w, (key, pane_w, page_w)  # and the list pane is the wider one (was 40 %)
    screen.page.goto(live_url + "/signals")
    screen.page.wait_for_selector(".sig-list tbody tr", timeout=30000)
    nowrap = screen.page.evaluate("""() => [...document.querySelectorAll('.sig-list tbody tr:first-child td')]
        .map(td => getComputedStyle(td).whiteSpace)""")
    assert nowrap[0] == "nowrap" and nowrap[4] == "nowrap", nowrap  # 状态, 截至
    assert screen.errors == []
    screen.ctx.close()


def test_wall_has_no_navigation_or_logout(app, live_url, analyst, browser) -> None:  # type: ignore[no-untyped-def]
    screen = Screen(browser, live_url, _cookie(app, analyst))
    screen.page.goto(live_url + "/monitor?wall=1")
    screen.page.wait_for_selector("#mon-wall .wall-header", timeout=30000)
    assert screen.page.locator("#om-header").count() == 0 and screen.page.locator("#om-logout").count() == 0
    assert screen.page.evaluate("document.documentElement.lang") == "zh-CN"
    screen.ctx.close()


# ---------------------------------------------------------------- who sees what (no browser)


def _p(role: str) -> Principal:
    return Principal(user_id=1, username="u", role=role, org_id=1, region_code=D1)


def test_navigation_follows_the_role() -> None:
    keys = lambda role, **kw: [LABELS_BY_LABEL[link.label] for link in nav_links(_p(role), "tasks", **kw)]  # noqa: E731
    assert keys("district_analyst") == list(LABELS)
    assert "command" not in keys("institution_user")
    assert keys("wall_kiosk") == ["monitor", "command"]
    assert "profile" not in keys("district_commander", view_only=True)
    assert [link.active for link in nav_links(_p("district_analyst"), "tasks")].count(True) == 1
    assert nav_links(None, "monitor") == ()


LABELS_BY_LABEL = {label: key for key, label in LABELS.items()}


def test_wall_and_embed_pages_keep_their_own_layout() -> None:
    body = object()
    assert frame("/monitor", {"wall": "1"}, body) is body
    assert frame("/command", {"wall": "1"}, body) is body
    assert frame("/embed/monitor", {}, body) is body
