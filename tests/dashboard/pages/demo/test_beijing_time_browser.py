"""Issue #15 item 4: every time a user reads is the stored instant in Beijing time (Asia/Shanghai).

Rows are written with known UTC instants; the pages are read in a browser set to America/Los_Angeles.
"""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select

from geo import beijing
from store.accounts import AppUser, Org
from store.dispatch import Task, TaskEvent
from store.signals import Signal, SignalEvent
from tests.dashboard.pages.demo.browser_pages import Screen, browser, demo_cookie, server  # noqa: F401  (fixtures)

UTC = UTC
BJ = timezone(timedelta(hours=8))  # written out here on purpose: the test does not trust the helper it checks
REFERENCE = datetime(2026, 11, 5, 12, 25, tzinfo=UTC)  # 20:25 in Beijing


def _bj(t: datetime, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return t.astimezone(BJ).strftime(fmt)


def _utc(t: datetime, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return t.astimezone(UTC).strftime(fmt)


# ---------------------------------------------------------------- the helper itself


def test_helper_formats_the_instant_in_beijing_time_whatever_its_zone():
    assert beijing.minute(REFERENCE) == "2026-11-05 20:25"
    assert beijing.short(REFERENCE) == "11-05 20:25"
    assert beijing.minute(REFERENCE.astimezone(timezone(timedelta(hours=-5)))) == "2026-11-05 20:25"
    assert beijing.minute("2026-11-05T12:25:00+00:00") == "2026-11-05 20:25"
    assert beijing.minute("2026-11-05T12:25:00Z") == "2026-11-05 20:25"
    assert beijing.minute(datetime(2026, 11, 5, 20, 25)) == "2026-11-05 20:25"  # naive = Beijing time already
    assert beijing.iso(REFERENCE) == "2026-11-05T20:25:00+08:00"
    assert beijing.minute(None) == "" and beijing.iso(None) is None


def test_helper_crosses_midnight_into_the_next_beijing_day():
    assert beijing.minute(datetime(2026, 11, 5, 16, 30, tzinfo=UTC)) == "2026-11-06 00:30"


@pytest.mark.parametrize("ago, text", [(timedelta(seconds=20), "刚刚"), (timedelta(minutes=5), "5 分钟前"),
                                       (timedelta(hours=3, minutes=2), "3 小时前"), (timedelta(days=2), "2 天前")])
def test_age_is_computed_between_instants_not_wall_clock_texts(ago, text):
    # a signal stored in UTC and "now" in Beijing: 8 hours apart on the clock face, `ago` apart in fact
    assert beijing.age_zh(REFERENCE - ago, REFERENCE.astimezone(BJ)) == text


# ---------------------------------------------------------------- the API


def test_layer_api_returns_iso_8601_with_the_beijing_offset(app, demo_data, stamped):
    from tests.factories.users import login

    client = app.test_client()
    login(client, stamped["analyst"])
    body = client.get("/api/v1/layers/signals").get_json()
    ours = [f["properties"] for f in body["features"] if f["properties"]["id"] == stamped["signal_id"]]
    assert ours, "the stamped signal is listed"
    assert ours[0]["last_fired_at"] == stamped["last"].astimezone(BJ).isoformat(timespec="seconds")
    assert ours[0]["last_fired_at"].endswith("+08:00")


# ---------------------------------------------------------------- the pages


def _now_minute() -> datetime:
    return datetime.now(UTC).replace(second=0, microsecond=0)


@pytest.fixture(scope="module")
def stamped(app, demo_data) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A signal and a task with known UTC instants in Changning, acted on by named demo users."""
    svc = app.extensions["onemap"]
    last = _now_minute() - timedelta(minutes=7)
    first, due, deadline = last - timedelta(minutes=50), last + timedelta(hours=2), last + timedelta(days=1, hours=3)
    with svc.session_factory() as db, db.begin():
        analyst = db.scalar(select(AppUser).where(AppUser.username == "cn_analyst"))
        commander = db.scalar(select(AppUser).where(AppUser.username == "cn_commander"))
        org = db.get(Org, commander.org_id)
        sig = Signal(dedup_key="h7:beijing-time", origin="model", model="cusum", district_code="310105",
                     region_code="310105", state="new", title="北京时间核对信号", observed=9, threshold=4, grade="red",
                     window_start=last.date() - timedelta(days=6), window_end=last.date(), params={"k": 0.5, "h": 4},
                     evidence={}, first_fired_at=first, last_fired_at=last, verify_due_at=due)
        db.add(sig)
        db.flush()
        db.add(SignalEvent(signal_id=sig.id, time=first + timedelta(minutes=1), actor_user_id=analyst.id,
                           action="assigned", reason="请核实"))
        task = Task(title="北京时间核对任务", type="epi", priority=2, deadline=deadline, state="issued", progress=0,
                    district_code="310105", created_by_user_id=commander.id, created_at=first)
        db.add(task)
        db.flush()
        db.add(TaskEvent(task_id=task.id, time=first + timedelta(minutes=2), actor_user_id=commander.id,
                         actor_name=commander.username, kind="created", to_state="issued", progress=0))
        ids = {"signal_id": sig.id, "task_id": task.id}
        analyst_name, commander_name, org_name = analyst.display_name, commander.display_name, org.name
    with svc.session_factory() as db:
        analyst = db.scalar(select(AppUser).where(AppUser.username == "cn_analyst"))
    return {**ids, "first": first, "last": last, "due": due, "deadline": deadline, "event": first + timedelta(minutes=1),
            "task_event": first + timedelta(minutes=2), "analyst": analyst, "analyst_name": analyst_name,
            "commander_name": commander_name, "commander_org": org_name}


def _assert_beijing(text: str, t: datetime, fmt: str = "%Y-%m-%d %H:%M") -> None:
    assert _bj(t, fmt) in text, (_bj(t, fmt), text[:400])
    assert _utc(t, fmt) not in text, ("UTC shown", _utc(t, fmt))


def test_monitor_signal_list_shows_beijing_time(app, server, browser, stamped):
    s = Screen(browser, server, demo_cookie(app, "cn_analyst"))
    try:
        page = s.open("/monitor", "#mon-signal-list .sig-item")
        page.wait_for_selector(".sig-item:has-text('北京时间核对信号')", timeout=30000)
        item = page.locator(".sig-item", has_text="北京时间核对信号").first.inner_text()
        _assert_beijing(item, stamped["last"])
        s.shot("h7_monitor_1920.png")
        assert s.errors == []
    finally:
        s.close()


def test_wall_signal_list_clock_and_data_age_are_beijing_time(app, server, browser, stamped):
    s = Screen(browser, server, demo_cookie(app, "cn_analyst"))
    try:
        page = s.open("/monitor?wall=1&rotate=0", ".wall #mon-signal-list .sig-item")
        page.wait_for_selector(".sig-item:has-text('北京时间核对信号')", timeout=30000)
        _assert_beijing(page.locator(".sig-item", has_text="北京时间核对信号").first.inner_text(), stamped["last"])
        # the clock: Beijing time although the browser runs in Los Angeles
        before = datetime.now(BJ)
        clock = page.locator(".wall-clock").first.inner_text()
        after = datetime.now(BJ)
        m = re.match(r"(\d{4}-\d\d-\d\d) 星期. (\d\d:\d\d):\d\d", clock)
        assert m, clock
        assert f"{m.group(1)} {m.group(2)}" in {before.strftime("%Y-%m-%d %H:%M"), after.strftime("%Y-%m-%d %H:%M")}
        # a data-age chip: "数据 HH:MM" is the layer's stamp in Beijing time
        page.wait_for_function("() => [...document.querySelectorAll('.layer-age')].some("
                               "e => e.getAttribute('data-updated') && /数据/.test(e.innerText))", timeout=30000)
        chip = page.locator(".layer-age[data-updated]:has-text('数据')").first
        stamp = datetime.fromisoformat(chip.get_attribute("data-updated"))
        assert f"数据 {_bj(stamp, '%H:%M')}" in chip.inner_text()
        s.shot("h7_monitor_wall_1920.png")
    finally:
        s.close()


def test_signal_page_times_and_people_are_beijing_time_and_names(app, server, browser, stamped):
    s = Screen(browser, server, demo_cookie(app, "cn_analyst"))
    try:
        page = s.open(f"/signals?id={stamped['signal_id']}", ".sig-timeline li")
        meta = page.locator(".sig-meta").first.inner_text()
        _assert_beijing(meta, stamped["first"])
        _assert_beijing(meta, stamped["due"])
        line = page.locator(".sig-timeline li").first.inner_text()
        _assert_beijing(line, stamped["event"])
        assert stamped["analyst_name"] in line and "cn_analyst" not in line
        s.shot("h7_signals_1920.png")
    finally:
        s.close()


def test_task_page_times_and_people_are_beijing_time_and_names(app, server, browser, stamped):
    s = Screen(browser, server, demo_cookie(app, "cn_commander"))
    try:
        page = s.open(f"/tasks?id={stamped['task_id']}", ".task-timeline li")
        detail = page.locator(".tasks-detail").inner_text()
        _assert_beijing(detail, stamped["deadline"], "%m-%d %H:%M")
        line = page.locator(".task-timeline li").first.inner_text()
        _assert_beijing(line, stamped["task_event"], "%m-%d %H:%M")
        assert f"{stamped['commander_name']}（{stamped['commander_org']}）" in line
        assert "cn_commander" not in line
        row = page.locator(".tasks-table tr", has_text="北京时间核对任务").first.inner_text()
        _assert_beijing(row, stamped["deadline"], "%m-%d %H:%M")
        s.shot("h7_tasks_1920.png")
    finally:
        s.close()


def test_command_page_day_is_the_beijing_day(app, server, browser, stamped):
    s = Screen(browser, server, demo_cookie(app, "cn_commander"))
    try:
        before = datetime.now(BJ).date()
        page = s.open("/command", "h3:has-text('今日应急值守')")
        after = datetime.now(BJ).date()
        text = page.evaluate("() => document.querySelector('h3') && [...document.querySelectorAll('h3')]"
                             ".map(e => e.textContent).join('\\n')")
        assert f"今日应急值守 · {before.isoformat()}" in text or f"今日应急值守 · {after.isoformat()}" in text
        s.shot("h7_command_1920.png")
    finally:
        s.close()


def test_briefing_signal_times_and_generated_at_are_beijing_time(app, server, browser, stamped):
    s = Screen(browser, server, demo_cookie(app, "cn_analyst"))
    try:
        day = stamped["last"].astimezone(BJ).date()
        page = s.open(f"/reports/briefing?date={day.isoformat()}&period=week", "main")
        text = page.evaluate("() => document.body.innerText")
        row = page.locator("tr", has_text="北京时间核对信号").first.inner_text()
        _assert_beijing(row, stamped["last"])
        m = re.search(r"生成于\s*(\d{4}-\d\d-\d\d \d\d:\d\d)", text)
        if m:  # the generated-at stamp, when the page shows one, is Beijing time too
            generated = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M").replace(tzinfo=BJ)
            assert abs((datetime.now(BJ) - generated).total_seconds()) < 600
        s.shot("h7_briefing_1920.png")
    finally:
        s.close()
