"""The briefing's 7-1-7 section (HTML page and Word file): the district's aggregate for the report period (share
meeting each target, median days, the bottleneck step), the events closed in it and those in response.

Figures from fieldwork.period_report; this module only turns them into table rows and sentences.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from accounts.principal import Principal
from dashboard.extensions import services
from fieldwork.errors import FieldworkError
from fieldwork.period_report import period_report

TITLE = "7-1-7 时效与事件处置"
STEP_HEADER = ["环节", "目标", "已判定事件", "达标", "达标率", "中位天数"]
EVENT_HEADER = ["事件", "发现日期", "结案日期", "闭环", "各环节用时（天）", "7-1-7"]


def collect(session: Session, principal: Principal, since: date, until: date) -> dict[str, Any] | None:
    """The section's figures for the viewer's district (this deployment's for city roles); None out of scope."""
    district = principal.district_code or services().settings.district_code
    try:
        return period_report(session, actor=principal, district=district, first=since, last=until)
    except FieldworkError:
        return None


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def _median(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


def step_rows(section: dict[str, Any]) -> list[list[str]]:
    return [[s["label_zh"], f"≤{s['target_days']} 天", str(s["measured"]), str(s["met"]), _share(s["share_met"]),
             _median(s["median_days"])] for s in section["timeliness"]["steps"]]


def headline(section: dict[str, Any]) -> str:
    t = section["timeliness"]
    if not t["events"]:
        return "统计期内本区无新发现的预警事件。"
    worst = f"瓶颈环节：{t['bottleneck_zh']}。" if t["bottleneck_zh"] else "各环节尚无可判定的事件。"
    return f"统计期内本区发现预警事件 {t['events']} 起，其中 7-1-7 三个环节全部达标 {t['all_met']} 起；{worst}"


def _days(steps: list[dict[str, Any]]) -> str:
    return " / ".join("—" if s["days"] is None else str(s["days"]) for s in steps)


def event_rows(events: list[dict[str, Any]]) -> list[list[str]]:
    return [[f"#{e['id']} {e['title']}", e["raised"].isoformat(), e["closed"].isoformat() if e["closed"] else "—",
             e["review_zh"], _days(e["steps"]), e["all_met_zh"]] for e in events]


def event_tables(section: dict[str, Any]) -> list[tuple[str, list[list[str]]]]:
    """(caption, rows) of the two event tables: closed in the period, still in response."""
    return [("统计期内结案的事件", event_rows(section["closed"])), ("处置中的事件", event_rows(section["responding"]))]
