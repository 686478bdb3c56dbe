"""The closed loop of a warning event: close with a 处置说明 (through the signal's own state machine), then an
评价 whose 7-1-7 figures are filled in automatically, then a 复核 by a second person of another role.
Every step is an audit row."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts import audit
from accounts.principal import Principal
from alerting.service import Publish, transition
from fieldwork.edits import ensure_staff, load_event
from fieldwork.errors import refuse
from fieldwork.facts import load_facts
from fieldwork.models import EvaluationBody, ReviewBody
from fieldwork.states import check_review_move
from fieldwork.timeliness import as_dict, compute, day_of
from geo.dates import now_utc
from store.fieldwork import EventReview
from store.signals import Signal


def _review_of(session: Session, event: Signal) -> EventReview | None:
    return session.scalar(select(EventReview).where(EventReview.signal_id == event.id).with_for_update())


def _audit(session: Session, actor: Principal, event: Signal, step: str, detail: dict[str, object]) -> None:
    audit.record(session, actor=actor, action=f"fieldwork.review_{step}", object_type="signal",
                 object_id=str(event.id), district_code=event.district_code, detail=detail)


def close_event(session: Session, *, actor: Principal, signal_id: int, summary: str,
                ip: str | None = None, publish: Publish | None = None) -> EventReview:
    """Close a responding event with its disposal summary (commanders, as the signal's state machine says)."""
    event = load_event(session, actor=actor, signal_id=signal_id)
    transition(session, actor=actor, signal_id=event.id, to="closed", reason=summary, ip=ip, publish=publish)
    if _review_of(session, event) is not None:  # closed once before: the state machine has no way back
        raise refuse("conflict", "review_exists", "the event already has a review", "该事件已有闭环记录")
    now = now_utc()
    review = EventReview(signal_id=event.id, state="closed", summary=summary, closed_at=now,
                         closed_by_user_id=actor.user_id if actor.user_id > 0 else None)
    session.add(review)
    session.flush()
    _audit(session, actor, event, "closed", {"summary_chars": len(summary)})
    return review


def evaluate(session: Session, *, actor: Principal, signal_id: int, body: EvaluationBody,
             now: datetime | None = None) -> EventReview:
    """The 评价: effectiveness and lessons; the 7-1-7 figures as of today are computed and kept with it."""
    ensure_staff(actor)
    event = load_event(session, actor=actor, signal_id=signal_id)
    review = _review_of(session, event)
    check_review_move(review.state if review else None, "evaluated")
    assert review is not None
    at = now or now_utc()
    review.timeliness = as_dict(compute(load_facts(session, event), day_of(at)))
    review.effectiveness, review.lessons, review.state = body.effectiveness, body.lessons, "evaluated"
    review.evaluated_by_user_id, review.evaluator_role, review.evaluated_at = actor.user_id, actor.role, at
    session.flush()
    _audit(session, actor, event, "evaluated", {"all_met": review.timeliness["all_met"]})
    return review


def _second_person(actor: Principal, review: EventReview) -> None:
    if actor.user_id == review.evaluated_by_user_id or actor.role == review.evaluator_role:
        raise refuse("forbidden", "review_same_role", "the review needs a person of another role than the evaluator",
                     "复核须由不同于评价人的另一角色人员进行", "verdict")


def review_event(session: Session, *, actor: Principal, signal_id: int, body: ReviewBody) -> EventReview:
    """The 复核: approved (the loop is closed) or returned to the evaluator with a note."""
    ensure_staff(actor)
    event = load_event(session, actor=actor, signal_id=signal_id)
    review = _review_of(session, event)
    to = "reviewed" if body.verdict == "approved" else "returned"
    check_review_move(review.state if review else None, to)
    assert review is not None
    _second_person(actor, review)
    review.state, review.review_note = to, body.note
    review.reviewed_by_user_id, review.reviewed_at = actor.user_id, now_utc()
    session.flush()
    _audit(session, actor, event, to, {"verdict": body.verdict})
    return review
