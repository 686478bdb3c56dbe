"""Case points (no personal data) and the SQL that selects the cases every monitor figure counts."""
from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from accounts import scope
from accounts.principal import Principal
from geo.geojson import FeatureCollection, collection_json, feature_collection
from layers.base import Area, Layer, LayerFilters, resolve_area
from layers.json_sql import number_sql, object_sql, value_sql
from layers.precision import case_point_sql
from layers.registry import register
from store import topics

# Report cards that count as cases: suspected cases and carriers are excluded until confirmed.
COUNTED_TYPES = ("confirmed", "clinical")


def scope_sql(principal: Principal, alias: str = "c") -> tuple[str, dict[str, Any]]:
    """SQL limiting case reports to what `principal` may see (accounts.scope's one rule)."""
    return scope.scope_sql(principal, f"{alias}.district_code", f"{alias}.reporting_institution_id")


def area_sql(area: Area, alias: str = "c") -> tuple[str, dict[str, Any]]:
    """SQL limiting case reports to `area` (district code, street code, point in grid cell, institution)."""
    if area.kind == "district":
        return f"{alias}.district_code = :area_district", {"area_district": area.code}
    if area.kind == "street":
        return f"{alias}.region_code = :area_street", {"area_street": area.code}
    if area.kind == "grid":
        return (f"{alias}.district_code = :area_grid_district AND ST_Contains("
                f"(SELECT geom FROM region WHERE code = :area_grid), {alias}.geom)",
                {"area_grid": area.code, "area_grid_district": area.district_code})
    if area.kind == "institution":
        return f"{alias}.reporting_institution_id = :area_inst", {"area_inst": area.institution_id}
    return "TRUE", {}


def case_where(principal: Principal, area: Area, filters: LayerFilters, *, since: date | None, until: date | None,
               alias: str = "c", date_column: str = "onset_date") -> tuple[str, dict[str, Any]]:
    """The WHERE clause (for `case_report <alias>`) of counted cases in scope, area, diseases and period."""
    return _counted_where([], {}, principal, area, filters, (since, until), alias, date_column)


def _counted_where(parts: list[str], params: dict[str, Any], principal: Principal, area: Area, filters: LayerFilters,
                   period: tuple[date | None, date | None], alias: str, date_column: str) -> tuple[str, dict[str, Any]]:
    """`parts` AND counted case types, scope, area, diseases and `period` on `<alias>.<date_column>`."""
    parts = [*parts, f"{alias}.case_type IN ('confirmed', 'clinical')"]
    for sql, p in (scope_sql(principal, alias), area_sql(area, alias)):
        parts.append(sql)
        params.update(p)
    if filters.disease:
        parts.append(f"{alias}.disease_code = ANY(:diseases)")
        params["diseases"] = list(filters.disease)
    since, until = period
    if since is not None:
        parts.append(f"{alias}.{date_column} >= :since")
        params["since"] = since
    if until is not None:
        parts.append(f"{alias}.{date_column} <= :until")
        params["until"] = until
    return " AND ".join(parts), params


# What a case point shows (no personal data): the GeoJSON layer and its vector tiles (layers/tiles.py) share it.
POINT_PROPERTIES = ("id", "disease_code", "disease_name", "onset_date", "case_type", "outcome", "region_code",
                    "district_code")


def points_where(session: Session, principal: Principal, filters: LayerFilters, alias: str = "c"
                 ) -> tuple[str, dict[str, Any]]:
    """The WHERE clause (for `case_report <alias>`) of the case points the layer shows `principal`: counted
    cases in scope, area, diseases and period, with a recorded point (within `filters.bbox` when given)."""
    return _points_where(principal, resolve_area(session, principal, filters.region), filters, alias)


def _points_where(principal: Principal, area: Area, filters: LayerFilters, alias: str) -> tuple[str, dict[str, Any]]:
    since, until = filters.period()
    where, params = case_where(principal, area, filters, since=since, until=until, alias=alias)
    if filters.bbox:
        where += f" AND {alias}.geom && ST_MakeEnvelope(:w, :s, :e, :n, 4326)"
        params.update(dict(zip("wsen", filters.bbox, strict=True)))
    return f"{where} AND {alias}.geom IS NOT NULL", params


def case_points_sql(session: Session, principal: Principal, filters: LayerFilters, *, near: str | None = None
                    ) -> tuple[str, dict[str, Any]]:
    """SQL of the case points the layer shows `principal`: one row per case with POINT_PROPERTIES and `point`.

    The point (WGS84) is already as precise as the caller may see it (layers.precision); newest first,
    at most `filters.limit` rows, within `filters.bbox` when given. `near` (an SQL box, WGS84) keeps only
    those of the same rows whose recorded point lies in it (the vector tiles pass their tile's
    envelope): the newest `limit` rows are then told by the onset date and id of the `limit`-th row,
    so a tile reads the index for its own box rather than every point of the period.
    """
    area = resolve_area(session, principal, filters.region)
    where, params = _points_where(principal, area, filters, "c")
    newest, _ = _points_where(principal, area, filters, "k")
    params["limit"] = filters.limit
    rows = f"{where} ORDER BY c.onset_date DESC, c.id DESC LIMIT :limit"
    if near is not None:
        rows = f"""{where} AND c.geom && {near} AND (c.onset_date, c.id) >= ALL (
                       SELECT k.onset_date, k.id FROM case_report k WHERE {newest}
                       ORDER BY k.onset_date DESC, k.id DESC OFFSET :limit - 1 LIMIT 1)"""
    return points_select(principal, rows), params


