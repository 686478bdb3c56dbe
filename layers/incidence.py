"""Incidence choropleth: cases, population, rate per 100,000 and class for each district / street / grid cell."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from accounts.principal import Principal
from geo.geojson import (
    FeatureCollection,
    ForeignMembers,
    collection_json,
    compact_geometry,
    feature,
    feature_collection,
    feature_json,
    parsed,
)
from layers.base import Area, Layer, LayerFilters, Level, resolve_area
from layers.cases import case_where, rollup_where
from layers.jenks import fisher_jenks_bins
from layers.registry import register
from store import topics

COLORS = ("#fef0d9", "#fdcc8a", "#fc8d59", "#e34a33", "#b30000")
ZERO_COLOR = "#e8edf2"
LEVEL_ZH = {"district": "区", "street": "街道", "grid": "网格"}


def choropleth_level(area: Area, level: Level | None) -> Level:
    """The level of polygons drawn inside `area` (explicit `level`, else one below the area)."""
    if level is not None:
        return level
    return area.child_level or "grid"


def _region_where(area: Area, level: Level, principal: Principal) -> tuple[str, dict[str, Any]]:
    """SQL limiting `region r` to the polygons of `level` inside `area` and the principal's scope."""
    clauses: list[str] = ["r.level = :level"]
    params: dict[str, Any] = {"level": level}
    if not principal.is_city:
        clauses.append("r.district_code = :scope_district")
        params["scope_district"] = principal.district_code
    if area.kind == "district":
        clauses.append("r.district_code = :area_district")
        params["area_district"] = area.code
    elif area.kind == "street":
        clauses.append("(r.code = :area_code OR r.parent_code = :area_code)")
        params["area_code"] = area.code
    elif area.kind == "grid":
        clauses.append("r.code = :area_code")
        params["area_code"] = area.code
    elif area.kind == "institution":
        clauses.append("r.parent_code = (SELECT region_code FROM institution WHERE id = :inst_id)")
        params["inst_id"] = area.institution_id
    return " AND ".join(clauses), params


def kept_cell_applies(principal: Principal, area: Area, level: Level) -> bool:
    """True when the grid cell kept with each case (case_report.grid_code, migration 0012; in the daily rollup) is
    the one `_assign_sql` would find: cells of a district or of the city, where a case's candidates are all its
    district's cells (a street's cells are not all of them; institution users count from case_report)."""
    return level == "grid" and area.kind in ("city", "district") and principal.role != "institution_user"


def _assign_sql(level: Level, cells_sql: str) -> str:
    """SELECT the polygon code of each case `c`: its district, its street, or its grid cell.

    A case's cell is one of `cells_sql` (the area's cells, `region r`, before any bbox or tile) in its district:
    the first by code that contains the point, else (a point on an edge shared by two cells, in a gap between
    clipped cells, or geocoded just across the border) the nearest. So each case with a point counts in exactly
    one cell, and the cells of an area sum to its district or street total (cases without a point in none).
    """
    if level == "district":
        return "c.district_code"
    if level == "street":
        return "c.region_code"
    cells = f"FROM region r WHERE {cells_sql} AND r.district_code = c.district_code"
    return f"""coalesce(
        (SELECT r.code {cells} AND ST_Contains(r.geom, c.geom) ORDER BY r.code LIMIT 1),
        (SELECT r.code {cells} AND c.geom IS NOT NULL ORDER BY r.geom <-> c.geom, r.code LIMIT 1))"""


def incidence_sql(session: Session, principal: Principal, filters: LayerFilters, *, extra_region_sql: str = ""
                  ) -> tuple[Area, Level, str, dict[str, Any]]:
    """SQL of the choropleth's polygons: code, name, population, district_code, label_point, cases, geom (WGS84).

    `extra_region_sql` (e.g. " AND r.geom && …") narrows the polygons further; the vector tiles
    (layers/tiles.py) pass their tile's envelope. Scope, area, level, diseases and period as the layer.
    """
    area = resolve_area(session, principal, filters.region)
    level = choropleth_level(area, filters.level)
    since, until = filters.period()
    region_sql, params = _region_where(area, level, principal)
    counted, case_params = _counted_sql(principal, area, filters, level, region_sql)
    params.update(case_params)
    bbox_sql = ""
    if filters.bbox:
        bbox_sql = " AND ST_Intersects(r.geom, ST_MakeEnvelope(:w, :s, :e, :n, 4326))"
        params.update(dict(zip("wsen", filters.bbox, strict=True)))
    sql = f"""
        WITH polys AS (SELECT r.code, r.name, r.population, r.geom, r.district_code, r.label_point
                       FROM region r WHERE {region_sql}{bbox_sql}{extra_region_sql}),
             counted AS ({counted})
        SELECT p.code, p.name, p.population, p.district_code, p.label_point, coalesce(k.cases, 0) AS cases, p.geom
        FROM polys p LEFT JOIN counted k ON k.code = p.code"""
    return area, level, sql, params


def _counted_sql(principal: Principal, area: Area, filters: LayerFilters, level: Level, region_sql: str
                 ) -> tuple[str, dict[str, Any]]:
    """SELECT code, cases: summed from the daily rollup (districts, streets, the grid cells of a district or the
    city), else counted over `polys r`.

    `region_sql` limits `region r` to the area's polygons of `level` (no bbox): the grid cells a case may go to.
    """
    since, until = filters.period()
    rollup = rollup_where(principal, area, filters, basis="onset", since=since, until=until) \
        if level != "grid" or kept_cell_applies(principal, area, level) else None
    if rollup is not None:
        where, params = rollup
        column = {"district": "d.district_code", "street": "d.region_code", "grid": "d.grid_code"}[level]
        # summed before the polygons are joined: the planner cannot estimate `polys` (a CTE), and joined first it
        # probed the rollup's key once per polygon (91 grid cells: 9 ms instead of 1 ms at 0.7 M case reports)
        return f"SELECT {column} AS code, sum(d.n) AS cases FROM case_daily d WHERE {where} GROUP BY 1", params
    where, params = case_where(principal, area, filters, since=since, until=until)
    # OFFSET 0 keeps the subquery whole: joined by its expression, each case's cell was looked up twice
    assigned = f"SELECT {_assign_sql(level, region_sql)} AS code FROM case_report c WHERE {where} OFFSET 0"
    return f"SELECT r.code, count(*) AS cases FROM polys r JOIN ({assigned}) a ON a.code = r.code " \
           "GROUP BY r.code", params


