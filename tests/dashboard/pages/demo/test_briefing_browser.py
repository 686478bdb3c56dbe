"""Issue #15 item 10, the briefing: a title per period (当日 / 本周), rounded figures, a written summary in Chinese
built from the same figures, a metric-only scale, no Leaflet prefix, and a Word download scoped like the page."""
from __future__ import annotations

import io
import re
from datetime import date
from typing import Any

import pytest
from docx import Document
from sqlalchemy import text

from layers import briefing
from tests.dashboard.pages.demo.browser_pages import ARTIFACTS, Screen, browser, demo_cookie, server  # noqa: F401  (fixtures)
from tests.factories.monitor import D1, D2

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _figures(**over: Any) -> dict[str, Any]:
    base = {"area": "长宁区", "period": "week", "since": date(2026, 11, 1), "until": date(2026, 11, 7), "cases": 120,
            "previous": 100, "change_pct": 20.0, "last_year": 150, "yoy_pct": -20.0, "signals_raised": 3,
            "signals_open": 5, "signals_pending": 2,
            "top": [{"name": "流行性感冒", "cases": 80}, {"name": "手足口病", "cases": 12}],
            "rising": [{"name": "流行性感冒", "cases": 80, "previous": 50}]}
    return {**base, **over}


def test_summary_states_cases_change_signals_and_what_to_watch() -> None:
    first, second, third = briefing.summary_zh(_figures())
    assert first.startswith("本周长宁区共报告法定传染病120例") and "较上周（100例）上升20.0%" in first
    assert "较去年同期（150例）下降20.0%" in first and "流行性感冒80例" in first
    assert second == "本周新触发预警信号3条；目前活动信号5条，其中待核实（新信号及核实中）2条。"
    assert "流行性感冒（80例，上周50例）" in third and "2条待核实信号" in third
    day = briefing.summary_zh(_figures(period="day", cases=4, previous=4, rising=[], signals_pending=0))
    assert day[0].startswith("当日长宁区共报告法定传染病4例，与前一日持平") and "未见明显上升" in day[2]


def test_titles_and_rounding() -> None:
    assert briefing.title("长宁区", "week", date(2026, 11, 7)) == "长宁区传染病监测预警周报（2026年11月07日）"
    assert briefing.title("长宁区", "day", date(2026, 11, 7)).endswith("日报（2026年11月07日）")
    assert briefing.fmt_number(11.9477) == "11.9" and briefing.fmt_number(12.0) == "12"
    assert briefing.fmt_rate(3.14159) == "3.1" and briefing.fmt_count(7.0) == "7" and briefing.fmt_rate(None) == "—"
    assert briefing.period_bounds(date(2026, 11, 7), "week") == (date(2026, 11, 1), date(2026, 11, 7),
                                                                 date(2026, 10, 25), date(2026, 10, 31))


@pytest.fixture
def raw_signal(services, world) -> Any:  # type: ignore[no-untyped-def]
    """A signal whose observed value / threshold are raw floats (11.9477 / 5.0312), removed afterwards."""
    with services.session_factory() as s:
        sid = s.execute(text("""INSERT INTO signal (dedup_key, origin, model, disease_code, region_code, district_code,
            state, title, observed, threshold, params, evidence, geom, fire_count)
            VALUES ('tmon-raw', 'model', 'ears_c3', 'tmona', '319901002', :d, 'new', '测试信号 原始值', 11.9477, 5.0312,
                    '{}', '{}', ST_GeomFromEWKT('SRID=4326;POINT(100.6 10.6)'), 1) RETURNING id"""), {"d": D1}).scalar_one()
        s.commit()
    yield sid
    with services.session_factory() as s:
        s.execute(text("DELETE FROM signal_event WHERE signal_id = :i"), {"i": sid})
        s.execute(text("DELETE FROM signal WHERE id = :i"), {"i": sid})
        s.commit()


