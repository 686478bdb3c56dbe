"""Case points (no personal data) and the SQL that selects the cases every monitor figure counts."""
from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from accounts import scope
from accounts.principal import Principal
from geo.geojson import FeatureCollection, feature_collection
from layers.base import Area, Layer, LayerFilters, resolve_area
from layers.precision import case_point_sql
from layers.registry import register

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
    parts, params = [f"{alias}.case_type IN ('confirmed', 'clinical')"], {}
    for sql, p in (scope_sql(principal, alias), area_sql(area, alias)):
        parts.append(sql)
        params.update(p)
    if filters.disease:
        parts.append(f"{alias}.disease_code = ANY(:diseases)")
        params["diseases"] = list(filters.disease)
    if since is not None:
        parts.append(f"{alias}.{date_column} >= :since")
        params["since"] = since
    if until is not None:
        parts.append(f"{alias}.{date_column} <= :until")
        params["until"] = until
    return " AND ".join(parts), params


def cases_layer(session: Session, principal: Principal, filters: LayerFilters) -> FeatureCollection:
    """Case points by onset date in the period, newest first (at most `filters.limit`)."""
    area = resolve_area(session, principal, filters.region)
    since, until = filters.period()
    where, params = case_where(principal, area, filters, since=since, until=until)
    if filters.bbox:
        where += " AND c.geom && ST_MakeEnvelope(:w, :s, :e, :n, 4326)"
        params.update(dict(zip("wsen", filters.bbox, strict=True)))
    params["limit"] = filters.limit
    point = case_point_sql(principal, "c.geom")
    sql = f"""SELECT coalesce(json_agg(json_build_object(
                  'type', 'Feature', 'id', c.id,
                  'geometry', json_build_object('type', 'Point', 'coordinates',
                                                json_build_array(round(ST_X({point})::numeric, 6),
                                                                 round(ST_Y({point})::numeric, 6))),
                  'properties', json_build_object('id', c.id, 'disease_code', c.disease_code,
                                                  'disease_name', d.name, 'onset_date', c.onset_date,
                                                  'case_type', c.case_type, 'outcome', c.outcome,
                                                  'region_code', c.region_code, 'district_code', c.district_code))
                  ORDER BY c.onset_date DESC, c.id DESC)::text, '[]')
              FROM (SELECT * FROM case_report c WHERE {where} AND c.geom IS NOT NULL
                    ORDER BY c.onset_date DESC, c.id DESC LIMIT :limit) c
              JOIN disease d ON d.code = c.disease_code"""
    features = json.loads(session.execute(text(sql), params).scalar_one())
    return feature_collection(features, truncated=len(features) >= filters.limit,
                              since=since.isoformat(), until=until.isoformat())


def cases_updated_at(session: Session, principal: Principal) -> datetime | None:
    """When a case report visible to `principal` last changed."""
    where, params = scope_sql(principal)
    return session.execute(text(f"SELECT max(c.updated_at) FROM case_report c WHERE {where}"), params).scalar()


register(Layer("cases", "病例点位", "Point", cases_layer, cases_updated_at,
               meta={"render": ["cluster", "heat"], "date_basis": "onset_date"}))
