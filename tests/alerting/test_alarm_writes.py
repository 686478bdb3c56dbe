"""The runner's set-based alarm writes (alerting.alarm_writes) follow `service.raise_alarm` exactly: the same
outcomes, rows, signal events and audit rows as one call per alarm, including alarms of one run that meet
each other (created then refired in the same run)."""
from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from alerting import service
from alerting.alarm_writes import raise_alarms
from alerting.service import Alarm
from store.audit import AuditLog
from store.signals import Signal, SignalEvent

DAY = date(2026, 3, 10)


def _alarm(district: str, model: str, day: date, observed: float = 5.0, note: str = "") -> Alarm:
    return Alarm(model=model, district_code=district, region_code=None, disease_code=None, title=f"{model} {day}",
                 as_of=day, observed=observed, threshold=2.0, window_start=day - timedelta(days=6),
                 params={"window": 7}, evidence={"observed": observed, "note": note})


def _existing(district: str) -> list[Alarm]:
    """The open alarm rows before the run: A, B, E end on DAY; F ended long ago."""
    return [_alarm(district, "mA", DAY), _alarm(district, "mB", DAY), _alarm(district, "mE", DAY),
            _alarm(district, "mF", DAY - timedelta(days=30))]


def _run(district: str) -> list[Alarm]:
    return [
        _alarm(district, "mA", DAY, note="late reports"),  # same day, new evidence: unchanged, evidence kept up
        _alarm(district, "mB", DAY + timedelta(days=2), observed=9),  # refired
        _alarm(district, "mC", DAY),  # created ...
        _alarm(district, "mC", DAY + timedelta(days=1), observed=7),  # ... and refired in the same run
        _alarm(district, "mE", DAY - timedelta(days=1)),  # an older day: unchanged
        _alarm(district, "mF", DAY),  # past the dedup window: a new row
        _alarm(district, "mC", DAY + timedelta(days=1), observed=7),  # the same again: unchanged
    ]


def _state(db: Session, district: str, since: int) -> dict[str, Any]:
    rows = db.scalars(select(Signal).where(Signal.district_code == district).order_by(Signal.id)).all()
    events = db.execute(select(SignalEvent.action, SignalEvent.from_state, SignalEvent.to_state, SignalEvent.data)
                        .join(Signal, Signal.id == SignalEvent.signal_id).where(Signal.district_code == district)
                        .order_by(SignalEvent.id)).all()
    audits = db.execute(select(AuditLog.action, AuditLog.detail).where(AuditLog.id > since)
                        .order_by(AuditLog.id)).all()
    return {"rows": [(s.dedup_key, s.window_end, s.fire_count, s.observed, s.evidence, s.params, s.state, s.kind)
                     for s in rows],
            "events": [tuple(e) for e in events], "audit": [tuple(a) for a in audits]}


def test_batch_writes_what_one_call_per_alarm_writes(services: Any) -> None:
    district = f"9{uuid.uuid4().int % 10**5:05d}"
    with services.session_factory() as db, db.begin():
        for alarm in _existing(district):
            service.raise_alarm(db, alarm, verify_hours=24, dedup_days=7, kind="alarm")
    try:
        results = _both(services, district)
    finally:  # the package's other tests read every alarm row
        with services.session_factory() as db, db.begin():
            db.execute(delete(Signal).where(Signal.district_code == district))
    (one_by_one, state_one), (batched, state_batch) = results
    assert one_by_one == ["unchanged", "refired", "created", "refired", "unchanged", "created", "unchanged"]
    assert batched == one_by_one
    assert state_batch == state_one and len(state_one["audit"]) == 4  # created ×2, refired ×2


def _both(services: Any, district: str) -> list[tuple[list[str], dict[str, Any]]]:
    """The run's outcomes and what it wrote, one call per alarm and then batched (each rolled back)."""
    results = []
    for batch in (False, True):
        with services.session_factory() as db:
            since = db.scalar(select(func.max(AuditLog.id))) or 0
            if batch:
                outcomes = [o for _, o in raise_alarms(db, _run(district), dedup_days=7)]
            else:
                outcomes = [service.raise_alarm(db, a, verify_hours=24, dedup_days=7, kind="alarm")[1]
                            for a in _run(district)]
            db.flush()
            results.append((outcomes, _state(db, district, since)))
            db.rollback()
    return results
