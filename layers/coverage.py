"""Fever-clinic coverage: streets coloured by the share of residents beyond the radius, and the service area."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from accounts.principal import Principal
from accounts.scope import ScopeError
from geo.geojson import FeatureCollection, feature, feature_collection, parsed
from layers.base import Layer, LayerError, LayerFilters, resolve_area
from layers.registry import register
from store import topics

# Leaf regions: the finest polygons that carry a population (grid where present, else street, else district).
LEAF_REGIONS = """SELECT r.code, r.level, r.parent_code, r.district_code, r.population, r.geom FROM region r
    WHERE r.population IS NOT NULL AND r.level <> 'city'
      AND NOT EXISTS (SELECT 1 FROM region c WHERE c.parent_code = r.code AND c.population IS NOT NULL)"""
DEFAULT_RADIUS_M = 3000.0
COLORS = ((0.05, "#e5f5e0"), (0.2, "#fdd49e"), (0.5, "#fc8d59"), (1.01, "#d7301f"))

# Streets of the district; leaf units are the street itself or its grid cells.
_SQL = f"""
WITH d AS (SELECT geom FROM region WHERE code = :district),
clinics AS (
    SELECT i.geom FROM institution i, d
    WHERE i.fever_clinic AND i.geom IS NOT NULL AND ST_DWithin(i.geom::geography, d.geom::geography, :r)),
cover AS (SELECT ST_Union(ST_Buffer(c.geom::geography, :r, 'quad_segs=16')::geometry) AS g FROM clinics c),
units AS (
    SELECT CASE WHEN l.level = 'grid' THEN l.parent_code ELSE l.code END AS street, l.population, l.geom
    FROM ({LEAF_REGIONS}) l WHERE l.level IN ('street', 'grid') AND l.district_code = :district),
per_unit AS (
    SELECT u.street, u.population,
           u.population * COALESCE(ST_Area(ST_Difference(u.geom, cover.g)::geography), ST_Area(u.geom::geography))
               / NULLIF(ST_Area(u.geom::geography), 0) AS outside
    FROM units u CROSS JOIN cover)
SELECT s.code, s.name, SUM(p.population), SUM(p.outside)
FROM per_unit p JOIN region s ON s.code = p.street
GROUP BY s.code, s.name ORDER BY SUM(p.outside) DESC, s.code
"""


def coverage(session: Session, *, district_code: str, radius_m: float) -> dict[str, Any]:
    """Per street: residents and residents farther than `radius_m` from every fever clinic; plus the service area."""
    params = {"district": district_code, "r": radius_m}
    streets = [{"code": r[0], "name": r[1], "population": round(float(r[2] or 0)),
                "outside": round(float(r[3] or 0)),
                "outside_share": (float(r[3] or 0) / float(r[2])) if r[2] else 0.0}
               for r in session.execute(text(_SQL), params).all()]
    area = session.execute(text("""
        WITH d AS (SELECT geom FROM region WHERE code = :district)
        SELECT ST_AsGeoJSON(ST_Union(ST_Buffer(i.geom::geography, :r, 'quad_segs=16')::geometry), 6), COUNT(*)
        FROM institution i, d
        WHERE i.fever_clinic AND i.geom IS NOT NULL AND ST_DWithin(i.geom::geography, d.geom::geography, :r)"""),
        params).first()
    population = sum(s["population"] for s in streets)
    outside = sum(s["outside"] for s in streets)
    return {"district_code": district_code, "radius_m": radius_m, "clinics": int(area[1]) if area else 0,
            "service_area": json.loads(area[0]) if area and area[0] else None, "streets": streets,
            "population": population, "outside": outside,
            "outside_share": outside / population if population else 0.0}


def color_for(share: float) -> str:
    """Colour class of an outside-share (green when almost everyone is within reach)."""
    return next(c for limit, c in COLORS if share < limit)


def coverage_geojson(session: Session, principal: Principal, filters: LayerFilters | None = None,
                     radius_m: float = DEFAULT_RADIUS_M, district_code: str | None = None) -> FeatureCollection:
    """Street polygons with residents outside the radius of every fever clinic; the service area as a member.

    The district is `district_code`, else the filtered area's, else the principal's own; it is checked
    against the principal's scope. Institution users see no district data: an empty collection.
    """
    if principal.role == "institution_user":
        if filters is not None and filters.region:
            resolve_area(session, principal, filters.region)  # out of scope → ScopeError
        return feature_collection([], service_area=None, radius_m=radius_m, clinics=0, population=0, outside=0)
    area = resolve_area(session, principal, filters.region) if filters is not None and filters.region else None
    district = district_code or (area.district_code if area is not None else None) or principal.district_code
    if district is None:
        raise LayerError(422, "coverage.district_required", "coverage needs a district", "覆盖分析需指定区", "region")
    if not principal.may_see_district(district):
        raise ScopeError(f"{principal.username} may not see coverage of {district}")
    result = coverage(session, district_code=district, radius_m=radius_m)
    shapes: dict[str, Any] = dict(session.execute(text(
        "SELECT code, ST_AsGeoJSON(geom, 6) FROM region WHERE code = ANY(:codes)"),
        {"codes": [s["code"] for s in result["streets"]]}).all())
    features = [feature(parsed(shapes[s["code"]]), id=s["code"], properties={**s, "color": color_for(s["outside_share"])})
                for s in result["streets"]]
    return feature_collection(features, service_area=result["service_area"], radius_m=radius_m,
                              clinics=result["clinics"], population=result["population"], outside=result["outside"])


def _updated_at(session: Session, principal: Principal) -> datetime | None:
    return session.execute(text("SELECT MAX(created_at) FROM institution WHERE fever_clinic")).scalar()


register(Layer("coverage", "发热门诊服务覆盖", "MultiPolygon", coverage_geojson, _updated_at, group="command",
               meta={"radius_m": DEFAULT_RADIUS_M}, depends_on=(topics.INSTITUTIONS,)))
