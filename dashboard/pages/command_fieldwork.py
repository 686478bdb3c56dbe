"""The 流调 side of 应急指挥一张图 (issue 20): overlays of exposure places (with a day-by-day playback),
contacts by street and hotspots, the progress panel and the 7-1-7 line; layout pieces and callbacks.

The overlays come from the registered layers (layers.exposure_places, contact_streets, hotspots) through
`Layer.run`, the one scope check; rendering is in command_fieldwork_view.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import dash_leaflet as dl
from dash import Dash, Input, Output, State, dcc, html

from accounts.principal import Principal
from dashboard.api.command import district_of
from dashboard.extensions import services
from dashboard.pages import command_chain
from dashboard.pages import command_fieldwork_view as view
from dashboard.pages.command_access import reader
from fieldwork.errors import FieldworkError
from fieldwork.progress import contact_progress
from fieldwork.views import district_timeliness
from layers.base import LayerFilters, today_cst
from layers.fieldwork_common import DEFAULT_DAYS
from layers.registry import get_layer

OVERLAYS = (("fieldwork.places", "fw-places", "流调暴露场所"), ("fieldwork.contacts", "fw-contacts", "密接分布（按街道）"),
            ("fieldwork.hotspots", "fw-hotspots", "流调热点"))
MAP_LAYERS = [(layer_id, title) for layer_id, _, title in OVERLAYS]
TIMELINESS_DAYS = 90
ALL_DAYS = "all"


def overlays(wall: bool) -> list[Any]:
    """The three 流调 overlays of the command map (hotspots drawn below the points)."""
    def fn(name: str) -> dict[str, str]:
        return {"variable": f"onemap.command.{name}"}

    return [
        dl.Overlay(dl.GeoJSON(id="cmd-fw-hotspots", data=None, style=fn("hotspotStyle")), name="流调热点",
                   checked=True),
        dl.Overlay(dl.GeoJSON(id="cmd-fw-places", data=None, style=fn("exposureStyle"),
                              pointToLayer=fn("exposurePoint")), name="流调暴露场所", checked=True),
        dl.Overlay(dl.GeoJSON(id="cmd-fw-contacts", data=None, pointToLayer=fn("contactPoint")),
                   name="密接分布（按街道）", checked=not wall),
    ]


def progress_card() -> Any:
    """Side panel (also on the wall): contacts traced / to trace, overdue follow-ups, the 7-1-7 line."""
    return html.Section([html.H3("流调进展"), html.Div(id="cmd-fw-progress", className="cmd-fw-progress"),
                         html.P(id="cmd-fw-717", className="cmd-fw-717")], className="cmd-card")


def playback_card() -> Any:
    """The exposure places' time window: all of the last 28 days, or one day at a time (回放)."""
    marks = {-d: f"-{d}天" for d in range(0, DEFAULT_DAYS, 7)}
    return html.Section([
        html.H3("暴露场所回放"),
        dcc.RadioItems(id="cmd-fw-mode", options=[{"label": f"近{DEFAULT_DAYS}天", "value": ALL_DAYS},
                                                  {"label": "按日", "value": "day"}], value=ALL_DAYS, inline=True),
        dcc.Slider(id="cmd-fw-day", min=1 - DEFAULT_DAYS, max=0, step=1, value=0, marks=marks),
        html.Div([html.Button("播放", id="cmd-fw-play-btn", n_clicks=0, className="cmd-btn"),
                  html.Span(id="cmd-fw-window", className="cmd-msg", role="status")], className="cmd-form"),
        dcc.Interval(id="cmd-fw-play", interval=1500, disabled=True),
    ], className="cmd-card")


def window(mode: str | None, offset: int | None, today: date) -> tuple[date, date]:
    """The days the exposure places are shown for: the last 28 days, or the one day `offset` days back."""
    if mode != "day":
        return today - timedelta(days=DEFAULT_DAYS - 1), today
    day = today + timedelta(days=min(0, int(offset or 0)))
    return day, day



