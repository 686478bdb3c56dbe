"""The callback outbox: retries with backoff while the city is down, exactly once by idempotency key,
in order per task, and never sent twice at the same time by two workers."""
from __future__ import annotations

import threading
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from dispatch.models import FeedbackRequest, TaskCreate
from dispatch.outbox import backoff, deliver_due, http_post
from dispatch.service import accept_task, create_task, report_feedback
from store.dispatch import CallbackDelivery
from tests.factories.dispatch import DISTRICT, World


def _new_city_task(services: Any, world: World, updates: int = 0) -> tuple[int, str]:
    """A city task accepted by the district, with `updates` progress reports (1 + 1 + updates callbacks)."""
    city_id = f"SH-{uuid.uuid4().hex[:12]}"
    with services.session_factory() as s, s.begin():
        task, _ = create_task(s, actor=world.principals["city_api"], default_district=DISTRICT, data=TaskCreate(
            city_task_id=city_id, title="排查发热人员", type="screening",
            deadline=datetime.now(UTC) + timedelta(days=1)))
        accept_task(s, actor=world.principals["commander"], task_id=task.id)
        for i in range(updates):
            report_feedback(s, actor=world.principals["commander"], task_id=task.id,
                            data=FeedbackRequest(progress=10 * (i + 1), counts={"persons_screened": 5 * (i + 1)}))
        return task.id, city_id


def _rows(services: Any, task_id: int) -> list[CallbackDelivery]:
    with services.session_factory() as s:
        return list(s.scalars(select(CallbackDelivery).where(CallbackDelivery.task_id == task_id)
                              .order_by(CallbackDelivery.id)))


def test_city_down_then_back_each_callback_arrives_once_in_order(world: World, standin, target,
                                                                 services) -> None:  # type: ignore[no-untyped-def]
    standin.stop()  # connection refused
    tasks = [_new_city_task(services, world, updates=2) for _ in range(3)]
    now = datetime.now(UTC)

    stats = deliver_due(services.session_factory, target=target, now=now)
    assert stats.delivered == 0 and stats.failed == 3  # only the head of each task is tried
    head = _rows(services, tasks[0][0])[0]
    assert head.status == "pending" and head.attempts == 1 and "Connection" in (head.last_error or "")
    assert head.next_attempt_at > now  # backed off
    assert deliver_due(services.session_factory, target=target, now=now).failed == 0  # not due yet

    standin.start()
    standin.failing = True  # reachable but answering 503
    stats = deliver_due(services.session_factory, target=target, now=now + timedelta(hours=1))
    assert stats.delivered == 0 and stats.failed == 3
    assert _rows(services, tasks[0][0])[0].last_status_code == 503

    standin.failing = False
    stats = deliver_due(services.session_factory, target=target, now=now + timedelta(hours=2))
    assert stats.failed == 0 and stats.delivered >= 3 * 4
    for task_id, city_id in tasks:
        got = standin.received_for(city_id)
        assert [p["sequence"] for p in got] == [1, 2, 3, 4]
        assert [p["progress"] for p in got] == [0, 0, 10, 20]
        assert got[-1]["counts"] == {"persons_screened": 10}
        assert all(r.status == "delivered" and r.attempts >= 1 for r in _rows(services, task_id))
    assert all(r.times_received == 1 for r in standin.callbacks)
    assert standin.rejected == []


def test_lost_acknowledgement_is_resent_and_recorded_once(world: World, standin, target,
                                                          services) -> None:  # type: ignore[no-untyped-def]
    task_id, city_id = _new_city_task(services, world)

    def send_then_lose_answer(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int, str]:
        http_post(url, body, headers, timeout)
        raise TimeoutError("read timed out")

    now = datetime.now(UTC)
    assert deliver_due(services.session_factory, target=target, now=now, post=send_then_lose_answer).failed == 1
    deliver_due(services.session_factory, target=target, now=now + timedelta(hours=1))
    got = standin.received_for(city_id)
    assert [p["sequence"] for p in got] == [1, 2]
    first = next(r for r in standin.callbacks if r.payload["city_task_id"] == city_id)
    assert first.times_received == 2  # the city saw it twice and kept it once by its idempotency key
    assert [r.attempts for r in _rows(services, task_id)] == [2, 1]


def test_two_workers_never_send_one_row_twice_and_keep_task_order(world: World, standin, target,
                                                                  services) -> None:  # type: ignore[no-untyped-def]
    tasks = [_new_city_task(services, world, updates=3) for _ in range(4)]
    arrivals: list[str] = []
    lock = threading.Lock()

    def slow_post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int, str]:
        time.sleep(0.02)  # widen the window in which the other worker looks for work
        with lock:
            arrivals.append(headers["Idempotency-Key"])
        return http_post(url, body, headers, timeout)

    workers = [threading.Thread(target=deliver_due, args=(services.session_factory,),
                                kwargs={"target": target, "post": slow_post}) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert len(arrivals) == len(set(arrivals)) == 4 * 5
    by_task: dict[str, list[int]] = defaultdict(list)
    for key in arrivals:
        _, task, seq = key.split(":")
        by_task[task].append(int(seq))
    assert all(seqs == sorted(seqs) for seqs in by_task.values())
    for _, city_id in tasks:
        assert [p["sequence"] for p in standin.received_for(city_id)] == [1, 2, 3, 4, 5]


def test_backoff_doubles_up_to_an_hour() -> None:
    delays = [backoff(n, jitter=0).total_seconds() for n in range(1, 14)]
    assert delays[:4] == [5, 10, 20, 40]
    assert max(delays) == 3600 and delays == sorted(delays)
