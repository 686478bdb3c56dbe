"""应急指挥一张图: teams, resources, incidents, tasks, coverage; panels, duty roster, decision support, dispatch."""
from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from decimal import Decimal
from typing import Any

import dash_leaflet as dl
from dash import ClientsideFunction, Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate
from pydantic import ValidationError
from sqlalchemy import text

from accounts.principal import Principal
from command import actions, decision, roster, stock, summary
from command.errors import CommandError
from command.models import DispatchPlan, IncidentIn
from dashboard import form_errors, markup
from dashboard.api.command import READ_ROLES, WRITE_ROLES, dispatch_now, district_of, publish_changes, run
from dashboard.auth import current_principal
from dashboard.basemap import current_basemap
from dashboard.components.wall import layer_ages, rotate_seconds, scale_width, wall_enabled, wall_shell
from dashboard.errors import ApiError
from dashboard.extensions import services
from gazetteer.errors import ImportRejected
from gazetteer.labels import street_label_points
from geo import beijing
from layers.base import today_cst
from layers.coverage import coverage_geojson
from layers.incidents import incidents_geojson
from layers.resources import resources_geojson
from layers.tasks import tasks_geojson
from layers.teams import STATUS_ZH, TYPE_ZH, teams_geojson

PATH = "/command"
TITLE = "应急指挥一张图"
NS = "onemap.command"
MAP_LAYERS = [("teams", "应急队伍"), ("resources", "物资储备"), ("incidents", "突发事件"), ("tasks", "处置任务")]
RADII = [500, 1000, 3000]
MOVING = ("dispatched", "on_site")
EMPTY = {"type": "FeatureCollection", "features": []}
TASK_TYPES = [("epi", "流调"), ("sampling", "采样"), ("disinfection", "消杀"), ("supply", "物资调拨"),
              ("screening", "排查"), ("other", "其他")]


def _fn(name: str) -> dict[str, str]:
    return {"variable": f"{NS}.{name}"}


def _overlay(layer_id: str, name: str, **kw: Any) -> Any:
    return dl.Overlay(dl.GeoJSON(id=f"cmd-{layer_id}", data=None, **kw), name=name, checked=True)


def _bounds(district: str) -> list[list[float]] | None:
    """[[south, west], [north, east]] of the district, for the initial view."""
    with services().session_factory() as s:
        row = s.execute(text("SELECT ST_YMin(e), ST_XMin(e), ST_YMax(e), ST_XMax(e) FROM "
                             "(SELECT ST_Extent(geom) AS e FROM region WHERE code = :d) x"), {"d": district}).first()
    return [[row[0], row[1]], [row[2], row[3]]] if row and row[0] is not None else None


ATTRIBUTION = "© OpenStreetMap contributors, geoBoundaries"


def _boundaries(district: str) -> dict[str, Any]:
    """The district and its streets as outlines, so the map reads without a basemap."""
    with services().session_factory() as s:
        rows = s.execute(text(
            "SELECT code, name, level, ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, 0.0001), 6) AS g "
            "FROM region WHERE code = :d OR (parent_code = :d AND level = 'street')"), {"d": district}).all()
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": json.loads(r.g),
         "properties": {"code": r.code, "name": r.name, "level": r.level, "tooltip": markup.tooltip(None, r.name)}}
        for r in rows]}


def _street_labels(district: str) -> dict[str, Any]:
    """The district's street names at their label points (drawn by assets/map_labels.js)."""
    with services().session_factory() as s:
        return street_label_points(s, district)


