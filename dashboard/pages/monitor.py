"""监测预警一张图: incidence map, case points, sentinels, signals; KPIs, QC, epicurve; drill-down; video wall."""
from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import dash_leaflet as dl
import plotly.graph_objects as go
from dash import ALL, ClientsideFunction, Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate
from pydantic import ValidationError
from sqlalchemy import text

from accounts.principal import Principal
from accounts.scope import ScopeError
from dashboard import markup
from dashboard.answer_cache import layer_question, summary_question
from dashboard.api.layers import CASE_LAYERS
from dashboard.audit_trail import audit_read
from dashboard.auth import current_principal
from dashboard.basemap import current_basemap
from dashboard.components.charts import DATE_TICKS, GRAPH_CONFIG
from dashboard.components.grade import alarm_table, grade_badge
from dashboard.components.wall import layer_ages, rotate_seconds, scale_width, wall_enabled, wall_shell
from dashboard.components.weather_strip import weather_strip
from dashboard.extensions import answers, services
from geo import beijing, dates
from layers import indicators
from layers.base import LayerError, LayerFilters, home_region, resolve_area, today_cst
from layers.heat import BLANK_IMAGE
from layers.institutions import KINDS
from layers.registry import get_layer
from layers.signals import signal_evidence
from store.labels import param_name

PATH = "/monitor"
TITLE = "监测预警一张图"
ATTRIBUTION = "© OpenStreetMap contributors, geoBoundaries"
NS = "onemap.map"
MAP_LAYERS = [("incidence", "发病率分级"), ("cases", "病例点位"), ("signals", "预警信号"), ("clusters", "时空聚集区"),
              *[(f"institutions.{k}", v[0]) for k, v in KINDS.items()]]
STATE_ORDER = ("new", "verifying", "suspected", "confirmed", "responding")
STATE_ZH = {"new": "新信号", "verifying": "核实中", "suspected": "疑似事件", "confirmed": "已确认", "responding": "处置中"}
DEFAULT_DAYS = 28
PLAY_MS = 1200
HEAT_OVERLAY = "病例热力"  # computed (kernel density, layers/heat.py) only while this overlay is checked
HEAT_PANE = "mon-heat-pane"
SHANGHAI_BOUNDS = [[30.68, 120.85], [31.88, 122.01]]


def _fn(name: str) -> dict[str, str]:
    return {"variable": f"{NS}.{name}"}


def _filters(state: dict[str, Any]) -> LayerFilters:
    return LayerFilters(since=state.get("since"), until=state.get("until"), disease=tuple(state.get("disease") or ()),
                        region=state.get("region"), level=state.get("level"))


def _diseases() -> list[dict[str, str]]:
    with services().session_factory() as session:
        rows = session.execute(text("SELECT code, name, klass FROM disease ORDER BY klass, code"))
        return [{"label": f"{r.name}（{r.klass}类）" if r.klass in ("甲", "乙", "丙") else r.name, "value": r.code}
                for r in rows]


def _layer(layer_id: str, principal: Principal, filters: LayerFilters) -> dict[str, Any]:
    """The layer's GeoJSON, shared through the answer cache with the layer API."""
    layer = get_layer(layer_id)
    assert layer is not None

    def compute() -> dict[str, Any]:
        with services().session_factory() as session:
            return layer.run(session, principal, filters)

    data = json.loads(answers().answer(layer_question(layer_id, filters), principal, compute).body)
    if layer_id in CASE_LAYERS:  # the screen shows case records: audited like the layer API
        audit_read(principal, "case.read", object_type="layer", object_id=layer_id,
                   filters=filters.model_dump(mode="json", exclude_defaults=True), detail={"screen": "monitor"})
    return data


def _institution_layers(principal: Principal) -> list[Any]:
    """One overlay per institution kind, each with its own local SVG icon."""
    overlays = []
    for kind, (title, _, icon) in KINDS.items():
        data = _layer(f"institutions.{kind}", principal, LayerFilters())
        for f in data["features"]:
            p = f["properties"]
            f["properties"]["tooltip"] = markup.tooltip(None, f"{p['name']}（{title}）")
        overlays.append(dl.Overlay(dl.GeoJSON(
            id={"type": "mon-inst", "kind": kind}, data=data, pointToLayer=_fn("institutionPoint"),
            hideout={"icon": icon}), name=title, checked=kind in ("sentinel", "fever_clinic"),
            id=f"mon-ov-{kind}"))
    return overlays


