"""Put the demo story's times on the rows the state machines stamp with the wall clock.

The demo plays days of a response in one command: the warning run raised the event "now", a signal's
transition is stamped by the database's `now()`, a contact's listing by the current time. The story is
fiction set on the days before the demo's last day, so — like the seeder, which writes history directly —
it moves those stamps to the story's times. Audit rows are never touched: they say when the demo wrote.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from store.fieldwork import Contact
from store.signals import Signal, SignalEvent


def stamp_raised(session: Session, event: Signal, at: datetime) -> None:
    """The event was raised at `at`: its first firing, its 'created' row and (as far on) its verification due time."""
    if event.verify_due_at is not None:
        event.verify_due_at = at + (event.verify_due_at - event.first_fired_at)
    event.first_fired_at = at
    session.execute(update(SignalEvent).where(SignalEvent.signal_id == event.id, SignalEvent.action == "created")
                    .values(time=at))
    session.flush()


def stamp_transition(session: Session, event_id: int, to_state: str, at: datetime) -> None:
    """The event's move into `to_state` happened at `at`."""
    session.execute(update(SignalEvent).where(SignalEvent.signal_id == event_id, SignalEvent.action == "transition",
                                              SignalEvent.to_state == to_state).values(time=at))


def stamp_listed(session: Session, investigation_id: int, at: datetime) -> None:
    """The investigation's contacts were listed at `at`."""
    session.execute(update(Contact).where(Contact.investigation_id == investigation_id).values(listed_at=at))
