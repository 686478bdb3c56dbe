"""The exchange page's rendering: rates against goals, a stale exchange said plainly, refusals in Chinese."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dashboard.pages import exchange_view as view


def _answer(stale: bool, success: float | None) -> dict:  # type: ignore[type-arg]
    now = datetime.now(UTC)
    return {"totals": {"success": success, "timeliness": 0.95, "conformance": 1.0},
            "goals": {"success": 0.9, "timeliness": 0.8, "conformance": 0.7}, "stale": stale,
            "waiting": {"pending": 12, "oldest": now - timedelta(hours=5), "last_delivered": None},
            "days": [{"day": "2026-11-30", "record_type": "case_report", "answered": 10, "delivered": 8, "refused": 2,
                      "pending": 0, "rates": {"success": 0.8, "timeliness": 1.0, "conformance": 0.9}}]}


def _text(node) -> str:  # type: ignore[no-untyped-def]
    if isinstance(node, str | int | float):
        return str(node)
    children = getattr(node, "children", None)
    if children is None:
        return ""
    return "".join(_text(c) for c in (children if isinstance(children, list) else [children]))


def test_rates_below_goal_and_a_stale_exchange_are_flagged() -> None:
    now = datetime.now(UTC)
    page = _text(view.body(_answer(stale=True, success=0.8), [], now))
    assert "交换滞留" in page and "待发送 12 条" in page and "80.0%" in page and "未达标" in page
    assert "传染病报告卡" in page
    calm = _text(view.body(_answer(stale=False, success=None), [], now))
    assert "交换正常" in calm and "未达标" not in calm and "—" in calm


def test_refusals_and_the_wall_line_speak_chinese() -> None:
    rows = [{"answered_at": datetime.now(UTC), "record_type": "team", "record_id": 7, "district_code": "310105",
             "outcome_code": "schema.invalid:status"},
            {"answered_at": datetime.now(UTC), "record_type": "case_report", "record_id": 9, "district_code": "310105",
             "outcome_code": "business.rejected"}]
    text = _text(view.refusal_table(rows))
    assert "不符合交换规范（字段 status）" in text and "市级业务退回" in text and "应急队伍" in text
    line = view.wall_line(_answer(stale=True, success=0.8))
    assert line == "市级数据交换 成功率 80.0% · 及时率 95.0% · 规范率 100.0% · 待发送 12 条 · 交换滞留"
