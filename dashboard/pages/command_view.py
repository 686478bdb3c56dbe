"""Pure rendering of 应急指挥一张图's panels, tables, tooltips and decision support (data in, components out)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dash import html
from pydantic import ValidationError

from assist.districts import name_of
from command import roster
from command.errors import CommandError
from dashboard import form_errors, markup
from dashboard.errors import ApiError
from geo import beijing
from geo.geojson import FeatureCollection, feature, feature_collection, line, point
from layers.teams import STATUS_ZH, TYPE_ZH

MOVING = ("dispatched", "on_site")


def legend() -> list[Any]:
    status = [html.Span([html.I(className=f"dot status-{k}"), v], className="legend-item") for k, v in STATUS_ZH.items()]
    types = "　".join(f"{g}={z}" for g, z in (("流", "流调"), ("采", "采样检测"), ("消", "消杀"), ("医", "医疗救治")))
    return [*status, html.Span(types, className="legend-item"),
            html.Span([html.I(className="dot below"), "物资低于下限"], className="legend-item"),
            html.Span([html.I(className="dot overdue"), "任务逾期"], className="legend-item")]


def kpi(label: str, value: Any, key: str, cls: str = "") -> Any:
    return html.Div([html.Div(label, className="kpi-label"), html.Div(str(value), className="kpi-value", id=f"cmd-kpi-{key}")],
                    className=f"kpi {cls}")


def panels(p: dict[str, Any]) -> tuple[Any, ...]:
    t = p["teams"]
    team_kpis = [kpi("待命可用", t["available"], "available", "ok"), kpi("出动", t["by_status"]["dispatched"], "dispatched"),
                 kpi("在岗", t["by_status"]["on_site"], "on_site"), kpi("休整", t["by_status"]["resting"], "resting")]
    rate = t["video_rate"]
    pct = 0 if rate is None else rate * 100
    video = [html.Div([html.Span(f"{pct:.1f}%", id="cmd-video-rate", className="big"),
                       html.Span(f"目标 {t['video_target'] * 100:.0f}% · 在线 {t['video_online']}/{t['total']}",
                                 className="sub")]),
             html.Div(html.Div(className="bar-fill", style={"width": f"{pct:.0f}%"}),
                      className="bar " + ("ok" if t["video_ok"] else "bad")),
             html.Div(className="bar-target", style={"left": f"{t['video_target'] * 100:.0f}%"})]
    task_kpis = [kpi("进行中", p["tasks"]["open"], "tasks-open"),
                 kpi("逾期", p["tasks"]["overdue"], "tasks-overdue", "bad" if p["tasks"]["overdue"] else "")]
    below = p["stock_below_min"]
    below_list = html.Ul([html.Li([html.Span(cat), html.Span(str(n), className="count bad" if n else "count")])
                          for cat, n in below.items()]) if below else html.Div("无储备物资", className="empty")
    return team_kpis, video, task_kpis, below_list


def roster_table(entries: list[roster.DutyEntry]) -> Any:
    if not entries:
        return html.Div("今日尚未排班", className="empty")
    return html.Table([html.Thead(html.Tr([html.Th("岗位"), html.Th("姓名"), html.Th("电话"), html.Th("单位"), html.Th("班次")])),
                       html.Tbody([html.Tr([html.Td(e.duty_role), html.Td(e.name), html.Td(e.phone), html.Td(e.org_name),
                                            html.Td(e.shift)]) for e in entries])], className="cmd-table", id="cmd-roster-table")


def tracks(teams: FeatureCollection) -> FeatureCollection:
    """Recent tracks of the teams on the move (dispatched or on site)."""
    return feature_collection([
        feature(line(f["properties"]["track"]), {"id": f.get("id"), "status": f["properties"]["status"]})
        for f in teams["features"] if len(f["properties"]["track"]) >= 2 and f["properties"]["status"] in MOVING])


def with_tooltips(fc: FeatureCollection, fmt: Callable[[dict[str, Any]], str]) -> FeatureCollection:
    for f in fc["features"]:
        f["properties"]["tooltip"] = fmt(f["properties"])
    return fc


def site_tooltip(p: dict[str, Any]) -> str:
    items = [f"{'⚠ ' if i['below_min'] else ''}{i['item_name']} {i['quantity']:g}/{i['min_level']:g}{i['unit']}"
             for i in p["items"][:8]]
    title = markup.line((markup.strong(p["name"]), f"（{p['kind_zh']}）"), sep="")
    return markup.tooltip(None, title, *items)


def task_tooltip(p: dict[str, Any]) -> str:
    overdue = markup.strong("已逾期") if p["overdue"] else None
    return markup.tooltip(p["title"], (p["type_zh"], p["state_zh"], f"进度 {p['progress']}%", overdue))


def with_popups(fc: FeatureCollection, fmt: Callable[[dict[str, Any]], str]) -> FeatureCollection:
    """The same text as the hover tooltip and as the popup a click opens."""
    for f in fc["features"]:
        f["properties"]["tooltip"] = f["properties"]["popup"] = fmt(f["properties"])
    return fc


def assist_popup(p: dict[str, Any]) -> str:
    """协查请求: number, direction and the other district, state, deadline (Beijing time), overdue."""
    other = name_of(p["to_district"] if p["direction"] == "out" else p["from_district"])
    way = f"发往{other}" if p["direction"] == "out" else f"来自{other}"
    overdue = markup.strong("已超期") if p["overdue"] else None
    return markup.tooltip(p["request_no"], (p["direction_zh"], way), (p["state_zh"], f"期限 {beijing.minute(p['deadline'])}"),
                          p["place_name"], overdue)


def stock_table(rows: list[dict[str, Any]]) -> Any:
    rows = sorted(rows, key=lambda r: (not r["below_min"], r["site_code"], r["item_code"]))
    body = []
    for r in rows:
        fill = r["quantity"] / r["min_level"] if r["min_level"] else 1.0
        gauge = html.Div(html.Div(className="bar-fill", style={"width": f"{min(fill / 2, 1) * 100:.0f}%"}),
                         className="bar small " + ("bad" if r["below_min"] else "ok"),
                         title=f"{r['quantity']:g} / 下限 {r['min_level']:g}")
        body.append(html.Tr([html.Td(r["site_name"]), html.Td(r["item_name"]), html.Td(r["category"]),
                             html.Td(f"{r['quantity']:g}{r['unit']}"), html.Td(f"{r['min_level']:g}"), html.Td(gauge)],
                            className="below" if r["below_min"] else ""))
    return html.Table([html.Thead(html.Tr([html.Th(h) for h in ("物资点", "物资", "类别", "库存", "下限", "储备")])),
                       html.Tbody(body)], className="cmd-table")


def coverage_table(fc: FeatureCollection) -> Any:
    total, outside = fc.get("population", 0), fc.get("outside", 0)
    rows = [html.Tr([html.Td(f["properties"]["name"]), html.Td(f"{f['properties']['population']:,}"),
                     html.Td(f"{f['properties']['outside']:,}"), html.Td(f"{f['properties']['outside_share'] * 100:.1f}%")])
            for f in fc["features"]]
    share = outside / total * 100 if total else 0
    return html.Div([
        html.P(f"{fc.get('clinics', 0)} 家发热门诊，半径 {fc.get('radius_m', 0) / 1000:g} 公里以外人口 {outside:,} 人"
               f"（占 {share:.1f}%）", id="cmd-coverage-summary"),
        html.Table([html.Thead(html.Tr([html.Th("街道"), html.Th("常住人口"), html.Th("覆盖外人口"), html.Th("占比")])),
                    html.Tbody(rows)], className="cmd-table")])


def team_options(d: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"label": f"{t['name']}（{TYPE_ZH.get(t['type'], t['type'])}，{t['members']}人）"
                           f" {t['distance_m'] / 1000:.2f} 公里 · 约 {t['eta_min']:.0f} 分钟"
                           + ("" if t["video_online"] else " · 视频离线"), "value": t["id"]} for t in d["teams"]]


def stock_options(d: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"label": f"{s['name']} · {i['item_name']}（现有 {i['quantity']:g}{i['unit']}）",
             "value": f"{s['id']}|{i['item_code']}"} for s in d["sites"] for i in s["items"] if i["quantity"] > 0]


def decision_panel(d: dict[str, Any], can_dispatch: bool) -> list[Any]:
    """Where, who is nearest, who lives around, what is within reach."""
    buffers = html.Ul([html.Li(f"{b['radius_m'] / 1000:g} 公里内：约 {b['population']:,} 人", id=f"cmd-buf-{int(b['radius_m'])}")
                       for b in d["buffers"]])
    clinics = html.Ul([html.Li(f"{c['name']} {c['distance_m'] / 1000:.2f} 公里 · 约 {c['eta_min']:.0f} 分钟")
                       for c in d["fever_clinics"]]) if d["fever_clinics"] else html.Div("无", className="empty")
    sites = html.Ul([html.Li(f"{s['name']} {s['distance_m'] / 1000:.2f} 公里"
                             + (f" · {sum(1 for i in s['items'] if i['below_min'])} 项低于下限"
                                if any(i["below_min"] for i in s["items"]) else ""))
                     for s in d["sites"]]) if d["sites"] else html.Div("可达范围内无物资点", className="empty")
    travel = d["travel"]
    where = f"事件 #{d['incident_id']}" if d["incident_id"] else f"{d['point']['lon']:.5f}, {d['point']['lat']:.5f}"
    head = html.P(f"位置：{where} · 车速 {travel['speed_kmh']:g} 公里/时 · 绕行系数 {travel['detour']:g}"
                  + (f" · 事件影响区人口约 {d['area_population']:,} 人" if d.get("area_population") else ""))
    return [head, html.Div([
        html.Div([html.H4("缓冲区人口"), buffers], className="col"),
        html.Div([html.H4("最近的发热门诊"), clinics], className="col"),
        html.Div([html.H4("可达物资点（5 公里）"), sites], className="col"),
    ], className="cmd-decision-cols"), html.Div("" if can_dispatch else "当前角色只能查看，不能调度", className="cmd-hint")]


def decision_overlay(d: dict[str, Any]) -> FeatureCollection:
    """The decision point and its buffer rings."""
    feats = [feature(b["geometry"], {"radius_m": b["radius_m"]}) for b in d["buffers"]]
    feats.append(feature(point(d["point"]["lon"], d["point"]["lat"], ndigits=None), {}))
    return feature_collection(feats)


def err_text(exc: Exception) -> str:
    if isinstance(exc, (ApiError, CommandError)):
        return f"未执行：{exc.message_zh}" + (f"（{form_errors.field_zh(exc.field)}）" if exc.field else "")
    if isinstance(exc, ValidationError):
        return form_errors.describe(exc)
    return "未执行：操作失败"
