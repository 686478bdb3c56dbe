"""The local HA topology of `make ha`: a PostgreSQL primary and a streaming replica, a Redis master and replica
(append-only, fsync always) watched by three Sentinels, two web processes and two intake workers.

Everything lives under var/ha/ (data directories, sockets, logs) on its own ports; `Topology.stop()` stops what
`start()` started. PostgreSQL runs as user postgres when we are root (it refuses root). `Topology.at(home, ports)`
lays the same topology out in another directory on other ports (the test suite with HA settings, the short
failover test), so several can run side by side.
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
    home: Path = HA_DIR

    @property
    def data(self) -> Path:
        return self.home / f"pg-{self.port}"

    @property
    def log(self) -> Path:
        return self.home / f"pg-{self.port}.log"

    def url(self, db: str = DATABASE) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{db}"

    def options(self) -> str:
        return (f"-p {self.port} -k {self.home / 'run'} -c listen_addresses=127.0.0.1 -c wal_level=replica "
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
        server_log = self.home / f"pg-{self.port}.server.log"  # written by the server (user postgres)
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
    home: Path = HA_DIR

    def _config(self) -> Path:
        d = self.home / f"redis-{self.port}"
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
        with (self.home / f"redis-{self.port}.log").open("ab") as log:
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


@dataclass(frozen=True)
class Ports:
    """The ports of one topology: PostgreSQL primary and replica, Redis master and replica, Sentinels, web."""

    pg_primary: int = PG_PRIMARY
    pg_replica: int = PG_REPLICA
    redis_master: int = REDIS_MASTER
    redis_replica: int = REDIS_REPLICA
    sentinels: tuple[int, ...] = SENTINELS
    web: tuple[int, ...] = WEB_PORTS

    @classmethod
    def free(cls, web: int = 2) -> Ports:
        """Ports the system hands out as free now (for a topology next to others)."""
        socks = [socket.socket() for _ in range(7 + web)]
        try:
            for s in socks:
                s.bind(("127.0.0.1", 0))
            p = [s.getsockname()[1] for s in socks]
        finally:
            for s in socks:
                s.close()
        return cls(p[0], p[1], p[2], p[3], tuple(p[4:7]), tuple(p[7:]))

    def all(self) -> tuple[int, ...]:
        return (self.pg_primary, self.pg_replica, self.redis_master, self.redis_replica, *self.sentinels, *self.web)


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
    home: Path = HA_DIR
    ports: Ports = field(default_factory=Ports)

    @classmethod
    def at(cls, home: Path, ports: Ports | None = None, max_lag: float = 5.0) -> Topology:
        """The same topology under `home` on `ports` (default: free ones)."""
        p = ports or Ports.free()
        return cls(primary=Postgres(p.pg_primary, home), replica=Postgres(p.pg_replica, home),
                   redis=[RedisNode(p.redis_master, home=home),
                          RedisNode(p.redis_replica, replica_of=p.redis_master, home=home),
                          *(RedisNode(s, sentinel_of=p.redis_master, home=home) for s in p.sentinels)],
                   max_lag=max_lag, home=home, ports=p)

    @property
    def sentinels(self) -> str:
        """REDIS_SENTINELS: 'host:port,…' of the three Sentinels."""
        return ",".join(f"127.0.0.1:{p}" for p in self.ports.sentinels)

    @property
    def bases(self) -> list[str]:
        return [f"http://127.0.0.1:{p}" for p in self.ports.web]

    def env(self, secrets: dict[str, str]) -> dict[str, str]:
        return {**os.environ, **secrets, "DATABASE_URL": self.primary.url(), "REPLICA_URLS": self.replica.url(),
                "REPLICA_MAX_LAG_SECONDS": str(self.max_lag), "REDIS_URL": f"redis://127.0.0.1:{self.ports.redis_master}/0",
                "REDIS_SENTINELS": self.sentinels, "REDIS_MASTER_NAME": MASTER_NAME,
                "REDIS_NAMESPACE": "ha", "ANSWER_CACHE_SECONDS": "0"}

    def start_data(self, pg_replica: bool = True) -> None:
        """PostgreSQL primary + replica, Redis master + replica + three Sentinels (the home directory wiped first)."""
        busy = [p for p in self.ports.all() if not port_free(p)]
        if busy:
            raise RuntimeError(f"ports in use: {busy} (a previous `make ha` still running?)")
        shutil.rmtree(self.home, ignore_errors=True)
        (self.home / "run").mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.home, "postgres", "postgres")
            shutil.chown(self.home / "run", "postgres", "postgres")
        self.primary.initdb()
        self.primary.start()
        if pg_replica:
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
        """The web processes (gunicorn, as `onemap serve`) with `env()` changed by `overrides`; up when returned."""
        env = {**self.env(secrets), **overrides}
        web = [self._spawn([sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
                            "--threads", "32", "--worker-class", "gthread", "--timeout", "120",
                            "--graceful-timeout", "5", "wsgi:app"], env, f"web-{port}") for port in self.ports.web]
        self.apps += web
        for port in self.ports.web:
            _wait(lambda p=port: requests.get(f"http://127.0.0.1:{p}/healthz", timeout=2).ok, f"web {port}", 120)
        return web

    def stop_apps(self) -> None:
        """Stop the web processes and workers started so far (the data tier keeps running)."""
        for proc in self.apps:
            _stop(proc)
        self.apps.clear()

    def _spawn(self, cmd: list[str], env: dict[str, str], name: str) -> subprocess.Popen[bytes]:
        with (self.home / f"{name}.log").open("ab") as log:
            return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

    def redis_master_port(self) -> int:
        """The port Sentinel names as master now."""
        sentinel = redis_lib.Redis(port=self.ports.sentinels[0], socket_timeout=1)
        try:
            addr = sentinel.sentinel_get_master_addr_by_name(MASTER_NAME)
        finally:
            sentinel.close()
        assert isinstance(addr, tuple), f"Sentinel knows no master {MASTER_NAME}"
        return int(addr[1])

    def wait_sentinels(self, timeout: float = 30) -> None:
        """Until every Sentinel knows the replica and the other Sentinels (before that a failover cannot happen)."""
        def ready(port: int) -> bool:
            sentinel = redis_lib.Redis(port=port, socket_timeout=1, decode_responses=True)
            try:
                master = sentinel.sentinel_master(MASTER_NAME)
            finally:
                sentinel.close()
            others = len(self.ports.sentinels) - 1
            return int(master["num-slaves"]) >= 1 and int(master["num-other-sentinels"]) >= others

        _wait(lambda: all(ready(p) for p in self.ports.sentinels), "Sentinels knowing replica and each other", timeout)

    def node(self, port: int) -> RedisNode:
        return next(n for n in self.redis if n.port == port)

    def stop(self) -> None:
        """Stop everything started here, apps first (PostgreSQL: fast, then immediate if that hangs)."""
        self.stop_apps()
        for node in self.redis:
            node.stop()
        for pg in (self.replica, self.primary):
            try:
                pg.stop()
            except subprocess.TimeoutExpired:
                pg.stop("immediate")
