"""The progress of a district's open 流调 for the command panels and the wall: counts only, never identities.

Over the contacts of investigations not yet completed: how many are listed, traced (past 待追踪), still to
trace, under medical observation, become cases; and the overdue follow-ups among them: a contact still to
trace more than TRACE_HOURS after it was listed (追踪超时), and one still under observation more than
OBSERVATION_DAYS after its last exposure (观察期满未解除).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.orm import Session

from fieldwork.timeliness import day_of
from store.fieldwork import Contact, Investigation

TRACE_HOURS = 24
OBSERVATION_DAYS = 14


@dataclass(frozen=True)
class Progress:
    investigations: int  # open (planned or in progress)
    contacts: int
    traced: int
    to_trace: int
    observing: int
    became_case: int
    overdue_trace: int
    overdue_release: int

    @property
    def overdue(self) -> int:
        return self.overdue_trace + self.overdue_release


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.count(case((condition, 1)))


def _columns(now: datetime) -> tuple[ColumnElement[int], ...]:
    """The contact counts of `Progress` after the investigations' count, as of `now`."""
    late_listed = now - timedelta(hours=TRACE_HOURS)
    observed_since = day_of(now) - timedelta(days=OBSERVATION_DAYS)
    return (func.count(Contact.id),
            _count(Contact.state != "pending"), _count(Contact.state == "pending"), _count(Contact.state == "observing"),
            _count(Contact.state == "became_case"),
            _count(and_(Contact.state == "pending", Contact.listed_at < late_listed)),
            _count(and_(Contact.state == "observing", Contact.last_exposure_date < observed_since)))


def contact_progress(session: Session, *, district_code: str | None, now: datetime) -> Progress:
    """The district's (None: the city's) open investigations and their contacts' follow-up, as of `now`."""
    stmt = select(func.count(func.distinct(Investigation.id)), *_columns(now)).select_from(Investigation).outerjoin(
        Contact, Contact.investigation_id == Investigation.id).where(Investigation.status != "completed")
    if district_code is not None:
        stmt = stmt.where(Investigation.district_code == district_code)
    row = session.execute(stmt).one()
    return Progress(*(int(v or 0) for v in row))


def investigation_progress(session: Session, investigation_ids: list[int], *, now: datetime) -> dict[int, Progress]:
    """Each investigation's contacts' follow-up as of `now` (`investigations` is 1 while it is open, else 0)."""
    if not investigation_ids:
        return {}
    stmt = select(Investigation.id, Investigation.status, *_columns(now)).select_from(
        Investigation).outerjoin(Contact, Contact.investigation_id == Investigation.id).where(
        Investigation.id.in_(investigation_ids)).group_by(Investigation.id)
    return {int(iid): Progress(int(status != "completed"), *(int(v or 0) for v in rest))
            for iid, status, *rest in session.execute(stmt).all()}
