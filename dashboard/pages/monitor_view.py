"""Pure rendering of 监测预警一张图's panels, lists, epicurve and signal evidence (data in, components out)."""
from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
from dash import dcc, html

from alerting.events import grade_rank
from dashboard.components.attrs import attrs
from dashboard.components.charts import DATE_TICKS, GRAPH_CONFIG
from dashboard.components.grade import alarm_table, grade_badge
from geo import beijing
from store.labels import param_name

STATE_ORDER = ("new", "verifying", "suspected", "confirmed", "responding")
STATE_ZH = {"new": "新信号", "verifying": "核实中", "suspected": "疑似事件", "confirmed": "已确认", "responding": "处置中"}


def crumbs(trail: tuple[tuple[str, str], ...]) -> list[Any]:
    out: list[Any] = []
    for i, (code, name) in enumerate(trail):
        if i:
            out.append(html.Span("›", className="crumb-sep"))
        last = i == len(trail) - 1
        out.append(html.Button(name, id={"type": "mon-crumb", "code": code}, n_clicks=0,
                               className="crumb" + (" is-current" if last else ""), disabled=last))
    return out


def fmt_change(pct: float | None) -> tuple[str, str]:
    if pct is None:
        return "同比 —", "flat"
    arrow = "▲" if pct > 0 else ("▼" if pct < 0 else "＝")
    return f"同比 {arrow}{abs(pct):.1f}%", "up" if pct > 0 else ("down" if pct < 0 else "flat")


def kpi_cards(k: dict[str, Any], mark: str = "") -> list[Any]:
    """The three KPI cards; `mark` is the last live event id the figures include (assets/monitor_live.js adds
    the cases it heard of after it, so a refresh never takes back a case the screen has already counted)."""
    cards = []
    for key, label in (("today", "当日报告"), ("days7", "近7天"), ("days28", "近28天")):
        v = k[key]
        change, cls = fmt_change(v["yoy_pct"])
        cards.append(html.Div([html.Div(label, className="kpi-label"),
                               html.Div(f"{v['cases']:,}", className="kpi-value", id=f"mon-kpi-{key}",
                                        **attrs({"data-live-mark": mark})),
                               html.Div(f"{change}（去年 {v['last_year']:,}）", className=f"kpi-change {cls}")],
                              className="kpi", title=v["definition"]))
    return cards


def state_chips(counts: dict[str, int]) -> list[Any]:
    return [html.Div([html.Span(STATE_ZH[s], className="chip-label"),
                      html.Span(str(counts.get(s, 0)), className="chip-value", id=f"mon-sig-{s}")],
                     className=f"chip state-{s}") for s in STATE_ORDER]


QC_LABELS = (("incidence", "报告发病率", "/10万"), ("death_rate", "报告死亡率", "/10万"), ("cfr", "病死率", "%"),
             ("report_timeliness", "报告及时率", "%"), ("audit_timeliness", "审核及时率", "%"),
             ("completeness", "完整率", "%"))


def qc_grid(q: dict[str, Any]) -> list[Any]:
    out = []
    for key, label, unit in QC_LABELS:
        value = q["values"][key]
        shown = "—" if value is None else (f"{value:.2f}" if unit == "/10万" else f"{value:.1f}")
        out.append(html.Div([html.Div(label, className="qc-label"),
                             html.Div([html.Span(shown, id=f"mon-qc-{key}"), html.Small(unit)], className="qc-value")],
                            className="qc", title=q["definitions"][key]))
    return out


def top_list(rows: list[dict[str, Any]]) -> Any:
    if not rows:
        return html.Div("期间内无病例", className="empty")
    peak = max(r["cases"] for r in rows) or 1
    return html.Ol([html.Li([html.Span(r["name"], className="top-name"),
                             html.Span(className="top-bar", style={"width": f"{r['cases'] * 100 / peak:.0f}%"}),
                             html.Span(f"{r['cases']:,}", className="top-count")]) for r in rows])


def epicurve_figure(e: dict[str, Any], dark: bool) -> go.Figure:
    palette = ["#e4572e", "#f3a712", "#29335c", "#669bbc", "#a8c686", "#9e9e9e"]
    fig = go.Figure()
    for i, t in enumerate(e["traces"]):
        fig.add_bar(x=e["days"], y=t["counts"], name=t["name"], marker_color=palette[i % len(palette)])
    fig.update_layout(barmode="stack", margin=dict(l=40, r=10, t=10, b=30), legend=dict(orientation="h", y=1.12),
                      template="plotly_dark" if dark else "plotly_white", height=None, bargap=0.1,
                      paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)",
                      font=dict(family="Noto Sans CJK SC, Microsoft YaHei, sans-serif"))
    fig.update_yaxes(title_text="病例数", rangemode="tozero")
    fig.update_xaxes(tickformat=DATE_TICKS, hoverformat="%Y-%m-%d")
    return fig


