"""Where a region's name is written on a map: one point per street of a district (its label point)."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from geo.geojson import FeatureCollection, feature, feature_collection, parsed
from store.places import Region


def street_label_points(session: Session, district: str) -> FeatureCollection:
    """The streets of `district` as a GeoJSON FeatureCollection of points, properties {code, name}.

    The stored label point where there is one, else a point on the street's surface (never outside it).
    """
    point = func.coalesce(Region.label_point, func.ST_PointOnSurface(Region.geom))
    rows = session.execute(
        select(Region.code, Region.name, func.ST_AsGeoJSON(point, 6).label("g"))
        .where(Region.parent_code == district, Region.level == "street").order_by(Region.code)).all()
    return feature_collection([feature(parsed(r.g), {"code": r.code, "name": r.name}) for r in rows])
