"""监测预警一张图: the page's callbacks (layout in monitor_layout, rendering in monitor_view)."""
from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from dash import ALL, ClientsideFunction, Dash, Input, Output, State, ctx, html, no_update
from dash.exceptions import PreventUpdate
from pydantic import ValidationError

from accounts.scope import ScopeError
from dashboard import markup
from dashboard.answer_cache import summary_question
from dashboard.api.tiles import tile_url_template
from dashboard.auth import current_principal
from dashboard.extensions import answers
from dashboard.pages import monitor_layout
from dashboard.pages import monitor_view as view
from dashboard.pages.monitor_layout import TITLE, layout
from dashboard.read_routing import read_only
from geo import beijing, dates
from geo.geojson import feature, feature_collection, point
from layers import indicators
from layers.base import LayerError, LayerFilters, resolve_area
from layers.heat import BLANK_IMAGE
from layers.registry import get_layer
from layers.signals import signal_evidence

__all__ = ["PATH", "TITLE", "layout", "register"]

PATH = "/monitor"


def _map_outputs(state: dict[str, Any]) -> tuple[Any, ...]:
    principal = current_principal()
    if principal is None:
        raise PreventUpdate
    filters = monitor_layout.filters_of(state)
    with read_only() as session:
        area = resolve_area(session, principal, filters.region)
        stamps = {}
        for layer_id, _ in monitor_layout.MAP_LAYERS[:4]:
            layer = get_layer(layer_id)
            assert layer is not None  # MAP_LAYERS are all registered
            stamp = layer.updated_at(session, principal)
            stamps[layer_id] = beijing.iso(stamp)
    choro = monitor_layout.layer_data("incidence", principal, filters)
    for f in choro["features"]:
        p = f["properties"]
        rate = "—" if p["rate"] is None else f"{p['rate']:.2f}"
        p["tooltip"] = markup.tooltip(p["name"], (f"病例 {p['cases']:,}", f"人口 {p['population'] or 0:,}"),
                                      f"发病率 {rate}/10万")
    labels = feature_collection([] if choro["level"] == "grid" else [
        feature(point(f["properties"]["label"][0], f["properties"]["label"][1], ndigits=None),
                {"name": f["properties"]["name"]})
        for f in choro["features"]])
    cases, case_tiles = _case_points(monitor_layout.layer_data("cases", principal, filters), filters, stamps["cases"])
    signals = monitor_layout.layer_data("signals", principal, filters)
    clusters = monitor_layout.layer_data("clusters", principal, filters)
    for fc in (signals, clusters):
        for f in fc["features"]:
            p = f["properties"]
            p["tooltip"] = markup.tooltip(p["title"], (p["state_zh"], p["model_zh"]))
    bounds = view.bounds(choro)
    viewport = {"bounds": bounds, "transition": "flyToBounds", "options": {"duration": 0.6}} if bounds else no_update
    period = f"{filters.period()[0]} 至 {filters.period()[1]} · {area.name}"
    cases_label = case_tiles["label"] if case_tiles else monitor_layout.CASE_OVERLAY
    return (choro, labels, view.legend(choro, cases_label), cases, signals, clusters, viewport, view.crumbs(area.trail), period,
            {"at": beijing.iso(dates.now_utc()), "updated": stamps}, case_tiles)


