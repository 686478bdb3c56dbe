"""Two web processes and two stream workers: every open screen gets every event; no record is stored twice."""
from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

import pytest
import requests

from config.runtime import build_services
from ingest.bus import intake_stats, submit_many
from tests.factories.intake import build_world, case
from tests.system.chaos.conftest import created_event_ids, rollup_differences, scale, stored_source_ids
from tests.system.chaos.support import Ledger, free_port, start_web, start_worker, stop


class Screen(threading.Thread):
    """One open screen: reads /api/v1/live and keeps the source ids of the 'created' case events it sees."""

    def __init__(self, url: str, headers: dict[str, str], prefix: str) -> None:
        super().__init__(daemon=True)
        self.url, self.headers, self.prefix = url, headers, prefix
        self.seen: list[str] = []
        self.connected = threading.Event()
        self.done = threading.Event()
        self.error: str | None = None
        self.last_id = ""
        self.reconnects = 0

    def run(self) -> None:
        while not self.done.is_set():  # like EventSource: a closed stream is reopened with Last-Event-ID
            try:
                self._read()
            except requests.RequestException as exc:  # the servers stop at the end of the test
                if not self.done.is_set():
                    self.error = repr(exc)
                return
            self.reconnects += not self.done.is_set()

    def _read(self) -> None:
        headers = {**self.headers, **({"Last-Event-ID": self.last_id} if self.last_id else {})}
        with requests.get(f"{self.url}/api/v1/live", headers=headers, stream=True, timeout=(5, 60)) as r:
            r.raise_for_status()
            self.connected.set()
            name = None
            for line in r.iter_lines(decode_unicode=True):
                if self.done.is_set():
                    return
                if line.startswith("id:"):
                    self.last_id = line[3:].strip()
                elif line.startswith("event:"):
                    name = line[6:].strip()
                elif line.startswith("data:") and name == "change":
                    event: dict[str, Any] = json.loads(line[5:])
                    sid = (event.get("fields") or {}).get("source_id", "")
                    if event.get("action") == "created" and sid.startswith(self.prefix):
                        self.seen.append(sid)


@pytest.mark.slow
def test_two_web_processes_two_workers(settings, ledger: Ledger, tmp_path) -> None:  # type: ignore[no-untyped-def]
    s = settings.model_copy(update={"redis_namespace": f"{settings.redis_namespace}:multi-{uuid.uuid4().hex[:6]}"})
    svc = build_services(s, pool_size=2)
    world = build_world(svc)
    webs = [start_web(s, free_port(port), threads=16) for port in (8810, 8830)]
    urls = ["http://" + w.args[w.args.index("--bind") + 1] for w in webs]
    workers = [start_worker(s, "--batch", "100", log_path=str(tmp_path / f"worker{i}.log")) for i in range(2)]
    n_stream, n_http, tag = scale(600, 5_000), scale(100, 1_000), uuid.uuid4().hex[:6]
    prefix = f"{world.inst_a}:m{tag}-"
    # city-level viewers: test worlds share coordinates, so which district a point falls in depends on the others
    screens = [Screen(url, world.auth("city"), prefix) for url in urls for _ in range(3)]
    try:
        for screen in screens:
            screen.start()
        assert all(screen.connected.wait(30) for screen in screens)
        time.sleep(0.5)
        expected = [f"{prefix}{i}" for i in range(n_stream + n_http)]
        submit_many(svc.redis, s.redis_namespace, "case_report",
                    [case(world, f"m{tag}-{i}", lon=121.301 + (i % 97) / 1000) for i in range(n_stream)])
        http = requests.Session()
        for start in range(n_stream, n_stream + n_http, 50):  # batches alternate between the two web processes
            r = http.post(f"{urls[(start // 50) % 2]}/api/v1/ingest/case_report", headers=world.auth("city"),
                          json={"records": [case(world, f"m{tag}-{i}") for i in range(start, start + 50)]},
                          timeout=60)
            assert r.status_code == 200, r.text
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and min(len(set(sc.seen)) for sc in screens) < len(expected):
            time.sleep(0.2)
        st = intake_stats(svc.redis, s.redis_namespace)
        relays = [requests.get(f"{url}/api/v1/live/status", headers=world.auth("city"), timeout=10).json()["relay"]
                  for url in urls]
    finally:
        for screen in screens:
            screen.done.set()
        for proc in workers + webs:
            stop(proc)
    missing = [len(set(expected) - set(sc.seen)) for sc in screens]
    repeated = [len(sc.seen) - len(set(sc.seen)) for sc in screens]
    ledger.notes.update(screens=len(screens), events_missing_per_screen=missing, repeated_per_screen=repeated,
                        dead_letters=st["dead"], reconnects=sum(sc.reconnects for sc in screens),
                        screen_errors=[sc.error for sc in screens if sc.error],
                        relays=[{k: r[k] for k in ("alive", "screens", "relayed", "errors")} for r in relays])
    ledger.settle(expected, stored_source_ids(svc.session_factory, prefix),
                  created_event_ids(svc.redis, s.redis_namespace, prefix))
    rollups = rollup_differences(svc.session_factory, ledger)
    svc.engine.dispose()
    assert (ledger.lost, ledger.duplicated, st["queued"], st["pending"], st["dead"], rollups) == (0, 0, 0, 0, 0, 0)
    assert missing == [0] * len(screens) and repeated == [0] * len(screens)
    assert [sc.error for sc in screens] == [None] * len(screens)