# Other departments' feeds (issue 10): id, menu title, tooltip from the feature's properties.
FEED_LAYERS = (
    ("schools", "学校因病缺课", lambda p: markup.tooltip(
        None, f"{p['name']}（{p['kind_zh']}）",
        f"因病缺课率 {p['ill_rate_permille'] if p['ill_rate_permille'] is not None else '—'}‰")),
    ("pharmacies", "药店哨点药品销售", lambda p: markup.tooltip(None, p["name"], f"销售指数 {p['sales_index'] or '—'}")),
    ("opinion", "舆情", lambda p: markup.tooltip(p["title"], (p["source"], (p["published_at"] or "")[:10]))),
)


def _feed_layers(principal: Principal, state: dict[str, Any]) -> list[Any]:
    """School absenteeism, pharmacy sales and public-opinion items, off by default."""
    overlays = []
    for layer_id, title, tooltip in FEED_LAYERS:
        data = _layer(layer_id, principal, LayerFilters(since=state["since"], until=state["until"]))
        for f in data["features"]:
            f["properties"]["tooltip"] = tooltip(f["properties"])
        overlays.append(dl.Overlay(dl.GeoJSON(id=f"mon-feed-{layer_id}", data=data, pointToLayer=_fn("feedPoint")),
                                   name=title, checked=False, id=f"mon-ov-{layer_id}"))
    return overlays


def _weather(principal: Principal) -> Any:
    """The weather strip of the principal's district for the last 7 days."""
    data = _layer("weather", principal, LayerFilters(since=(today_cst() - timedelta(days=6)).isoformat(),
                                                      until=today_cst().isoformat()))
    home = principal.district_code or "310105"
    feature = next((f for f in data["features"] if f["properties"].get("district_code") == home), None)
    return weather_strip(feature["properties"]["days"] if feature else [], title="气象（近7天）")


def _map(principal: Principal, wall: bool, state: dict[str, Any]) -> Any:
    base = []
    basemap = current_basemap()  # BASEMAP_FILE served at /basemap/…, or BASEMAP_URL
    if basemap is not None:
        base.append(dl.BaseLayer(dl.TileLayer(**basemap.leaflet_props()), name="底图", checked=True))
    overlays = [
        dl.Overlay(dl.LayerGroup([
            dl.GeoJSON(id="mon-choropleth", data=None, style=_fn("choroplethStyle"), hoverStyle=_fn("hoverStyle"),
                       onEachFeature=_fn("regionFeature"), attribution=ATTRIBUTION, hideout={"selected": None}),
            dl.GeoJSON(id="mon-labels", data=None, pointToLayer=_fn("labelPoint"), interactive=False),
        ]), name="发病率分级（每10万）", checked=True, id="mon-ov-incidence"),
        dl.Overlay(dl.GeoJSON(id="mon-cases", data=None, cluster=True, zoomToBoundsOnClick=True,
                              pointToLayer=_fn("casePoint"), clusterToLayer=_fn("clusterPoint"),
                              superClusterOptions={"radius": 60, "maxZoom": 15}),
                   name="病例点位（聚合）", checked=True, id="mon-ov-cases"),
        # Its own pane above the choropleth (overlay pane 400), below markers and labels (600).
        dl.Overlay(dl.Pane(dl.ImageOverlay(id="mon-heat", url=BLANK_IMAGE, bounds=SHANGHAI_BOUNDS, opacity=0.9,
                                           interactive=False), name=HEAT_PANE, style={"zIndex": 450}),
                   name=HEAT_OVERLAY, checked=False, id="mon-ov-heat"),
        dl.Overlay(dl.GeoJSON(id="mon-live-cases", data={"type": "FeatureCollection", "features": []},
                              pointToLayer=_fn("liveCasePoint")), name="实时新增病例", checked=True, id="mon-ov-live"),
        # Area overlays keep their hover tooltip; a click on them drills into the region underneath.
        dl.Overlay(dl.GeoJSON(id="mon-clusters", data=None, style=_fn("clusterStyle"),
                              onEachFeature=_fn("overlayFeature")), name="时空聚集区", checked=True,
                   id="mon-ov-clusters"),
        dl.Overlay(dl.GeoJSON(id="mon-signals", data=None, pointToLayer=_fn("signalPoint")), name="预警信号",
                   checked=True, id="mon-ov-signals"),
        *_institution_layers(principal),
        *_feed_layers(principal, state),
    ]
    return dl.Map([
        # `overlays` given: dash-leaflet's own handler filters it and fails on undefined (issue #15, item 2)
        dl.LayersControl([*base, *overlays], collapsed=wall, id="mon-layers-control",
                         overlays=[o.name for o in overlays if o.checked]),
        dl.ScaleControl(position="bottomleft", imperial=False, maxWidth=scale_width(wall)),
        dl.AttributionControl(prefix=ATTRIBUTION, position="bottomright"),
    ], id="mon-map", center=[31.22, 121.45], zoom=10, minZoom=7, maxZoom=18, zoomSnap=0.25,
        className="mon-map", attributionControl=False,
        eventHandlers={"overlayadd": _fn("overlayToggled"), "overlayremove": _fn("overlayToggled"),
                       "moveend": _fn("mapSeen")})


