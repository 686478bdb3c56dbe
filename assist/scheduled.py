"""督办 of overdue 协查 requests, like dispatch's overdue tasks: a reminder, then an escalation.

Only the holding district's own timeline records them (they are not messages to the other district):
the receiving district is reminded of requests it has not answered in time; if still open
`escalate_after` later, the request is escalated to the district's leaders.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from assist.live import Publish, announce
from assist.service import OPEN_STATES, local_district, record_event
from store.assist import AssistRequest

ESCALATE_AFTER = timedelta(hours=2)


@dataclass
class OverdueResult:
    reminded: list[str] = field(default_factory=list)
    escalated: list[str] = field(default_factory=list)


def check_overdue(session: Session, now: datetime, *, escalate_after: timedelta = ESCALATE_AFTER,
                  publish: Publish | None = None) -> OverdueResult:
    """Remind (level 0 → 1), then escalate (1 → 2) open requests past their deadline; the caller commits."""
    result = OverdueResult()
    rows = session.scalars(
        select(AssistRequest).where(AssistRequest.state.in_(OPEN_STATES), AssistRequest.deadline < now,
                                    AssistRequest.escalation_level < 2)
        .order_by(AssistRequest.deadline).with_for_update(skip_locked=True))
    for req in rows:
        if req.escalation_level == 0:
            req.escalation_level, req.last_reminder_at = 1, now
            _note(session, req, "reminder", "协查已超期，督办提醒承办人", now)
            result.reminded.append(req.request_no)
            announce(session, publish, req, event_kind="reminder")
        elif req.last_reminder_at is None or now - req.last_reminder_at >= escalate_after:
            req.escalation_level, req.last_reminder_at = 2, now
            _note(session, req, "escalation", "督办后仍未办结，已上报区领导", now)
            result.escalated.append(req.request_no)
            announce(session, publish, req, event_kind="escalation")
    return result


def _note(session: Session, req: AssistRequest, kind: str, note: str, now: datetime) -> None:
    record_event(session, req, kind, from_state=req.state, actor_name="系统督办", district_code=local_district(req),
                 at=now, note=note)
