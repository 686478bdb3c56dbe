"""A run's alarms raised as alarm rows in a few statements: `service.raise_alarm`'s rules, set-based.

One locked lookup of the open alarm rows of every dedup key of the run, the new rows inserted in one flush,
then their signal events and audit rows written in batches (`accounts.audit.record_many`). Alarms are
taken in order, so an alarm meets the row an earlier alarm of the same run opened or refired, exactly as
one `raise_alarm` call after another would. Alarm rows (kind 'alarm') are never pushed, put in the inbox
or published: their warning event is (`alerting.event_loop`). The caller commits.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from geoalchemy2.shape import from_shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from alerting.service import OPEN_STATES, Alarm, SignalChange, record_many, utcnow
from geo.srid import SRID
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


def _new_row(alarm: Alarm, now: datetime) -> Signal:
    geom = from_shape(alarm.geometry, srid=SRID) if alarm.geometry is not None else None
    return Signal(dedup_key=alarm.dedup_key, origin=alarm.origin, source_dept=alarm.source_dept, model=alarm.model,
                  disease_code=alarm.disease_code, region_code=alarm.region_code, district_code=alarm.district_code,
                  state="new", title=alarm.title[:200], observed=alarm.observed, threshold=alarm.threshold,
                  window_start=alarm.window_start, window_end=alarm.as_of, params=alarm.params,
                  evidence=alarm.evidence, geom=geom, fire_count=1, first_fired_at=now, last_fired_at=now,
                  verify_due_at=None, kind=KIND)


def _refire(current: Signal, alarm: Alarm, now: datetime) -> SignalChange:
    current.observed, current.threshold, current.window_end = alarm.observed, alarm.threshold, alarm.as_of
    current.evidence, current.params = alarm.evidence, alarm.params
    current.fire_count += 1
    current.last_fired_at = now
    if alarm.geometry is not None:
        current.geom = from_shape(alarm.geometry, srid=SRID)
    return SignalChange("refired", from_state=current.state,
                        data={"as_of": alarm.as_of.isoformat(), "observed": alarm.observed,
                              "threshold": alarm.threshold, "fire_count": current.fire_count})


def _decide(current: Signal | None, alarm: Alarm, dedup_days: int, now: datetime) -> tuple[str, Any]:
    """'unchanged' | 'refired' (with its change) | 'created' (with the new row), as `raise_alarm` decides."""
    if current is not None and current.window_end is not None and \
            0 <= (alarm.as_of - current.window_end).days <= dedup_days:
        if alarm.as_of == current.window_end:
            if current.evidence != alarm.evidence:  # late reports changed the picture of the same day
                current.evidence, current.observed, current.threshold = alarm.evidence, alarm.observed, alarm.threshold
            return "unchanged", current
        return "refired", _refire(current, alarm, now)
    if current is not None and alarm.as_of < (current.window_end or alarm.as_of):
        return "unchanged", current  # an older day re-run: the open row already covers it
    return "created", _new_row(alarm, now)


def raise_alarms(session: Session, alarms: Sequence[Alarm], *, dedup_days: int,
                 now: datetime | None = None) -> list[tuple[Signal, str]]:
    """Each alarm's row and outcome ('created' | 'refired' | 'unchanged'), in the alarms' order."""
    now = now or utcnow()
    current = _open_rows(session, {a.dedup_key for a in alarms})
    out: list[tuple[Signal, str]] = []
    changes: list[tuple[Signal, SignalChange]] = []
    for alarm in alarms:
        outcome, what = _decide(current.get(alarm.dedup_key), alarm, dedup_days, now)
        if outcome == "created":
            session.add(what)
            current[alarm.dedup_key] = what
            changes.append((what, SignalChange("created", data={"as_of": alarm.as_of.isoformat(),
                                                                 "model": alarm.model})))
            out.append((what, outcome))
            continue
        sig = current[alarm.dedup_key]
        if outcome == "refired":
            changes.append((sig, what))
        out.append((sig, outcome))
    session.flush()
    record_many(session, [(s, c, None) for s, c in changes])
    return out