def points_select(principal: Principal, rows: str) -> str:
    """SQL: POINT_PROPERTIES and the shown `point` of the case reports `SELECT * FROM case_report c WHERE <rows>`."""
    return f"""SELECT c.id, c.disease_code, d.name AS disease_name, c.onset_date, c.case_type, c.outcome,
                      c.region_code, c.district_code, {case_point_sql(principal, "c.geom")} AS point
               FROM (SELECT * FROM case_report c WHERE {rows}) c
               JOIN disease d ON d.code = c.disease_code"""


def rollup_where(principal: Principal, area: Area, filters: LayerFilters, *, basis: str, since: date | None,
                 until: date | None, alias: str = "d") -> tuple[str, dict[str, Any]] | None:
    """`case_where` for the daily rollup `case_daily <alias>` (store.rollups), counting by `basis` ('onset' or
    'report' day); None when the rollup cannot answer (institution scope, grid cell or institution area:
    those count from case_report)."""
    if principal.role == "institution_user" or area.kind not in ("city", "district", "street"):
        return None
    return _counted_where([f"{alias}.basis = :rollup_basis"], {"rollup_basis": basis}, principal, area, filters,
                          (since, until), alias, "day")


# SQL: one case point `p` (a row of points_select) as a GeoJSON Feature, coordinates to 6 decimals.
FEATURE_JSON = """json_build_object(
    'type', 'Feature', 'id', p.id,
    'geometry', json_build_object('type', 'Point', 'coordinates', json_build_array(round(ST_X(p.point)::numeric, 6),
                                                                                   round(ST_Y(p.point)::numeric, 6))),
    'properties', json_build_object('id', p.id, 'disease_code', p.disease_code, 'disease_name', p.disease_name,
                                    'onset_date', p.onset_date, 'case_type', p.case_type, 'outcome', p.outcome,
                                    'region_code', p.region_code, 'district_code', p.district_code))"""


# SQL: the same Feature as compact JSON text, as the answers' encoder writes FEATURE_JSON once parsed (json_sql);
# over `(<points_select>) p, LATERAL (SELECT <POINT_XY>) q`.
POINT_XY = "round(ST_X(p.point)::numeric, 6) AS x, round(ST_Y(p.point)::numeric, 6) AS y"
FEATURE_TEXT = object_sql(
    ("type", "'\"Feature\"'"), ("id", "p.id::text"),
    ("geometry", object_sql(("type", "'\"Point\"'"),
                            ("coordinates", f"'[' || {number_sql('q.x')} || ',' || {number_sql('q.y')} || ']'"))),
    ("properties", object_sql(*[(name, value_sql(f"p.{name}")) for name in POINT_PROPERTIES])))


def cases_layer(session: Session, principal: Principal, filters: LayerFilters) -> FeatureCollection:
    """Case points by onset date in the period, newest first (at most `filters.limit`)."""
    rows, params = case_points_sql(session, principal, filters)
    sql = f"""SELECT coalesce(json_agg({FEATURE_JSON} ORDER BY p.onset_date DESC, p.id DESC)::text, '[]')
              FROM ({rows}) p"""
    features = json.loads(session.execute(text(sql), params).scalar_one())
    since, until = filters.period()
    return feature_collection(features, truncated=len(features) >= filters.limit,
                              since=since.isoformat(), until=until.isoformat())


def cases_json(session: Session, principal: Principal, filters: LayerFilters) -> bytes:
    """`cases_layer` as the answer's compact JSON, written by PostgreSQL: the same bytes, without parsing."""
    rows, params = case_points_sql(session, principal, filters)
    sql = f"""SELECT coalesce(string_agg({FEATURE_TEXT}, ',' ORDER BY p.onset_date DESC, p.id DESC), ''), count(*)
              FROM ({rows}) p, LATERAL (SELECT {POINT_XY}) q"""
    features, count = session.execute(text(sql), params).one()
    since, until = filters.period()
    return collection_json(features, truncated=count >= filters.limit, since=since.isoformat(),
                           until=until.isoformat())


def cases_updated_at(session: Session, principal: Principal) -> datetime | None:
    """When a case report visible to `principal` last changed."""
    where, params = scope_sql(principal)
    return session.execute(text(f"SELECT max(c.updated_at) FROM case_report c WHERE {where}"), params).scalar()


register(Layer("cases", "病例点位", "Point", cases_layer, cases_updated_at,
               meta={"render": ["cluster", "heat"], "date_basis": "onset_date"},
               depends_on=(topics.CASES_BY_ONSET,), query_json=cases_json))
