"""Rendering of the exchange page and the wall's exchange line (pure: figures in, Dash components out)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from dash import html

from geo import beijing

TYPE_ZH = {"case_report": "传染病报告卡", "syndromic_count": "症状监测", "lab_result": "实验室检测",
           "warning_event": "预警事件", "team": "应急队伍", "stock": "物资库存", "*": "合计",
           # downward (city → district): reference data and city-wide warnings received
           "region": "区划代码（市级下发）", "institution": "机构名录（市级下发）", "disease": "病种目录（市级下发）",
           "warning": "市级预警（市级下发）"}
RATE_ZH = {"success": "成功率", "timeliness": "及时率", "conformance": "规范率"}
REASON_ZH = {"business.rejected": "市级业务退回", "identity.unreadable": "个人信息无法解密"}


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _card(key: str, value: float | None, goal: float) -> Any:
    ok = value is None or value >= goal
    return html.Div([html.Div(RATE_ZH[key], className="exch-card-label"),
                     html.Div(percent(value), className="exch-card-value"),
                     html.Div(f"目标 ≥ {goal * 100:.0f}%" + ("" if ok else " · 未达标"), className="exch-card-goal")],
                    className="exch-card" + ("" if ok else " bad"))


def status_line(answer: dict[str, Any], now: datetime) -> Any:
    wait = answer["waiting"]
    state = "交换滞留：市级平台未按时接收" if answer["stale"] else "交换正常"
    parts = [state, f"待发送 {wait['pending']} 条"]
    if wait["oldest"] is not None:
        parts.append(f"最早待发于 {beijing.age_zh(wait['oldest'], now)}")
    parts.append(f"最近送达 {beijing.short(wait['last_delivered']) or '无'}")
    return html.P(" · ".join(parts), className="exch-status" + (" bad" if answer["stale"] else ""),
                  id="exch-status")


def _row(d: dict[str, Any]) -> Any:
    rates = d["rates"]
    return html.Tr([html.Td(d["day"]), html.Td(TYPE_ZH.get(d["record_type"], d["record_type"])),
                    html.Td(d["answered"]), html.Td(d["delivered"]), html.Td(d["refused"]), html.Td(d["pending"]),
                    html.Td(percent(rates["success"])), html.Td(percent(rates["timeliness"])),
                    html.Td(percent(rates["conformance"]))])


def day_table(days: list[dict[str, Any]]) -> Any:
    if not days:
        return html.P("所选时段内没有需要交换的数据")
    head = ["日期", "数据类型", "已应答", "已接收", "被退回", "待发送", "成功率", "及时率", "规范率"]
    return html.Table([html.Thead(html.Tr([html.Th(h) for h in head])), html.Tbody([_row(d) for d in days])],
                      className="exch-table")


def refusal_table(rows: list[dict[str, Any]]) -> Any:
    if not rows:
        return html.P("没有被退回的记录")
    return html.Table([html.Thead(html.Tr([html.Th(h) for h in ("退回时间", "数据类型", "记录", "原因")])),
                       html.Tbody([html.Tr([html.Td(beijing.short(r["answered_at"])),
                                            html.Td(TYPE_ZH.get(r["record_type"], r["record_type"])),
                                            html.Td(f"{r['district_code']}-{r['record_id']}"),
                                            html.Td(reason_zh(r["outcome_code"]))]) for r in rows])],
                      className="exch-table")


def reason_zh(code: str | None) -> str:
    if code and code.startswith("schema.invalid:"):
        return f"不符合交换规范（字段 {code.split(':', 1)[1]}）"
    return REASON_ZH.get(code or "", code or "")


def body(answer: dict[str, Any], refused: list[dict[str, Any]], now: datetime) -> Any:
    totals, goals = answer["totals"], answer["goals"]
    return html.Div([
        status_line(answer, now),
        html.Div([_card(k, totals[k], goals[k]) for k in RATE_ZH], className="exch-cards"),
        html.H3("按日、按数据类型"), day_table(answer["days"]),
        html.H3("最近被退回的记录"), refusal_table(refused),
    ])


def wall_line(answer: dict[str, Any]) -> str:
    """One line for the command wall: the three rates, what waits, and whether the exchange is stale."""
    t = answer["totals"]
    rates = " · ".join(f"{RATE_ZH[k]} {percent(t[k])}" for k in RATE_ZH)
    stale = " · 交换滞留" if answer["stale"] else ""
    return f"市级数据交换 {rates} · 待发送 {answer['waiting']['pending']} 条{stale}"