def overlay_ids() -> list[str]:
    """Ids of every overlay of the monitor map (their `checked` follows the mon-overlays store)."""
    return ["mon-ov-incidence", "mon-ov-cases", "mon-ov-heat", "mon-ov-live", "mon-ov-clusters", "mon-ov-signals",
            *[f"mon-ov-{kind}" for kind in KINDS], *[f"mon-ov-{layer_id}" for layer_id, _, _ in FEED_LAYERS]]


def _controls(state: dict[str, Any]) -> html.Div:
    return html.Div([
        dcc.Dropdown(id="mon-disease", options=_diseases(), value=state["disease"], multi=True,
                     placeholder="全部病种", className="mon-disease"),
        dcc.DatePickerRange(id="mon-dates", start_date=state["since"], end_date=state["until"],
                            display_format="YYYY-MM-DD", max_date_allowed=today_cst().isoformat(),
                            start_date_placeholder_text="开始日期", end_date_placeholder_text="结束日期",
                            month_format="YYYY年M月", first_day_of_week=1,
                            minimum_nights=0, className="mon-dates"),
        dcc.RadioItems(id="mon-level", options=[{"label": "自动", "value": "auto"}, {"label": "区", "value": "district"},
                                                {"label": "街道", "value": "street"}, {"label": "网格", "value": "grid"}],
                       value="auto", inline=True, className="mon-level"),
        html.Button("▶ 逐日回放", id="mon-play", n_clicks=0, className="mon-btn", title="按天逐日推进结束日期"),
        html.A("打印简报", href=f"/reports/briefing?date={state['until']}", target="_blank", className="mon-btn",
               id="mon-briefing"),
    ], className="mon-controls")


def _panels() -> list[Any]:
    return [
        html.Section([html.H3("病例报告"), html.Div(id="mon-kpis", className="kpi-row")], className="mon-card"),
        html.Section([html.H3("预警信号（按状态）"), html.Div(id="mon-signal-states", className="state-row")],
                     className="mon-card"),
        html.Section([html.H3("质量控制指标"), html.Div(id="mon-qc", className="qc-grid")], className="mon-card"),
        html.Section([html.H3("前十位病种"), html.Div(id="mon-top", className="top-list")], className="mon-card"),
    ]


def initial_state(principal: Principal, query: dict[str, str]) -> dict[str, Any]:
    """Filters the page opens with: the principal's home area, the last 28 days, all diseases."""
    try:
        until = dates.parse_date(query.get("until"), "until") or today_cst()
    except dates.DateRangeError:  # unreadable or out of range: open on today rather than fail the page
        until = today_cst()
    return {"region": query.get("region") or home_region(principal), "level": None, "disease": [],
            "since": (until - timedelta(days=DEFAULT_DAYS - 1)).isoformat(), "until": until.isoformat(),
            "play_to": None}


