"""Our own PostgreSQL cluster and Redis server (never the shared ones), processes, and the record ledger.

Used by the fault suite (tests/system/chaos) and by the benchmarks (bench/), which need engines they may
kill, restart or tune without disturbing anyone else's tests.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import redis as redis_lib
import requests

from tests.databases import ha_env
from tests.paths import REPO_ROOT

PG_BIN = "/usr/lib/postgresql/15/bin"
ROOT = str(REPO_ROOT)
ONEMAP = os.path.join(os.path.dirname(sys.executable), "onemap")
SHARED_PORTS = {5432, 6379}  # the shared PostgreSQL and Redis: never ours to stop


def free_port(start: int) -> int:
    """The first port from `start` on which nothing listens (skipping the shared services)."""
    for port in range(start, start + 200):
        if port in SHARED_PORTS:
            continue
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise RuntimeError(f"no free port from {start}")


def can_run_own_postgres() -> bool:
    return os.geteuid() == 0 and os.path.exists(f"{PG_BIN}/initdb")


class OwnPostgres:
    """A throwaway PostgreSQL 15 cluster (PostGIS from the Debian package) run as user postgres."""

    def __init__(self, *, port_from: int = 5450, fsync: bool = True, options: Iterable[str] = ()) -> None:
        self.dir = tempfile.mkdtemp(prefix="onemap-own-pg-")
        shutil.chown(self.dir, "postgres", "postgres")
        self.port = free_port(port_from)
        assert self.port not in SHARED_PORTS
        self.options = [f"-p {self.port}", f"-k {self.dir}", "-c listen_addresses=127.0.0.1",
                        f"-c fsync={'on' if fsync else 'off'}", *options]
        self._pg("initdb", "-D", f"{self.dir}/data", "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")

    def _pg(self, tool: str, *args: str, check: bool = True) -> int:
        return subprocess.run(["runuser", "-u", "postgres", "--", f"{PG_BIN}/{tool}", *args], check=check,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=180).returncode

    def start(self) -> None:
        self._pg("pg_ctl", "-D", f"{self.dir}/data", "-l", f"{self.dir}/log", "-w", "-t", "120", "start",
                 "-o", " ".join(self.options))

    def stop(self, mode: str = "fast") -> None:
        """Stop the cluster; mode 'immediate' is a crash (no checkpoint, recovery from WAL on start)."""
        self._pg("pg_ctl", "-D", f"{self.dir}/data", "-m", mode, "-w", "stop", check=False)

    def url(self, db: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{db}"

    def create_database(self, name: str) -> None:
        from sqlalchemy import create_engine, text

        admin = create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


class OwnRedis:
    """A throwaway Redis with the append-only file fsynced on every write (what production runs)."""

    def __init__(self, *, port_from: int = 6390) -> None:
        self.dir = tempfile.mkdtemp(prefix="onemap-own-redis-")
        self.port = free_port(port_from)
        assert self.port not in SHARED_PORTS
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir, "--save", "",
             "--appendonly", "yes", "--appendfsync", "always", "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis_lib.Redis.from_url(self.url, socket_connect_timeout=1)
        for _ in range(100):
            try:
                if client.ping():
                    return
            except redis_lib.RedisError:
                time.sleep(0.1)
        raise RuntimeError("own redis did not start")

    def kill(self) -> None:
        """SIGKILL: what survives is what the append-only file holds."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def destroy(self) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def service_env(settings: Any, **extra: str) -> dict[str, str]:
    """The environment an `onemap` subprocess needs to use `settings`."""
    return {**os.environ, "DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url,
            "REDIS_NAMESPACE": settings.redis_namespace, "PII_KEYS": settings.pii_keys.get_secret_value(),
            "BLIND_INDEX_KEY": settings.blind_index_key.get_secret_value(),
            "SECRET_KEY": settings.secret_key.get_secret_value(), **ha_env(settings), **extra}


def start_worker(settings: Any, *args: str, log_path: str | None = None) -> subprocess.Popen[bytes]:
    """`onemap worker` as its own process."""
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115 (closed with the process)
    return subprocess.Popen([ONEMAP, "worker", *args], cwd=ROOT, env=service_env(settings), stdout=out,
                            stderr=subprocess.STDOUT)


def start_web(settings: Any, port: int, *, workers: int = 1, threads: int = 32,
              extra: Iterable[str] = ()) -> subprocess.Popen[bytes]:
    """The production server (gunicorn gthread, as `onemap serve` runs it) on `port`; waits for /healthz."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--threads",
         str(threads), "--worker-class", "gthread", "--timeout", "120", "--graceful-timeout", "10", *extra,
         "wsgi:app"], cwd=ROOT, env=service_env(settings), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"web server on {port} exited with {proc.returncode}")
        try:
            if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                return proc
        except requests.RequestException:
            pass
        time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"web server on {port} did not come up")


def stop(proc: subprocess.Popen[Any], timeout: float = 20) -> None:
    """SIGTERM, then SIGKILL if it does not exit in time."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@dataclass
class Ledger:
    """Accepted / stored / lost / duplicated records of one fault scenario."""

    scenario: str
    accepted: int = 0
    stored: int = 0
    lost: int = 0
    duplicated: int = 0
    server_errors_on_bad_input: int = 0
    notes: dict[str, Any] = field(default_factory=dict)

    def settle(self, accepted_ids: Iterable[str], stored_ids: Iterable[str],
               created_event_ids: Iterable[str] | None = None) -> Ledger:
        """Count from the ids the clients saw accepted, the rows in PostGIS, and the 'created' change events."""
        accepted, stored = set(accepted_ids), list(stored_ids)
        stored_set = set(stored)
        self.accepted, self.stored = len(accepted), len(stored_set & accepted)
        self.lost = len(accepted - stored_set)
        self.duplicated = len(stored) - len(stored_set)  # rows sharing a source id
        if created_event_ids is not None:  # a record stored ("created") twice
            self.duplicated += sum(n - 1 for n in Counter(created_event_ids).values() if n > 1)
        return self

    def line(self) -> str:
        extra = "".join(f" {k}={v}" for k, v in self.notes.items())
        return (f"{self.scenario}: accepted={self.accepted} stored={self.stored} lost={self.lost} "
                f"duplicated={self.duplicated} 5xx_on_bad_input={self.server_errors_on_bad_input}{extra}")
