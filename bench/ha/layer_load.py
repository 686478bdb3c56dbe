"""A closed-loop read load on the layer and KPI endpoints: `clients` threads, each walking the same request mix
from its own offset (same requests in every run) on one of the web processes (clients spread round robin)."""
from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import requests

DAYS = (7, 30, 90, 365)


def request_mix(today: date, diseases: list[str]) -> list[str]:
    """Layer and KPI paths with varying filters: levels, periods, diseases (every one a different question)."""
    paths = []
    for n, days in enumerate(DAYS):
        since = (today - timedelta(days=days)).isoformat()
        for disease in ["", *diseases]:
            d = f"&disease={disease}" if disease else ""
            paths += [f"/api/v1/layers/incidence?level=street&since={since}{d}",
                      f"/api/v1/monitor/summary?since={since}{d}",
                      f"/api/v1/layers/incidence?level={('grid', 'district')[n % 2]}&since={since}{d}"]
        paths += [f"/api/v1/layers/cases?since={since}&limit=2000", "/api/v1/command/summary"]
    return paths


def quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class LayerLoad:
    bases: list[str]
    tokens: list[str]
    paths: list[str]
    clients: int = 24
    think: float = 0.05
    latencies: list[float] = field(default_factory=list)
    routes: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)  # the first few failures, as they were raised
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, seconds: float) -> float:
        """Run the load for `seconds`; returns the wall time until every client finished its last request."""
        started, deadline = time.monotonic(), time.monotonic() + seconds
        threads = [threading.Thread(target=self._client, args=(n, deadline), daemon=True)
                   for n in range(self.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(seconds + 180)
        return time.monotonic() - started

    def _client(self, n: int, deadline: float) -> None:
        http = requests.Session()
        http.headers.update({"Authorization": f"Bearer {self.tokens[n % len(self.tokens)]}",
                             "Accept-Encoding": "gzip"})
        base, turn = self.bases[n % len(self.bases)], n * 7  # one web process per client, as ReadLoad
        while time.monotonic() < deadline:
            self._one(http, base + self.paths[turn % len(self.paths)])
            turn += 1
            time.sleep(self.think)

    def _one(self, http: requests.Session, url: str) -> None:
        t0 = time.perf_counter()
        try:
            resp = http.get(url, timeout=60)
            failure = "" if resp.status_code == 200 else f"HTTP {resp.status_code}"
            route = resp.headers.get("X-Onemap-Read", "primary (no routing)")
        except requests.RequestException as exc:
            failure, route = f"{type(exc).__name__}: {exc}", "error"
        self._count((time.perf_counter() - t0) * 1000, route, failure, url)

    def _count(self, ms: float, route: str, failure: str, url: str) -> None:
        with self._lock:
            self.latencies.append(ms)
            self.routes[route] += 1
            if failure:
                self.errors[failure.split(":")[0]] += 1
                if len(self.samples) < 3:
                    self.samples.append(f"{url}: {failure}")

    def figures(self) -> dict[str, Any]:
        return {"requests": len(self.latencies), "errors": sum(self.errors.values()), "error_kinds": dict(self.errors),
                "p50_ms": round(quantile(self.latencies, 0.5)), "p95_ms": round(quantile(self.latencies, 0.95)),
                "routes": dict(self.routes),
                "error_samples": list(self.samples)}