def layout(query: dict[str, str]) -> Any:
    principal = current_principal()
    if principal is None:
        return html.Div([html.H2("请先登录"), html.A("登录", href="/login?next=/monitor")], className="page")
    wall = wall_enabled(query)
    state = initial_state(principal, query)
    body = html.Div([
        dcc.Store(id="mon-state", data=state),
        # {overlay name: shown} as the user switched them; kept for the session (filters, live, wall rotation)
        dcc.Store(id="mon-overlays", storage_type="session"),
        dcc.Store(id="mon-live", data=None),
        dcc.Store(id="mon-refresh", data=0),
        dcc.Store(id="mon-sync", data=None),
        dcc.Store(id="mon-epicurve-data", data=None),
        dcc.Interval(id="mon-tick", interval=PLAY_MS, disabled=True),
        dcc.Interval(id="mon-poll", interval=60_000),
        html.Div([
            html.H1(TITLE, className="mon-title"),
            html.Nav(id="mon-crumbs", className="mon-crumbs", **{"aria-label": "区域层级"}),
            _controls(state),
        ], className="mon-header"),
        html.Div([
            html.Div([_map(principal, wall, state), html.Div(id="mon-legend", className="mon-legend"),
                      html.Div(id="mon-period", className="mon-period")], className="mon-map-wrap"),
            html.Div([*_panels(), html.Section(_weather(principal), className="mon-card")], className="mon-side"),
        ], className="mon-main"),
        html.Div([
            html.Section([html.H3("流行曲线（按发病日期）"),
                          dcc.Graph(id="mon-epicurve", config=GRAPH_CONFIG, className="mon-graph")],
                         className="mon-card mon-epi"),
            html.Section([html.H3("预警信号"), html.Div(id="mon-signal-list", className="signal-list")],
                         className="mon-card mon-signals"),
        ], className="mon-bottom"),
        html.Div(id="mon-evidence", className="mon-modal", hidden=True),
        *([] if wall else [layer_ages(MAP_LAYERS[:4], prefix="mon")]),
    ], className="page page-monitor" + (" is-wall" if wall else ""), id="mon-page")
    if not wall:
        return body
    ages = layer_ages(MAP_LAYERS[:4], prefix="mon")
    return wall_shell(page="mon", title=TITLE, body=body, ages=ages, next_path="/command?wall=1",
                      rotate=rotate_seconds(query, services().settings.wall_rotate_seconds))


# ---------------------------------------------------------------- rendering helpers


def _crumbs(trail: tuple[tuple[str, str], ...]) -> list[Any]:
    out: list[Any] = []
    for i, (code, name) in enumerate(trail):
        if i:
            out.append(html.Span("›", className="crumb-sep"))
        last = i == len(trail) - 1
        out.append(html.Button(name, id={"type": "mon-crumb", "code": code}, n_clicks=0,
                               className="crumb" + (" is-current" if last else ""), disabled=last))
    return out


def _fmt_change(pct: float | None) -> tuple[str, str]:
    if pct is None:
        return "同比 —", "flat"
    arrow = "▲" if pct > 0 else ("▼" if pct < 0 else "＝")
    return f"同比 {arrow}{abs(pct):.1f}%", "up" if pct > 0 else ("down" if pct < 0 else "flat")


def _kpi_cards(k: dict[str, Any], mark: str = "") -> list[Any]:
    """The three KPI cards; `mark` is the last live event id the figures include (assets/monitor_live.js adds
    the cases it heard of after it, so a refresh never takes back a case the screen has already counted)."""
    cards = []
    for key, label in (("today", "当日报告"), ("days7", "近7天"), ("days28", "近28天")):
        v = k[key]
        change, cls = _fmt_change(v["yoy_pct"])
        cards.append(html.Div([html.Div(label, className="kpi-label"),
                               html.Div(f"{v['cases']:,}", className="kpi-value", id=f"mon-kpi-{key}",
                                        **{"data-live-mark": mark}),
                               html.Div(f"{change}（去年 {v['last_year']:,}）", className=f"kpi-change {cls}")],
                              className="kpi", title=v["definition"]))
    return cards


def _state_chips(counts: dict[str, int]) -> list[Any]:
    return [html.Div([html.Span(STATE_ZH[s], className="chip-label"),
                      html.Span(str(counts.get(s, 0)), className="chip-value", id=f"mon-sig-{s}")],
                     className=f"chip state-{s}") for s in STATE_ORDER]