def _analyst(client, login) -> None:  # type: ignore[no-untyped-def]
    from tests.factories.users import make_user

    user, _ = make_user(client.application.extensions["onemap"], "district_analyst", D1)
    login(client, user)


def _main_text(page: str) -> str:
    main = page.split("<main>", 1)[1].split("</main>", 1)[0]
    return re.sub(r"<svg.*?</svg>|<[^>]+>", " ", main, flags=re.S)


def test_weekly_page_title_summary_rounding_and_map_controls(client, world, login, raw_signal) -> None:  # type: ignore[no-untyped-def]
    _analyst(client, login)
    resp = client.get(f"/reports/briefing?date={world.today}&period=week")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "<title>测试一区传染病监测预警周报" in page
    body = _main_text(page)
    assert "本周报告" in body and "当日报告" not in body and "上周报告" in body
    summary = re.findall(r'<p class="summary">(.*?)</p>', page)
    assert len(summary) == 3 and summary[0].startswith("本周测试一区共报告法定传染病")
    assert "11.9 / 5.0" in body and "11.9477" not in page
    assert not re.search(r"\d\.\d{2,}", body), re.findall(r"\S*\d\.\d{2,}\S*", body)
    assert f'href="/reports/briefing.docx?date={world.today}&amp;period=week"' in page
    js = client.get(re.search(r'src="(/reports/briefing/map-[^"]+)"', page).group(1)).get_data(as_text=True)  # type: ignore[union-attr]
    assert "L.control.scale({imperial: false})" in js and "L.control.scale()" not in js
    assert "attributionControl.setPrefix(false)" in js


def test_daily_page_is_headed_day(client, world, login) -> None:  # type: ignore[no-untyped-def]
    _analyst(client, login)
    page = client.get(f"/reports/briefing?date={world.today}&period=day").get_data(as_text=True)
    body = _main_text(page)
    assert "<title>测试一区传染病监测预警日报" in page and "当日报告" in body and "前一日报告" in body
    assert "本周" not in body


def test_docx_has_the_pages_title_summary_and_rounded_tables(client, world, login, raw_signal) -> None:  # type: ignore[no-untyped-def]
    _analyst(client, login)
    query = f"date={world.today}&period=week"
    page = client.get(f"/reports/briefing?{query}").get_data(as_text=True)
    resp = client.get(f"/reports/briefing.docx?{query}")
    assert resp.status_code == 200 and resp.mimetype == DOCX
    assert "attachment" in resp.headers["Content-Disposition"]
    doc = Document(io.BytesIO(resp.data))
    paragraphs = [p.text for p in doc.paragraphs if p.text]
    title = re.search(r"<title>(.*?)</title>", page).group(1)  # type: ignore[union-attr]
    assert paragraphs[0] == title
    summary = re.findall(r'<p class="summary">(.*?)</p>', page)
    assert summary and all(p in paragraphs for p in summary)
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    assert "本周报告" in cells and "11.9 / 5.0" in cells
    assert not [c for c in cells if re.search(r"\d\.\d{2,}", c)]


def test_docx_is_authenticated_scoped_and_checked(app, client, world, login) -> None:  # type: ignore[no-untyped-def]
    anonymous = app.test_client()
    resp = anonymous.get(f"/reports/briefing.docx?date={world.today}")
    assert resp.status_code in (302, 401) and resp.mimetype != DOCX  # to the login page, no file
    _analyst(client, login)
    assert client.get(f"/reports/briefing.docx?date={world.today}&region={D2}").status_code == 403
    resp = client.get("/reports/briefing.docx?date=2026-13-01")
    assert resp.status_code == 422 and "date" in resp.get_data(as_text=True)
    assert client.get("/reports/briefing.docx?period=month").status_code == 422


