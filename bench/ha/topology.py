"""The local HA topology of `make ha`: a PostgreSQL primary and a streaming replica, a Redis master and replica
(append-only, fsync always) watched by three Sentinels, two web processes and two intake workers.

Everything lives under var/ha/ (data directories, sockets, logs) on its own ports; `Topology.stop()` stops what
`start()` started. PostgreSQL runs as user postgres when we are root (it refuses root).
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis as redis_lib
import requests

ROOT = Path(__file__).resolve().parents[2]
HA_DIR = ROOT / "var" / "ha"
PG_BIN = "/usr/lib/postgresql/15/bin"
PG_PRIMARY, PG_REPLICA = 55432, 55433
REDIS_MASTER, REDIS_REPLICA = 6390, 6391
SENTINELS = (26390, 26391, 26392)
WEB_PORTS = (18081, 18082)
MASTER_NAME = "onemap-ha"
DATABASE = "onemap_ha"


def port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _as_postgres(*cmd: str) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else list(cmd)


def _run(cmd: list[str], log: Path) -> None:
    with log.open("ab") as out:
        subprocess.run(cmd, check=True, stdout=out, stderr=subprocess.STDOUT, timeout=300)


def _wait(check: Any, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # noqa: BLE001 (not up yet)
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not come up within {timeout:.0f} s")


@dataclass
class Postgres:
    """One cluster of the pair (primary or replica) in var/ha/pg-<port>."""

    port: int

    @property
    def data(self) -> Path:
        return HA_DIR / f"pg-{self.port}"

    @property
    def log(self) -> Path:
        return HA_DIR / f"pg-{self.port}.log"

    def url(self, db: str = DATABASE) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{db}"

    def options(self) -> str:
        return (f"-p {self.port} -k {HA_DIR / 'run'} -c listen_addresses=127.0.0.1 -c wal_level=replica "
                "-c max_wal_senders=5 -c wal_keep_size=256MB -c hot_standby=on -c hot_standby_feedback=on "
                "-c max_connections=300 -c fsync=on")

    def initdb(self) -> None:
        _run(_as_postgres(f"{PG_BIN}/initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                          "--no-sync"), self.log)

    def basebackup_from(self, primary: Postgres) -> None:
        """A streaming replica of `primary` (standby.signal and primary_conninfo written by -R)."""
        _run(_as_postgres(f"{PG_BIN}/pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
                          "-D", str(self.data), "-R", "-X", "stream", "-c", "fast"), self.log)

    def start(self) -> None:
        server_log = HA_DIR / f"pg-{self.port}.server.log"  # written by the server (user postgres)
        _run(_as_postgres(f"{PG_BIN}/pg_ctl", "-D", str(self.data), "-l", str(server_log), "-w", "-t", "120",
                          "-o", self.options(), "start"), self.log)

    def stop(self, mode: str = "fast") -> None:
        if (self.data / "postmaster.pid").exists():
            with self.log.open("ab") as out:
                subprocess.run(_as_postgres(f"{PG_BIN}/pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop"),
                               stdout=out, stderr=subprocess.STDOUT, timeout=120, check=False)


@dataclass
class RedisNode:
    """A Redis server (or, with `sentinel_of`, a Sentinel) run in the foreground by us."""

    port: int
    replica_of: int | None = None
    sentinel_of: int | None = None
    proc: subprocess.Popen[bytes] | None = None

    def _config(self) -> Path:
        d = HA_DIR / f"redis-{self.port}"
        d.mkdir(parents=True, exist_ok=True)
        lines = [f"port {self.port}", "bind 127.0.0.1", f"dir {d}", "protected-mode no"]
        if self.sentinel_of is not None:  # Sentinel rewrites its own config file: it must be writable
            lines += [f"sentinel monitor {MASTER_NAME} 127.0.0.1 {self.sentinel_of} 2",
                      f"sentinel down-after-milliseconds {MASTER_NAME} 1000",
                      f"sentinel failover-timeout {MASTER_NAME} 5000", f"sentinel parallel-syncs {MASTER_NAME} 1"]
        else:
            lines += ["appendonly yes", "appendfsync always", 'save ""']
            lines += [f"replicaof 127.0.0.1 {self.replica_of}"] if self.replica_of else []
        path = d / ("sentinel.conf" if self.sentinel_of is not None else "redis.conf")
        if not path.exists() or self.sentinel_of is None:
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    def start(self) -> None:
        cmd = ["redis-server", str(self._config())] + (["--sentinel"] if self.sentinel_of is not None else [])
        log = (HA_DIR / f"redis-{self.port}.log").open("ab")
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        _wait(lambda: redis_lib.Redis(port=self.port, socket_timeout=1).ping(), f"redis {self.port}", 30)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no last write."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        _stop(self.proc)


def _stop(proc: subprocess.Popen[Any] | None, timeout: float = 20) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


@dataclass
class Topology:
    """The whole local topology; `env` is what every web process and worker gets."""

    primary: Postgres = field(default_factory=lambda: Postgres(PG_PRIMARY))
    replica: Postgres = field(default_factory=lambda: Postgres(PG_REPLICA))
    redis: list[RedisNode] = field(default_factory=lambda: [
        RedisNode(REDIS_MASTER), RedisNode(REDIS_REPLICA, replica_of=REDIS_MASTER),
        *(RedisNode(p, sentinel_of=REDIS_MASTER) for p in SENTINELS)])
    apps: list[subprocess.Popen[bytes]] = field(default_factory=list)
    max_lag: float = 5.0

    def env(self, secrets: dict[str, str]) -> dict[str, str]:
        return {**os.environ, **secrets, "DATABASE_URL": self.primary.url(), "REPLICA_URLS": self.replica.url(),
                "REPLICA_MAX_LAG_SECONDS": str(self.max_lag), "REDIS_URL": "redis://127.0.0.1/0",
                "REDIS_SENTINELS": ",".join(f"127.0.0.1:{p}" for p in SENTINELS), "REDIS_MASTER_NAME": MASTER_NAME,
                "REDIS_NAMESPACE": "ha", "ANSWER_CACHE_SECONDS": "0"}

    def start_data(self) -> None:
        """PostgreSQL primary + replica, Redis master + replica + three Sentinels (var/ha/ wiped first)."""
        busy = [p for p in (PG_PRIMARY, PG_REPLICA, REDIS_MASTER, REDIS_REPLICA, *SENTINELS, *WEB_PORTS)
                if not port_free(p)]
        if busy:
            raise RuntimeError(f"ports in use: {busy} (a previous `make ha` still running?)")
        shutil.rmtree(HA_DIR, ignore_errors=True)
        (HA_DIR / "run").mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(HA_DIR, "postgres", "postgres")
            shutil.chown(HA_DIR / "run", "postgres", "postgres")
        self.primary.initdb()
        self.primary.start()
        self.replica.basebackup_from(self.primary)
        self.replica.start()
        for node in self.redis:
            node.start()

    def start_apps(self, secrets: dict[str, str]) -> None:
        """Two web processes (gunicorn, as `onemap serve`) and two intake workers."""
        env = self.env(secrets)
        for n in (1, 2):
            onemap = str(Path(sys.executable).parent / "onemap")
            self.apps.append(self._spawn([onemap, "worker", "--consumer", f"ha-worker-{n}", "--batch", "100",
                                          "--min-idle-ms", "3000"], env, f"worker-{n}"))
        self.start_web(secrets)

    def start_web(self, secrets: dict[str, str], **overrides: str) -> list[subprocess.Popen[bytes]]:
        """The two web processes (gunicorn, as `onemap serve`) with `env()` changed by `overrides`; up when returned."""
        env = {**self.env(secrets), **overrides}
        web = [self._spawn([sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
                            "--threads", "32", "--worker-class", "gthread", "--timeout", "120",
                            "--graceful-timeout", "5", "wsgi:app"], env, f"web-{port}") for port in WEB_PORTS]
        self.apps += web
        for port in WEB_PORTS:
            _wait(lambda p=port: requests.get(f"http://127.0.0.1:{p}/healthz", timeout=2).ok, f"web {port}", 120)
        return web

    def stop_apps(self) -> None:
        """Stop the web processes and workers started so far (the data tier keeps running)."""
        for proc in self.apps:
            _stop(proc)
        self.apps.clear()

    @staticmethod
    def _spawn(cmd: list[str], env: dict[str, str], name: str) -> subprocess.Popen[bytes]:
        log = (HA_DIR / f"{name}.log").open("ab")
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

    def redis_master_port(self) -> int:
        """The port Sentinel names as master now."""
        addr = redis_lib.Redis(port=SENTINELS[0], socket_timeout=1).sentinel_get_master_addr_by_name(MASTER_NAME)
        return int(addr[1])

    def node(self, port: int) -> RedisNode:
        return next(n for n in self.redis if n.port == port)

    def stop(self) -> None:
        """Stop everything started here, apps first."""
        self.stop_apps()
        for node in self.redis:
            node.stop()
        self.replica.stop()
        self.primary.stop()
