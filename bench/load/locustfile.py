"""Locust users of the district platform: map layers, KPIs, signals and tasks (read paths of both one-maps).

Run by bench.load.run_load; tokens come from the JSON file named by ONEMAP_BENCH_TOKENS (one user each).
Think time per user from ONEMAP_BENCH_WAIT ("1,3" s by default: an analyst clicking through filters;
a screen on SSE does not poll).
"""
from __future__ import annotations

import itertools
import json
import os
from datetime import date, timedelta
from pathlib import Path

from locust import HttpUser, between, task

TOKENS = json.loads(Path(os.environ["ONEMAP_BENCH_TOKENS"]).read_text(encoding="utf-8"))
_next_token = itertools.count()
TODAY = date.today()
WAIT = tuple(float(x) for x in os.environ.get("ONEMAP_BENCH_WAIT", "1,3").split(","))
PERIODS = [(TODAY - timedelta(days=d)).isoformat() for d in (7, 30, 90, 365)]


class Analyst(HttpUser):
    wait_time = between(*WAIT)

    def on_start(self) -> None:
        token = TOKENS[next(_next_token) % len(TOKENS)]
        self.client.headers.update({"Authorization": f"Bearer {token}", "Accept-Encoding": "gzip"})
        self.turn = itertools.count()

    def _since(self) -> str:
        return PERIODS[next(self.turn) % len(PERIODS)]

    @task(3)
    def incidence_streets(self) -> None:
        self.client.get("/api/v1/layers/incidence", params={"level": "street", "since": self._since()},
                        name="layer incidence (streets)")

    @task(1)
    def incidence_grid(self) -> None:
        self.client.get("/api/v1/layers/incidence", params={"level": "grid", "since": PERIODS[1]},
                        name="layer incidence (H3 grid)")

    @task(2)
    def cases(self) -> None:
        self.client.get("/api/v1/layers/cases", params={"since": PERIODS[0]}, name="layer cases (7 days)")

    @task(2)
    def points(self) -> None:
        layer = ("institutions.fever_clinic", "teams", "resources", "signals", "tasks")[next(self.turn) % 5]
        self.client.get(f"/api/v1/layers/{layer}", name="layer points (clinics/teams/resources/signals/tasks)")

    @task(3)
    def kpis(self) -> None:
        self.client.get("/api/v1/monitor/summary", params={"since": self._since()}, name="KPIs (monitor summary)")

    @task(1)
    def command_kpis(self) -> None:
        self.client.get("/api/v1/command/summary", name="KPIs (command summary)")

    @task(2)
    def signal_list(self) -> None:
        self.client.get("/api/v1/signals", name="signal list")

    @task(2)
    def task_list(self) -> None:
        self.client.get("/api/v1/dispatch/tasks", name="task list")