@pytest.mark.browser
def test_briefing_screens_and_docx_text(app, server, browser) -> None:  # type: ignore[no-untyped-def]
    """Screenshots of the day and week briefing at 1920×1080 and the Word file as text, for a human to look at."""
    s = Screen(browser, server, demo_cookie(app, "cn_analyst"))
    try:
        for period in ("day", "week"):
            page = s.open(f"/reports/briefing?period={period}", ".leaflet-control-scale")
            scale = page.locator(".leaflet-control-scale").inner_text()
            assert re.search(r"\d+\s*(m|km)", scale) and not re.search(r"mi|ft", scale), scale
            assert page.locator(".leaflet-control-attribution").inner_text().strip().startswith("©")
            assert page.locator(".leaflet-control-attribution a[href*='leafletjs']").count() == 0
            assert ("本周报告" if period == "week" else "当日报告") in page.locator(".kpis").inner_text()
            assert page.locator("#b-summary p").count() == 3
            s.shot(f"h8_briefing_{period}_1920.png")
        resp = s.ctx.request.get(f"{server}/reports/briefing.docx?period=week")
        assert resp.status == 200
        doc = Document(io.BytesIO(resp.body()))
        lines = [p.text for p in doc.paragraphs] + [" | ".join(c.text for c in row.cells)
                                                    for t in doc.tables for row in t.rows]
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "h8_briefing_week_docx.txt").write_text("\n".join(lines), encoding="utf-8")
        assert s.errors == []
    finally:
        s.close()


@pytest.fixture
def fieldwork_events(services, world) -> Any:  # type: ignore[no-untyped-def]
    """Two warning events of D1: one closed on the report's last day (raised two days before), one in response."""
    from datetime import datetime, time, timedelta

    from geo.dates import CST
    from store.fieldwork import EventReview
    from store.signals import Signal

    noon = datetime.combine(world.today, time(12), tzinfo=CST)
    with services.session_factory() as s, s.begin():
        ids = []
        for key, state in (("closed", "closed"), ("responding", "responding")):
            sig = Signal(dedup_key=f"tb717-{key}", origin="model", model="fusion", kind="event", district_code=D1,
                         state=state, title=f"简报测试事件{key}", first_fired_at=noon - timedelta(days=2),
                         last_fired_at=noon - timedelta(days=2), evidence={}, params={})
            s.add(sig)
            s.flush()
            ids.append(sig.id)
        s.add(EventReview(signal_id=ids[0], state="closed", summary="已处置", closed_at=noon))
    yield ids
    with services.session_factory() as s, s.begin():
        s.execute(text("DELETE FROM event_review WHERE signal_id = ANY(:i)"), {"i": ids})
        s.execute(text("DELETE FROM signal WHERE id = ANY(:i)"), {"i": ids})


def test_weekly_briefing_and_docx_have_the_7_1_7_section(client, world, login, fieldwork_events) -> None:  # type: ignore[no-untyped-def]
    _analyst(client, login)
    closed, responding = fieldwork_events
    query = f"date={world.today}&period=week"
    page = client.get(f"/reports/briefing?{query}").get_data(as_text=True)
    section = _main_text("<main>" + page.split('id="b-717"', 1)[1])
    assert "七、7-1-7 时效与事件处置" in _main_text(page)
    raised = re.search(r"统计期内本区发现预警事件 (\d+) 起", section)
    assert raised is not None and int(raised.group(1)) >= 2 and "瓶颈环节" in section
    for text_ in ("发生→发现", "≤7 天", "发现→报告", "≤1 天", "报告→早期响应完成", "达标率", "中位天数",
                  f"#{closed} 简报测试事件closed", "已结案待评价", f"#{responding} 简报测试事件responding", "处置中"):
        assert text_ in section, text_
    doc = Document(io.BytesIO(client.get(f"/reports/briefing.docx?{query}").data))
    paragraphs = [p.text for p in doc.paragraphs]
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    assert "五、7-1-7 时效与事件处置" in paragraphs and raised.group(0) in "".join(paragraphs)
    assert f"#{closed} 简报测试事件closed" in cells and "报告→早期响应完成" in cells and "处置中" in cells
