"""The field response on a warning event's page (7-1-7 steps, each 流调's progress, the review's Word download)
and the finished review as a Word document (409 until reviewed) — issue 20, phase 3."""
from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from docx import Document

from accounts.principal import Principal
from dashboard.pages import signal_fieldwork
from fieldwork.progress import investigation_progress
from tests.fieldwork.conftest import World, utc

ANALYST = Principal(user_id=0, username="page-test", role="district_analyst", org_id=1, region_code="310105")


def _event_with_contacts(client: Any, world: World) -> tuple[int, int]:
    sid = world.event(raised=utc("2026-03-05T02:00:00"), verified=utc("2026-03-06T01:00:00"),
                      cases=[{"id": 10**12 + 7, "onset_date": "2026-03-01"}])
    inv = client.post("/api/v1/fieldwork/investigations", headers=world.auth("analyst"), json={
        "signal_id": sid, "investigator": "流调三组", "started_at": "2026-03-06T09:00:00+08:00",
        "contacts": [{"record_id": "P-1", "name": "周九"},
                     {"record_id": "P-2", "name": "吴十", "state": "traced", "traced_at": "2026-03-06T12:00:00+08:00"}]})
    assert inv.status_code == 201, inv.json
    return sid, int(inv.json["id"])


def test_the_event_page_shows_its_7_1_7_and_each_investigations_progress(app: Any, client: Any, world: World) -> None:
    sid, inv = _event_with_contacts(client, world)
    with app.test_request_context():
        tree = json.dumps([c.to_plotly_json() if hasattr(c, "to_plotly_json") else c
                           for c in signal_fieldwork.section(sid, ANALYST)], default=_plain, ensure_ascii=False)
        with app.extensions["onemap"].session_factory() as s:
            progress = investigation_progress(s, [inv], now=datetime.now(UTC) + timedelta(days=2))[inv]
    assert (progress.investigations, progress.contacts, progress.traced, progress.to_trace) == (1, 2, 1, 1)
    assert progress.overdue_trace == 1  # two days after listing, still to trace
    for text in ("发生→发现", "4 天", "发现→报告", "1 天", "报告→早期响应完成", "未达标", f"#{inv} 流调三组",
                 "尚未结案", f"/command?event={sid}"):
        assert text in tree, text
    assert "周九" not in tree and "吴十" not in tree
    other = Principal(user_id=0, username="x", role="district_analyst", org_id=1, region_code="310104")
    with app.test_request_context():
        assert signal_fieldwork.section(sid, other) == []


def _plain(value: Any) -> Any:
    return value.to_plotly_json() if hasattr(value, "to_plotly_json") else str(value)


def test_the_finished_review_is_a_word_document(client: Any, world: World) -> None:
    sid = world.event(raised=utc("2026-03-05T02:00:00"), verified=utc("2026-03-05T08:00:00"),
                      cases=[{"id": 10**12 + 8, "onset_date": "2026-03-03"}])
    url = f"/api/v1/fieldwork/events/{sid}/review.docx"
    before = client.get(url, headers=world.auth("analyst"))
    assert before.status_code == 409 and before.json["error"]["code"] == "fieldwork.review_not_finished"
    assert "尚未结案" in before.json["error"]["message_zh"]
    base = f"/api/v1/fieldwork/events/{sid}"
    assert client.post(f"{base}/close", json={"summary": "疫点终末消毒完成，无续发病例"},
                       headers=world.auth("commander")).status_code == 200
    assert client.post(f"{base}/evaluation", json={"effectiveness": "处置及时", "lessons": "加强晨检"},
                       headers=world.auth("analyst")).status_code == 200
    evaluated = client.get(url, headers=world.auth("analyst"))
    assert evaluated.status_code == 409 and "已评价待复核" in evaluated.json["error"]["message_zh"]
    assert client.post(f"{base}/review", json={"verdict": "approved", "note": "评价属实"},
                       headers=world.auth("commander")).status_code == 200
    resp = client.get(url, headers=world.auth("analyst"))
    assert resp.status_code == 200 and resp.mimetype.endswith("wordprocessingml.document")
    doc = Document(io.BytesIO(resp.data))
    text = "\n".join([p.text for p in doc.paragraphs] + [c.text for t in doc.tables for r in t.rows for c in r.cells])
    for expected in ("测试聚集", "疫点终末消毒完成，无续发病例", "处置效果：处置及时", "经验教训：加强晨检", "发生→发现",
                     "2 天", "达标", "同意闭环（评价属实）", "测试 district_commander", "测试 district_analyst"):
        assert expected in text, expected
    assert "t_district" not in text  # display names, not logins
    closed_at = (datetime.now(UTC) + timedelta(hours=8)).strftime("%Y-%m-%d")
    assert f"结案：测试 district_commander，{closed_at}" in text  # Beijing time
    assert client.get(url, headers=world.auth("xuhui")).status_code == 404