def _map(wall: bool, district: str) -> Any:
    base = []
    basemap = current_basemap()  # BASEMAP_FILE served at /basemap/…, or BASEMAP_URL
    if basemap is not None:
        base.append(dl.BaseLayer(dl.TileLayer(**basemap.leaflet_props()), name="底图", checked=True))
    overlays = [
        dl.Overlay(dl.GeoJSON(id="cmd-boundaries", data=_boundaries(district), style=_fn("boundaryStyle"),
                              attribution=ATTRIBUTION, interactive=not wall), name="行政边界", checked=True),
        dl.Overlay(dl.GeoJSON(id="cmd-street-labels", data=_street_labels(district), interactive=False,
                              pointToLayer={"variable": "onemap.labels.streetLabel"}), name="街道名称", checked=True),
        dl.Overlay(dl.LayerGroup([
            dl.GeoJSON(id="cmd-coverage", data=None, style=_fn("coverageStyle"), interactive=False),
            dl.GeoJSON(id="cmd-service", data=None, style=_fn("serviceStyle"), interactive=False),
        ]), name="发热门诊服务覆盖", checked=not wall),
        _overlay("incidents", "突发事件", style=_fn("incidentStyle"), pointToLayer=_fn("incidentPoint")),
        _overlay("tasks", "处置任务", pointToLayer=_fn("taskPoint")),
        _overlay("resources", "物资储备点", pointToLayer=_fn("resourcePoint")),
        _overlay("tracks", "队伍轨迹", style=_fn("trackStyle"), onEachFeature=_fn("trackEach"), interactive=False),
        _overlay("teams", "应急队伍", pointToLayer=_fn("teamPoint")),
        _overlay("decision", "辅助决策范围", style=_fn("decisionStyle"), pointToLayer=_fn("decisionPoint"),
                 interactive=False),
    ]
    return dl.Map([
        dl.LayersControl([*base, *overlays], collapsed=wall, id="cmd-layers-control"),
        dl.ScaleControl(position="bottomleft", imperial=False, maxWidth=scale_width(wall)),
        dl.AttributionControl(prefix=ATTRIBUTION, position="bottomright"),
    ], id="cmd-map", attributionControl=False, center=[31.215, 121.41], zoom=13, bounds=_bounds(district), minZoom=7, maxZoom=18, zoomSnap=0.25,
        className="cmd-map")


def _side(wall: bool) -> list[Any]:
    roster_tools = [html.Div([dcc.Upload(html.Button("导入值班表CSV", className="cmd-btn"), id="cmd-roster-upload",
                                         accept=".csv,text/csv", multiple=False),
                              html.Div(id="cmd-roster-msg", className="cmd-msg", role="status")], hidden=wall)]
    return [
        html.Section([html.H3("应急队伍"), html.Div(id="cmd-team-kpis", className="kpi-row")], className="cmd-card"),
        html.Section([html.H3("视频连通率"), html.Div(id="cmd-video", className="cmd-video")], className="cmd-card"),
        html.Section([html.H3("处置任务"), html.Div(id="cmd-task-kpis", className="kpi-row")], className="cmd-card"),
        html.Section([html.H3("低于储备下限的物资（按类别）"), html.Div(id="cmd-below", className="cmd-below")],
                     className="cmd-card"),
        html.Section([html.H3(f"今日应急值守 · {today_cst().isoformat()}"), html.Div(id="cmd-roster"), *roster_tools],
                     className="cmd-card cmd-roster-card"),
    ]


