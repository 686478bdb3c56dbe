"""Vector tiles (Mapbox Vector Tile) of case points and choropleth polygons, one SQL statement per tile.

A tile is the GeoJSON layer cut to ST_TileEnvelope(z, x, y) in Web Mercator: the same scope, area,
disease, period, bbox and limit (the SQL comes from layers.cases / layers.incidence, not a copy), and
the same location precision: a case point is as the caller's case layer shows it (snapped to its
200 m cell for roles without the personal-data right, layers.precision; rounded to 6 decimals
otherwise) before it is quantised to the tile's 4096 × 4096 grid, so a tile is never finer than the
GeoJSON. Properties: a case's disease, onset date, type, outcome, street and district (the
GeoJSON's, no personal data; the case id is the feature id); a polygon's code, name, level,
district, cases, population and rate per 100,000.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from accounts.principal import Principal
from core.errors import DomainError
from layers.base import LayerFilters, check_scope
from layers.cases import case_points_sql
from layers.incidence import incidence_sql

MAX_ZOOM = 22
EXTENT = 4096  # tile grid units per side
BUFFER = 64  # grid units drawn beyond each edge, so a point's symbol is not cut at the tile border
MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
NEAR_MARGIN_DEG = 0.003  # ≥ the half diagonal of a snapped cell (precision.MERCATOR_CELL, ~165 m) in degrees


class TileError(DomainError, ValueError):
    """A tile address outside the pyramid (422 naming z, x or y) or an unknown tile layer (404)."""


@dataclass(frozen=True)
class TileAddress:
    z: int
    x: int
    y: int

    def params(self) -> dict[str, Any]:
        return {"tile_z": self.z, "tile_x": self.x, "tile_y": self.y, "tile_margin": BUFFER / EXTENT}


def tile_address(z: int, x: int, y: int) -> TileAddress:
    """The address when 0 ≤ z ≤ MAX_ZOOM and 0 ≤ x, y < 2^z; else TileError (422) naming the field."""
    if not 0 <= z <= MAX_ZOOM:
        raise TileError("invalid", "tile.out_of_range", f"z must be 0–{MAX_ZOOM}", f"缩放级别 z 须为 0–{MAX_ZOOM}", "z")
    for name, value in (("x", x), ("y", y)):
        if not 0 <= value < 2 ** z:
            raise TileError("invalid", "tile.out_of_range", f"{name} must be 0–{2 ** z - 1} at z={z}",
                            f"瓦片坐标 {name} 在缩放级别 {z} 时须为 0–{2 ** z - 1}", name)
    return TileAddress(z, x, y)


def parse_tile_address(z: str, x: str, y: str) -> TileAddress:
    """`tile_address` of the path's text: a coordinate that is not a whole number (e.g. `1.5`) is a TileError
    (422 tile.not_integer) naming it, and a negative one is out of range like any other."""
    values: dict[str, int] = {}
    for name, raw in (("z", z), ("x", x), ("y", y)):
        if not re.fullmatch(r"-?[0-9]{1,10}", raw):
            raise TileError("invalid", "tile.not_integer", f"{name} must be a whole number",
                            f"瓦片坐标 {name} 须为整数", name)
        values[name] = int(raw)
    return tile_address(values["z"], values["x"], values["y"])


# The tile's envelope in Web Mercator, and (with the buffer) in the store's WGS84 for index use.
_ENVELOPE = "ST_TileEnvelope(:tile_z, :tile_x, :tile_y)"
_NEAR_4326 = "ST_Transform(ST_TileEnvelope(:tile_z, :tile_x, :tile_y, margin => :tile_margin), 4326)"


def _mvt(rows_sql: str, name: str, columns: str, geom_4326: str, feature_id: str | None) -> str:
    """One statement: `rows_sql` cut to the tile, encoded as one MVT layer `name` (empty bytes when none)."""
    id_arg = f", '{feature_id}'" if feature_id else ""
    return f"""
        WITH src AS ({rows_sql}),
             mvt AS (SELECT {columns},
                            ST_AsMVTGeom(ST_Transform({geom_4326}, 3857), {_ENVELOPE}, {EXTENT}, {BUFFER}, true)
                              AS geom
                     FROM src s WHERE {geom_4326} && {_NEAR_4326})
        SELECT coalesce((SELECT ST_AsMVT(mvt.*, '{name}', {EXTENT}, 'geom'{id_arg}) FROM mvt
                         WHERE mvt.geom IS NOT NULL), ''::bytea)"""


def case_tile(session: Session, principal: Principal, filters: LayerFilters, tile: TileAddress) -> bytes:
    """The `cases` tile: the caller's case points (as layers.cases shows them) in this tile."""
    # The recorded point may lie up to a grid cell's half diagonal from the one shown (layers.precision): the
    # rows are picked with that margin around the tile, and ST_AsMVTGeom clips the shown points to the tile.
    rows, params = case_points_sql(session, principal, filters, near=f"ST_Expand({_NEAR_4326}, {NEAR_MARGIN_DEG})")
    columns = ("s.id, s.disease_code, s.disease_name, s.onset_date::text AS onset_date, s.case_type, s.outcome, "
               "s.region_code, s.district_code")
    # ST_SnapToGrid to 1e-6°: the 6 decimals the GeoJSON gives, so a deep zoom shows nothing finer
    sql = _mvt(rows, "cases", columns, "ST_SnapToGrid(s.point, 0.000001)", "id")
    return bytes(session.execute(text(sql), {**params, **tile.params()}).scalar_one())


def incidence_tile(session: Session, principal: Principal, filters: LayerFilters, tile: TileAddress) -> bytes:
    """The `incidence` tile: the choropleth's polygons in this tile with their case counts and rates."""
    _, level, polys, params = incidence_sql(session, principal, filters, extra_region_sql=f" AND r.geom && {_NEAR_4326}")
    columns = ("s.code, s.name, CAST(:tile_level AS text) AS level, s.district_code, s.cases::int AS cases, "
               "s.population, CASE WHEN s.population > 0 THEN round(s.cases * 100000.0 / s.population, 3)::float8 "
               "END AS rate")
    sql = _mvt(polys, "incidence", columns, "s.geom", None)
    return bytes(session.execute(text(sql), {**params, **tile.params(), "tile_level": level}).scalar_one())


TileQuery = Callable[[Session, Principal, LayerFilters, TileAddress], bytes]
TILE_LAYERS: dict[str, TileQuery] = {"cases": case_tile, "incidence": incidence_tile}


def tile_layer(layer_id: str) -> TileQuery:
    """The tile query of `layer_id`; TileError (404 tile.layer_not_found) for a layer without tiles."""
    query = TILE_LAYERS.get(layer_id)
    if query is None:
        raise TileError("not_found", "tile.layer_not_found", f"no vector tiles for layer {layer_id}",
                        f"图层 {layer_id} 无矢量瓦片", "layer_id")
    return query


def render_tile(session: Session, principal: Principal, layer_id: str, filters: LayerFilters,
                tile: TileAddress) -> bytes:
    """The MVT bytes of one tile for `principal`, through the one scope check every layer passes (403 outside)."""
    query = tile_layer(layer_id)
    check_scope(session, principal, filters)
    return query(session, principal, filters, tile)