QC_LABELS = (("incidence", "报告发病率", "/10万"), ("death_rate", "报告死亡率", "/10万"), ("cfr", "病死率", "%"),
             ("report_timeliness", "报告及时率", "%"), ("audit_timeliness", "审核及时率", "%"),
             ("completeness", "完整率", "%"))


def _qc_grid(q: dict[str, Any]) -> list[Any]:
    out = []
    for key, label, unit in QC_LABELS:
        value = q["values"][key]
        shown = "—" if value is None else (f"{value:.2f}" if unit == "/10万" else f"{value:.1f}")
        out.append(html.Div([html.Div(label, className="qc-label"),
                             html.Div([html.Span(shown, id=f"mon-qc-{key}"), html.Small(unit)], className="qc-value")],
                            className="qc", title=q["definitions"][key]))
    return out


def _top_list(rows: list[dict[str, Any]]) -> Any:
    if not rows:
        return html.Div("期间内无病例", className="empty")
    peak = max(r["cases"] for r in rows) or 1
    return html.Ol([html.Li([html.Span(r["name"], className="top-name"),
                             html.Span(className="top-bar", style={"width": f"{r['cases'] * 100 / peak:.0f}%"}),
                             html.Span(f"{r['cases']:,}", className="top-count")]) for r in rows])


def _epicurve_figure(e: dict[str, Any], dark: bool) -> go.Figure:
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
GRADE_RANK = {"red": 4, "orange": 3, "yellow": 2, "blue": 1}


def _most_urgent(rows: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """The `n` highest-graded rows, newest first within a grade (the input is newest first)."""
    return sorted(rows, key=lambda r: -GRADE_RANK.get(r.get("grade") or "", 0))[:n]


def _signal_items(rows: list[dict[str, Any]]) -> Any:
    if not rows:
        return html.Div("当前无活动预警信号", className="empty")
    return html.Ul([html.Li(html.Button([
        grade_badge(r),
        html.Span(r["state_zh"], className=f"chip state-{r['state']}"),
        html.Span(r["title"], className="sig-title"),
        html.Span(f"{r['model_zh']} · {beijing.minute(r['last_fired_at'])}", className="sig-meta"),
    ], id={"type": "mon-sig", "id": r["id"]}, n_clicks=0, className="sig-item")) for r in rows])


def _legend(fc: dict[str, Any]) -> list[Any]:
    items = [html.Div([html.Span(className="swatch", style={"background": i["color"]}), i["label"]],
                      className="legend-item") for i in fc.get("legend", [])]
    return [html.Div(f"发病率（每10万，{fc.get('level_zh', '')}）", className="legend-title"), *items,
            html.Div(f"分级：自然断点法 · 合计 {fc['totals']['cases']:,} 例", className="legend-note")]


def _evidence(ev: dict[str, Any]) -> list[Any]:
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
                        html.Tbody([html.Tr([html.Td(r["date"]), html.Td(_num(r["observed"])), html.Td(_num(r["baseline"])),
                                             html.Td(_num(r["threshold"]))]) for r in rows[-14:]])],
                       className="evidence-table")
    params = "，".join(f"{param_name(k)} {v}" for k, v in (ev["params"] or {}).items()) or "—"
    return [
        html.Div([html.H3(ev["title"]), grade_badge(ev),
                  html.Button("关闭", id="mon-evidence-close", n_clicks=0, className="mon-btn")], className="modal-head"),
        html.P(f"模型：{ev['model_zh']}　状态：{ev['state_zh']}　病种：{ev['disease_name'] or '—'}　"
               f"地区：{ev['region_name'] or '—'}　观测值：{_num(ev['observed'])}　阈值：{_num(ev['threshold'])}"),
        html.P(f"参数：{params}", className="evidence-params"),
        dcc.Graph(figure=fig, config=GRAPH_CONFIG, id="mon-evidence-chart") if rows
        else html.P("该信号未附带时间序列证据"),
        table if rows else html.Div(),
        *([html.H4("关联模型报警"), alarm_table(ev["alarms"])] if ev.get("kind") == "event" else []),
    ]