def _tools() -> Any:
    """Decision panel, coverage and stock tools (not on the video wall)."""
    return html.Div([
        html.Section([
            html.H3("辅助决策与调度"),
            html.P("点击地图任意位置或事件，查看最近可用队伍、可达物资、发热门诊与缓冲区人口。", className="cmd-hint"),
            html.Div(id="cmd-decision-panel", className="cmd-decision"),
            html.Div([
                html.Div([html.H4("最近的待命队伍（勾选出动）"), dcc.Checklist(id="cmd-team-pick", options=[], value=[],
                                                              className="cmd-pick")], className="col"),
                html.Div([html.H4("调拨物资"),
                          dcc.Dropdown(id="cmd-alloc", options=[], multi=True, placeholder="选择要调拨的物资"),
                          dcc.Input(id="cmd-alloc-qty", type="number", min=1, value=100, className="cmd-num",
                                    placeholder="每项数量")], className="col"),
            ], className="cmd-decision-cols"),
            html.Div([
                dcc.Input(id="cmd-title", type="text", placeholder="任务名称（如：某小区聚集性疫情处置）", maxLength=200,
                          className="cmd-input"),
                dcc.Dropdown(id="cmd-type", options=[{"label": z, "value": v} for v, z in TASK_TYPES], value="epi",
                             clearable=False, className="cmd-select"),
                dcc.Input(id="cmd-hours", type="number", min=1, max=720, value=24, className="cmd-num",
                          placeholder="时限(小时)"),
                html.Button("一键调度", id="cmd-dispatch", n_clicks=0, className="cmd-btn primary"),
                html.Button("在此新建事件", id="cmd-new-incident", n_clicks=0, className="cmd-btn"),
            ], className="cmd-form"),
            html.Div(id="cmd-dispatch-msg", className="cmd-msg", role="status"),
        ], className="cmd-card cmd-decision-card"),
        html.Section([
            html.H3("发热门诊服务覆盖"),
            dcc.RadioItems(id="cmd-radius", options=[{"label": f"{r // 1000} 公里", "value": r} for r in (1000, 3000, 5000)],
                           value=3000, inline=True, className="cmd-radius"),
            html.Div(id="cmd-coverage-table"),
        ], className="cmd-card"),
        html.Section([
            html.H3("物资库存与出入库"),
            html.Div([
                dcc.Dropdown(id="cmd-stock-line", placeholder="选择物资点·物资", className="cmd-select wide"),
                dcc.RadioItems(id="cmd-stock-kind", options=[{"label": "入库", "value": "in"}, {"label": "出库", "value": "out"}],
                               value="in", inline=True),
                dcc.Input(id="cmd-stock-qty", type="number", min=0, placeholder="数量", className="cmd-num"),
                html.Button("登记", id="cmd-stock-save", n_clicks=0, className="cmd-btn"),
            ], className="cmd-form"),
            html.Div(id="cmd-stock-msg", className="cmd-msg", role="status"),
            html.Div(id="cmd-stock-history", className="cmd-history"),
            html.Div(id="cmd-stock-table", className="cmd-stock-table"),
        ], className="cmd-card"),
    ], className="cmd-tools")


def layout(query: dict[str, str]) -> Any:
    principal = current_principal()
    if principal is None:
        return html.Div([html.H2("请先登录"), html.A("登录", href="/login?next=/command")], className="page")
    if principal.role not in READ_ROLES:
        return html.Div([html.H2("当前角色无权查看应急指挥一张图")], className="page")
    wall = wall_enabled(query)
    body = html.Div([
        html.Button(id="cmd-live", n_clicks=0, hidden=True, **{"aria-hidden": "true", "tabIndex": "-1"}),
        dcc.Store(id="cmd-refresh", data=0),
        dcc.Store(id="cmd-point", data=None),
        dcc.Store(id="cmd-sync", data=None),
        dcc.Store(id="cmd-home", data=_bounds(district_of(principal))),
        dcc.Interval(id="cmd-poll", interval=30_000),
        html.Div([html.H1(TITLE, className="cmd-title"), html.Div(id="cmd-legend", className="cmd-legend",
                                                                  children=_legend())], className="cmd-header"),
        html.Div([html.Div(_map(wall, district_of(principal)), className="cmd-map-wrap"), html.Div(_side(wall), className="cmd-side")],
                 className="cmd-main"),
        html.Div(_tools(), hidden=wall),
        html.Div() if wall else layer_ages(MAP_LAYERS, prefix="cmd"),
    ], className="page page-command" + (" is-wall" if wall else ""), id="cmd-page")
    if not wall:
        return body
    return wall_shell(page="cmd", title=TITLE, body=body, ages=layer_ages(MAP_LAYERS, prefix="cmd"),
                      next_path="/monitor?wall=1", rotate=rotate_seconds(query, services().settings.wall_rotate_seconds))


def _legend() -> list[Any]:
    status = [html.Span([html.I(className=f"dot status-{k}"), v], className="legend-item") for k, v in STATUS_ZH.items()]
    types = "　".join(f"{g}={z}" for g, z in (("流", "流调"), ("采", "采样检测"), ("消", "消杀"), ("医", "医疗救治")))
    return [*status, html.Span(types, className="legend-item"),
            html.Span([html.I(className="dot below"), "物资低于下限"], className="legend-item"),
            html.Span([html.I(className="dot overdue"), "任务逾期"], className="legend-item")]


# ---------------------------------------------------------------- rendering helpers

