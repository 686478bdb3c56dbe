"""The OGC `cases` collection paged in SQL: every case point in scope, a page at a time; Flask-free.

The GeoJSON layer stops at its `limit` (20,000 newest points), which is right for a map but not for
an OGC client paging through three years of a district. Here the page (LIMIT/OFFSET, newest first,
ties by id), the number matched (a COUNT) and one feature by id are asked of the database directly,
with the layer's own WHERE (layers.cases.points_where: scope, area, diseases, period) and its point
precision (layers.precision), so nothing beyond the layer's scope or finer than its points leaves.

A bbox keeps the cases whose *shown* point (as the layer gives it: snapped for masked roles, 6
decimals) lies in it, as a bbox on the computed layer does; the recorded point's index narrows the
rows first, with the snapping's margin.
"""
from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from accounts.principal import Principal
from geo.geojson import Feature
from layers.base import LayerFilters
from layers.cases import FEATURE_JSON, points_select, points_where
from layers.ogc import split_bbox
from layers.ogc_query import BBox, ItemsQuery
from layers.precision import case_point_sql

PAGED_COLLECTIONS = frozenset({"cases"})
SNAP_MARGIN_DEG = 0.003  # ≥ the half diagonal of a snapped cell (precision.MERCATOR_CELL, ~165 m) in degrees
MAX_CASE_ID = 2**63 - 1
_NEWEST_FIRST = "ORDER BY c.onset_date DESC, c.id DESC"


def bbox_sql(principal: Principal, bbox: BBox | None) -> tuple[str, dict[str, Any]]:
    """SQL (for `case_report c`): the shown point lies in `bbox` (two boxes across the antimeridian)."""
    if bbox is None:
        return "TRUE", {}
    shown = f"ST_SnapToGrid({case_point_sql(principal, 'c.geom')}, 0.000001)"
    parts, params = [], {}
    for i, box in enumerate(split_bbox(bbox)):
        env = f"ST_MakeEnvelope(:bw{i}, :bs{i}, :be{i}, :bn{i}, 4326)"
        parts.append(f"(c.geom && ST_Expand({env}, {SNAP_MARGIN_DEG}) AND ST_Intersects({shown}, {env}))")
        params.update({f"b{k}{i}": v for k, v in zip("wsen", box, strict=True)})
    return "(" + " OR ".join(parts) + ")", params


def _where(session: Session, principal: Principal, filters: LayerFilters,
           bbox: BBox | None) -> tuple[str, dict[str, Any]]:
    where, params = points_where(session, principal, filters, "c")
    box, box_params = bbox_sql(principal, bbox)
    return f"{where} AND {box}", {**params, **box_params}


def case_count(session: Session, principal: Principal, filters: LayerFilters, bbox: BBox | None) -> int:
    """How many case points the layer's filters (without its limit) and `bbox` match for `principal`."""
    where, params = _where(session, principal, filters, bbox)
    return int(session.execute(text(f"SELECT count(*) FROM case_report c WHERE {where}"), params).scalar_one())


def case_page(session: Session, principal: Principal, filters: LayerFilters, bbox: BBox | None,
              limit: int, offset: int) -> list[Feature]:
    """The features `offset … offset + limit` of those `case_count` counts, newest onset first (ties: id)."""
    where, params = _where(session, principal, filters, bbox)
    rows = f"{where} {_NEWEST_FIRST} LIMIT :page_limit OFFSET :page_offset"
    sql = f"""SELECT coalesce(json_agg({FEATURE_JSON} ORDER BY p.onset_date DESC, p.id DESC)::text, '[]')
              FROM ({points_select(principal, rows)}) p"""
    raw = session.execute(text(sql), {**params, "page_limit": limit, "page_offset": offset}).scalar_one()
    return list(json.loads(raw))


def case_feature(session: Session, principal: Principal, filters: LayerFilters, fid: str) -> Feature | None:
    """The case point with id `fid` when the layer's filters (without its limit) show it to `principal`."""
    if not (fid.isascii() and fid.isdigit()) or not 0 < int(fid) <= MAX_CASE_ID:  # isdigit: no sign, no spaces
        return None
    where, params = _where(session, principal, filters, None)
    sql = f"SELECT {FEATURE_JSON}::text FROM ({points_select(principal, where + ' AND c.id = :case_id')}) p"
    raw = session.execute(text(sql), {**params, "case_id": int(fid)}).scalar_one_or_none()
    feature: Feature | None = None if raw is None else json.loads(raw)
    return feature


def page_answer(session: Session, principal: Principal, query: ItemsQuery) -> dict[str, Any]:
    """One items page: its features, numberMatched and the collection's members (the period shown)."""
    matched = case_count(session, principal, query.filters, query.bbox)
    features = case_page(session, principal, query.filters, query.bbox, query.limit, query.offset) \
        if query.offset < matched else []
    since, until = query.filters.period()
    return {"features": features, "numberMatched": matched,
            "members": {"truncated": False, "since": since.isoformat(), "until": until.isoformat()}}
