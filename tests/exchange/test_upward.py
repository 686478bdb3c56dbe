"""Case reports ingested in the district reach the stand-in city exactly once, identity sealed for the city only."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text

from config.runtime import Services
from exchange.schema import Batch
from exchange.sender import http_post, send_due
from security.envelope import EnvelopeError, EnvelopeHeader, open_data_key
from security.sm2 import generate_keypair
from store.exchange import ExchangeOutbox
from tests.factories.intake import World, case

LATER = timedelta(hours=2)  # past any backoff of a failed first try


def ingest(client: Any, w: World, prefix: str, n: int, **over: Any) -> list[str]:
    ids = [f"{prefix}-{i:05d}" for i in range(n)]
    for start in range(0, n, 250):
        r = client.post("/api/v1/ingest/case_report", headers=w.auth("inst_a"),
                        json={"records": [case(w, rid, **over) for rid in ids[start:start + 250]]})
        assert r.status_code == 200, r.get_json()
    return ids


def case_ids(services: Services, w: World, source_ids: list[str]) -> set[str]:
    with services.session_factory() as s:
        rows = s.execute(text("SELECT district_code, id FROM case_report WHERE source_id = ANY(:ids)"),
                         {"ids": [f"{w.inst_a}:{r}" for r in source_ids]}).all()
    return {f"{d}-{i}" for d, i in rows}


def statuses(services: Services) -> dict[str, int]:
    with services.session_factory() as s:
        rows = s.execute(select(ExchangeOutbox.status, func.count()).group_by(ExchangeOutbox.status)).all()
    return {status: n for status, n in rows}


def send(services: Services, city: Any, w: World, bodies: list[bytes] | None = None, **kw: Any) -> Any:
    def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int, str]:
        if bodies is not None:
            bodies.append(body)
        return http_post(url, body, headers, timeout)

    return send_due(services.session_factory, target=city.target, cipher=services.cipher,
                    district_code=w.district_a, post=post, **kw)


def test_a_thousand_reports_arrive_once_each_after_the_city_was_down(client, services, world, city) -> None:
    source_ids = ingest(client, world, "x1k", 1000)
    expected = case_ids(services, world, source_ids)
    assert len(expected) == 1000 and statuses(services) == {"pending": 1000}

    city.standin.failing = True
    down = send(services, city, world)
    assert down.failed == 500 and down.delivered == 0  # the first batch fails, the sender stops for this round
    assert statuses(services) == {"pending": 1000} and not city.receiver.held

    city.standin.failing = False
    bodies: list[bytes] = []
    up = send(services, city, world, bodies, now=datetime.now(UTC) + LATER)
    assert up.delivered == 1000 and up.failed == 0 and up.batches == 2
    assert statuses(services) == {"delivered": 1000}
    held = {rid for (_, rid) in city.receiver.held}
    assert held == expected
    assert all(h.times_received == 1 for h in city.receiver.held.values())
    assert len(city.receiver.arrivals) == len(set(city.receiver.arrivals)) == 1000

    # Nothing is sent twice: a further round finds nothing due.
    assert send(services, city, world, now=datetime.now(UTC) + 2 * LATER).batches == 0

    # Identity travels only sealed: the city opened it; the bodies hold no clear identity; another key cannot open.
    one = next(iter(city.receiver.held.values()))
    assert one.identity == {"name": "张小明", "id_number": "11010519491231002X", "phone": "13812345678",
                            "address": "上海市长宁区某路1号"}
    for body in bodies:
        for secret in ("张小明", "11010519491231002X", "13812345678", "某路1号"):
            assert secret.encode() not in body and secret.encode("unicode_escape") not in body
    header = EnvelopeHeader(**Batch.model_validate_json(bodies[0]).envelope.model_dump())
    with pytest.raises(EnvelopeError):
        open_data_key(generate_keypair()[0], header)


def test_a_lost_answer_is_resent_and_the_city_keeps_one_copy(client, services, world, city) -> None:
    expected = case_ids(services, world, ingest(client, world, "lost", 20))
    send(services, city, world)
    with services.session_factory() as s, s.begin():  # the city's answer never arrived: the rows are still pending
        s.execute(text("UPDATE exchange_outbox SET status = 'pending', answered_at = NULL"))
    again = send(services, city, world)
    assert again.delivered == 20
    assert {rid for (_, rid) in city.receiver.held} == expected
    assert all(h.times_received == 2 for h in city.receiver.held.values())  # received twice, held once
    assert len(city.receiver.arrivals) == 20


def test_an_update_sends_the_newer_version_once(client, services, world, city) -> None:
    rid = ingest(client, world, "upd", 1)[0]
    send(services, city, world)
    r = client.post("/api/v1/ingest/case_report", headers=world.auth("inst_a"),
                    json={"records": [case(world, rid, version=2, outcome="recovered")]})
    assert r.status_code == 200, r.get_json()
    with services.session_factory() as s, s.begin():  # a second edit before the sender runs: one version goes
        s.execute(text("UPDATE case_report SET age = 35 WHERE source_id = :s"), {"s": f"{world.inst_a}:{rid}"})
    stats = send(services, city, world)
    assert stats.delivered == 1 and stats.superseded == 1
    (held,) = city.receiver.held.values()
    assert held.record["outcome"] == "recovered" and held.record["age"] == 35
    assert [v for _, v in city.receiver.arrivals] == sorted(v for _, v in city.receiver.arrivals)


def test_the_seed_loads_history_without_queueing_it(services, world) -> None:
    with services.session_factory() as s, s.begin():
        s.execute(text("SELECT set_config('onemap.exchange_capture', 'off', true)"))
        s.execute(text("UPDATE case_report SET age = age WHERE id IN (SELECT id FROM case_report LIMIT 5)"))
    assert statuses(services) == {}