def _kpi(label: str, value: Any, key: str, cls: str = "") -> Any:
    return html.Div([html.Div(label, className="kpi-label"), html.Div(str(value), className="kpi-value", id=f"cmd-kpi-{key}")],
                    className=f"kpi {cls}")


def _panels(p: dict[str, Any]) -> tuple[Any, ...]:
    t = p["teams"]
    team_kpis = [_kpi("待命可用", t["available"], "available", "ok"), _kpi("出动", t["by_status"]["dispatched"], "dispatched"),
                 _kpi("在岗", t["by_status"]["on_site"], "on_site"), _kpi("休整", t["by_status"]["resting"], "resting")]
    rate = t["video_rate"]
    pct = 0 if rate is None else rate * 100
    video = [html.Div([html.Span(f"{pct:.1f}%", id="cmd-video-rate", className="big"),
                       html.Span(f"目标 {t['video_target'] * 100:.0f}% · 在线 {t['video_online']}/{t['total']}",
                                 className="sub")]),
             html.Div(html.Div(className="bar-fill", style={"width": f"{pct:.0f}%"}),
                      className="bar " + ("ok" if t["video_ok"] else "bad")),
             html.Div(className="bar-target", style={"left": f"{t['video_target'] * 100:.0f}%"})]
    task_kpis = [_kpi("进行中", p["tasks"]["open"], "tasks-open"),
                 _kpi("逾期", p["tasks"]["overdue"], "tasks-overdue", "bad" if p["tasks"]["overdue"] else "")]
    below = p["stock_below_min"]
    below_list = html.Ul([html.Li([html.Span(cat), html.Span(str(n), className="count bad" if n else "count")])
                          for cat, n in below.items()]) if below else html.Div("无储备物资", className="empty")
    return team_kpis, video, task_kpis, below_list


def _roster_table(entries: list[roster.DutyEntry]) -> Any:
    if not entries:
        return html.Div("今日尚未排班", className="empty")
    return html.Table([html.Thead(html.Tr([html.Th("岗位"), html.Th("姓名"), html.Th("电话"), html.Th("单位"), html.Th("班次")])),
                       html.Tbody([html.Tr([html.Td(e.duty_role), html.Td(e.name), html.Td(e.phone), html.Td(e.org_name),
                                            html.Td(e.shift)]) for e in entries])], className="cmd-table", id="cmd-roster-table")


def _tracks(teams: dict[str, Any]) -> dict[str, Any]:
    """Recent tracks of the teams on the move (dispatched or on site)."""
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "LineString", "coordinates": f["properties"]["track"]},
         "properties": {"id": f["id"], "status": f["properties"]["status"]}}
        for f in teams["features"] if len(f["properties"]["track"]) >= 2 and f["properties"]["status"] in MOVING]}


def _with_tooltips(fc: dict[str, Any], fmt: Any) -> dict[str, Any]:
    for f in fc["features"]:
        f["properties"]["tooltip"] = fmt(f["properties"])
    return fc


def _site_tooltip(p: dict[str, Any]) -> str:
    items = [f"{'⚠ ' if i['below_min'] else ''}{i['item_name']} {i['quantity']:g}/{i['min_level']:g}{i['unit']}"
             for i in p["items"][:8]]
    title = markup.line((markup.strong(p["name"]), f"（{p['kind_zh']}）"), sep="")
    return markup.tooltip(None, title, *items)


def _task_tooltip(p: dict[str, Any]) -> str:
    overdue = markup.strong("已逾期") if p["overdue"] else None
    return markup.tooltip(p["title"], (p["type_zh"], p["state_zh"], f"进度 {p['progress']}%", overdue))


def _stock_table(rows: list[dict[str, Any]]) -> Any:
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


def _coverage_table(fc: dict[str, Any]) -> Any:
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


def _team_options(d: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"label": f"{t['name']}（{TYPE_ZH.get(t['type'], t['type'])}，{t['members']}人）"
                           f" {t['distance_m'] / 1000:.2f} 公里 · 约 {t['eta_min']:.0f} 分钟"
                           + ("" if t["video_online"] else " · 视频离线"), "value": t["id"]} for t in d["teams"]]


