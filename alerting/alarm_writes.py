"""A run's alarms raised as alarm rows in a few statements: `service.raise_alarm`'s rules (`decide_alarm`), set-based.

One locked lookup of the open alarm rows of every dedup key of the run, the new rows inserted in one flush,
then their signal events and audit rows written in batches (`accounts.audit.record_many`). Alarms are
taken in order, so an alarm meets the row an earlier alarm of the same run opened or refired, exactly as
one `raise_alarm` call after another would. Alarm rows (kind 'alarm') are never pushed, put in the inbox
or published: their warning event is (`alerting.event_loop`). The caller commits.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerting.service import OPEN_STATES, Alarm, SignalChange, decide_alarm, record_many, utcnow
from store.signals import Signal

KIND = "alarm"


def _open_rows(session: Session, keys: set[str]) -> dict[str, Signal]:
    """The newest open alarm row of each key (locked), as `service._open_signal` finds it one key at a time."""
    if not keys:
        return {}
    rows = session.scalars(select(Signal).where(Signal.dedup_key.in_(sorted(keys)), Signal.kind == KIND,
                                                Signal.state.in_(OPEN_STATES))
                           .order_by(Signal.id).with_for_update())
    return {s.dedup_key: s for s in rows}  # ascending ids: the newest of a key wins


def raise_alarms(session: Session, alarms: Sequence[Alarm], *, dedup_days: int,
                 now: datetime | None = None) -> list[tuple[Signal, str]]:
    """Each alarm's row and outcome ('created' | 'refired' | 'unchanged'), in the alarms' order."""
    now = now or utcnow()
    current = _open_rows(session, {a.dedup_key for a in alarms})
    out: list[tuple[Signal, str]] = []
    changes: list[tuple[Signal, SignalChange]] = []
    for alarm in alarms:
        outcome, sig, change = decide_alarm(current.get(alarm.dedup_key), alarm, dedup_days=dedup_days, now=now,
                                            kind=KIND)
        if outcome == "created":
            session.add(sig)
            current[alarm.dedup_key] = sig
        if change is not None:
            changes.append((sig, change))
        out.append((sig, outcome))
    session.flush()
    record_many(session, [(s, c, None) for s, c in changes])
    return out

