"""Layout of 应急指挥一张图: the map with its overlays, the side panels, the tools; the video-wall variant."""
from __future__ import annotations

from typing import Any

import dash_leaflet as dl
from dash import dcc, html

from dashboard import markup
from dashboard.api.command import READ_ROLES, district_of
from dashboard.auth import current_principal
from dashboard.basemap import current_basemap
from dashboard.components.attrs import attrs
from dashboard.components.wall import layer_ages, rotate_seconds, scale_width, wall_enabled, wall_shell
from dashboard.extensions import services
from dashboard.pages import command_chain as chain
from dashboard.pages import command_fieldwork as fieldwork
from dashboard.pages import command_view as view
from gazetteer.labels import street_label_points
from geo.geojson import FeatureCollection
from layers.base import today_cst
from layers.outlines import district_bounds, district_outlines

TITLE = "应急指挥一张图"
NS = "onemap.command"
MAP_LAYERS = [("teams", "应急队伍"), ("resources", "物资储备"), ("incidents", "突发事件"), ("tasks", "处置任务"),
              ("assists", "协查请求"), *fieldwork.MAP_LAYERS]
WALL_AGES = MAP_LAYERS[:4]  # the wall's title bar holds four data ages (two by two)
TASK_TYPES = [("epi", "流调"), ("sampling", "采样"), ("disinfection", "消杀"), ("supply", "物资调拨"),
              ("screening", "排查"), ("other", "其他")]


def _fn(name: str) -> dict[str, str]:
    return {"variable": f"{NS}.{name}"}


def _overlay(layer_id: str, name: str, **kw: Any) -> Any:
    return dl.Overlay(dl.GeoJSON(id=f"cmd-{layer_id}", data=None, **kw), name=name, checked=True)


def _bounds(district: str) -> list[list[float]] | None:
    """[[south, west], [north, east]] of the district, for the initial view."""
    with services().session_factory() as s:
        return district_bounds(s, district)


ATTRIBUTION = "© OpenStreetMap contributors, geoBoundaries"


def _boundaries(district: str) -> FeatureCollection:
    """The district and its streets as outlines, so the map reads without a basemap."""
    with services().session_factory() as s:
        fc = district_outlines(s, district)
    for f in fc["features"]:
        f["properties"]["tooltip"] = markup.tooltip(None, f["properties"]["name"])
    return fc


def _street_labels(district: str) -> FeatureCollection:
    """The district's street names at their label points (drawn by assets/map_labels.js)."""
    with services().session_factory() as s:
        return street_label_points(s, district)


def command_map(wall: bool, district: str) -> Any:
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
        *fieldwork.overlays(wall),
        _overlay("incidents", "突发事件", style=_fn("incidentStyle"), pointToLayer=_fn("incidentPoint")),
        _overlay("tasks", "处置任务", pointToLayer=_fn("taskPoint")),
        _overlay("assists", "协查请求", pointToLayer=_fn("assistPoint")),
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
    ], id="cmd-map", attributionControl=False, center=[31.215, 121.41], zoom=13, bounds=_bounds(district),
        minZoom=7, maxZoom=18, zoomSnap=0.25, className="cmd-map")


def _side(wall: bool) -> list[Any]:
    roster_tools = [html.Div([dcc.Upload(html.Button("导入值班表CSV", className="cmd-btn"), id="cmd-roster-upload",
                                         accept=".csv,text/csv", multiple=False),
                              html.Div(id="cmd-roster-msg", className="cmd-msg", role="status")], hidden=wall)]
    return [
        html.Section([html.H3("应急队伍"), html.Div(id="cmd-team-kpis", className="kpi-row")], className="cmd-card"),
        html.Section([html.H3("视频连通率"), html.Div(id="cmd-video", className="cmd-video")], className="cmd-card"),
        html.Section([html.H3("处置任务"), html.Div(id="cmd-task-kpis", className="kpi-row"),
                      html.Div(id="cmd-exchange", className="cmd-exchange", role="status")], className="cmd-card"),
        fieldwork.progress_card(),
        html.Section([html.H3("低于储备下限的物资（按类别）"), html.Div(id="cmd-below", className="cmd-below")],
                     className="cmd-card"),
        html.Section([html.H3(f"今日应急值守 · {today_cst().isoformat()}"), html.Div(id="cmd-roster"), *roster_tools],
                     className="cmd-card cmd-roster-card"),
    ]


def _tools(chain_card: Any) -> Any:
    """Decision panel, coverage and stock tools, the 传播链 card (not on the video wall)."""
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
        fieldwork.playback_card(),
        chain_card,
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


def _event(query: dict[str, str]) -> int | None:
    """`?event=<id>`: the warning event whose 传播链 is shown (the signal page links here)."""
    value = query.get("event", "")
    return int(value) if value.isdigit() and len(value) < 10 else None


def layout(query: dict[str, str]) -> Any:
    principal = current_principal()
    if principal is None:
        return html.Div([html.H2("请先登录"), html.A("登录", href="/login?next=/command")], className="page")
    if principal.role not in READ_ROLES:
        return html.Div([html.H2("当前角色无权查看应急指挥一张图")], className="page")
    wall = wall_enabled(query)
    body = html.Div([
        html.Button(id="cmd-live", n_clicks=0, hidden=True, **attrs({"aria-hidden": "true", "tabIndex": "-1"})),
        dcc.Store(id="cmd-refresh", data=0),
        dcc.Store(id="cmd-point", data=None),
        dcc.Store(id="cmd-sync", data=None),
        dcc.Store(id="cmd-home", data=_bounds(district_of(principal))),
        dcc.Interval(id="cmd-poll", interval=30_000),
        html.Div([html.H1(TITLE, className="cmd-title"), html.Div(id="cmd-legend", className="cmd-legend",
                                                                  children=view.legend())], className="cmd-header"),
        html.Div([html.Div(command_map(wall, district_of(principal)), className="cmd-map-wrap"),
                  html.Div(_side(wall), className="cmd-side")], className="cmd-main"),
        html.Div(_tools(chain.card(principal, _event(query))), hidden=wall),
        html.Div() if wall else layer_ages(MAP_LAYERS, prefix="cmd"),
    ], className="page page-command" + (" is-wall" if wall else ""), id="cmd-page")
    if not wall:
        return body
    return wall_shell(page="cmd", title=TITLE, body=body, ages=layer_ages(WALL_AGES, prefix="cmd"),
                      next_path="/monitor?wall=1", rotate=rotate_seconds(query, services().settings.wall_rotate_seconds))