def _stock_options(d: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"label": f"{s['name']} · {i['item_name']}（现有 {i['quantity']:g}{i['unit']}）",
             "value": f"{s['id']}|{i['item_code']}"} for s in d["sites"] for i in s["items"] if i["quantity"] > 0]


def _decision_panel(d: dict[str, Any], can_dispatch: bool) -> list[Any]:
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


def _decision_overlay(d: dict[str, Any]) -> dict[str, Any]:
    feats = [{"type": "Feature", "geometry": b["geometry"], "properties": {"radius_m": b["radius_m"]}} for b in d["buffers"]]
    feats.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [d["point"]["lon"], d["point"]["lat"]]},
                  "properties": {}})
    return {"type": "FeatureCollection", "features": feats}


def _err_text(exc: Exception) -> str:
    if isinstance(exc, (ApiError, CommandError)):
        return f"未执行：{exc.message_zh}" + (f"（{form_errors.field_zh(exc.field)}）" if exc.field else "")
    if isinstance(exc, ValidationError):
        return form_errors.describe(exc)
    return "未执行：操作失败"


def _principal() -> Principal:
    principal = current_principal()
    if principal is None or principal.role not in READ_ROLES:
        raise PreventUpdate
    return principal


# ---------------------------------------------------------------- callbacks

