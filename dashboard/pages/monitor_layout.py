"""Layout of 监测预警一张图: filters, the map with its overlays, the panels; the video-wall variant."""
from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import dash_leaflet as dl
from dash import dcc, html

from accounts.principal import Principal
from dashboard import markup
from dashboard.answer_cache import layer_question
from dashboard.api.layers import CASE_LAYERS
from dashboard.audit_trail import audit_read
from dashboard.auth import current_principal
from dashboard.basemap import current_basemap
from dashboard.components.attrs import attrs
from dashboard.components.charts import GRAPH_CONFIG
from dashboard.components.wall import layer_ages, rotate_seconds, scale_width, wall_enabled, wall_shell
from dashboard.components.weather_strip import weather_strip
from dashboard.extensions import answers, services
from dashboard.read_routing import read_only
from geo import dates
from geo.geojson import FeatureCollection, feature_collection
from layers.base import LayerFilters, home_region, today_cst
from layers.diseases import disease_choices
from layers.heat import BLANK_IMAGE
from layers.institutions import KINDS
from layers.registry import get_layer

TITLE = "监测预警一张图"
ATTRIBUTION = "© OpenStreetMap contributors, geoBoundaries"
NS = "onemap.map"
MAP_LAYERS = [("incidence", "发病率分级"), ("cases", "病例点位"), ("signals", "预警信号"), ("clusters", "时空聚集区"),
              *[(f"institutions.{k}", v[0]) for k, v in KINDS.items()]]
DEFAULT_DAYS = 28
PLAY_MS = 1200
HEAT_OVERLAY = "病例热力"  # computed (kernel density, layers/heat.py) only while this overlay is checked
HEAT_PANE = "mon-heat-pane"
# The case overlay's name: its key in the layer switcher and the mon-overlays store, and its label while the
# points are clustered markers; while they come as vector tiles (not clustered) the switcher and the legend show
# CASE_TILES_LABEL instead (assets/monitor_map.js relabels the switcher, the key stays).
CASE_OVERLAY = "病例点位（聚合）"
CASE_TILES_LABEL = "病例点位（矢量切片）"
# More case points than this for the current filters: the map draws them from vector tiles (/api/v1/tiles/cases,
# assets/monitor_map.js) instead of sending every point to the browser as a clustered marker.
CASE_TILE_THRESHOLD = 3000
SHANGHAI_BOUNDS = [[30.68, 120.85], [31.88, 122.01]]


def _fn(name: str) -> dict[str, str]:
    return {"variable": f"{NS}.{name}"}


def filters_of(state: dict[str, Any]) -> LayerFilters:
    return LayerFilters(since=state.get("since"), until=state.get("until"), disease=tuple(state.get("disease") or ()),
                        region=state.get("region"), level=state.get("level"))


def _diseases() -> list[dict[str, str]]:
    with read_only() as session:
        rows = disease_choices(session)
        return [{"label": f"{r.name}（{r.klass}类）" if r.klass in ("甲", "乙", "丙") else r.name, "value": r.code}
                for r in rows]


def layer_data(layer_id: str, principal: Principal, filters: LayerFilters) -> dict[str, Any]:
    """The layer's GeoJSON, shared through the answer cache with the layer API."""
    layer = get_layer(layer_id)
    assert layer is not None

    def compute() -> FeatureCollection:
        with read_only() as session:
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
        data = layer_data(f"institutions.{kind}", principal, LayerFilters())
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
        data = layer_data(layer_id, principal, LayerFilters(since=state["since"], until=state["until"]))
        for f in data["features"]:
            f["properties"]["tooltip"] = tooltip(f["properties"])
        overlays.append(dl.Overlay(dl.GeoJSON(id=f"mon-feed-{layer_id}", data=data, pointToLayer=_fn("feedPoint")),
                                   name=title, checked=False, id=f"mon-ov-{layer_id}"))
    return overlays


def _weather(principal: Principal) -> Any:
    """The weather strip of the principal's district for the last 7 days."""
    data = layer_data("weather", principal, LayerFilters(since=(today_cst() - timedelta(days=6)).isoformat(),
                                                      until=today_cst().isoformat()))
    home = principal.district_code or services().settings.district_code
    feature = next((f for f in data["features"] if f["properties"].get("district_code") == home), None)
    return weather_strip(feature["properties"]["days"] if feature else [], title="气象（近7天）")


def monitor_map(principal: Principal, wall: bool, state: dict[str, Any]) -> Any:
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
                   name=CASE_OVERLAY, checked=True, id="mon-ov-cases"),
        # Its own pane above the choropleth (overlay pane 400), below markers and labels (600).
        dl.Overlay(dl.Pane(dl.ImageOverlay(id="mon-heat", url=BLANK_IMAGE, bounds=SHANGHAI_BOUNDS, opacity=0.9,
                                           interactive=False), name=HEAT_PANE, style={"zIndex": 450}),
                   name=HEAT_OVERLAY, checked=False, id="mon-ov-heat"),
        dl.Overlay(dl.GeoJSON(id="mon-live-cases", data=feature_collection([]),
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
        # {url, overlay, count} while case points come as vector tiles, else None (see CASE_TILE_THRESHOLD)
        dcc.Store(id="mon-case-tiles", data=None),
        html.Span(id="mon-case-mode", hidden=True),
        dcc.Store(id="mon-epicurve-data", data=None),
        dcc.Interval(id="mon-tick", interval=PLAY_MS, disabled=True),
        dcc.Interval(id="mon-poll", interval=60_000),
        html.Div([
            html.H1(TITLE, className="mon-title"),
            html.Nav(id="mon-crumbs", className="mon-crumbs", **attrs({"aria-label": "区域层级"})),
            _controls(state),
        ], className="mon-header"),
        html.Div([
            html.Div([monitor_map(principal, wall, state), html.Div(id="mon-legend", className="mon-legend"),
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
