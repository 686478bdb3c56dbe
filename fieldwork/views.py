"""What the API shows: an event's investigations (contacts masked unless allowed), milestones, 7-1-7 and review;
the district's 7-1-7 aggregate."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from geoalchemy2.shape import to_shape
from shapely.geometry import mapping
from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.principal import Principal
from fieldwork import identity
from fieldwork.edits import load_event
from fieldwork.errors import refuse
from fieldwork.facts import load_facts
from fieldwork.timeliness import aggregate, aggregate_dict, as_dict, compute, day_of
from geo.dates import CST, now_utc
from security.pii import FieldCipher
from store.fieldwork import Contact, EventReview, ExposurePlace, Investigation, ResponseMilestone, Sample
from store.signals import Signal

OUTBREAK_STATES = ("confirmed", "responding", "closed")


def _place(p: ExposurePlace) -> dict[str, Any]:
    return {"id": p.id, "name": p.name, "kind": p.kind, "geometry": mapping(to_shape(p.geom)) if p.geom else None,
            "input_crs": p.input_crs, "start_time": p.start_time, "end_time": p.end_time, "note": p.note}


def _contact(c: Contact, shown: dict[str, Any]) -> dict[str, Any]:
    return {"id": c.id, "record_id": c.record_id, "degree": c.degree, "state": c.state, **shown,
            "last_exposure_date": c.last_exposure_date, "listed_at": c.listed_at, "traced_at": c.traced_at,
            "observation_start": c.observation_start, "released_on": c.released_on,
            "became_case_at": c.became_case_at, "became_case_id": c.became_case_id, "note": c.note}


def _sample(s: Sample) -> dict[str, Any]:
    return {"id": s.id, "sample_no": s.sample_no, "kind": s.kind, "subject": s.subject, "taken_at": s.taken_at,
            "result": s.result, "result_at": s.result_at}


def _investigation(session: Session, inv: Investigation, shown: dict[int, dict[str, Any]],
                   contacts: list[Contact]) -> dict[str, Any]:
    places = session.scalars(select(ExposurePlace).where(ExposurePlace.investigation_id == inv.id)
                             .order_by(ExposurePlace.id))
    samples = session.scalars(select(Sample).where(Sample.investigation_id == inv.id).order_by(Sample.id))
    return {"id": inv.id, "source_id": inv.source_id, "signal_id": inv.signal_id, "case_id": inv.case_id,
            "investigator": inv.investigator, "status": inv.status, "started_at": inv.started_at,
            "completed_at": inv.completed_at, "first_onset_date": inv.first_onset_date, "summary": inv.summary,
            "places": [_place(p) for p in places], "samples": [_sample(s) for s in samples],
            "contacts": [_contact(c, shown[c.id]) for c in contacts if c.investigation_id == inv.id]}


def review_dict(review: EventReview | None) -> dict[str, Any] | None:
    if review is None:
        return None
    keys = ("state", "summary", "closed_at", "closed_by_user_id", "timeliness", "effectiveness", "lessons",
            "evaluated_by_user_id", "evaluator_role", "evaluated_at", "review_note", "reviewed_by_user_id",
            "reviewed_at")
    return {"signal_id": review.signal_id, **{k: getattr(review, k) for k in keys}}


def event_detail(session: Session, *, actor: Principal, signal_id: int, cipher: FieldCipher | None,
                 clear: bool = False, purpose: str | None = None, now: datetime | None = None) -> dict[str, Any]:
    """The event's field response: investigations with places, contacts and samples; milestones; 7-1-7; review."""
    event = load_event(session, actor=actor, signal_id=signal_id)
    investigations = list(session.scalars(select(Investigation).where(Investigation.signal_id == event.id)
                                          .order_by(Investigation.id)))
    contacts = list(session.scalars(select(Contact).where(
        Contact.investigation_id.in_([i.id for i in investigations])).order_by(Contact.id)))
    shown = identity.identities(session, contacts, cipher=cipher, actor=actor, clear=clear, purpose=purpose,
                                district_code=event.district_code)
    milestones = session.scalars(select(ResponseMilestone).where(ResponseMilestone.signal_id == event.id)
                                 .order_by(ResponseMilestone.done_at))
    review = session.scalar(select(EventReview).where(EventReview.signal_id == event.id))
    return {"event": {"id": event.id, "title": event.title, "state": event.state, "grade": event.grade,
                      "district_code": event.district_code, "first_fired_at": event.first_fired_at},
            "investigations": [_investigation(session, inv, shown, contacts) for inv in investigations],
            "milestones": [{"kind": m.kind, "done_at": m.done_at, "note": m.note} for m in milestones],
            "timeliness": as_dict(compute(load_facts(session, event), day_of(now or now_utc()))),
            "review": review_dict(review)}


def _day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=CST)


def district_timeliness(session: Session, *, actor: Principal, district: str, first: date | None, last: date | None,
                        confirmed_only: bool = False, now: datetime | None = None) -> dict[str, Any]:
    """7-1-7 over the district's events raised from `first` to `last` (Beijing days), excluded events left out."""
    if not actor.may_see_district(district):
        raise refuse("forbidden", "scope", f"{actor.username} may not see district {district}", "无权查看该区数据")
    stmt = select(Signal).where(Signal.kind == "event", Signal.district_code == district,
                                Signal.state.in_(OUTBREAK_STATES) if confirmed_only else Signal.state != "excluded")
    if first is not None:
        stmt = stmt.where(Signal.first_fired_at >= _day_start(first))
    if last is not None:
        stmt = stmt.where(Signal.first_fired_at < _day_start(last + timedelta(days=1)))
    as_of = day_of(now or now_utc())
    results = [compute(load_facts(session, e), as_of) for e in session.scalars(stmt.order_by(Signal.id))]
    return {"district_code": district, "date_from": first, "date_to": last, "confirmed_only": confirmed_only,
            "as_of": as_of, **aggregate_dict(aggregate(results)),
            "per_event": [as_dict(r) for r in results]}
