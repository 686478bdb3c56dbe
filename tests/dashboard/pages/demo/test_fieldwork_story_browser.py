"""Issue 20's acceptance walk-through in Chromium: the demo's 流调 story (demo/fieldwork_story.py) played step by step
on the seeded demo after the warning run, and after each step what a duty officer sees on the real pages — /command
(exposure places, contacts per street, hotspot cells, the 流调进展 card, the 传播链 card), the wall at 3840×2160, the
event's page (state, 7-1-7) and the weekly briefing. Screenshots: tests/artifacts/fieldwork_story_<n>_<step>_<page>.png.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from demo.fieldwork_story import STEPS, find_event, play
from ingest.events import announce_bulk_change
from tests.conftest import reference_date
from tests.dashboard.pages.demo.browser_pages import Screen, browser, demo_cookie, server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser  # a missing browser fails, never skips

MAP_JS = """() => ({
  places: document.querySelectorAll('#cmd-map path[stroke="#6a1b9a"]').length,
  hotspots: document.querySelectorAll('#cmd-map path[stroke="#b71c1c"]').length,
  streets: [...document.querySelectorAll('#cmd-map .cmd-contacts')].map(e => Number(e.innerText)).sort((a, b) => b - a),
  toTrace: document.querySelectorAll('#cmd-map .cmd-contacts.to-trace').length})"""
KPI_JS = """() => Object.fromEntries([...document.querySelectorAll('#cmd-fw-progress [id^="cmd-fw-kpi-"]')]
  .map(e => [e.id.slice('cmd-fw-kpi-'.length), Number(e.innerText)]))"""


@dataclass(frozen=True)
class Seen:
    """What the duty officer should see after a step."""

    state: str  # the event's state on its page
    kpis: dict[str, int] | None  # the 流调进展 card (None: no open 流调)
    places: int
    streets: list[int]  # contacts per street marker, largest first
    to_trace_streets: int
    hotspots: bool
    steps_717: dict[str, tuple[str, str]]  # step → (days, result) on the event's page
    chain: str | None  # the 传播链 card's summary tail
    briefing_table: int  # 1: closed in the period, 2: in response
    review: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


_NOT_YET = {"detection": ("5 天", "达标"), "notification": ("2 天", "未达标"), "response": ("—", "进行中")}
_DONE = {**_NOT_YET, "response": ("3 天", "达标")}
_OPEN = {"open": 1, "contacts": 0, "traced": 0, "to-trace": 0, "observing": 0, "became-case": 0}
EXPECT: dict[str, Seen] = {
    "investigation": Seen("处置中", _OPEN, 0, [], 0, False, _NOT_YET, "密切接触者 0 人，续发病例 0 例", 2),
    "places": Seen("处置中", _OPEN, 3, [], 0, False, _NOT_YET, "密切接触者 0 人，续发病例 0 例", 2),
    "contacts": Seen("处置中", {**_OPEN, "contacts": 12, "traced": 9, "to-trace": 3, "observing": 5}, 3, [7, 2, 2, 1],
                     3, True, _NOT_YET, "密切接触者 12 人，续发病例 0 例", 2),
    "cases": Seen("处置中", {**_OPEN, "contacts": 12, "traced": 12, "observing": 3, "became-case": 2}, 3,
                  [7, 2, 2, 1], 0, True, _NOT_YET, "密切接触者 12 人，续发病例 2 例", 2),
    "milestones": Seen("处置中", {**_OPEN, "contacts": 12, "traced": 12, "observing": 3, "became-case": 2}, 3,
                       [7, 2, 2, 1], 0, True, _DONE, "密切接触者 12 人，续发病例 2 例", 2),
    "closed": Seen("已结案", None, 3, [7, 2, 2, 1], 0, True, _DONE, "密切接触者 12 人，续发病例 2 例", 1, "已复核"),
}


@pytest.fixture(scope="module")
def event_id(services: Any, demo_data: Any) -> int:
    """The warning run over the demo for its last day, as `make run` does before the story."""
    from alerting.runner import run_all

    with services.session_factory() as s, s.begin():
        run_all(s, as_of=reference_date(), district_code="310105")
    with services.session_factory() as s:
        return find_event(s).id


@pytest.fixture(scope="module")
def screens(browser, server, app) -> Iterator[dict[str, Screen]]:  # type: ignore[no-untyped-def]
    cookie = demo_cookie(app, "cn_analyst")
    made = {"desk": Screen(browser, server, cookie), "wall": Screen(browser, server, cookie, 3840, 2160)}
    yield made
    for screen in made.values():
        screen.close()


def _play_through(services: Any, step: str) -> None:
    """This step and (idempotently) the ones before it, each committed; then cached answers are dropped."""
    for earlier in STEPS[: STEPS.index(step) + 1]:
        with services.session_factory() as s, s.begin():
            play(s, earlier, services.cipher)
    announce_bulk_change(services.redis, services.settings.redis_namespace)


def _check_command(screen: Screen, seen: Seen, shot: str, event_id: int) -> None:
    page = screen.open(f"/command?event={event_id}", "#cmd-fw-progress")
    page.wait_for_function(f"() => document.querySelectorAll('#cmd-map path[stroke=\"#6a1b9a\"]').length === {seen.places}"
                           f" && document.querySelectorAll('#cmd-map .cmd-contacts').length === {len(seen.streets)}",
                           timeout=30000)
    if seen.kpis is None:
        page.wait_for_function("() => document.getElementById('cmd-fw-progress').innerText.includes('暂无进行中的流调')",
                               timeout=30000)
    else:
        page.wait_for_selector("#cmd-fw-kpi-contacts", timeout=30000)
    page.wait_for_function("t => (document.getElementById('cmd-chain-summary') || {}).innerText?.endsWith(t)",
                           arg=seen.chain, timeout=30000)
    page.wait_for_timeout(800)
    screen.shot(shot)
    drawn = page.evaluate(MAP_JS)
    assert drawn["places"] == seen.places and drawn["streets"] == seen.streets, drawn
    assert drawn["toTrace"] == seen.to_trace_streets, drawn
    assert (drawn["hotspots"] > 0) == seen.hotspots, drawn
    assert (page.evaluate(KPI_JS) or None) == seen.kpis
    assert page.inner_text("#cmd-fw-717").startswith("7-1-7")
    page.locator("#cmd-chain-card").scroll_into_view_if_needed()
    screen.shot(shot.replace("_command", "_chain"))


def _check_wall(screen: Screen, seen: Seen, shot: str) -> None:
    page = screen.open("/command?wall=1&rotate=0", "#cmd-fw-progress")
    page.wait_for_function("() => document.documentElement.classList.contains('wall-mode')", timeout=15000)
    page.wait_for_function(f"() => document.querySelectorAll('#cmd-map path[stroke=\"#6a1b9a\"]').length === {seen.places}",
                           timeout=30000)
    if seen.kpis is not None:
        page.wait_for_selector("#cmd-fw-kpi-contacts", timeout=30000)
    page.wait_for_timeout(800)
    screen.shot(shot)
    assert (page.evaluate(KPI_JS) or None) == seen.kpis
    assert page.evaluate(MAP_JS)["streets"] == []  # contacts per street are off on the wall (counts in the card)


def _check_event(screen: Screen, seen: Seen, shot: str, event_id: int) -> None:
    page = screen.open(f"/signals?id={event_id}", "#sig-717")
    page.locator("#sig-717").scroll_into_view_if_needed()
    screen.shot(shot)
    assert f"状态：{seen.state}" in page.inner_text(f'[data-signal-id="{event_id}"]')
    for step, (days, result) in seen.steps_717.items():
        cells = page.locator(f"#sig-717-{step} td").all_inner_texts()
        assert cells[3:6:2] == [days, result], (step, cells)
    assert seen.review in page.inner_text("#sig-review")


def _check_briefing(screen: Screen, seen: Seen, shot: str, event_id: int) -> None:
    page = screen.open(f"/reports/briefing?date={reference_date()}&period=week", "#b-717")
    page.locator("#b-717").scroll_into_view_if_needed()
    screen.shot(shot)
    row = page.locator(f"#b-717-{seen.briefing_table} tr", has_text=f"#{event_id} ")
    assert row.count() == 1, page.inner_text("#b-717")
    cells = row.all_inner_texts()[0]
    assert "5 / 2 / " + ("3" if seen.steps_717["response"][0] == "3 天" else "—") in cells
    assert "未全部达标" in cells and (seen.review or "处置中") in cells, cells


@pytest.mark.parametrize("step", STEPS)
def test_each_step_shows_on_the_pages(step: str, services: Any, event_id: int, screens: dict[str, Screen]) -> None:
    _play_through(services, step)
    seen, n = EXPECT[step], STEPS.index(step) + 1
    name = f"fieldwork_story_{n}_{step}"
    _check_command(screens["desk"], seen, f"{name}_command.png", event_id)
    _check_wall(screens["wall"], seen, f"{name}_wall.png")
    _check_event(screens["desk"], seen, f"{name}_event.png", event_id)
    _check_briefing(screens["desk"], seen, f"{name}_briefing.png", event_id)
    assert screens["desk"].errors == [] and screens["wall"].errors == []
