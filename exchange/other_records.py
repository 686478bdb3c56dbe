"""Exchange records of the types without personal data, built from one query per type and batch.

Each query takes the local ids and returns one row per record still present, with the fields the
exchange schema names (exchange.schema): institution and site codes instead of local ids, points as
lon/lat, times as ISO 8601 with offset.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

_QUERIES = {
    "syndromic_count": """
        SELECT s.id, s.district_code, s.updated_at AS changed_at, i.code AS institution_code, s.day, s.syndrome,
               s.visits, s.cases
        FROM syndromic_count s JOIN institution i ON i.id = s.institution_id WHERE s.id = ANY(:ids)""",
    "lab_result": """
        SELECT l.id, l.district_code, l.updated_at AS changed_at, i.code AS lab_institution_code, l.sample_id,
               l.pathogen, l.result, l.sample_time, l.result_time, l.region_code, l.case_source_id
        FROM lab_result l JOIN institution i ON i.id = l.lab_institution_id WHERE l.id = ANY(:ids)""",
    "warning_event": """
        SELECT s.id, s.district_code, s.updated_at AS changed_at, s.title, s.origin, s.model, s.grade, s.state,
               s.disease_code, s.region_code, s.window_start, s.window_end, s.first_fired_at, s.last_fired_at
        FROM signal s WHERE s.id = ANY(:ids) AND s.kind = 'event'""",
    "team": """
        SELECT t.id, t.district_code, t.updated_at AS changed_at, t.code, t.name, t.type, t.status, t.members,
               t.video_online, round(ST_X(t.geom)::numeric, 6) AS lon, round(ST_Y(t.geom)::numeric, 6) AS lat
        FROM team t WHERE t.id = ANY(:ids)""",
    "stock": """
        SELECT k.id, r.district_code, k.updated_at AS changed_at, r.code AS site_code, k.item_code, k.item_name,
               k.unit, k.quantity, k.min_level
        FROM stock k JOIN resource_site r ON r.id = k.site_id WHERE k.id = ANY(:ids)""",
}
OTHER_TYPES = tuple(_QUERIES)


def other_records(session: Session, record_type: str, rows: Sequence[tuple[int, int]]) -> dict[int, dict[str, Any]]:
    """Exchange records of `record_type` for (outbox id, local id) pairs, keyed by outbox id."""
    found = {r["id"]: r for r in session.execute(text(_QUERIES[record_type]),
                                                  {"ids": [local for _, local in rows]}).mappings()}
    out: dict[int, dict[str, Any]] = {}
    for outbox_id, local_id in rows:
        row = found.get(local_id)
        if row is not None:
            out[outbox_id] = _record(record_type, outbox_id, row)
    return out


def _record(record_type: str, version: int, row: Any) -> dict[str, Any]:
    fields = {k: _json(v) for k, v in row.items() if k != "id"}
    return {"record_type": record_type, "record_id": f"{row['district_code']}-{row['id']}", "version": version,
            **fields}


def _json(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value
