"""A district's extent and the outlines of it and its streets (the command map reads without a basemap)."""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.geojson import FeatureCollection, feature, feature_collection, parsed


def district_bounds(session: Session, district: str) -> list[list[float]] | None:
    """[[south, west], [north, east]] of the district, for a map's initial view."""
    row = session.execute(text("SELECT ST_YMin(e), ST_XMin(e), ST_YMax(e), ST_XMax(e) FROM "
                               "(SELECT ST_Extent(geom) AS e FROM region WHERE code = :d) x"), {"d": district}).first()
    return [[row[0], row[1]], [row[2], row[3]]] if row and row[0] is not None else None


def district_outlines(session: Session, district: str) -> FeatureCollection:
    """The district and its streets as simplified polygons (properties code, name, level)."""
    rows = session.execute(text(
        "SELECT code, name, level, ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, 0.0001), 6) AS g "
        "FROM region WHERE code = :d OR (parent_code = :d AND level = 'street')"), {"d": district}).all()
    return feature_collection([feature(parsed(r.g), {"code": r.code, "name": r.name, "level": r.level})
                               for r in rows])
