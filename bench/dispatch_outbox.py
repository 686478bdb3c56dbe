"""Callback outbox throughput: deliveries per second to the stand-in city, 1 vs 2 workers, and the
per-delivery time percentiles (claim + SM2 sign + HTTP + commit).

Usage: .venv/bin/python bench/dispatch_outbox.py [--tasks 50] [--updates 4]
Creates a throwaway database on the local PostgreSQL (dropped at the end).
"""
from __future__ import annotations

import argparse
import statistics
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from accounts.principal import Principal
from cli.db import alembic_config, ensure_database
from config import Settings
from config.runtime import build_services
from dispatch.models import FeedbackRequest, TaskCreate
from dispatch.outbox import CallbackTarget, deliver_due, district_key_id
from dispatch.service import accept_task, create_task, report_feedback
from dispatch.standin import CityStandin
from security.sm2 import generate_keypair

CITY = Principal(user_id=0, username="bench-city", role="city_api", org_id=0, region_code="310000")
DISTRICT = Principal(user_id=0, username="bench-district", role="district_commander", org_id=0, region_code="310105")


def _fill(factory, tasks: int, updates: int) -> None:  # type: ignore[no-untyped-def]
    deadline = datetime.now(UTC) + timedelta(days=1)
    for _ in range(tasks):
        with factory() as s, s.begin():
            task, _ = create_task(s, actor=CITY, default_district="310105", data=TaskCreate(
                city_task_id=f"B-{uuid.uuid4().hex[:12]}", title="bench", type="other", deadline=deadline))
            accept_task(s, actor=DISTRICT, task_id=task.id)
            for i in range(updates):
                report_feedback(s, actor=DISTRICT, task_id=task.id, data=FeedbackRequest(progress=10 * (i + 1)))


def _run(factory, target: CallbackTarget, workers: int) -> tuple[float, int, list[float]]:  # type: ignore[no-untyped-def]
    times: list[float] = []
    lock = threading.Lock()

    counts: list[int] = []

    def work() -> None:
        while True:
            t0 = time.perf_counter()
            stats = deliver_due(factory, target=target, max_rows=1)
            if not stats.delivered and not stats.failed:
                return
            with lock:
                times.append(time.perf_counter() - t0)
                counts.append(stats.delivered)

    start = time.perf_counter()
    threads = [threading.Thread(target=work) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start, sum(counts), times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=50)
    parser.add_argument("--updates", type=int, default=4)
    args = parser.parse_args()
    name = f"onemap_bench_{uuid.uuid4().hex[:8]}"
    url = str(make_url("postgresql+psycopg://postgres@127.0.0.1:5432/postgres").set(database=name)
              .render_as_string(hide_password=False))
    ensure_database(url)
    command.upgrade(alembic_config(url), "heads")
    settings = Settings(database_url=url, redis_namespace=f"bench-{name}")
    svc = build_services(settings, pool_size=4)
    city_private, _ = generate_keypair()
    district_private, district_public = generate_keypair()
    city = CityStandin(city_private_key_hex=city_private, district_public_key_hex=district_public,
                       district_key_id=district_key_id("310105")).start()
    target = CallbackTarget(url=city.callback_url, private_key_hex=district_private,
                            key_id=district_key_id("310105"))
    try:
        for workers in (1, 2):
            _fill(svc.session_factory, args.tasks, args.updates)
            elapsed, delivered, times = _run(svc.session_factory, target, workers)
            q = statistics.quantiles(times, n=100)
            print(f"workers={workers}: {delivered} deliveries in {elapsed:.2f} s = {delivered / elapsed:.0f}/s; "
                  f"per delivery p50 {q[49] * 1000:.1f} ms, p95 {q[94] * 1000:.1f} ms, max {max(times) * 1000:.1f} ms")
        dup = sum(1 for r in city.callbacks if r.times_received > 1)
        print(f"city received {len(city.callbacks)} distinct callbacks, {dup} duplicates, {len(city.rejected)} rejected")
    finally:
        city.stop()
        svc.engine.dispose()
        admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
