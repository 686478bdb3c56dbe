"""What the finished review's document holds (`GET /fieldwork/events/{id}/review.docx`): the event, the 处置说明,
the 评价 with its stored 7-1-7 figures, effectiveness and lessons, the 复核 verdict, and who did each step when
(display names, not logins). Only once the review is `reviewed`; before that a 409 names the state."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.principal import Principal
from fieldwork.edits import load_event
from fieldwork.errors import refuse
from fieldwork.states import REVIEW_STATE_ZH
from store.accounts import AppUser
from store.fieldwork import EventReview


def _names(session: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return dict(session.execute(select(AppUser.id, AppUser.display_name).where(AppUser.id.in_(wanted))).all())


def review_report(session: Session, *, actor: Principal, signal_id: int) -> dict[str, Any]:
    """The finished closed loop of the event, for its document."""
    event = load_event(session, actor=actor, signal_id=signal_id)
    review = session.scalar(select(EventReview).where(EventReview.signal_id == event.id))
    if review is None or review.state != "reviewed":
        state = REVIEW_STATE_ZH[review.state] if review else "尚未结案"
        raise refuse("conflict", "review_not_finished", "the review of the event is not finished (reviewed) yet",
                     f"事件闭环尚未完成复核（当前：{state}），暂不能导出复盘报告", "state")
    names = _names(session, {review.closed_by_user_id, review.evaluated_by_user_id, review.reviewed_by_user_id})

    def who(user_id: int | None) -> str:
        return names.get(user_id, "系统") if user_id is not None else "系统"

    return {"event": {"id": event.id, "title": event.title, "district_code": event.district_code,
                      "first_fired_at": event.first_fired_at, "grade": event.grade},
            "summary": review.summary, "closed_at": review.closed_at, "closed_by": who(review.closed_by_user_id),
            "timeliness": review.timeliness or {}, "effectiveness": review.effectiveness, "lessons": review.lessons,
            "evaluated_at": review.evaluated_at, "evaluated_by": who(review.evaluated_by_user_id),
            "review_note": review.review_note, "reviewed_at": review.reviewed_at,
            "reviewed_by": who(review.reviewed_by_user_id)}
