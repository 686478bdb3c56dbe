"""Issue #15 item 10: splitting a task that reported 40 % must not reset it to 0 % nor send 0 % to the city;
the sub-tasks share the work left at the split, and counts reported before the split are kept."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from dispatch.models import FeedbackRequest, SubtaskSpec, TaskCreate
from dispatch.service import accept_task, create_task, report_feedback, rolled_up_progress, split_task
from store.dispatch import CallbackDelivery, Task
from tests.factories.dispatch import DISTRICT, World

DEADLINE = datetime.now(UTC) + timedelta(days=30)  # deadlines must lie ahead


def _city_progress(db, task_id: int) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    payloads = db.scalars(select(CallbackDelivery.payload).where(CallbackDelivery.task_id == task_id)
                          .order_by(CallbackDelivery.id))
    return [(p["event"], p["progress"]) for p in payloads]


def test_split_keeps_reported_progress_and_counts(db, world: World) -> None:  # type: ignore[no-untyped-def]
    city, cmd = world.principals["city_api"], world.principals["commander"]
    parent, _ = create_task(db, actor=city, default_district=DISTRICT, data=TaskCreate(
        city_task_id=f"C-{uuid.uuid4().hex[:8]}", title="密接排查", type="screening", deadline=DEADLINE))
    accept_task(db, actor=cmd, task_id=parent.id)
    report_feedback(db, actor=cmd, task_id=parent.id,
                    data=FeedbackRequest(progress=40, counts={"screened": 12}))
    assert db.get(Task, parent.id).progress == 40

    subs = split_task(db, actor=cmd, task_id=parent.id, specs=[
        SubtaskSpec(title=f"排查{i}", deadline=DEADLINE - timedelta(hours=1),
                    assignee_institution_id=world.institutions[i]) for i in range(2)])
    parent_now = db.get(Task, parent.id)
    assert parent_now.progress == 40 and parent_now.counts == {"screened": 12}

    report_feedback(db, actor=world.principals["inst0"], task_id=subs[0].id,
                    data=FeedbackRequest(progress=50, counts={"screened": 3}))
    parent_now = db.get(Task, parent.id)
    assert parent_now.progress == 55  # 40 + 60 × mean(50, 0) / 100
    assert parent_now.counts == {"screened": 15}

    sent = [p for _, p in _city_progress(db, parent.id)]
    assert sent == sorted(sent) and 0 not in sent[sent.index(40):], sent  # never backwards after 40 %

    for i, sub in enumerate(subs):
        report_feedback(db, actor=world.principals[f"inst{i}"], task_id=sub.id, data=FeedbackRequest(status="done"))
    done = db.get(Task, parent.id)
    assert (done.state, done.progress) == ("done", 100)
    assert _city_progress(db, parent.id)[-1] == ("task.state_changed", 100)


def test_rolled_up_progress() -> None:
    assert rolled_up_progress(0, [0, 50]) == 25  # unsplit-before work: the plain mean
    assert rolled_up_progress(40, [0, 0]) == 40
    assert rolled_up_progress(40, [100, 100]) == 100
