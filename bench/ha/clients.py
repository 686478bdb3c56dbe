"""The clients of the failover scenarios: open screens (SSE with Last-Event-ID), a read load, an intake sender."""
from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis as redis_lib
import requests

from ingest.bus import submit_many


@dataclass
class Screen:
    """One open screen: follows /api/v1/live, reconnects with Last-Event-ID, keeps every change id it saw."""

    base: str
    token: str
    ids: list[str] = field(default_factory=list)
    reconnects: int = 0
    resets: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    last_id: str = ""

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._run, daemon=True)
        thread.start()
        return thread

    def _run(self) -> None:
        while not self.stop.is_set():
            headers = {"Authorization": f"Bearer {self.token}", "Accept": "text/event-stream"}
            if self.last_id:
                headers["Last-Event-ID"] = self.last_id
            try:
                with requests.get(f"{self.base}/api/v1/live", headers=headers, stream=True, timeout=(3, 30)) as resp:
                    self._follow(resp)
            except requests.RequestException:
                pass
            self.reconnects += 1
            self.stop.wait(0.5)

    def _follow(self, resp: requests.Response) -> None:
        event_id, name = "", ""
        for raw in resp.iter_lines(decode_unicode=True):
            if self.stop.is_set():
                return
            line = raw or ""
            if line.startswith("id:"):
                event_id = line[3:].strip()
            elif line.startswith("event:"):
                name = line[6:].strip()
            elif line == "" and event_id:
                if name == "change":
                    self.ids.append(event_id)
                self.resets += name == "reset"
                self.last_id, event_id, name = event_id, "", ""


@dataclass
class ReadLoad:
    """`clients` threads reading `path` round robin over the web processes; counts answers by where they read."""

    bases: list[str]
    token: str
    path: str
    clients: int = 50
    pause: float = 0.05
    routes: Counter[str] = field(default_factory=Counter)
    errors: int = 0
    requests: int = 0
    last_replica_at: float = 0.0
    stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> list[threading.Thread]:
        threads = [threading.Thread(target=self._client, args=(n,), daemon=True) for n in range(self.clients)]
        for t in threads:
            t.start()
        return threads

    def _client(self, n: int) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.token}"
        while not self.stop.is_set():
            try:
                resp = session.get(self.bases[n % len(self.bases)] + self.path, timeout=30)
                ok, route = resp.status_code == 200, resp.headers.get("X-Onemap-Read", "none")
            except requests.RequestException:
                ok, route = False, "error"
            self._count(ok, route)
            self.stop.wait(self.pause)

    def _count(self, ok: bool, route: str) -> None:
        with self._lock:
            self.requests += 1
            self.errors += not ok
            self.routes[route] += 1
            if route == "replica":
                self.last_replica_at = time.monotonic()

    def snapshot(self) -> Counter[str]:
        with self._lock:
            return Counter(self.routes)


@dataclass
class Sender:
    """Intake at `rate` records/s in batches through Sentinel; a batch counts as accepted once acknowledged
    (on a Redis replica: WAIT); a failed batch is sent again until it is."""

    redis: redis_lib.Redis
    namespace: str
    make: Callable[[str], dict[str, Any]]  # record id → record
    rate: float = 100.0
    batch: int = 10
    accepted: list[str] = field(default_factory=list)
    retries: int = 0
    first_failure_at: float | None = None
    resumed_at: float | None = None
    stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._run, daemon=True)
        thread.start()
        return thread

    def _run(self) -> None:
        n, period = 0, self.batch / self.rate
        next_at = time.monotonic()
        while not self.stop.is_set():
            records = [self.make(f"ha{n + i}") for i in range(self.batch)]
            self._send(records)
            self.accepted += [r["record_id"] for r in records]
            n += self.batch
            next_at += period
            self.stop.wait(max(0.0, next_at - time.monotonic()))

    def _send(self, records: list[dict[str, Any]]) -> None:
        failed = False
        while True:
            try:
                submit_many(self.redis, self.namespace, "case_report", records, replicas=-1)
                break
            except redis_lib.RedisError:
                self.retries += 1
                if self.first_failure_at is None:
                    self.first_failure_at = time.monotonic()
                failed = True
                time.sleep(0.1)
        if failed and self.resumed_at is None:
            self.resumed_at = time.monotonic()
