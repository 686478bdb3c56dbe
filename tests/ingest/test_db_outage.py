"""PostGIS goes down during intake: HTTP answers 503 with Retry-After, the worker pauses; after recovery nothing is lost.

Runs against a PostgreSQL instance of its own (initdb in a temp dir, port 5440) — never the shared one.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from config.runtime import build_services
from ingest.bus import intake_stats, submit_many
from ingest.worker import IntakeWorker
from tests.conftest import make_test_settings, migrate
from tests.factories.intake import build_world, case

PG_BIN = "/usr/lib/postgresql/15/bin"


def _free_port(preferred: int = 5440) -> int:
    for port in range(preferred, preferred + 50):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise RuntimeError("no free port")


class TempPostgres:
    """A throwaway cluster run as user postgres."""

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="onemap-pg-")
        shutil.chown(self.dir, "postgres", "postgres")
        self.port = _free_port()
        self._pg("initdb", "-D", f"{self.dir}/data", "-A", "trust", "-U", "postgres", "--no-sync")

    def _pg(self, tool: str, *args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", f"{PG_BIN}/{tool}", *args], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)

    def start(self) -> None:
        self._pg("pg_ctl", "-D", f"{self.dir}/data", "-l", f"{self.dir}/log", "-w", "start",
                 "-o", f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off")

    def stop(self) -> None:
        self._pg("pg_ctl", "-D", f"{self.dir}/data", "-m", "fast", "-w", "stop")

    def url(self, db: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{db}"

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def own_pg() -> Iterator[TempPostgres]:
    if os.geteuid() != 0 or not os.path.exists(f"{PG_BIN}/initdb"):
        pytest.skip("needs root (to run initdb as postgres) and PostgreSQL 15 binaries")
    pg = TempPostgres()
    pg.start()
    yield pg
    pg.destroy()


@pytest.mark.slow
def test_postgis_down_503_then_recovery_loses_nothing(own_pg: TempPostgres, settings) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import create_engine

    admin = create_engine(own_pg.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text('CREATE DATABASE "outage"'))
    admin.dispose()
    s = make_test_settings("outage", database_url=own_pg.url("outage"),
                           redis_namespace=f"{settings.redis_namespace}:outage-{uuid.uuid4().hex[:4]}")
    migrate(s)
    svc = build_services(s, pool_size=4)
    w = build_world(svc)
    from dashboard import create_app

    client = create_app(s).test_client()
    h = w.auth("city")
    worker = IntakeWorker(dataclasses.replace(svc), "outage-worker", batch_size=50)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()

    def post(rid: str) -> int:
        return client.post("/api/v1/ingest/case_report", json={"records": [case(w, rid)]}, headers=h).status_code

    assert post("before") == 200
    own_pg.stop()
    refused = []
    for i in range(20):
        r = client.post("/api/v1/ingest/case_report", json={"records": [case(w, f"down-{i}")]}, headers=h)
        assert r.status_code == 503 and r.headers["Retry-After"] and \
            r.get_json()["error"]["code"] == "service.database_unavailable"
        refused.append(f"down-{i}")
    submit_many(svc.redis, s.redis_namespace, "case_report", [case(w, f"stream-{i}") for i in range(300)])
    time.sleep(2.0)
    assert worker.stats.db_pauses >= 1 and worker.stats.stored == 0
    own_pg.start()
    for rid in refused:  # the client retries what was refused
        deadline = time.monotonic() + 30
        while post(rid) != 200:
            assert time.monotonic() < deadline
            time.sleep(0.5)
    deadline = time.monotonic() + 60
    while intake_stats(svc.redis, s.redis_namespace)["queued"] and time.monotonic() < deadline:
        time.sleep(0.2)
    stop.set()
    thread.join(10)
    with svc.session_factory() as session:
        ids = session.scalars(text("SELECT source_id FROM case_report")).all()
    expected = {f"{w.inst_a}:{r}" for r in ["before", *refused, *(f"stream-{i}" for i in range(300))]}
    assert sorted(ids) == sorted(expected)  # every record once, none lost
    assert intake_stats(svc.redis, s.redis_namespace)["dead"] == 0
    for key in svc.redis.scan_iter(f"{s.redis_namespace}:*"):
        svc.redis.delete(key)
    svc.engine.dispose()