def _case_points(cases: dict[str, Any], filters: LayerFilters, updated: str | None
                 ) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The case markers, or (above CASE_TILE_THRESHOLD points) none and the vector-tile layer that draws them.

    `updated` (when the caller's cases last changed) tells the page to fetch its tiles again: they revalidate
    with their ETag, so only changed tiles come back.
    """
    count = len(cases["features"])
    if count > monitor_layout.CASE_TILE_THRESHOLD:
        empty = {**cases, "features": []}
        return empty, {"url": tile_url_template("cases", filters), "overlay": monitor_layout.CASE_OVERLAY,
                       "label": monitor_layout.CASE_TILES_LABEL, "count": count, "updated": updated}
    for f in cases["features"]:
        p = f["properties"]
        p["tooltip"] = markup.tooltip(None, (p["disease_name"], f"发病 {p['onset_date']}"))
    return cases, None


def _panel_outputs(state: dict[str, Any], dark: bool) -> tuple[Any, ...]:
    principal = current_principal()
    if principal is None:
        raise PreventUpdate
    filters = monitor_layout.filters_of(state)

    def compute() -> dict[str, Any]:
        with read_only() as session:
            return indicators.monitor_summary(session, principal, filters)

    answer = answers().answer(summary_question(filters), principal, compute)
    summary = json.loads(answer.body)
    with read_only() as session:
        sigs = indicators.signal_list(session, principal, filters)
    k, mark = summary["kpis"], answer.version.split("/")[0]
    return view.kpi_cards(k, mark), view.state_chips(k["signals"]), view.qc_grid(summary["qc"]), view.top_list(summary["top_diseases"]), \
        view.epicurve_figure(summary["epicurve"], dark), view.signal_items(view.most_urgent(sigs, view.WALL_SIGNAL_ROWS) if dark else sigs)


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


PLAY, PAUSE = "▶ 逐日回放", "⏸ 暂停"


def _toggle_play(state: dict[str, Any]) -> tuple[Any, ...]:
    """Start the day-by-day playback from the first day of the range, or pause it."""
    if state.get("play_to"):  # pause
        return {**state, "play_to": None}, no_update, True, PLAY
    s = {**state, "play_to": state["until"], "until": state["since"]}
    return s, s["until"], False, PAUSE


def _play_step(state: dict[str, Any]) -> tuple[Any, ...]:
    """One day further in the playback; it stops at its last day."""
    if not state.get("play_to"):
        return no_update, no_update, True, PLAY
    try:
        nxt = _day(state["until"], "until") + timedelta(days=1)
        done = nxt >= _day(state["play_to"], "play_to")
    except (dates.DateRangeError, TypeError, KeyError):
        return {**state, "play_to": None}, no_update, True, PLAY
    s = {**state, "until": nxt.isoformat(), "play_to": None if done else state["play_to"]}
    return s, s["until"], done, PLAY if done else PAUSE


def _date_range(start: str, end: str) -> tuple[str, str]:
    """The picked range as ISO dates; PreventUpdate while it is incomplete or invalid."""
    if not start or not end:
        raise PreventUpdate
    try:
        return _day(str(start)[:10], "since").isoformat(), _day(str(end)[:10], "until").isoformat()
    except (dates.DateRangeError, TypeError):
        raise PreventUpdate from None


def _day(raw: str | None, field: str) -> date:
    """`dates.parse_date` for a date that must be given: TypeError when it is missing."""
    day = dates.parse_date(raw, field)
    if day is None:
        raise TypeError(f"{field} is missing")
    return day


def _clicked_region(choro_click: Any, state: dict[str, Any]) -> str:
    """The region clicked on the choropleth; PreventUpdate when it is the one shown."""
    code = (choro_click or {}).get("properties", {}).get("code")
    if not code or code == state.get("region"):
        raise PreventUpdate
    return str(code)


def _clicked_institution(inst_clicks: Any) -> Any:
    """The id of the institution marker that was clicked."""
    clicked = next((c for c in inst_clicks if c and ctx.triggered[0]["value"] == c), None)
    if not clicked:
        raise PreventUpdate
    return clicked["properties"]["id"]


def _action_value(trigger: Any, state: dict[str, Any], disease: Any, start: str, end: str, level: str,
                  choro_click: Any, crumbs: Any, inst_clicks: Any) -> Any:
    """The value the triggering control carries (see _next_state); PreventUpdate when it carries none."""
    if trigger == "mon-disease":
        return disease
    if trigger == "mon-dates":
        return _date_range(start, end)
    if trigger == "mon-level":
        return level
    if trigger == "mon-choropleth":
        return _clicked_region(choro_click, state)
    kind = trigger.get("type") if isinstance(trigger, dict) else None
    if kind == "mon-crumb" and not any(crumbs):
        raise PreventUpdate
    if kind == "mon-inst":
        return _clicked_institution(inst_clicks)
    return None


def register(dash_app: Dash) -> None:
    """Callbacks of the monitor page, bound to this Dash instance."""
    _register_filters(dash_app)
    _register_map(dash_app)
    _register_panels(dash_app)
    _register_heat(dash_app)
    _register_evidence(dash_app)
    _register_clientside(dash_app)


def _register_filters(dash_app: Dash) -> None:
    """The filter state: disease, dates, level, drill-down by map, crumbs or institution, and playback."""

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
            return _toggle_play(state)
        if trigger == "mon-tick":
            return _play_step(state)
        if trigger == "mon-dates" and state.get("play_to") and end == state["until"]:
            raise PreventUpdate  # the echo of our own playback step
        value = _action_value(trigger, state, disease, start, end, level, choro_click, crumbs, inst_clicks)
        return _next_state(state, trigger, value), no_update, no_update, no_update


def _register_map(dash_app: Dash) -> None:
    """The map's layers, legend, crumbs and period line."""

    @dash_app.callback(
        Output("mon-choropleth", "data"), Output("mon-labels", "data"), Output("mon-legend", "children"),
        Output("mon-cases", "data"), Output("mon-signals", "data"),
        Output("mon-clusters", "data"), Output("mon-map", "viewport"), Output("mon-crumbs", "children"),
        Output("mon-period", "children"), Output("mon-sync", "data"), Output("mon-case-tiles", "data"),
        Input("mon-state", "data"), Input("mon-refresh", "data"), Input("mon-poll", "n_intervals"))
    def update_map(state: dict[str, Any], _refresh: Any, _poll: Any) -> tuple[Any, ...]:
        try:
            out = _map_outputs(state)
        except (ScopeError, LayerError, ValidationError):  # ValidationError: a tampered state store
            raise PreventUpdate from None
        if ctx.triggered_id in ("mon-refresh", "mon-poll"):
            out = (*out[:6], no_update, *out[7:])  # keep the user's view on a background refresh
        return out


def _register_panels(dash_app: Dash) -> None:
    """The side panels: KPIs, signal states, quality, top diseases, epicurve and signal list."""

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


def _register_heat(dash_app: Dash) -> None:
    """The case heat overlay, computed only while it is switched on."""

    @dash_app.callback(
        Output("mon-heat", "url"), Output("mon-heat", "bounds"),
        Input("mon-overlays", "data"), Input("mon-state", "data"), Input("mon-refresh", "data"),
        prevent_initial_call=True)
    def update_heat(overlays: dict[str, bool] | None, state: dict[str, Any], _refresh: Any) -> tuple[Any, ...]:
        principal = current_principal()
        if principal is None or not (overlays or {}).get(monitor_layout.HEAT_OVERLAY):
            raise PreventUpdate
        try:
            fc = monitor_layout.layer_data("cases.heat", principal, monitor_layout.filters_of(state))
        except (ScopeError, LayerError, ValidationError):  # ValidationError: a tampered state store
            raise PreventUpdate from None
        if not fc["features"]:
            return BLANK_IMAGE, no_update
        props = fc["features"][0]["properties"]
        return props["image"], props["bounds"]


def _clicked_signal(trigger: Any, map_click: Any) -> int:
    """The signal picked in the list or on the map."""
    if isinstance(trigger, dict):
        if not ctx.triggered[0]["value"]:
            raise PreventUpdate
        return int(trigger["id"])
    if map_click:
        return int(map_click["properties"]["id"])
    raise PreventUpdate


def _register_evidence(dash_app: Dash) -> None:
    """A signal's evidence panel, opened from the signal list or the map."""

    @dash_app.callback(
        Output("mon-evidence", "children"), Output("mon-evidence", "hidden"),
        Input({"type": "mon-sig", "id": ALL}, "n_clicks"), Input("mon-signals", "clickData"),
        prevent_initial_call=True)
    def open_evidence(clicks: Any, map_click: Any) -> tuple[Any, ...]:
        signal_id = _clicked_signal(ctx.triggered_id, map_click)
        principal = current_principal()
        if principal is None:
            raise PreventUpdate
        with read_only() as session:
            try:
                ev = signal_evidence(session, principal, signal_id)
            except (ScopeError, LayerError):
                return [html.P("无权查看或信号不存在"), html.Button("关闭", id="mon-evidence-close", n_clicks=0)], False
        return view.evidence(ev), False


def _register_clientside(dash_app: Dash) -> None:
    """The browser-side callbacks (assets/monitor*.js): overlays, evidence closing, live cases, figure, sync mark."""
    dash_app.clientside_callback(ClientsideFunction("onemap_monitor", "applyOverlays"),
                                 [Output(i, "checked") for i in monitor_layout.overlay_ids()], Input("mon-overlays", "data"),
                                 [State(i, "name") for i in monitor_layout.overlay_ids()])
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
    # Case points from vector tiles when there are many (assets/monitor_map.js adds the Leaflet.VectorGrid layer).
    dash_app.clientside_callback(ClientsideFunction("onemap_monitor", "applyCaseTiles"),
                                 Output("mon-case-mode", "children"), Input("mon-case-tiles", "data"))
    dash_app.clientside_callback(ClientsideFunction("onemap_monitor", "markSynced"),
                                 Output("mon-ages", "className"), Input("mon-sync", "data"), prevent_initial_call=True)
