"""How precisely a case location is shown: the recorded point, or the centre of a 200 m grid cell.

Callers without the personal-data right (masked roles, the wall kiosk, embeds, the city API,
institution users) get every case point snapped in SQL, so the precise point never leaves the
database for them. The grid is laid in Web Mercator with cells of `CELL_M` metres on the ground
at Shanghai's latitude; a snapped point is the centre of its cell, the same for every case in it.
"""
from __future__ import annotations

import math
from typing import Any

from accounts.principal import Principal
from accounts.scope import precise_locations

CELL_M = 200.0
REFERENCE_LAT = 31.2  # Shanghai: where a Mercator cell of MERCATOR_CELL is CELL_M on the ground
MERCATOR_CELL = round(CELL_M / math.cos(math.radians(REFERENCE_LAT)), 3)


def snapped_sql(geom: str) -> str:
    """SQL: the centre of the grid cell `geom` (a WGS84 point expression) falls in."""
    half = MERCATOR_CELL / 2
    return (f"ST_Transform(ST_SnapToGrid(ST_Transform({geom}, 3857), {half}, {half}, "
            f"{MERCATOR_CELL}, {MERCATOR_CELL}), 4326)")


def case_point_sql(principal: Principal, geom: str = "c.geom") -> str:
    """SQL for a case's point as `principal` may see it: precise, or snapped to its grid cell."""
    return geom if precise_locations(principal) else snapped_sql(geom)


EARTH_RADIUS_M = 6378137.0  # EPSG:3857, the sphere ST_Transform(…, 3857) projects on


def snap_point(lon: float, lat: float) -> list[float]:
    """The centre of the grid cell a WGS84 point falls in, as `snapped_sql` computes it (6 decimals)."""
    x = math.radians(lon) * EARTH_RADIUS_M
    y = math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) * EARTH_RADIUS_M
    half = MERCATOR_CELL / 2
    sx = round((x - half) / MERCATOR_CELL) * MERCATOR_CELL + half
    sy = round((y - half) / MERCATOR_CELL) * MERCATOR_CELL + half
    return [round(math.degrees(sx / EARTH_RADIUS_M), 6),
            round(math.degrees(2 * math.atan(math.exp(sy / EARTH_RADIUS_M)) - math.pi / 2), 6)]


def event_for_viewer(principal: Principal, event: dict[str, Any]) -> dict[str, Any]:
    """A live change event as `principal` may see it: a case's point snapped unless precise locations are allowed.

    The live relay sends every screen the point of a new case report; it must be no more precise than the
    case layer the same screen draws (see `case_point_sql`).
    """
    point = event.get("geometry")
    if event.get("kind") != "case_report" or precise_locations(principal) or not isinstance(point, list) \
            or len(point) < 2:
        return event
    return {**event, "geometry": snap_point(float(point[0]), float(point[1]))}
