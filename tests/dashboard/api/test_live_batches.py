"""The SSE writer sends the events already queued for a screen in one write, in order, each once."""
from __future__ import annotations

import queue

from accounts.principal import Principal
from dashboard.api.live import BATCH_MAX, _follow
from ingest.hub import Subscription

ANALYST = Principal(user_id=1, username="a", role="district_analyst", org_id=1, region_code="310105")


def _event(n: int, district: str = "310105") -> tuple[str, dict[str, object]]:
    return f"1700000000000-{n}", {"kind": "team_position", "id": n, "district_code": district}


def test_queued_events_go_out_in_one_write_in_order() -> None:
    sub = Subscription(items=queue.Queue())
    for n in range(5):
        sub.items.put(_event(n, "310104" if n == 2 else "310105"))  # event 2: another district, not for this screen
    sub.items.put(_event(1))  # already sent: not again
    chunk = next(_follow(ANALYST, sub, 0.01, None))
    ids = [line.split(": ", 1)[1] for line in chunk.splitlines() if line.startswith("id: ")]
    assert ids == ["1700000000000-0", "1700000000000-1", "1700000000000-3", "1700000000000-4"]
    assert chunk.endswith("\n\n") and chunk.count("event: change") == 4


def test_a_lone_event_is_written_at_once_and_a_batch_is_bounded() -> None:
    sub = Subscription(items=queue.Queue())
    sub.items.put(_event(0))
    follow = _follow(ANALYST, sub, 0.01, None)
    assert next(follow).count("event: change") == 1
    assert next(follow) == ": heartbeat\n\n"  # nothing queued: no waiting to fill a batch
    for n in range(1, BATCH_MAX + 11):
        sub.items.put(_event(n))
    assert next(follow).count("event: change") == BATCH_MAX
    assert next(follow).count("event: change") == 10
