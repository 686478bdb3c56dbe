"""The benchmark stack: our own tuned PostgreSQL cluster, a demo-seeded database, bearer tokens, the web tier.

`bench.run_all` starts one cluster and seeds one template database, then passes them to every
benchmark through ONEMAP_BENCH_PG (the cluster's URL prefix) and ONEMAP_BENCH_* keys; a benchmark
started on its own builds them itself. The shared PostgreSQL and Redis are never written to except
under a unique Redis namespace.
"""
from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import create_engine, text

from tests.conftest import make_test_settings, migrate
from tests.system.chaos.support import ROOT, OwnPostgres, service_env

TEMPLATE = "onemap_bench_template"
DISTRICT = "310105"
# A production-like configuration for a 2-core, 24 GB machine (fsync and synchronous commit stay on).
PG_OPTIONS = ("-c max_connections=400", "-c shared_buffers=1GB", "-c work_mem=32MB",
              "-c maintenance_work_mem=512MB", "-c effective_cache_size=8GB", "-c max_wal_size=4GB",
              "-c random_page_cost=1.1", "-c jit=off")
KEY_VARS = ("ONEMAP_BENCH_PII_KEYS", "ONEMAP_BENCH_BLIND_INDEX_KEY", "ONEMAP_BENCH_SECRET_KEY")


def bench_keys() -> dict[str, str]:
    """Keys shared by every benchmark of one run (from the environment, else new)."""
    if all(os.environ.get(k) for k in KEY_VARS):
        return {k: os.environ[k] for k in KEY_VARS}
    return {"ONEMAP_BENCH_PII_KEYS": f"k1:{secrets.token_hex(16)}", "ONEMAP_BENCH_BLIND_INDEX_KEY": secrets.token_hex(32),
            "ONEMAP_BENCH_SECRET_KEY": secrets.token_hex(32)}


def start_cluster() -> OwnPostgres:
    pg = OwnPostgres(port_from=5460, options=PG_OPTIONS)
    pg.start()
    return pg


def _admin(pg_url: str) -> Any:
    return create_engine(f"{pg_url}/postgres", isolation_level="AUTOCOMMIT")


def settings_for(pg_url: str, database: str, keys: dict[str, str]) -> Any:
    return make_test_settings(database, database_url=f"{pg_url}/{database}",
                              redis_namespace=f"bench-{database}-{uuid.uuid4().hex[:6]}",
                              pii_keys=keys["ONEMAP_BENCH_PII_KEYS"],
                              blind_index_key=keys["ONEMAP_BENCH_BLIND_INDEX_KEY"],
                              secret_key=keys["ONEMAP_BENCH_SECRET_KEY"], testing=False)


def seed_template(pg_url: str, keys: dict[str, str]) -> float:
    """Migrate and seed the demo data set into the template database; returns seconds (0 if present)."""
    admin = _admin(pg_url)
    with admin.connect() as conn:
        if conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": TEMPLATE}):
            admin.dispose()
            return 0.0
        conn.execute(text(f'CREATE DATABASE "{TEMPLATE}"'))
    admin.dispose()
    started = time.perf_counter()
    s = settings_for(pg_url, TEMPLATE, keys)
    migrate(s)
    from config.runtime import build_services
    from demo.seed import seed_demo
    from geo.db import session_scope

    svc = build_services(s, pool_size=1)
    end = datetime.now(timezone(timedelta(hours=8))).date()
    with session_scope(svc.session_factory) as session:
        seed_demo(session, cipher=svc.cipher, end=end, keys_dir=Path(tempfile.mkdtemp(prefix="onemap-bench-keys-")))
    with svc.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    svc.engine.dispose()
    return time.perf_counter() - started


def clone(pg_url: str, name: str) -> None:
    admin = _admin(pg_url)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"'))
    admin.dispose()


def drop(pg_url: str, name: str) -> None:
    admin = _admin(pg_url)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@contextmanager
def bench_database(label: str, seeded: bool = True) -> Iterator[Any]:
    """Settings of a fresh copy of the seeded demo database (or an empty migrated one) on the benchmark cluster."""
    keys = bench_keys()
    pg = None
    pg_url = os.environ.get("ONEMAP_BENCH_PG")
    if not pg_url:
        pg = start_cluster()
        pg_url = pg.url("").rstrip("/")
        if seeded:
            seed_template(pg_url, keys)
    name = f"onemap_bench_{label}_{uuid.uuid4().hex[:6]}"
    s = settings_for(pg_url, name, keys)
    if seeded:
        clone(pg_url, name)
    else:
        admin = _admin(pg_url)
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        migrate(s)
    try:
        yield s
    finally:
        import redis as redis_lib

        r = redis_lib.Redis.from_url(s.redis_url)
        for key in r.scan_iter(f"{s.redis_namespace}:*"):
            r.delete(key)
        drop(pg_url, name)
        if pg is not None:
            pg.destroy()


def make_tokens(settings: Any, count: int, role: str = "district_analyst", city: bool = False) -> list[str]:
    """`count` users of `role` in the demo district (or the city), one bearer token each."""
    from accounts.principal import CITY_CODE
    from accounts.tokens import create_token
    from accounts.users import create_user, ensure_org
    from config.runtime import build_services

    svc = build_services(settings, pool_size=1)
    tag = uuid.uuid4().hex[:6]
    tokens = []
    with svc.session_factory() as db, db.begin():
        org = ensure_org(db, code=f"bench-{tag}", name="压测", level="city" if city else "district",
                         region_code=CITY_CODE if city else DISTRICT)
        for i in range(count):
            user = create_user(db, username=f"bench_{tag}_{i}", display_name=f"压测{i}", org=org, role=role,
                               password=None)
            tokens.append(create_token(db, user_id=user.id, name="bench")[1])
    svc.engine.dispose()
    return tokens


def start_gunicorn(settings: Any, port: int, *, workers: int, threads: int, connections: int) -> subprocess.Popen[bytes]:
    """The web tier as `onemap serve` runs it (gunicorn gthread, wsgi:app), sized for the open screens."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
         "--threads", str(threads), "--worker-connections", str(connections), "--worker-class", "gthread",
         "--timeout", "120", "--graceful-timeout", "10", "--backlog", "2048", "wsgi:app"],
        cwd=ROOT, env=service_env(settings), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return wait_until_up(proc, f"http://127.0.0.1:{port}/healthz", "gunicorn", 180)


def wait_until_up(proc: subprocess.Popen[bytes], url: str, name: str, seconds: float) -> subprocess.Popen[bytes]:
    """`proc` once `url` answers 200 (connection refused while it starts); killed and RuntimeError after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}")
        try:
            if requests.get(url, timeout=3).status_code == 200:
                return proc
        except requests.RequestException:
            pass  # not listening yet
        time.sleep(0.5)
    proc.kill()
    raise RuntimeError(f"{name} did not come up")


def write_tokens(tokens: list[str], path: Path) -> None:
    path.write_text(json.dumps(tokens), encoding="utf-8")
