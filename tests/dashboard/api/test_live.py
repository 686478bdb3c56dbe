"""Server-Sent Events end to end over a real HTTP server: scope filtering, Last-Event-ID replay, heartbeats."""
from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server

from layers.precision import snap_point
from tests.factories.intake import World, case


@pytest.fixture(scope="module")
def world(intake_world: Any) -> Any:
    """This module's `world`: `intake_world` (tests/factories/intake.py)."""
    return intake_world


@pytest.fixture(scope="module")
def base_url(settings) -> Iterator[str]:  # type: ignore[no-untyped-def]
    from dashboard import create_app

    app = create_app(settings)
    app.config["ONEMAP_SSE_HEARTBEAT"] = 0.5
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


class Screen:
    """An SSE client reading frames on a thread."""

    def __init__(self, url: str, token: str, last_event_id: str | None = None) -> None:
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        self.resp = requests.get(f"{url}/api/v1/live", headers=headers, stream=True, timeout=10)
        assert self.resp.status_code == 200, self.resp.text
        self.frames: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        frame: dict[str, Any] = {}
        try:
            for line in self.resp.iter_lines(decode_unicode=True):
                if line == "":
                    if frame:
                        self.frames.put(frame)
                    frame = {}
                elif line.startswith(":"):
                    frame.setdefault("comment", line[1:].strip())
                else:
                    key, _, value = line.partition(": ")
                    frame[key] = json.loads(value) if key == "data" else value
        except Exception:  # closed by the test
            pass

    def changes(self, source_ids: set[str], timeout: float = 5.0) -> list[dict[str, Any]]:
        """Change frames for our records until all `source_ids` arrived or `timeout` passed."""
        got: list[dict[str, Any]] = []
        seen: set[str] = set()
        deadline = time.monotonic() + timeout
        while seen != source_ids and time.monotonic() < deadline:
            try:
                f = self.frames.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            sid = f.get("data", {}).get("fields", {}).get("source_id") if f.get("event") == "change" else None
            if sid in source_ids:
                got.append(f)
                seen.add(sid)
        return got

    def close(self) -> None:
        self.resp.close()


def post(url: str, w: World, records: list[dict[str, Any]]) -> None:
    r = requests.post(f"{url}/api/v1/ingest/case_report", json={"records": records},
                      headers={"Authorization": f"Bearer {w.tokens['city']}"}, timeout=10)
    assert r.status_code == 200, r.text


def sids(w: World, *rids: str, inst: str | None = None) -> set[str]:
    return {f"{inst or w.inst_a}:{r}" for r in rids}


def test_reconnect_with_last_event_id_replays_missed_events(base_url: str, world: World) -> None:
    w = world
    screen = Screen(base_url, w.tokens["city"])
    post(base_url, w, [case(w, "sse-1")])
    first = screen.changes(sids(w, "sse-1"))
    # the city screen has no personal-data right: the case's point arrives snapped to its 200 m cell
    assert len(first) == 1 and first[0]["data"]["geometry"] == snap_point(121.32, 31.23) != [121.32, 31.23]
    assert "patient" not in json.dumps(first[0]["data"]) and "张" not in json.dumps(first[0]["data"])
    screen.close()
    post(base_url, w, [case(w, "sse-2")])  # missed while disconnected
    post(base_url, w, [case(w, "sse-3")])
    again = Screen(base_url, w.tokens["city"], last_event_id=first[0]["id"])
    post(base_url, w, [case(w, "sse-4")])  # live after the reconnect
    got = again.changes(sids(w, "sse-2", "sse-3", "sse-4"))
    assert [f["data"]["fields"]["source_id"].split(":")[1] for f in got] == ["sse-2", "sse-3", "sse-4"]
    ids = [tuple(map(int, f["id"].split("-"))) for f in got]
    assert ids == sorted(ids) and ids[0] > tuple(map(int, first[0]["id"].split("-")))
    again.close()


def test_viewers_receive_only_their_scope(base_url: str, world: World) -> None:
    w = world
    a, b, inst = (Screen(base_url, w.tokens[k]) for k in ("district_a", "district_b", "inst_a"))
    in_a = case(w, "scope-sse-a")
    in_a2 = case(w, "scope-sse-a2", institution_code=w.inst_a2, lon=121.37)
    in_b = case(w, "scope-sse-b", institution_code=w.inst_b, lon=121.45)
    post(base_url, w, [in_a, in_a2, in_b])
    everything = sids(w, "scope-sse-a") | sids(w, "scope-sse-a2", inst=w.inst_a2) | sids(w, "scope-sse-b", inst=w.inst_b)
    got_a = {f["data"]["fields"]["source_id"] for f in a.changes(everything, timeout=3)}
    got_b = {f["data"]["fields"]["source_id"] for f in b.changes(everything, timeout=1)}
    got_i = {f["data"]["fields"]["source_id"] for f in inst.changes(everything, timeout=1)}
    assert got_a == sids(w, "scope-sse-a") | sids(w, "scope-sse-a2", inst=w.inst_a2)
    assert got_b == sids(w, "scope-sse-b", inst=w.inst_b)
    assert got_i == sids(w, "scope-sse-a")
    for s in (a, b, inst):
        s.close()


def test_heartbeat_gap_reset_and_status(base_url: str, world: World) -> None:
    w = world
    screen = Screen(base_url, w.tokens["district_a"])
    comments = []
    while len(comments) < 2:
        f = screen.frames.get(timeout=3)
        comments += [f["comment"]] if f.get("comment") == "heartbeat" else []
    screen.close()
    post(base_url, w, [case(w, "sse-gap")])
    stale = Screen(base_url, w.tokens["district_a"], last_event_id="1-0")  # long trimmed away
    frame = stale.frames.get(timeout=3)
    while frame.get("event") != "reset":
        frame = stale.frames.get(timeout=3)
    assert frame["data"] == {"reason": "gap"} and frame["id"] != "1-0"
    stale.close()
    status = requests.get(f"{base_url}/api/v1/live/status", headers={"Authorization": f"Bearer {w.tokens['city']}"},
                          timeout=5).json()
    assert status["relay"]["alive"] and status["events"]["length"] >= 1 and status["intake"]["dead"] >= 0
    assert requests.get(f"{base_url}/api/v1/live", timeout=5).status_code == 401
