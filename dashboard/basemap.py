"""The basemap of every map: an offline MBTiles / PMTiles file served by us, or a tile server's URL.

`BASEMAP_FILE` (a local MBTiles or PMTiles file) is served at `/basemap/<z>/<x>/<y>.<ext>` to logged-in
users and bearer-token clients, like the other map data; it wins over `BASEMAP_URL` (an internal tile
server or 天地图 WMTS). Attribution: `BASEMAP_ATTRIBUTION`, else the file's metadata. Missing tiles
are 404, bad z/x/y or extension 400 naming the field, an unconfigured or unreadable file 404.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, Response, current_app

from dashboard import markup
from dashboard.auth import require_principal
from dashboard.errors import ApiError
from dashboard.extensions import services
from geo.tiles import MEDIA_TYPES, TileFileError, TileRangeError, TileSource, check_tile, normalise_ext, open_tiles

log = logging.getLogger(__name__)
bp = Blueprint("basemap", __name__)
SOURCE_KEY = "onemap_basemap"
PREFIX = "/basemap/"
TILE_CACHE = "private, max-age=86400"  # tiles hold no personal data; private because the route needs a login


@dataclass(frozen=True)
class Basemap:
    """Options of the one basemap tile layer (Leaflet TileLayer / folium.TileLayer)."""

    url: str
    attribution: str  # escaped text: Leaflet puts attribution into the page as HTML
    max_zoom: int = 18
    min_native_zoom: int | None = None
    max_native_zoom: int | None = None
    bounds: list[list[float]] | None = None  # [[south, west], [north, east]]: no requests outside the file

    def leaflet_props(self) -> dict[str, Any]:
        props: dict[str, Any] = {"url": self.url, "maxZoom": self.max_zoom}
        if self.attribution:
            props["attribution"] = self.attribution
        for key, value in (("minNativeZoom", self.min_native_zoom), ("maxNativeZoom", self.max_native_zoom),
                           ("bounds", self.bounds)):
            if value is not None:
                props[key] = value
        return props


def install_basemap(app: Flask) -> None:
    """Open BASEMAP_FILE once (a bad file is logged and the maps go without it) and register the route."""
    settings = app.extensions["onemap"].settings
    source: TileSource | None = None
    if settings.basemap_file:
        try:
            source = open_tiles(settings.basemap_file)
        except TileFileError as exc:
            log.error("BASEMAP_FILE not used: %s", exc)
    app.extensions[SOURCE_KEY] = source
    app.register_blueprint(bp)


def _source() -> TileSource | None:
    return current_app.extensions.get(SOURCE_KEY)


def current_basemap() -> Basemap | None:
    """The configured basemap for the maps, or None (then the maps show boundaries, labels and layers)."""
    settings = services().settings
    source = _source()
    credit = settings.basemap_attribution
    if source is not None:
        info = source.info
        bounds = [[info.bounds[1], info.bounds[0]], [info.bounds[3], info.bounds[2]]] if info.bounds else None
        return Basemap(url=f"{PREFIX}{{z}}/{{x}}/{{y}}.{info.ext}", attribution=str(markup.text(credit or info.attribution)),
                       min_native_zoom=info.min_zoom, max_native_zoom=info.max_zoom, bounds=bounds)
    if settings.basemap_url:
        return Basemap(url=settings.basemap_url, attribution=str(markup.text(credit)))
    return None


def _coord(name: str, value: str) -> int:
    if not value.isdigit() or len(value) > 9:
        raise ApiError(400, "basemap.bad_tile", f"{name} must be a non-negative integer", f"瓦片坐标 {name} 须为非负整数", name)
    return int(value)


@bp.get(f"{PREFIX}<path:rest>")
@require_principal()
def not_a_tile(rest: str) -> Response:
    """Anything under /basemap/ that is not z/x/y.ext: 400 (the Dash page catch-all would answer 200)."""
    raise ApiError(400, "basemap.bad_tile", "tile address must be /basemap/<z>/<x>/<y>.<ext>",
                   "瓦片地址须为 /basemap/<z>/<x>/<y>.<格式>", "path")


@bp.get(f"{PREFIX}<z>/<x>/<y>.<ext>")
@require_principal()
def tile(z: str, x: str, y: str, ext: str) -> Response:
    zi, xi, yi = _coord("z", z), _coord("x", x), _coord("y", y)
    try:
        check_tile(zi, xi, yi)
        wanted = normalise_ext(ext)
    except TileRangeError as exc:
        raise ApiError(400, "basemap.bad_tile", exc.message, exc.message_zh, exc.field) from None
    source = _source()
    if source is None:
        raise ApiError(404, "basemap.not_configured", "no basemap file is configured", "未配置离线底图文件")
    data = source.tile(zi, xi, yi) if wanted == source.info.ext else None
    if data is None:
        raise ApiError(404, "basemap.tile_not_found", "no such tile", "底图瓦片不存在", "tile")
    resp = Response(data, mimetype=MEDIA_TYPES[wanted])
    if source.info.gzip and data[:2] == b"\x1f\x8b":
        resp.headers["Content-Encoding"] = "gzip"
    resp.headers["Cache-Control"] = TILE_CACHE
    return resp
