"""Intake throughput: HTTP batches and the Redis Streams worker beside a plain PostgreSQL COPY of the same rows.

Run: `.venv/bin/python -m bench.bench_intake [--records 20000]`. Uses a throwaway database on the
local PostGIS and a throwaway Redis namespace; prints records/s and the ratio to COPY.
"""
from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import requests
from sqlalchemy import text

from config.runtime import build_services
from ingest.bus import intake_stats, submit_many
from ingest.writers import write_batch
from tests.conftest import create_database, drop_database, make_test_settings, migrate
from tests.factories.intake import build_world, case

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ONEMAP = os.path.join(os.path.dirname(sys.executable), "onemap")


@contextmanager
def scratch(with_world: bool = True) -> Iterator[tuple[Any, Any, Any]]:
    """A migrated throwaway database, with a small world unless told not to; yields (settings, services, world).

    The small world's two square districts overlap real Changning (310105), so a benchmark that seeds the demo
    district asks for none: points in the overlap would be located in a square and refused for 310105.
    """
    name = f"onemap_bench_{uuid.uuid4().hex[:8]}"
    create_database(name)
    settings = make_test_settings(name, redis_namespace=f"bench-{name}")
    try:
        migrate(settings)
        services = build_services(settings, pool_size=4)
        yield settings, services, build_world(services) if with_world else None
        for key in services.redis.scan_iter(f"{settings.redis_namespace}:*"):
            services.redis.delete(key)
        services.engine.dispose()
    finally:
        drop_database(name)


def env_for(settings: Any) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url,
            "REDIS_NAMESPACE": settings.redis_namespace, "PII_KEYS": settings.pii_keys.get_secret_value(),
            "BLIND_INDEX_KEY": settings.blind_index_key.get_secret_value(),
            "SECRET_KEY": settings.secret_key.get_secret_value()}


@contextmanager
def server(settings: Any, port: int = 8761, workers: int = 2, threads: int = 32) -> Iterator[str]:
    """The production server (`onemap serve`, gunicorn gthread) on a scratch port."""
    proc = subprocess.Popen([ONEMAP, "serve", "--port", str(port), "--workers", str(workers),
                             "--threads", str(threads)], cwd=ROOT, env=env_for(settings),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.2)
        else:
            raise RuntimeError("server did not come up")
        yield url
    finally:
        proc.terminate()
        proc.wait(20)


def count(services: Any, prefix: str) -> int:
    with services.session_factory() as s:
        return int(s.scalar(text("SELECT count(*) FROM case_report WHERE source_id LIKE :p"), {"p": prefix + "%"}))


def bench_http(settings: Any, services: Any, world: Any, n: int, batch: int, clients: int) -> float:
    tag = uuid.uuid4().hex[:6]
    records = [case(world, f"h{tag}-{i}", lon=121.301 + (i % 97) / 1000) for i in range(n)]
    batches = [records[i:i + batch] for i in range(0, n, batch)]
    headers = {"Authorization": f"Bearer {world.tokens['city']}"}
    with server(settings) as url:
        session = requests.Session()

        def post(chunk: list[dict[str, Any]]) -> int:
            return session.post(f"{url}/api/v1/ingest/case_report", json={"records": chunk}, headers=headers,
                                timeout=120).status_code

        start = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            statuses = list(pool.map(post, batches))
        elapsed = time.perf_counter() - start
    assert set(statuses) == {200}, statuses
    assert count(services, f"{world.inst_a}:h{tag}-") == n
    return n / elapsed


def bench_stream(settings: Any, services: Any, world: Any, n: int, workers: int) -> tuple[float, float]:
    tag = uuid.uuid4().hex[:6]
    records = [case(world, f"s{tag}-{i}", lon=121.301 + (i % 97) / 1000) for i in range(n)]
    start = time.perf_counter()
    submit_many(services.redis, settings.redis_namespace, "case_report", records)
    enqueue = n / (time.perf_counter() - start)
    start = time.perf_counter()
    procs = [subprocess.Popen([ONEMAP, "worker", "--until-idle", "--batch", "500"], cwd=ROOT, env=env_for(settings),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(workers)]
    for p in procs:
        p.wait(600)
    elapsed = time.perf_counter() - start
    assert count(services, f"{world.inst_a}:s{tag}-") == n
    assert intake_stats(services.redis, settings.redis_namespace)["queued"] == 0
    return enqueue, n / elapsed


def bench_copy(services: Any, world: Any, n: int) -> float:
    """COPY the very rows the writers would store (encrypted, located) into a copy of case_report."""
    tag = uuid.uuid4().hex[:6]
    records = [case(world, f"c{tag}-{i}", lon=121.301 + (i % 97) / 1000) for i in range(n)]
    cols = ["source_id", "source_version", "disease_code", "case_type", "onset_date", "diagnosis_time", "report_time",
            "reporting_institution_id", "region_code", "district_code", "geom", "input_crs", "age", "sex", "outcome",
            "name_enc", "id_number_enc", "phone_enc", "address_enc", "id_number_bidx", "phone_bidx"]
    with services.session_factory() as s:  # prepare the rows outside the timing (validation, crypto, geometry)
        write_batch(s, kind="case_report", records=records, cipher=services.cipher)
        s.flush()
        rows = s.execute(text(f"SELECT {', '.join(cols)} FROM case_report WHERE source_id LIKE :p"),
                         {"p": f"{world.inst_a}:c{tag}-%"}).all()
        s.rollback()
    buf = io.StringIO()
    for r in rows:
        buf.write("\t".join(_copy_text(v) for v in r) + "\n")
    data = buf.getvalue()
    raw = services.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("CREATE TEMP TABLE case_copy (LIKE case_report INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
                    "INCLUDING INDEXES)")
        start = time.perf_counter()
        with cur.copy(f"COPY case_copy ({', '.join(cols)}) FROM STDIN") as copy:
            copy.write(data)
        raw.commit()
        elapsed = time.perf_counter() - start
    finally:
        raw.close()
    return len(rows) / elapsed


def _copy_text(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, (bytes, memoryview)):
        return "\\\\x" + bytes(value).hex()
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with scratch() as (settings, services, world):
        copy_rate = bench_copy(services, world, args.records)
        http_rate = bench_http(settings, services, world, args.records, args.batch, args.clients)
        enqueue_rate, stream_rate = bench_stream(settings, services, world, args.records, args.workers)
    print(f"case reports with identity (SM4 + blind index), {args.records} records, {os.cpu_count()} CPUs")
    print(f"  PostgreSQL COPY (prepared rows)      {copy_rate:10.0f} rec/s   1.00")
    print(f"  HTTP intake ({args.clients} clients × {args.batch}/batch)  {http_rate:10.0f} rec/s   "
          f"{http_rate / copy_rate:.3f} of COPY")
    print(f"  Streams: enqueue (XADD pipelined)    {enqueue_rate:10.0f} rec/s")
    print(f"  Streams: {args.workers} workers store         {stream_rate:10.0f} rec/s   "
          f"{stream_rate / copy_rate:.3f} of COPY")


if __name__ == "__main__":
    main()
