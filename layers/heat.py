"""Case heat map: a Gaussian kernel density of the counted cases, as a transparent PNG over the area's extent.

Computed on a grid of about 100 m cells in a local metric frame (cos-latitude scaled degrees, which is
within 0.1 % of a projected CRS over one district), smoothed with a Gaussian kernel of bandwidth
`BANDWIDTH_M`, and coloured from translucent blue to opaque magenta by density relative to the
area's peak. The same cases as every other monitor figure (scope, area, diseases, period).
"""
from __future__ import annotations

import base64
import math
import struct
import zlib
from datetime import datetime

import numpy as np
from scipy.ndimage import gaussian_filter
from sqlalchemy import text
from sqlalchemy.orm import Session

from accounts.principal import Principal
from geo.geojson import FeatureCollection, feature, feature_collection
from layers.base import Area, Layer, LayerFilters, resolve_area
from layers.cases import case_where, cases_updated_at
from layers.precision import case_point_sql
from layers.registry import register
from store import topics

BANDWIDTH_M = 400.0
CELL_M = 50.0
MAX_CELLS = 600  # on the long side: a whole-city view gets coarser cells, never a huge image
METRES_PER_DEGREE = 111_320.0
# Colour ramp (density share → RGBA): cyan, blue, violet, magenta, so that it stands out on the orange-red
# choropleth it is drawn over; alpha grows with density but even the fringe stays visible.
RAMP = np.array([(0.0, 65, 182, 196, 0), (0.1, 44, 127, 184, 140), (0.35, 37, 52, 148, 190),
                 (0.65, 129, 15, 124, 225), (1.0, 231, 41, 138, 245)], dtype=float)


def _extent(session: Session, area: Area) -> tuple[float, float, float, float] | None:
    """West, south, east, north of the area the heat map covers (None for an institution)."""
    if area.kind in ("district", "street", "grid"):
        row = session.execute(text("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                                   "(SELECT ST_Extent(geom) e FROM region WHERE code = :c) x"), {"c": area.code}).one()
    elif area.kind == "city":
        row = session.execute(text("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                                   "(SELECT ST_Extent(geom) e FROM region WHERE level = 'district') x")).one()
    else:
        return None
    return None if row[0] is None else (float(row[0]), float(row[1]), float(row[2]), float(row[3]))


def _points(session: Session, principal: Principal, area: Area, filters: LayerFilters) -> np.ndarray:
    since, until = filters.period()
    where, params = case_where(principal, area, filters, since=since, until=until)
    point = case_point_sql(principal, "c.geom")
    rows = session.execute(text(f"SELECT ST_X(p), ST_Y(p) FROM (SELECT {point} AS p FROM case_report c "
                                f"WHERE {where} AND c.geom IS NOT NULL) x"), params).all()
    return np.array(rows, dtype=float).reshape(-1, 2)


def density_grid(points: np.ndarray, extent: tuple[float, float, float, float], *, bandwidth_m: float = BANDWIDTH_M,
                 cell_m: float = CELL_M) -> tuple[np.ndarray, float]:
    """Kernel density (cases per km²) on a grid over `extent`, north row first; and the cell size used (m)."""
    west, south, east, north = extent
    kx = METRES_PER_DEGREE * math.cos(math.radians((south + north) / 2))
    width_m, height_m = (east - west) * kx, (north - south) * METRES_PER_DEGREE
    cell = max(cell_m, max(width_m, height_m) / MAX_CELLS)
    nx, ny = max(1, math.ceil(width_m / cell)), max(1, math.ceil(height_m / cell))
    counts, _, _ = np.histogram2d(points[:, 1], points[:, 0], bins=(ny, nx), range=((south, north), (west, east))) \
        if len(points) else (np.zeros((ny, nx)), None, None)
    smooth = gaussian_filter(counts, sigma=bandwidth_m / cell, mode="constant")
    per_km2 = smooth / (cell / 1000.0) ** 2
    return per_km2[::-1], cell


def colourise(density: np.ndarray) -> np.ndarray:
    """RGBA image (uint8) of a density grid; zero density is fully transparent.

    Scaled to the 99th percentile of the covered cells rather than the peak, so that one address with
    many cases (an outbreak in a building) does not wash out every other hot spot of the area.
    """
    covered = density[density > 0]
    top = float(np.percentile(covered, 99)) if covered.size else 0.0
    share = np.clip(density / top, 0, 1) if top > 0 else np.zeros_like(density)
    rgba = np.stack([np.interp(share, RAMP[:, 0], RAMP[:, i]) for i in range(1, 5)], axis=-1)
    rgba[share < 0.02] = 0
    return rgba.round().astype(np.uint8)


def png_bytes(rgba: np.ndarray) -> bytes:
    """A minimal PNG encoder (RGBA, 8 bit): enough for a heat overlay, without an imaging library."""
    height, width, _ = rgba.shape
    raw = b"".join(b"\x00" + rgba[y].tobytes() for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")


BLANK_IMAGE = "data:image/png;base64," + base64.b64encode(png_bytes(np.zeros((1, 1, 4), dtype=np.uint8))).decode()


def heat_layer(session: Session, principal: Principal, filters: LayerFilters) -> FeatureCollection:
    """One feature: the area's extent, with the heat image (PNG data URL) and what it was made from."""
    area = resolve_area(session, principal, filters.region)
    extent = _extent(session, area)
    since, until = filters.period()
    if extent is None:
        return feature_collection([], since=since.isoformat(), until=until.isoformat())
    points = _points(session, principal, area, filters)
    density, cell = density_grid(points, extent)
    west, south, east, north = extent
    image = "data:image/png;base64," + base64.b64encode(png_bytes(colourise(density))).decode()
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    heat = feature({"type": "Polygon", "coordinates": [ring]}, id="heat", properties={
        "image": image, "bounds": [[south, west], [north, east]], "cases": int(len(points)),
        "peak_per_km2": round(float(density.max()), 3) if density.size else 0.0,
        "bandwidth_m": BANDWIDTH_M, "cell_m": round(cell, 1), "kernel": "gaussian",
    })
    return feature_collection([heat], since=since.isoformat(), until=until.isoformat())


def _updated_at(session: Session, principal: Principal) -> datetime | None:
    return cases_updated_at(session, principal)


register(Layer("cases.heat", "病例热力（核密度）", "Polygon", heat_layer, _updated_at,
               meta={"render": "image", "bandwidth_m": BANDWIDTH_M, "date_basis": "onset_date"},
               depends_on=(topics.CASES_BY_ONSET,)))
