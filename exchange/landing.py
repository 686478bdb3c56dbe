"""Land a batch of reference records the city sent down (issue 19, downward): validate, compare versions, write.

In the caller's transaction, record by record in request order: a record that fails its schema is refused
(not conformant); a version the district already holds answers 'duplicate', an older one 'stale' (nothing
written); a newer one is written in a savepoint ('created' or 'updated'), or refused whole when the
district cannot take it. Every record gets a ledger row (exchange_inbound); the batch one audit row.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from accounts import audit
from accounts.principal import Principal
from exchange import inbound
from exchange.inbound import Arrival
from exchange.reference_schema import KINDS, REFERENCE_ZH, SCHEMAS, ReferenceOutcome, ReferenceResult, Versioned
from exchange.reference_writers import Refusal, write
from store.records import FieldError, field_error, parse


def land_batch(session: Session, *, kind: str, records: Sequence[Any], actor: Principal | None) -> ReferenceResult:
    """Land `records` of `kind` (regions, institutions, diseases); the outcome of each, in request order."""
    record_type = KINDS[kind]
    parsed = [parse(SCHEMAS[record_type], raw, REFERENCE_ZH) for raw in records]
    keys = [rec.key for rec, _ in parsed if isinstance(rec, Versioned)]
    inbound.lock_records(session, record_type, keys)
    held = inbound.held_versions(session, record_type, keys)
    results = []
    for index, (raw, (rec, errors)) in enumerate(zip(records, parsed, strict=True)):
        if isinstance(rec, Versioned):
            results.append(_land(session, record_type, index, rec, held))
        else:
            results.append(_refuse(session, _raw_arrival(record_type, raw), index, errors, conformant=False))
    _audit(session, actor, record_type, results)
    rejected = sum(r.status == "rejected" for r in results)
    return ReferenceResult(kind=kind, accepted=len(results) - rejected, rejected=rejected, results=results)


def _land(session: Session, record_type: str, index: int, rec: Versioned, held: dict[str, int]) -> ReferenceOutcome:
    arrival = Arrival(record_type, rec.key, rec.version, rec.changed_at)
    have = held.get(rec.key)
    if have is not None and rec.version <= have:
        status = "duplicate" if rec.version == have else "stale"
        inbound.record(session, arrival, outcome=status, conformant=True)
        return ReferenceOutcome(index=index, status=status, key=rec.key, version=rec.version)
    try:
        with session.begin_nested():
            status = write(session, record_type, rec)
            inbound.record(session, arrival, outcome=status, conformant=True)
    except Refusal as exc:
        return _refuse(session, arrival, index, [exc.error], conformant=True)
    except (IntegrityError, DataError) as exc:
        error = field_error(None, "db.rejected", f"the database refused the record: {type(exc.orig).__name__}",
                            REFERENCE_ZH)
        return _refuse(session, arrival, index, [error], conformant=True)
    held[rec.key] = rec.version
    return ReferenceOutcome(index=index, status=status, key=rec.key, version=rec.version)


def _refuse(session: Session, arrival: Arrival, index: int, errors: list[FieldError], *,
            conformant: bool) -> ReferenceOutcome:
    inbound.record(session, arrival, outcome="rejected", conformant=conformant, code=errors[0].code[:60])
    return ReferenceOutcome(index=index, status="rejected", key=arrival.key, version=arrival.version, errors=errors)


def _raw_arrival(record_type: str, raw: Any) -> Arrival:
    """What can be read of a record that failed its schema: its code and version, if they look right."""
    if not isinstance(raw, dict):
        return Arrival(record_type, None, None, None)
    key, version = raw.get("code"), raw.get("version")
    return Arrival(record_type, key if isinstance(key, str) and key else None,
                   version if isinstance(version, int) and 0 < version < 2**63 else None, None)


def _audit(session: Session, actor: Principal | None, record_type: str, results: list[ReferenceOutcome]) -> None:
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    written = [r.key for r in results if r.status in ("created", "updated")]
    audit.record(session, actor=actor, action="exchange.reference_landed", object_type=record_type,
                 detail={"counts": counts, "written": written[:500]})
