"""The downward ledger (exchange_inbound): record what the city sent and what became of it, and what is held.

Rows are written in the caller's transaction, so a record's ledger row commits (or rolls back) with the
record itself. The version the district holds of a record is the highest version that landed.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from store.exchange import LANDED, ExchangeInbound


@dataclass(frozen=True)
class Arrival:
    """One record as it arrived: its type, key and version (when readable) and its business time."""

    record_type: str
    key: str | None
    version: int | None
    business_at: datetime | None


def record(session: Session, arrival: Arrival, *, outcome: str, conformant: bool, code: str | None = None) -> None:
    """One ledger row for `arrival` with its outcome ('created' … 'rejected') and, for a refusal, its code."""
    session.execute(insert(ExchangeInbound).values(
        record_type=arrival.record_type, record_key=arrival.key[:80] if arrival.key else None,
        version=arrival.version, business_at=arrival.business_at, outcome=outcome, outcome_code=code,
        conformant=conformant))


def held_versions(session: Session, record_type: str, keys: Sequence[str]) -> dict[str, int]:
    """The highest landed version of each of `keys` (records never landed are absent)."""
    if not keys:
        return {}
    rows = session.execute(
        select(ExchangeInbound.record_key, func.max(ExchangeInbound.version))
        .where(ExchangeInbound.record_type == record_type, ExchangeInbound.record_key.in_(list(keys)),
               ExchangeInbound.outcome.in_(LANDED))
        .group_by(ExchangeInbound.record_key))
    return {key: version for key, version in rows if key is not None and version is not None}


def lock_records(session: Session, record_type: str, keys: Sequence[str]) -> None:
    """Serialise concurrent landings of the same records until the transaction ends (sorted: no deadlock)."""
    names = sorted({f"exchange.down:{record_type}:{key}" for key in keys})
    if names:
        session.execute(_LOCK, {"names": names})


_LOCK = text("SELECT count(pg_advisory_xact_lock(hashtext(n))) "
             "FROM (SELECT n FROM unnest(CAST(:names AS text[])) AS n ORDER BY n) AS ordered")


def record_warning(session: Session, *, signal_id: str, issued_at: datetime | None, created: bool) -> None:
    """A city-wide warning landed (POST /api/v1/signals): 'created', or 'duplicate' when its id was held."""
    record(session, Arrival("warning", signal_id, 1, issued_at), outcome="created" if created else "duplicate",
           conformant=True)