def register(dash_app: Dash) -> None:
    """Callbacks of the command page, bound to this Dash instance."""

    @dash_app.callback(
        Output("cmd-teams", "data"), Output("cmd-tracks", "data"), Output("cmd-resources", "data"),
        Output("cmd-incidents", "data"), Output("cmd-tasks", "data"), Output("cmd-sync", "data"),
        Input("cmd-poll", "n_intervals"), Input("cmd-live", "n_clicks"), Input("cmd-refresh", "data"))
    def refresh_layers(_tick: Any, _live: Any, _refresh: Any) -> tuple[Any, ...]:
        principal = _principal()
        with services().session_factory() as s:
            teams = teams_geojson(s, principal)
            for f in teams["features"]:
                p = f["properties"]
                p["tooltip"] = markup.tooltip(None, (p["name"], p["status_zh"]))
            sites = _with_tooltips(resources_geojson(s, principal), _site_tooltip)
            incidents = _with_tooltips(incidents_geojson(s, principal), lambda p: markup.tooltip(p["title"], p["status_zh"]))
            tasks = _with_tooltips(tasks_geojson(s, district_code=principal.district_code), _task_tooltip)
        return teams, _tracks(teams), sites, incidents, tasks, datetime.now().astimezone().isoformat()

    @dash_app.callback(
        Output("cmd-team-kpis", "children"), Output("cmd-video", "children"), Output("cmd-task-kpis", "children"),
        Output("cmd-below", "children"), Output("cmd-roster", "children"),
        Input("cmd-poll", "n_intervals"), Input("cmd-live", "n_clicks"), Input("cmd-refresh", "data"))
    def refresh_panels(_tick: Any, _live: Any, _refresh: Any) -> tuple[Any, ...]:
        principal = _principal()
        district = district_of(principal)
        with services().session_factory() as s:
            panel = summary.panels(s, district_code=district)
            duty = roster.roster_for_day(s, cipher=services().cipher, district_code=district, day=today_cst()) \
                if services().cipher else []
        return (*_panels(panel), _roster_table(duty))

    dash_app.clientside_callback(ClientsideFunction("onemap_command", "markSynced"),
                                 Output("cmd-ages", "className"), Input("cmd-sync", "data"))
    # Fit the district once the first data arrive: the wall's layout has its final size by then
    # (the map's initial bounds were fitted to a smaller container on 4K screens).
    dash_app.clientside_callback(ClientsideFunction("onemap_command", "fitHome"),
                                 Output("cmd-map", "viewport"), Input("cmd-sync", "data"), State("cmd-home", "data"))

    @dash_app.callback(
        Output("cmd-coverage", "data"), Output("cmd-service", "data"), Output("cmd-coverage-table", "children"),
        Input("cmd-radius", "value"))
    def show_coverage(radius: int) -> tuple[Any, ...]:
        principal = _principal()
        with services().session_factory() as s:
            fc = coverage_geojson(s, principal, radius_m=float(radius or 3000), district_code=district_of(principal))
        service_area = {"type": "Feature", "geometry": fc["service_area"], "properties": {}} if fc["service_area"] else EMPTY
        for f in fc["features"]:
            p = f["properties"]
            p["tooltip"] = markup.tooltip(None, f"{p['name']}：覆盖外 {p['outside']:,} 人（{p['outside_share'] * 100:.1f}%）")
        return fc, service_area, _coverage_table(fc)

    @dash_app.callback(
        Output("cmd-decision-panel", "children"), Output("cmd-decision", "data"), Output("cmd-point", "data"),
        Output("cmd-team-pick", "options"), Output("cmd-team-pick", "value"), Output("cmd-alloc", "options"),
        Output("cmd-alloc", "value"),
        Input("cmd-map", "clickData"), Input("cmd-incidents", "clickData"), prevent_initial_call=True)
    def decide(map_click: Any, incident_click: Any) -> tuple[Any, ...]:
        principal = _principal()
        district = district_of(principal)
        incident_id = None
        if ctx.triggered_id == "cmd-incidents" and incident_click:
            p = incident_click.get("properties", {})
            lon, lat = p.get("lon"), p.get("lat")
            incident_id = p["id"] if p.get("source") == "incident" else None
        else:
            latlng = (map_click or {}).get("latlng")
            if not latlng:
                raise PreventUpdate
            lat, lon = (latlng["lat"], latlng["lng"]) if isinstance(latlng, dict) else latlng
        with services().session_factory() as s:
            travel = decision.travel_params(s)
            d = decision.decide(s, lon=float(lon), lat=float(lat), district_code=district, radii_m=RADII, reach_m=5000,
                                travel=travel, incident_id=incident_id)
        point = {"lon": float(lon), "lat": float(lat), "incident_id": incident_id}
        teams = _team_options(d)
        return (_decision_panel(d, principal.role == "district_commander"), _decision_overlay(d), point, teams,
                [o["value"] for o in teams[:2]], _stock_options(d), [])



    @dash_app.callback(
        Output("cmd-dispatch-msg", "children"), Output("cmd-refresh", "data", allow_duplicate=True),
        Input("cmd-dispatch", "n_clicks"), Input("cmd-new-incident", "n_clicks"),
        State("cmd-point", "data"), State("cmd-team-pick", "value"), State("cmd-alloc", "value"),
        State("cmd-alloc-qty", "value"), State("cmd-title", "value"), State("cmd-type", "value"),
        State("cmd-hours", "value"), prevent_initial_call=True)
    def act(_n: int, _m: int, point: Any, team_ids: Any, alloc: Any, qty: Any, title: Any, kind: Any,
            hours: Any) -> tuple[Any, ...]:
        principal = _principal()
        if not point:
            return "请先在地图上点选位置或事件", no_update
        try:
            if ctx.triggered_id == "cmd-new-incident":
                if principal.role not in WRITE_ROLES:
                    return "当前角色无权新建事件", no_update
                data = IncidentIn(title=title or "", lon=point["lon"], lat=point["lat"])
                inc = run(lambda s: actions.create_incident(s, actor=principal, data=data,
                                                           default_district=district_of(principal)))
                publish_changes([{"kind": "incident", "id": inc.id, "action": "created",
                                  "district_code": inc.district_code, "geometry": [data.lon, data.lat]}])
                return f"已新建事件 #{inc.id}：{inc.title}", datetime.now().timestamp()
            if principal.role != "district_commander":
                return "只有区级应急指挥人员可以调度", no_update
            allocations = [{"site_id": int(v.split("|")[0]), "item_code": v.split("|")[1], "quantity": qty or 0}
                           for v in (alloc or [])]
            plan = DispatchPlan(title=title or "", type=kind or "epi", deadline_hours=int(hours or 24),
                                team_ids=team_ids or [], allocations=allocations,
                                incident_id=point.get("incident_id"),
                                lon=None if point.get("incident_id") else point["lon"],
                                lat=None if point.get("incident_id") else point["lat"])
            result = dispatch_now(principal, plan)
        except (ApiError, ValidationError) as exc:
            return _err_text(exc), no_update
        return (f"已调度：任务 #{result.task_id}，{len(result.team_ids)} 支队伍出动，{len(result.movement_ids)} 项物资调拨",
                datetime.now().timestamp())


    @dash_app.callback(
        Output("cmd-roster-msg", "children"), Output("cmd-refresh", "data", allow_duplicate=True),
        Input("cmd-roster-upload", "contents"), State("cmd-roster-upload", "filename"), prevent_initial_call=True)
    def upload_roster(contents: str | None, filename: str | None) -> tuple[Any, ...]:
        principal = _principal()
        if not contents:
            raise PreventUpdate
        if principal.role not in WRITE_ROLES:
            return "当前角色无权导入值班表", no_update
        try:
            text = base64.b64decode(contents.split(",", 1)[1]).decode("utf-8")
        except (IndexError, binascii.Error, UnicodeDecodeError):
            return "文件须为UTF-8编码的CSV", no_update
        try:
            with services().session_factory() as s, s.begin():
                count = roster.import_roster_csv(s, text, cipher=services().cipher, district_code=district_of(principal),
                                                 actor=principal)
        except ImportRejected as exc:
            return html.Div([html.Div(f"导入被拒绝，未写入任何数据（{len(exc.problems)} 处错误）："),
                             html.Ul([html.Li(str(p)) for p in exc.problems[:10]])], className="bad"), no_update
        return f"已导入 {filename or ''} 共 {count} 条值班记录", datetime.now().timestamp()

    @dash_app.callback(
        Output("cmd-stock-table", "children"), Output("cmd-stock-line", "options"),
        Input("cmd-refresh", "data"), Input("cmd-live", "n_clicks"))
    def stock_table(_r: Any, _l: Any) -> tuple[Any, ...]:
        principal = _principal()
        with services().session_factory() as s:
            rows = stock.levels(s, district_code=district_of(principal))
        options = [{"label": f"{r['site_name']} · {r['item_name']}（{r['quantity']:g}{r['unit']}）",
                    "value": f"{r['site_id']}|{r['item_code']}"} for r in rows]
        return _stock_table(rows), options

    @dash_app.callback(
        Output("cmd-stock-msg", "children"), Output("cmd-stock-history", "children"),
        Output("cmd-refresh", "data", allow_duplicate=True),
        Input("cmd-stock-save", "n_clicks"), Input("cmd-stock-line", "value"),
        State("cmd-stock-kind", "value"), State("cmd-stock-qty", "value"), prevent_initial_call=True)
    def stock_move(_n: int, line: str | None, kind: str, qty: Any) -> tuple[Any, ...]:
        principal = _principal()
        if not line:
            raise PreventUpdate
        site_id, item_code = int(line.split("|")[0]), line.split("|")[1]
        message, refresh = "", no_update
        if ctx.triggered_id == "cmd-stock-save":
            if principal.role not in WRITE_ROLES:
                message = "当前角色无权登记出入库"
            elif not qty or float(qty) <= 0:
                message = "数量必须大于0"
            else:
                try:
                    def flow(s: Any) -> Any:
                        stock.site_in_district(s, site_id=site_id, district_code=district_of(principal))
                        return stock.apply_movement(s, stock.Movement(site_id=site_id, item_code=item_code, kind=kind,
                                                                      quantity=Decimal(str(qty)), note="指挥一张图登记"),
                                                     actor=principal)
                    run(flow)
                    publish_changes([{"kind": "stock", "id": site_id, "district_code": district_of(principal),
                                      "fields": {"item_code": item_code}}])
                    message, refresh = f"已登记{'入库' if kind == 'in' else '出库'} {qty}", datetime.now().timestamp()
                except (ApiError, CommandError) as exc:
                    message = _err_text(exc)
        with services().session_factory() as s:
            hist = stock.history(s, site_id=site_id, item_code=item_code, limit=8)
        kinds = {"in": "入库", "out": "出库", "allocate": "调拨"}
        rows = html.Ul([html.Li(f"{beijing.minute(h['time'])} {kinds.get(h['kind'], h['kind'])} {h['delta']:+g}"
                                + (f" · 任务#{h['task_id']}" if h["task_id"] else "")) for h in hist]) if hist \
            else html.Div("暂无出入库记录", className="empty")
        return message, rows, refresh
