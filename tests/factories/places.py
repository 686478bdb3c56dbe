"""Shapes for synthetic regions: an axis-aligned square as EWKT, a polygon as a MultiPolygon."""
from __future__ import annotations

from typing import Any

from shapely.geometry import MultiPolygon


def square(x0: float, y0: float, x1: float, y1: float) -> str:
    """The square [x0, x1] × [y0, y1] as an SRID=4326 MULTIPOLYGON (EWKT), for `ST_GeomFromEWKT`."""
    return f"SRID=4326;MULTIPOLYGON((({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0})))"


def point(x: float, y: float) -> str:
    """A point as SRID=4326 EWKT."""
    return f"SRID=4326;POINT({x} {y})"


def multi(geom: Any) -> MultiPolygon:
    """`geom` as a MultiPolygon (the region table's type)."""
    return geom if isinstance(geom, MultiPolygon) else MultiPolygon([geom])
