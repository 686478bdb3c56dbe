"""Crash and restart PostgreSQL (our own cluster) under HTTP and Streams intake: clients retry on 503, nothing is lost."""
from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis as redis_lib
import requests

from config.runtime import build_services
from ingest.bus import intake_stats, submit_many
from tests.conftest import make_test_settings, migrate
from tests.factories.intake import build_world, case
from tests.system.chaos.conftest import created_event_ids, rollup_differences, scale, stored_source_ids
from tests.system.chaos.support import (
    Ledger,
    OwnPostgres,
    can_run_own_postgres,
    free_port,
    start_web,
    start_worker,
    stop,
)


@pytest.fixture
def own_pg() -> Iterator[OwnPostgres]:
    if not can_run_own_postgres():
        pytest.skip("needs root (initdb runs as postgres) and the PostgreSQL 15 binaries")
    pg = OwnPostgres(port_from=5451)
    pg.start()
    yield pg
    pg.destroy()


def _post_until_committed(http: requests.Session, url: str, records: list[dict[str, Any]], headers: dict[str, str],
                          answers: dict[int, int]) -> None:
    """POST one batch, retrying as Retry-After says (shortened here) until it is committed; count every answer."""
    while True:
        try:
            status = http.post(url, json={"records": records}, headers=headers, timeout=30).status_code
        except requests.RequestException:
            status = -1
        answers[status] = answers.get(status, 0) + 1
        if status == 200:
            return
        time.sleep(0.3)


def _wait_until_drained(redis: redis_lib.Redis, namespace: str, seconds: float) -> None:
    """Wait until the intake streams have nothing queued or pending (at most `seconds`)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        st = intake_stats(redis, namespace)
        if st["queued"] == 0 and st["pending"] == 0:
            return
        time.sleep(0.3)


@pytest.mark.slow
def test_postgres_crash_and_restart_mid_intake(settings, own_pg: OwnPostgres, ledger: Ledger,
                                               tmp_path) -> None:  # type: ignore[no-untyped-def]
    own_pg.create_database("chaos")
    s = make_test_settings("chaos", database_url=own_pg.url("chaos"),
                           redis_namespace=f"{settings.redis_namespace}:pg-{uuid.uuid4().hex[:6]}")
    migrate(s)
    svc = build_services(s, pool_size=2)
    world = build_world(svc)
    web = start_web(s, free_port(8790), threads=8)
    url = web.args[web.args.index("--bind") + 1]
    worker = start_worker(s, "--batch", "100", "--min-idle-ms", "2000", log_path=str(tmp_path / "worker.log"))
    chunks, size, tag = scale(30, 80), 40, uuid.uuid4().hex[:6]
    prefix = f"{world.inst_a}:p{tag}-"
    accepted: list[str] = []
    answers: dict[int, int] = {}
    crash = threading.Event()
    http = requests.Session()

    def produce() -> None:
        for c in range(chunks):
            records = [case(world, f"p{tag}-{c}-{i}", lon=121.301 + i / 1000) for i in range(size)]
            if c % 2:
                submit_many(svc.redis, s.redis_namespace, "case_report", records)
            else:
                _post_until_committed(http, f"http://{url}/api/v1/ingest/case_report", records,
                                      world.auth("city"), answers)
            accepted.extend(f"{world.inst_a}:{rec['record_id']}" for rec in records)
            if c == chunks // 3:
                crash.set()
            time.sleep(0.05)

    producer = threading.Thread(target=produce)
    producer.start()
    try:
        assert crash.wait(120)
        own_pg.stop("immediate")  # a crash: no checkpoint, WAL recovery on start
        time.sleep(3)
        own_pg.start()
        producer.join(300)
        _wait_until_drained(svc.redis, s.redis_namespace, 180)
    finally:
        stop(worker)
        stop(web)
    stats = intake_stats(svc.redis, s.redis_namespace)
    server_errors = sum(n for code, n in answers.items() if code >= 500 and code != 503)
    ledger.notes.update(http_answers=dict(sorted(answers.items())), dead_letters=stats["dead"])
    ledger.settle(accepted, stored_source_ids(svc.session_factory, prefix),
                  created_event_ids(svc.redis, s.redis_namespace, prefix))
    rollups = rollup_differences(svc.session_factory, ledger)  # the crashed cluster's database, after WAL recovery
    svc.engine.dispose()
    for key in svc.redis.scan_iter(f"{s.redis_namespace}:*"):
        svc.redis.delete(key)
    assert not producer.is_alive()
    assert ledger.accepted == chunks * size
    assert (ledger.lost, ledger.duplicated, stats["dead"], server_errors, rollups) == (0, 0, 0, 0, 0)