def _num(v: Any) -> str:
    if v is None:
        return "—"
    return f"{v:.2f}" if isinstance(v, float) and not float(v).is_integer() else f"{v:g}" if isinstance(v, float) else str(v)


def _bounds(fc: dict[str, Any]) -> list[list[float]] | None:
    xs, ys = [], []
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


# ---------------------------------------------------------------- callbacks


def _map_outputs(state: dict[str, Any]) -> tuple[Any, ...]:
    principal = current_principal()
    if principal is None:
        raise PreventUpdate
    filters = _filters(state)
    with services().session_factory() as session:
        area = resolve_area(session, principal, filters.region)
        stamps = {}
        for layer_id, _ in MAP_LAYERS[:4]:
            stamp = get_layer(layer_id).updated_at(session, principal)  # type: ignore[union-attr]
            stamps[layer_id] = beijing.iso(stamp)
    choro = _layer("incidence", principal, filters)
    for f in choro["features"]:
        p = f["properties"]
        rate = "—" if p["rate"] is None else f"{p['rate']:.2f}"
        p["tooltip"] = markup.tooltip(p["name"], (f"病例 {p['cases']:,}", f"人口 {p['population'] or 0:,}"),
                                      f"发病率 {rate}/10万")
    labels = {"type": "FeatureCollection", "features": [] if choro["level"] == "grid" else [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": f["properties"]["label"]},
         "properties": {"name": f["properties"]["name"]}} for f in choro["features"]]}
    cases = _layer("cases", principal, filters)
    for f in cases["features"]:
        p = f["properties"]
        p["tooltip"] = markup.tooltip(None, (p["disease_name"], f"发病 {p['onset_date']}"))
    signals = _layer("signals", principal, filters)
    clusters = _layer("clusters", principal, filters)
    for fc in (signals, clusters):
        for f in fc["features"]:
            p = f["properties"]
            p["tooltip"] = markup.tooltip(p["title"], (p["state_zh"], p["model_zh"]))
    bounds = _bounds(choro)
    viewport = {"bounds": bounds, "transition": "flyToBounds", "options": {"duration": 0.6}} if bounds else no_update
    period = f"{filters.period()[0]} 至 {filters.period()[1]} · {area.name}"
    return (choro, labels, _legend(choro), cases, signals, clusters, viewport, _crumbs(area.trail), period,
            {"at": beijing.iso(dates.now_utc()), "updated": stamps})


def _panel_outputs(state: dict[str, Any], dark: bool) -> tuple[Any, ...]:
    principal = current_principal()
    if principal is None:
        raise PreventUpdate
    filters = _filters(state)

    def compute() -> dict[str, Any]:
        with services().session_factory() as session:
            return indicators.monitor_summary(session, principal, filters)

    answer = answers().answer(summary_question(filters), principal, compute)
    summary = json.loads(answer.body)
    with services().session_factory() as session:
        sigs = indicators.signal_list(session, principal, filters)
    k, mark = summary["kpis"], answer.version.split("/")[0]
    return _kpi_cards(k, mark), _state_chips(k["signals"]), _qc_grid(summary["qc"]), _top_list(summary["top_diseases"]), \
        _epicurve_figure(summary["epicurve"], dark), _signal_items(_most_urgent(sigs, WALL_SIGNAL_ROWS) if dark else sigs)


def _next_state(state: dict[str, Any], trigger: Any, value: Any) -> dict[str, Any]:
    """The new filter state after one user action."""
    s = dict(state)
    if trigger == "mon-disease":
        s["disease"] = value or []
    elif trigger == "mon-dates":
        s["since"], s["until"] = value
        s["play_to"] = None
    elif trigger == "mon-level":
        s["level"] = None if value == "auto" else value
    elif trigger == "mon-choropleth":
        s["region"], s["level"] = value, None
    elif isinstance(trigger, dict) and trigger.get("type") == "mon-crumb":
        s["region"], s["level"] = trigger["code"], None
    elif isinstance(trigger, dict) and trigger.get("type") == "mon-inst":
        s["region"], s["level"] = f"inst:{value}", None
    return s


