"""What 7-1-7 reads from the database for one warning event (`fieldwork.timeliness.EventFacts`).

- emergence: the earliest onset among the event's cases — the cases in the evidence of the event and of
  its linked alarms (`signal.kind = 'alarm'`, `event_id`), the cases its investigations are about, and
  the earliest onset an investigation found (`first_onset_date`);
- detection: when the event was raised (`signal.first_fired_at`);
- notification: when it was verified and reported — its first move to 'suspected' or 'confirmed';
- milestones: each early-response action as recorded; where none is recorded, the investigation's own
  data stand in for the first four (started, first sample taken, first contact listed, last contact traced
  once none is left pending).
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fieldwork.timeliness import EventFacts
from store.cases import CaseReport
from store.fieldwork import Contact, Investigation, ResponseMilestone, Sample
from store.signals import Signal, SignalEvent

NOTIFIED_STATES = ("suspected", "confirmed")


def _evidence_cases(session: Session, event: Signal) -> list[dict[str, Any]]:
    alarms = session.scalars(select(Signal.evidence).where(Signal.event_id == event.id, Signal.kind == "alarm"))
    cases: list[dict[str, Any]] = []
    for evidence in [event.evidence, *alarms]:
        cases.extend(c for c in (evidence or {}).get("cases") or [] if isinstance(c, dict))
    return cases


def evidence_case_ids(session: Session, event: Signal) -> tuple[int, ...]:
    """The ids of the cases in the evidence of the event and of its linked alarms, in order of mention."""
    return tuple(dict.fromkeys(int(c["id"]) for c in _evidence_cases(session, event) if isinstance(c.get("id"), int)))


def _evidence_onsets(session: Session, cases: list[dict[str, Any]]) -> list[date]:
    """Onsets of the evidence's cases: from the case reports where they still exist, else as the evidence says."""
    ids = {int(c["id"]) for c in cases if isinstance(c.get("id"), int)}
    stored = dict(session.execute(select(CaseReport.id, CaseReport.onset_date).where(CaseReport.id.in_(ids))).all()
                  ) if ids else {}
    onsets = list(stored.values())
    for c in cases:
        if c.get("id") not in stored and isinstance(c.get("onset_date"), str):
            try:
                onsets.append(date.fromisoformat(c["onset_date"]))
            except ValueError:
                continue
    return onsets


def first_onset(session: Session, event: Signal) -> date | None:
    found = session.execute(select(func.min(Investigation.first_onset_date), func.min(CaseReport.onset_date))
                            .select_from(Investigation).outerjoin(CaseReport, CaseReport.id == Investigation.case_id)
                            .where(Investigation.signal_id == event.id)).one()
    onsets = [d for d in (*found, *_evidence_onsets(session, _evidence_cases(session, event))) if d is not None]
    return min(onsets) if onsets else None


def notified_at(session: Session, event_id: int) -> datetime | None:
    at: datetime | None = session.scalar(select(func.min(SignalEvent.time)).where(
        SignalEvent.signal_id == event_id, SignalEvent.action == "transition",
        SignalEvent.to_state.in_(NOTIFIED_STATES)))
    return at


def _derived(session: Session, event_id: int) -> dict[str, datetime]:
    of_event = select(Investigation.id).where(Investigation.signal_id == event_id).scalar_subquery()
    started = session.scalar(select(func.min(Investigation.started_at)).where(Investigation.signal_id == event_id))
    sampled = session.scalar(select(func.min(Sample.taken_at)).where(Sample.investigation_id.in_(of_event)))
    listed, pending, traced = session.execute(
        select(func.min(Contact.listed_at), func.count().filter(Contact.state == "pending"), func.max(Contact.traced_at))
        .where(Contact.investigation_id.in_(of_event))).one()
    derived = {"investigation_started": started, "samples_taken": sampled, "contacts_listed": listed,
               "contacts_traced": traced if listed is not None and pending == 0 else None}
    return {kind: at for kind, at in derived.items() if at is not None}


def milestones(session: Session, event_id: int) -> dict[str, datetime]:
    rows = session.execute(select(ResponseMilestone.kind, ResponseMilestone.done_at)
                           .where(ResponseMilestone.signal_id == event_id)).all()
    recorded = {kind: at for kind, at in rows}
    return {**_derived(session, event_id), **recorded}


def load_facts(session: Session, event: Signal) -> EventFacts:
    return EventFacts(event_id=event.id, first_onset=first_onset(session, event), detected_at=event.first_fired_at,
                      notified_at=notified_at(session, event.id), milestones=milestones(session, event.id))