def incidence_rows(session: Session, principal: Principal, filters: LayerFilters) -> tuple[Area, Level, list[dict[str, Any]]]:
    """One row per polygon: code, name, cases, population, rate per 100k (period total), geometry JSON."""
    area, level, polys, params = incidence_sql(session, principal, filters)
    tolerance = {"district": 0.0008, "street": 0.0002, "grid": 0.0}[level]
    sql = f"""
        SELECT p.code, p.name, p.population, p.district_code, p.cases,
               ST_AsGeoJSON(ST_SimplifyPreserveTopology(p.geom, {tolerance}), 6) AS geometry,
               ST_X(coalesce(p.label_point, ST_PointOnSurface(p.geom))) AS lon,
               ST_Y(coalesce(p.label_point, ST_PointOnSurface(p.geom))) AS lat
        FROM ({polys}) p ORDER BY p.code"""
    rows = []
    for r in session.execute(text(sql), params):
        rate = round(r.cases * 100000 / r.population, 3) if r.population else None
        rows.append({"code": r.code, "name": r.name, "level": level, "district_code": r.district_code,
                     "cases": int(r.cases), "population": r.population, "rate": rate,
                     "label": [round(r.lon, 6), round(r.lat, 6)], "geometry": r.geometry})
    return area, level, rows


def class_breaks(values: list[float], k: int = 5) -> list[float]:
    """Upper bounds of up to `k` classes (Fisher-Jenks natural breaks; deterministic)."""
    positive = np.array([v for v in values if v and v > 0], dtype=float)
    if positive.size == 0:
        return []
    distinct = np.unique(positive)
    if distinct.size <= k:
        return [float(v) for v in distinct]
    return [round(float(b), 3) for b in fisher_jenks_bins(positive, k)]  # as mapclassify.FisherJenks(…).bins


def class_of(value: float | None, breaks: list[float]) -> int:
    """Class index of `value`: -1 for zero or unknown, else the first break ≥ value."""
    if not value or value <= 0 or not breaks:
        return -1
    for i, bound in enumerate(breaks):
        if value <= bound:
            return i
    return len(breaks) - 1


def legend(breaks: list[float]) -> list[dict[str, Any]]:
    """Legend entries (label, colour) for the breaks, lowest first, with the zero class first."""
    colors = COLORS[-len(breaks):] if breaks else ()
    items = [{"label": "0", "color": ZERO_COLOR, "lower": 0.0, "upper": 0.0}]
    lower = 0.0
    for bound, color in zip(breaks, colors, strict=False):
        items.append({"label": f"{lower:.1f} – {bound:.1f}", "color": color, "lower": lower, "upper": bound})
        lower = bound
    return items


Classified = tuple[list[tuple[str, dict[str, Any], str]], ForeignMembers]


def classified(session: Session, principal: Principal, filters: LayerFilters) -> Classified:
    """The choropleth's (code, properties, geometry JSON) per polygon with its class and colour, and its members."""
    area, level, rows = incidence_rows(session, principal, filters)
    breaks = class_breaks([r["rate"] for r in rows])
    colors = COLORS[-len(breaks):] if breaks else ()
    items = []
    for r in rows:
        klass = class_of(r["rate"], breaks)
        props = {k: v for k, v in r.items() if k != "geometry"}
        props.update({"class": klass, "color": colors[klass] if klass >= 0 else ZERO_COLOR})
        items.append((r["code"], props, r["geometry"]))
    since, until = filters.period()
    members: ForeignMembers = {
        "area": {"kind": area.kind, "code": area.code, "name": area.name}, "level": level,
        "level_zh": LEVEL_ZH[level], "since": since.isoformat(), "until": until.isoformat(), "breaks": breaks,
        "legend": legend(breaks), "method": "FisherJenks", "unit": "per 100,000",
        "totals": {"cases": sum(r["cases"] for r in rows)}}
    return items, members


def incidence_layer(session: Session, principal: Principal, filters: LayerFilters) -> FeatureCollection:
    """The choropleth as GeoJSON; properties carry cases, population, rate, class and colour."""
    items, members = classified(session, principal, filters)
    return feature_collection([feature(parsed(geometry), props, id=code) for code, props, geometry in items],
                              **members)


def incidence_json(session: Session, principal: Principal, filters: LayerFilters) -> bytes:
    """`incidence_layer` as the answer's compact JSON, each polygon's geometry written once (compact_geometry)."""
    items, members = classified(session, principal, filters)
    return collection_json(",".join(feature_json(compact_geometry(geometry), props, code)
                                    for code, props, geometry in items), **members)


def _updated_at(session: Session, principal: Principal) -> datetime | None:
    from layers.cases import cases_updated_at

    return cases_updated_at(session, principal)


register(Layer("incidence", "发病率分级图（每10万）", "MultiPolygon", incidence_layer, _updated_at,
               meta={"unit": "per 100,000", "levels": ["district", "street", "grid"]},
               depends_on=(topics.CASES_BY_ONSET,), query_json=incidence_json))