def register(dash_app: Dash) -> None:
    """Callbacks of the monitor page, bound to this Dash instance."""

    @dash_app.callback(
        Output("mon-state", "data"), Output("mon-dates", "end_date"), Output("mon-tick", "disabled"),
        Output("mon-play", "children"),
        Input("mon-disease", "value"), Input("mon-dates", "start_date"), Input("mon-dates", "end_date"),
        Input("mon-level", "value"), Input("mon-choropleth", "clickData"),
        Input({"type": "mon-crumb", "code": ALL}, "n_clicks"), Input({"type": "mon-inst", "kind": ALL}, "clickData"),
        Input("mon-play", "n_clicks"), Input("mon-tick", "n_intervals"),
        State("mon-state", "data"), prevent_initial_call=True)
    def set_state(disease: Any, start: str, end: str, level: str, choro_click: Any, crumbs: Any, inst_clicks: Any,
                  play: int, tick: int, state: dict[str, Any]) -> tuple[Any, ...]:
        trigger = ctx.triggered_id
        if trigger is None:
            raise PreventUpdate
        if trigger == "mon-play":
            if state.get("play_to"):  # pause
                return {**state, "play_to": None}, no_update, True, "▶ 逐日回放"
            s = {**state, "play_to": state["until"], "until": state["since"]}
            return s, s["until"], False, "⏸ 暂停"
        if trigger == "mon-tick":
            if not state.get("play_to"):
                return no_update, no_update, True, "▶ 逐日回放"
            try:
                nxt = dates.parse_date(state["until"], "until") + timedelta(days=1)  # type: ignore[operator]
                done = nxt >= dates.parse_date(state["play_to"], "play_to")  # type: ignore[operator]
            except (dates.DateRangeError, TypeError, KeyError):
                return {**state, "play_to": None}, no_update, True, "▶ 逐日回放"
            s = {**state, "until": nxt.isoformat(), "play_to": None if done else state["play_to"]}
            return s, s["until"], done, "▶ 逐日回放" if done else "⏸ 暂停"
        if trigger == "mon-dates" and state.get("play_to") and end == state["until"]:
            raise PreventUpdate  # the echo of our own playback step
        value: Any = None
        if trigger == "mon-disease":
            value = disease
        elif trigger == "mon-dates":
            if not start or not end:
                raise PreventUpdate
            try:
                value = (dates.parse_date(str(start)[:10], "since").isoformat(),  # type: ignore[union-attr]
                         dates.parse_date(str(end)[:10], "until").isoformat())  # type: ignore[union-attr]
            except (dates.DateRangeError, AttributeError):
                raise PreventUpdate from None
        elif trigger == "mon-level":
            value = level
        elif trigger == "mon-choropleth":
            code = (choro_click or {}).get("properties", {}).get("code")
            if not code or code == state.get("region"):
                raise PreventUpdate
            value = code
        elif isinstance(trigger, dict) and trigger.get("type") == "mon-crumb":
            if not any(crumbs):
                raise PreventUpdate
        elif isinstance(trigger, dict) and trigger.get("type") == "mon-inst":
            clicked = next((c for c in inst_clicks if c and ctx.triggered[0]["value"] == c), None)
            if not clicked:
                raise PreventUpdate
            value = clicked["properties"]["id"]
        return _next_state(state, trigger, value), no_update, no_update, no_update

    @dash_app.callback(
        Output("mon-choropleth", "data"), Output("mon-labels", "data"), Output("mon-legend", "children"),
        Output("mon-cases", "data"), Output("mon-signals", "data"),
        Output("mon-clusters", "data"), Output("mon-map", "viewport"), Output("mon-crumbs", "children"),
        Output("mon-period", "children"), Output("mon-sync", "data"),
        Input("mon-state", "data"), Input("mon-refresh", "data"), Input("mon-poll", "n_intervals"))
    def update_map(state: dict[str, Any], _refresh: Any, _poll: Any) -> tuple[Any, ...]:
        try:
            out = _map_outputs(state)
        except (ScopeError, LayerError, ValidationError):  # ValidationError: a tampered state store
            raise PreventUpdate from None
        if ctx.triggered_id in ("mon-refresh", "mon-poll"):
            out = (*out[:6], no_update, *out[7:])  # keep the user's view on a background refresh
        return out

    @dash_app.callback(
        Output("mon-kpis", "children"), Output("mon-signal-states", "children"), Output("mon-qc", "children"),
        Output("mon-top", "children"), Output("mon-epicurve-data", "data"), Output("mon-signal-list", "children"),
        Input("mon-state", "data"), Input("mon-refresh", "data"), Input("mon-poll", "n_intervals"),
        State("mon-page", "className"))
    def update_panels(state: dict[str, Any], _refresh: Any, _poll: Any, page_class: str) -> tuple[Any, ...]:
        try:
            return _panel_outputs(state, "is-wall" in (page_class or ""))
        except (ScopeError, LayerError, ValidationError):  # ValidationError: a tampered state store
            raise PreventUpdate from None

    @dash_app.callback(
        Output("mon-heat", "url"), Output("mon-heat", "bounds"),
        Input("mon-overlays", "data"), Input("mon-state", "data"), Input("mon-refresh", "data"),
        prevent_initial_call=True)
    def update_heat(overlays: dict[str, bool] | None, state: dict[str, Any], _refresh: Any) -> tuple[Any, ...]:
        principal = current_principal()
        if principal is None or not (overlays or {}).get(HEAT_OVERLAY):
            raise PreventUpdate
        try:
            fc = _layer("cases.heat", principal, _filters(state))
        except (ScopeError, LayerError, ValidationError):  # ValidationError: a tampered state store
            raise PreventUpdate from None
        if not fc["features"]:
            return BLANK_IMAGE, no_update
        props = fc["features"][0]["properties"]
        return props["image"], props["bounds"]

    @dash_app.callback(
        Output("mon-evidence", "children"), Output("mon-evidence", "hidden"),
        Input({"type": "mon-sig", "id": ALL}, "n_clicks"), Input("mon-signals", "clickData"),
        prevent_initial_call=True)
    def open_evidence(clicks: Any, map_click: Any) -> tuple[Any, ...]:
        trigger = ctx.triggered_id
        if isinstance(trigger, dict):
            if not ctx.triggered[0]["value"]:
                raise PreventUpdate
            signal_id = int(trigger["id"])
        elif map_click:
            signal_id = int(map_click["properties"]["id"])
        else:
            raise PreventUpdate
        principal = current_principal()
        if principal is None:
            raise PreventUpdate
        with services().session_factory() as session:
            try:
                ev = signal_evidence(session, principal, signal_id)
            except (ScopeError, LayerError):
                return [html.P("无权查看或信号不存在"), html.Button("关闭", id="mon-evidence-close", n_clicks=0)], False
        return _evidence(ev), False

    dash_app.clientside_callback(ClientsideFunction("onemap_monitor", "applyOverlays"),
                                 [Output(i, "checked") for i in overlay_ids()], Input("mon-overlays", "data"),
                                 [State(i, "name") for i in overlay_ids()])
    dash_app.clientside_callback(ClientsideFunction("onemap_monitor", "closeEvidence"),
                                 Output("mon-evidence", "hidden", allow_duplicate=True),
                                 Input("mon-evidence-close", "n_clicks"), prevent_initial_call=True)
    dash_app.clientside_callback(ClientsideFunction("onemap_monitor", "applyLive"),
                                 Output("mon-live-cases", "data"), Output("mon-refresh", "data"),
                                 Input("mon-live", "data"), State("mon-state", "data"), prevent_initial_call=True)
    # The server's KPI figures plus the cases this screen heard of after them (assets/monitor_live.js).
    dash_app.clientside_callback(ClientsideFunction("onemap_monitor", "reconcileKpis"),
                                 Output("mon-kpis", "className"), Input("mon-kpis", "children"),
                                 State("mon-state", "data"), prevent_initial_call=True)
    # The figure's fonts scale with the screen on the wall (plotly sizes text in pixels).
    dash_app.clientside_callback(ClientsideFunction("onemap_monitor", "scaleFigure"),
                                 Output("mon-epicurve", "figure"), Input("mon-epicurve-data", "data"),
                                 State("mon-page", "className"))
    dash_app.clientside_callback(ClientsideFunction("onemap_monitor", "markSynced"),
                                 Output("mon-ages", "className"), Input("mon-sync", "data"), prevent_initial_call=True)
