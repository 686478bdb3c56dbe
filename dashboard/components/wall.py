"""Video-wall shell shared by /monitor?wall=1 and /command?wall=1: clock, data age, stale banner, rotation.

The behaviour lives in assets/wall.js (clock, ages, banner, rotation, reconnect) and the look in
assets/wall.css; this module only renders the markup those files look for.
"""
from __future__ import annotations

from typing import Any

from dash import html

from dashboard.components.attrs import attrs

STALE_SECONDS = 120
# Longest scale bar in px: the wall's scale text (≥ 28 px on 4K) must fit in the bar; Leaflet's default is 100.
WALL_SCALE_WIDTH = 320
DESK_SCALE_WIDTH = 100


def wall_enabled(query: dict[str, str]) -> bool:
    """True when the page was opened for the video wall (`?wall=1`)."""
    return query.get("wall") == "1"


def scale_width(wall: bool) -> int:
    """maxWidth of the map's scale control: a longer bar on the wall so its larger text stays inside it."""
    return WALL_SCALE_WIDTH if wall else DESK_SCALE_WIDTH


def rotate_seconds(query: dict[str, str], default: int) -> int:
    """Seconds between the two maps: `?rotate=N` (0 disables), else `default` (settings.wall_rotate_seconds)."""
    raw = query.get("rotate")
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        return default
    return 0 if value <= 0 else max(value, 5)


def layer_ages(layers: list[tuple[str, str]], *, prefix: str) -> html.Div:
    """One 'layer · data age' row per (layer id, title); wall.js fills in the ages every second."""
    rows = [html.Div([html.Span(title, className="age-title"), html.Span("—", className="age-value")],
                     id=f"{prefix}-age-{layer_id.replace('.', '-')}", className="layer-age",
                     **attrs({"data-layer": layer_id, "data-synced": "", "data-updated": ""}))
            for layer_id, title in layers]
    return html.Div(rows, className="layer-ages", id=f"{prefix}-ages")


def wall_shell(*, page: str, title: str, body: Any, next_path: str, rotate: int, ages: html.Div) -> html.Div:
    """The full-screen frame: title bar (title, data ages, clock), the page body and the stale-data banner.

    The data ages sit in the title bar's middle column, so they never cover the title or the clock and are
    never cut off (assets/wall.css lays them out two by two).
    """
    header = html.Div([
        html.Div(title, className="wall-title"),
        ages,
        html.Div("", className="wall-clock", id=f"{page}-wall-clock"),
    ], className="wall-header")
    banner = html.Div("数据超过2分钟未更新，正在重新连接…", className="wall-banner", id=f"{page}-wall-banner",
                      role="alert", hidden=True)
    return html.Div([header, banner, html.Div(body, className="wall-body")], className="wall", id=f"{page}-wall",
                    **attrs({"data-next": next_path, "data-rotate": str(rotate), "data-stale": str(STALE_SECONDS)}))