# The wall shows the most urgent events that fit its panel whole (no scrolling on an unattended screen).
WALL_SIGNAL_ROWS = 3


def most_urgent(rows: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """The `n` highest-graded rows, newest first within a grade (the input is newest first)."""
    return sorted(rows, key=lambda r: -grade_rank(r.get("grade")))[:n]


def signal_items(rows: list[dict[str, Any]]) -> Any:
    if not rows:
        return html.Div("当前无活动预警信号", className="empty")
    return html.Ul([html.Li(html.Button([
        grade_badge(r),
        html.Span(r["state_zh"], className=f"chip state-{r['state']}"),
        html.Span(r["title"], className="sig-title"),
        html.Span(f"{r['model_zh']} · {beijing.minute(r['last_fired_at'])}", className="sig-meta"),
    ], id={"type": "mon-sig", "id": r["id"]}, n_clicks=0, className="sig-item")) for r in rows])


def legend(fc: dict[str, Any], cases_label: str | None = None) -> list[Any]:
    """The choropleth's classes; `cases_label` names how the case points are drawn (clustered or vector tiles)."""
    items = [html.Div([html.Span(className="swatch", style={"background": i["color"]}), i["label"]],
                      className="legend-item") for i in fc.get("legend", [])]
    cases = [html.Div(f"图层：{cases_label}", className="legend-note", id="mon-legend-cases")] if cases_label else []
    return [html.Div(f"发病率（每10万，{fc.get('level_zh', '')}）", className="legend-title"), *items,
            html.Div(f"分级：自然断点法 · 合计 {fc['totals']['cases']:,} 例", className="legend-note"), *cases]


def evidence(ev: dict[str, Any]) -> list[Any]:
    rows = ev["series"]
    fig = go.Figure()
    fig.add_scatter(x=[r["date"] for r in rows], y=[r["observed"] for r in rows], name="观测值", mode="lines+markers")
    if any(r["baseline"] is not None for r in rows):
        fig.add_scatter(x=[r["date"] for r in rows], y=[r["baseline"] for r in rows], name="基线", line=dict(dash="dot"))
    if any(r["threshold"] is not None for r in rows):
        fig.add_scatter(x=[r["date"] for r in rows], y=[r["threshold"] for r in rows], name="阈值",
                        line=dict(color="#d32f2f", dash="dash"))
    fig.update_layout(height=220, margin=dict(l=40, r=10, t=10, b=30), legend=dict(orientation="h"))
    fig.update_xaxes(tickformat=DATE_TICKS, hoverformat="%Y-%m-%d")
    table = html.Table([html.Thead(html.Tr([html.Th("日期"), html.Th("观测"), html.Th("基线"), html.Th("阈值")])),
                        html.Tbody([html.Tr([html.Td(r["date"]), html.Td(num(r["observed"])), html.Td(num(r["baseline"])),
                                             html.Td(num(r["threshold"]))]) for r in rows[-14:]])],
                       className="evidence-table")
    params = "，".join(f"{param_name(k)} {v}" for k, v in (ev["params"] or {}).items()) or "—"
    return [
        html.Div([html.H3(ev["title"]), grade_badge(ev),
                  html.Button("关闭", id="mon-evidence-close", n_clicks=0, className="mon-btn")], className="modal-head"),
        html.P(f"模型：{ev['model_zh']}　状态：{ev['state_zh']}　病种：{ev['disease_name'] or '—'}　"
               f"地区：{ev['region_name'] or '—'}　观测值：{num(ev['observed'])}　阈值：{num(ev['threshold'])}"),
        html.P(f"参数：{params}", className="evidence-params"),
        dcc.Graph(figure=fig, config=GRAPH_CONFIG, id="mon-evidence-chart") if rows
        else html.P("该信号未附带时间序列证据"),
        table if rows else html.Div(),
        *([html.H4("关联模型报警"), alarm_table(ev["alarms"])] if ev.get("kind") == "event" else []),
    ]


def num(v: Any) -> str:
    if v is None:
        return "—"
    return f"{v:.2f}" if isinstance(v, float) and not float(v).is_integer() else f"{v:g}" if isinstance(v, float) else str(v)


def bounds(fc: dict[str, Any]) -> list[list[float]] | None:
    xs: list[float] = []
    ys: list[float] = []
    for f in fc["features"]:
        _walk(f["geometry"]["coordinates"], xs, ys)
    if not xs:
        return None
    return [[min(ys), min(xs)], [max(ys), max(xs)]]


def _walk(coords: Any, xs: list[float], ys: list[float]) -> None:
    if coords and isinstance(coords[0], (int, float)):
        xs.append(coords[0])
        ys.append(coords[1])
        return
    for c in coords:
        _walk(c, xs, ys)
