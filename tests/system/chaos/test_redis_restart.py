"""Kill and restart Redis (our own, append-only file fsynced always) while records arrive over HTTP and Streams."""
from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import redis as redis_lib

from config.runtime import build_services
from ingest.bus import intake_stats, submit_many
from tests.factories.intake import build_world, case
from tests.system.chaos.conftest import created_event_ids, rollup_differences, scale, stored_source_ids
from tests.system.chaos.support import Ledger, OwnRedis, start_worker, stop


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    server = OwnRedis(port_from=6391)
    server.start()
    yield server
    server.destroy()


@pytest.mark.slow
def test_redis_killed_and_restarted_mid_intake(settings, own_redis: OwnRedis, ledger: Ledger,
                                               tmp_path) -> None:  # type: ignore[no-untyped-def]
    from dashboard import create_app

    # a single Redis killed and restarted: pinned to it, without Sentinels (with them the app would follow them)
    s = settings.model_copy(update={"redis_url": own_redis.url, "redis_sentinels": "",
                                    "redis_namespace": f"{settings.redis_namespace}:redis-{uuid.uuid4().hex[:6]}"})
    svc = build_services(s, pool_size=2)
    world = build_world(svc)
    client = create_app(s).test_client()
    chunks, size, tag = scale(30, 80), 50, uuid.uuid4().hex[:6]
    prefix = f"{world.inst_a}:"
    accepted: list[str] = []
    retries = {"stream": 0, "http": 0}
    worker = start_worker(s, "--batch", "100", "--min-idle-ms", "2000", log_path=str(tmp_path / "worker.log"))
    outage = threading.Event()

    def produce() -> None:
        for c in range(chunks):
            via = "http" if c % 3 == 0 else "stream"
            records = [case(world, f"r{tag}-{c}-{i}", lon=121.301 + i / 1000) for i in range(size)]
            while True:  # a client retries until its batch is acknowledged
                try:
                    if via == "stream":
                        submit_many(svc.redis, s.redis_namespace, "case_report", records)
                    else:
                        r = client.post("/api/v1/ingest/case_report", json={"records": records},
                                        headers=world.auth("city"))
                        if r.status_code != 200:
                            raise RuntimeError(f"HTTP {r.status_code}")
                    break
                except (redis_lib.RedisError, RuntimeError):
                    retries[via] += 1
                    time.sleep(0.2)
            accepted.extend(f"{prefix}{rec['record_id']}" for rec in records)
            if c == chunks // 3:
                outage.set()
            time.sleep(0.05)

    producer = threading.Thread(target=produce)
    producer.start()
    try:
        assert outage.wait(120)
        own_redis.kill()  # no shutdown save: only what the append-only file holds survives
        time.sleep(3)
        own_redis.start()
        producer.join(300)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            st = intake_stats(svc.redis, s.redis_namespace)
            if st["queued"] == 0 and st["pending"] == 0 and \
                    len(stored_source_ids(svc.session_factory, f"{prefix}r{tag}-")) >= len(accepted):
                break
            time.sleep(0.3)
    finally:
        stop(worker)
    stats = intake_stats(svc.redis, s.redis_namespace)
    ledger.notes.update(stream_retries=retries["stream"], http_retries=retries["http"], dead_letters=stats["dead"])
    ledger.settle(accepted, stored_source_ids(svc.session_factory, f"{prefix}r{tag}-"),
                  created_event_ids(svc.redis, s.redis_namespace, f"{prefix}r{tag}-"))
    rollups = rollup_differences(svc.session_factory, ledger)
    svc.engine.dispose()
    assert not producer.is_alive()
    assert ledger.accepted == chunks * size
    assert (ledger.lost, ledger.duplicated, stats["dead"], rollups) == (0, 0, 0, 0)
