"""Periodic work of the dispatch domain: 督办 reminders for overdue tasks, then escalation."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.service import OPEN_STATES, Publish, record_event
from store.dispatch import Task

ESCALATE_AFTER = timedelta(hours=2)


@dataclass
class OverdueResult:
    reminded: list[int] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)


def check_overdue(session: Session, now: datetime, *, escalate_after: timedelta = ESCALATE_AFTER,
                  publish: Publish | None = None) -> OverdueResult:
    """Remind the assignee of each newly overdue task; escalate to the supervisor if still open later.

    Level 0 → 1: a `reminder` event to the assignee (the institution or team; the district for its own task).
    Level 1 → 2: an `escalation` event to the supervisor (the district for a sub-task; district leaders
    for a district task) once `escalate_after` has passed since the reminder. Rows are claimed with
    SKIP LOCKED so two schedulers never remind twice; the caller commits.
    """
    result = OverdueResult()
    rows = session.scalars(
        select(Task).where(Task.state.in_(OPEN_STATES), Task.deadline < now, Task.escalation_level < 2)
        .order_by(Task.deadline).with_for_update(skip_locked=True)
    )
    for task in rows:
        assignee = _assignee_label(task)
        if task.escalation_level == 0:
            task.escalation_level, task.last_reminder_at = 1, now
            record_event(session, task, None, "reminder", from_state=task.state,
                    note=f"任务已超期，督办提醒{assignee}", publish=publish)
            result.reminded.append(task.id)
        elif task.last_reminder_at is None or now - task.last_reminder_at >= escalate_after:
            task.escalation_level, task.last_reminder_at = 2, now
            supervisor = "区级指挥" if task.parent_id else "区领导"
            record_event(session, task, None, "escalation", from_state=task.state,
                    note=f"督办后仍未完成，已上报{supervisor}", publish=publish)
            result.escalated.append(task.id)
    return result


def _assignee_label(task: Task) -> str:
    if task.assignee_institution_id:
        return f"机构#{task.assignee_institution_id}"
    if task.assignee_team_id:
        return f"队伍#{task.assignee_team_id}"
    return "区级承办人"
