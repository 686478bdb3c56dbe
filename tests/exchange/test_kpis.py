"""Exchange KPIs from the ledger equal a hand count of a scripted day with injected failures."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from exchange import kpis
from tests.exchange.test_upward import case_ids, ingest, send
from tests.factories.intake import now_cst

DEADLINE = timedelta(hours=3)


def test_kpis_equal_the_hand_count(client, services, world, city) -> None:
    reported = (now_cst() - timedelta(minutes=10)).isoformat()  # the business event: reported 10 min ago
    ids = sorted(case_ids(services, world, ingest(client, world, "kpi", 10, report_time=reported)),
                 key=lambda r: int(r.split("-")[1]))
    local = [int(r.split("-")[1]) for r in ids]
    city.receiver.refuse = set(ids[:2])  # the city rejects two records
    with services.session_factory() as s, s.begin():
        # One record edited into something the schema refuses (sex 'X'): its first row is superseded by the edit.
        s.execute(text("UPDATE case_report SET sex = 'X' WHERE id = :i"), {"i": local[2]})
        # Three records whose business event lies 5 h back: delivered, but late.
        s.execute(text("UPDATE exchange_outbox SET business_at = now() - interval '5 hours' "
                       "WHERE record_id = ANY(:ids)"), {"ids": local[3:6]})
    stats = send(services, city, world)
    assert (stats.delivered, stats.refused, stats.superseded) == (7, 3, 1)

    now = datetime.now(UTC)
    with services.session_factory() as s:
        (day,) = kpis.daily(s, since=now - timedelta(days=1), until=now + timedelta(minutes=1), deadline=DEADLINE)
        waiting = kpis.waiting(s)
    # Hand count: 10 answered (7 accepted, 2 rejected, 1 schema-invalid), 1 superseded; of the 7 delivered,
    # 3 came 5 h after their event; 9 of the 10 passed the schema on the first answer.
    assert (day.answered, day.delivered, day.refused, day.superseded, day.pending) == (10, 7, 3, 1, 0)
    assert day.rates() == {"success": 0.7, "timeliness": round(4 / 7, 4), "conformance": 0.9}
    assert waiting.pending == 0 and not waiting.stale(now, DEADLINE)


def test_a_silent_peer_shows_as_stale(client, services, world, city) -> None:
    ingest(client, world, "stale", 3)
    city.standin.stop()  # the city does not answer at all
    stats = send(services, city, world)
    assert stats.failed == 3 and stats.delivered == 0
    with services.session_factory() as s:
        waiting = kpis.waiting(s)
    assert waiting.pending == 3
    assert not waiting.stale(datetime.now(UTC), DEADLINE)
    assert waiting.stale(datetime.now(UTC) + DEADLINE + timedelta(minutes=1), DEADLINE)
