"""Exchange records built from the district's rows at send time (the newest state of each record).

Identity fields are decrypted with the district's field cipher and sealed for the city at once; the
clear identity never leaves this function's frame. A record whose row no longer exists is reported
as gone (None) and the sender marks it superseded.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from geoalchemy2.shape import to_shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.pii_view import decrypt_identity
from exchange.other_records import OTHER_TYPES, other_records
from exchange.schema import context
from security.envelope import Sealer
from security.pii import FieldCipher
from store.cases import CaseReport


def build_records(session: Session, claimed: Sequence[tuple[int, str, int]], *, cipher: FieldCipher | None,
                  sealer: Sealer) -> dict[int, dict[str, Any]]:
    """Exchange records for (outbox id, record type, local id) triples, keyed by outbox id (gone rows left out)."""
    by_type: dict[str, list[tuple[int, int]]] = {}
    for outbox_id, record_type, local_id in claimed:
        by_type.setdefault(record_type, []).append((outbox_id, local_id))
    out: dict[int, dict[str, Any]] = {}
    for record_type, rows in by_type.items():
        if record_type == "case_report":
            out.update(case_records(session, rows, cipher=cipher, sealer=sealer))
        elif record_type in OTHER_TYPES:
            out.update(other_records(session, record_type, rows))
    return out


def record_id(district_code: str, local_id: int) -> str:
    """The record's id as the city knows it: unique across districts."""
    return f"{district_code}-{local_id}"


def case_records(session: Session, rows: Sequence[tuple[int, int]], *, cipher: FieldCipher | None,
                 sealer: Sealer) -> dict[int, dict[str, Any]]:
    """Exchange records of the case reports `rows` ((outbox id, case id) pairs), keyed by outbox id."""
    cases = {c.id: c for c in session.scalars(select(CaseReport).where(CaseReport.id.in_([r for _, r in rows])))}
    out: dict[int, dict[str, Any]] = {}
    for outbox_id, case_id in rows:
        case = cases.get(case_id)
        if case is not None:
            out[outbox_id] = _case_record(case, outbox_id, cipher, sealer)
    return out


def _case_record(case: CaseReport, version: int, cipher: FieldCipher | None, sealer: Sealer) -> dict[str, Any]:
    rid = record_id(case.district_code, case.id)
    point = to_shape(case.geom) if case.geom is not None else None
    return {
        "record_type": "case_report", "record_id": rid, "version": version, "district_code": case.district_code,
        "source_id": case.source_id, "disease_code": case.disease_code, "case_type": case.case_type,
        "onset_date": case.onset_date.isoformat(), "diagnosis_time": _iso(case.diagnosis_time),
        "report_time": _iso(case.report_time), "audit_time": _iso(case.audit_time), "region_code": case.region_code,
        "lon": round(point.x, 6) if point is not None else None, "lat": round(point.y, 6) if point is not None else None,
        "age": case.age, "sex": case.sex, "occupation": case.occupation, "outcome": case.outcome,
        "death_date": case.death_date.isoformat() if case.death_date else None, "changed_at": _iso(case.updated_at),
        "identity_sealed": _sealed_identity(case, cipher, sealer, context("case_report", rid, version)),
    }


def _sealed_identity(case: CaseReport, cipher: FieldCipher | None, sealer: Sealer, ctx: str) -> str | None:
    if cipher is None or not any((case.name_enc, case.id_number_enc, case.phone_enc, case.address_enc)):
        return None
    clear = decrypt_identity(cipher, case).model_dump(exclude_none=True)
    return sealer.seal(json.dumps(clear, ensure_ascii=False, sort_keys=True).encode(), ctx)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