def _layers(principal: Principal, places: LayerFilters, recent: LayerFilters) -> tuple[Any, ...]:
    fmt = {"fieldwork.places": view.place_tooltip, "fieldwork.contacts": view.contacts_tooltip,
           "fieldwork.hotspots": view.hotspot_tooltip}
    out = []
    with services().session_factory() as s:
        for layer_id, _, _ in OVERLAYS:
            layer = get_layer(layer_id)
            assert layer is not None
            fc = layer.run(s, principal, places if layer_id == "fieldwork.places" else recent)
            out.append(view.with_tooltips(fc, fmt[layer_id]))
    return tuple(out)


def register(dash_app: Dash) -> None:
    """Callbacks of the 流调 overlays, their playback and the progress panel."""
    _register_layers(dash_app)
    _register_playback(dash_app)
    _register_progress(dash_app)
    command_chain.register(dash_app)


def _register_layers(dash_app: Dash) -> None:
    @dash_app.callback(
        Output("cmd-fw-places", "data"), Output("cmd-fw-contacts", "data"), Output("cmd-fw-hotspots", "data"),
        Output("cmd-fw-window", "children"),
        Input("cmd-poll", "n_intervals"), Input("cmd-live", "n_clicks"), Input("cmd-refresh", "data"),
        Input("cmd-fw-mode", "value"), Input("cmd-fw-day", "value"))
    def refresh_fieldwork(_tick: Any, _live: Any, _refresh: Any, mode: str | None, offset: int | None
                          ) -> tuple[Any, ...]:
        principal = reader()
        today = today_cst()
        since, until = window(mode, offset, today)
        recent = LayerFilters(since=today - timedelta(days=DEFAULT_DAYS - 1), until=today)
        label = f"暴露场所：{since.isoformat()}" + ("" if since == until else f" 至 {until.isoformat()}")
        return (*_layers(principal, LayerFilters(since=since, until=until), recent), label)


def _register_playback(dash_app: Dash) -> None:
    @dash_app.callback(Output("cmd-fw-play", "disabled"), Output("cmd-fw-play-btn", "children"),
                       Output("cmd-fw-mode", "value"), Input("cmd-fw-play-btn", "n_clicks"),
                       State("cmd-fw-play", "disabled"), prevent_initial_call=True)
    def toggle(_n: int, disabled: bool | None) -> tuple[bool, str, str]:
        playing = bool(disabled)  # a click on a stopped playback starts it
        return (not playing, "暂停" if playing else "播放", "day")

    @dash_app.callback(Output("cmd-fw-day", "value"), Input("cmd-fw-play", "n_intervals"),
                       State("cmd-fw-day", "value"), prevent_initial_call=True)
    def step(_n: int, offset: int | None) -> int:
        return next_day(offset)


def next_day(offset: int | None) -> int:
    """The playback's next day: one day later, from the oldest day again after today."""
    current = int(offset or 0)
    return 1 - DEFAULT_DAYS if current >= 0 else current + 1


def _register_progress(dash_app: Dash) -> None:
    @dash_app.callback(Output("cmd-fw-progress", "children"), Output("cmd-fw-717", "children"),
                       Input("cmd-poll", "n_intervals"), Input("cmd-live", "n_clicks"), Input("cmd-refresh", "data"))
    def refresh_progress(_tick: Any, _live: Any, _refresh: Any) -> tuple[Any, str]:
        principal = reader()
        district = district_of(principal)
        since = today_cst() - timedelta(days=TIMELINESS_DAYS - 1)
        with services().session_factory() as s:
            progress = contact_progress(s, district_code=district, now=datetime.now(UTC))
            try:
                t = district_timeliness(s, actor=principal, district=district, first=since, last=None)
            except FieldworkError:
                return view.progress_panel(progress), ""
        return view.progress_panel(progress), view.timeliness_line(t, since)
