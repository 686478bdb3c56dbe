"""Rendering of the 流调 side of 应急指挥一张图: tooltips of the three overlays, the progress panel, the 7-1-7 line.

Pure functions of layer properties and figures (counts only: no contact is ever named on the map or the wall).
"""
from __future__ import annotations

from datetime import date
from typing import Any

from dash import html

from dashboard import markup
from fieldwork.progress import OBSERVATION_DAYS, TRACE_HOURS, Progress
from geo import beijing
from geo.geojson import FeatureCollection


def place_tooltip(p: dict[str, Any]) -> str:
    return markup.tooltip(p["name"], p["kind_zh"], f"{beijing.minute(p['start'])} 至 {beijing.minute(p['end'])}")


def contacts_tooltip(p: dict[str, Any]) -> str:
    return markup.tooltip(p["street_name"], f"密接 {p['total']} 人", (f"待追踪 {p['to_trace']}", f"已追踪 {p['traced']}"),
                          (f"医学观察 {p['observing']}", f"转为病例 {p['became_case']}"))


def hotspot_tooltip(p: dict[str, Any]) -> str:
    where = p["street_name"] or "流调热点"
    return markup.tooltip(f"{where}（{p['kinds']}类重合）", f"{p['first']} 至 {p['last']}",
                          (f"病例 {p['cases']}", f"暴露场所 {p['places']}", f"密接 {p['contacts']}"))


def with_tooltips(fc: FeatureCollection, fmt: Any) -> FeatureCollection:
    for f in fc["features"]:
        f["properties"]["tooltip"] = fmt(f["properties"])
    return fc


def _kpi(label: str, value: int, key: str, bad: bool = False) -> Any:
    return html.Div([html.Div(label, className="kpi-label"),
                     html.Div(str(value), className="kpi-value", id=f"cmd-fw-kpi-{key}")],
                    className="kpi" + (" bad" if bad else ""))


def progress_panel(p: Progress) -> list[Any]:
    """KPIs of the open 流调: contacts traced / to trace, under observation, overdue follow-ups."""
    if p.investigations == 0:
        return [html.Div("暂无进行中的流调", className="empty")]
    return [html.Div([_kpi("进行中流调", p.investigations, "open"), _kpi("密接", p.contacts, "contacts"),
                      _kpi("已追踪", p.traced, "traced"), _kpi("待追踪", p.to_trace, "to-trace", p.to_trace > 0),
                      _kpi("医学观察", p.observing, "observing"), _kpi("转为病例", p.became_case, "became-case")],
                     className="kpi-row"),
            html.Div(f"逾期随访 {p.overdue} 人：追踪超过{TRACE_HOURS}小时 {p.overdue_trace} 人，"
                     f"观察满{OBSERVATION_DAYS}天未解除 {p.overdue_release} 人",
                     className="cmd-fw-overdue" + (" bad" if p.overdue else ""), id="cmd-fw-overdue")]


def _share(step: dict[str, Any]) -> str:
    if not step["measured"]:
        return f"{step['label_zh']} —"
    median = "" if step["median_days"] is None else f"，中位 {step['median_days']:g} 天"
    return f"{step['label_zh']} {step['met']}/{step['measured']} 达标{median}"


def timeliness_line(t: dict[str, Any], since: date) -> str:
    """One line of the district's 7-1-7 since `since`: per step the events meeting the target, the bottleneck."""
    if not t["events"]:
        return f"7-1-7：{since.isoformat()} 以来无预警事件"
    steps = "；".join(_share(s) for s in t["steps"])
    worst = f"；瓶颈：{t['bottleneck_zh']}" if t["bottleneck_zh"] else ""
    return f"7-1-7（{since.isoformat()} 以来 {t['events']} 起事件，{t['all_met']} 起全部达标）：{steps}{worst}"
