"""Issue #16: warning events on the /monitor map carry their grade — a disc in the grade's colour with 红/橙/黄/蓝."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete

from store.grades import GRADE_COLOR, GRADE_SHORT_ZH, GRADE_TEXT_COLOR
from store.signals import Signal
from tests.dashboard.pages.demo.browser_pages import Screen, browser, demo_cookie, server  # noqa: F401  (fixtures)

POINTS = {"red": (121.392, 31.214), "orange": (121.405, 31.205), "yellow": (121.418, 31.214), "blue": (121.430, 31.207)}
MARKERS = """() => [...document.querySelectorAll('#mon-map .signal-grade > div')].map(e => ({
  grade: e.dataset.grade, text: e.textContent, bg: getComputedStyle(e).backgroundColor, fg: getComputedStyle(e).color,
  size: parseFloat(getComputedStyle(e).fontSize)}))"""


def _rgb(hex_colour: str) -> str:
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


@pytest.fixture(scope="module")
def graded(app: Any, demo_data: Any) -> Iterator[None]:
    from ingest.events import announce_bulk_change

    svc = app.extensions["onemap"]
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    with svc.session_factory() as db, db.begin():
        for grade, (lon, lat) in POINTS.items():
            db.add(Signal(dedup_key=f"grade-marker:{grade}", origin="fusion", model="event", kind="event", grade=grade,
                          district_code="310105", region_code="310105", state="new", title=f"等级标记{grade}",
                          geom=f"SRID=4326;POINT({lon} {lat})", first_fired_at=now, last_fired_at=now))
    announce_bulk_change(svc.redis, svc.settings.redis_namespace)
    yield
    with svc.session_factory() as db, db.begin():  # later tests count Changning's events
        db.execute(delete(Signal).where(Signal.dedup_key.like("grade-marker:%")))
    announce_bulk_change(svc.redis, svc.settings.redis_namespace)


def test_event_markers_show_grade_colour_and_character(app, server, browser, graded) -> None:  # type: ignore[no-untyped-def]
    s = Screen(browser, server, demo_cookie(app, "cn_analyst"))
    try:
        page = s.open("/monitor", "#mon-map .signal-grade")
        page.wait_for_function("() => document.querySelectorAll('#mon-map .signal-grade > div').length >= 4",
                               timeout=30_000)
        shown = {m["grade"]: m for m in page.evaluate(MARKERS)}
        for grade in POINTS:
            m = shown[grade]
            assert m["text"] == GRADE_SHORT_ZH[grade]
            assert m["bg"] == _rgb(GRADE_COLOR[grade]) and m["fg"] == _rgb(GRADE_TEXT_COLOR[grade]), m
            assert m["size"] >= 14, m
        s.shot("h16_grade_markers.png")
    finally:
        s.close()
