"""The simulator at a real district's pace: a few case reports an hour, sentinel counts through the day,
team GPS every few seconds, a few stock movements an hour.

`LiveFeed.until(now)` returns the records due since the previous call, timed by the clock it is given,
so an hour of feed can be generated in a test without sleeping. The caller derives `cases_per_day`
from disease rates × the district's population (`expected_cases_per_day`).
"""
from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ingest.simulate import HOURLY, Sender, Simulator

SYNDROMES = ("fever", "diarrhoea", "ili", "ari")
# Shanghai's notifiable diseases together: of the order of 950 reports per 100,000 residents a year.
DEFAULT_ANNUAL_PER_100K = 950.0


@dataclass(frozen=True)
class SimRates:
    """Paces of the realistic feed."""

    cases_per_day: float  # new case reports a day in the district (revisions come on top)
    fix_every_s: float = 5.0  # each team's GPS interval
    syndromic_every_s: float = 3600.0  # each sentinel updates its running day counts hourly
    visits_per_day: float = 40.0  # visits a day per syndrome at one sentinel
    stock_per_hour: float = 3.0  # stock movements an hour in the district
    revision_share: float = 0.05  # case revisions per new case


def expected_cases_per_day(population: int, annual_per_100k: Iterable[float] = (DEFAULT_ANNUAL_PER_100K,)) -> float:
    """Expected case reports a day: residents / 100,000 × the summed annual rates / 365."""
    return population / 1e5 * sum(annual_per_100k) / 365


def hourly_share(hour: int) -> float:
    """The share of a day's case reports made in `hour` (local time): clinic hours dominate."""
    return HOURLY[hour] / sum(HOURLY)


@dataclass
class LiveFeed:
    """Generates the records due between calls of `until`, each stamped with its own time."""

    sim: Simulator
    rates: SimRates
    start: datetime
    _next_case: datetime = field(init=False)
    _next_stock: datetime = field(init=False)
    _next_fix: dict[str, datetime] = field(init=False)
    _next_count: dict[str, datetime] = field(init=False)
    _last_count: dict[str, datetime] = field(init=False)

    def __post_init__(self) -> None:
        rng = self.sim.rng
        self._next_case = self._after(self.start, self._case_rate_per_s(self.start))
        self._next_stock = self._after(self.start, self.rates.stock_per_hour / 3600 if self.sim.world.stock else 0)
        self._next_fix = {c: self.start + timedelta(seconds=rng.uniform(0, self.rates.fix_every_s))
                          for c in self.sim.team_codes}
        self._next_count = {i["code"]: self.start + timedelta(seconds=rng.uniform(0, self.rates.syndromic_every_s))
                            for i in self.sim.sentinels}
        self._last_count = {code: self.start for code in self._next_count}

    def _case_rate_per_s(self, at: datetime) -> float:
        per_hour = self.rates.cases_per_day * hourly_share(at.hour) * (1 + self.rates.revision_share)
        return per_hour / 3600

    def _after(self, t: datetime, rate_per_s: float) -> datetime:
        """The next arrival of a Poisson process of `rate_per_s` after `t` (an hour later when the rate is 0)."""
        if rate_per_s <= 0:
            return t + timedelta(hours=1)
        return t + timedelta(seconds=self.sim.rng.expovariate(rate_per_s))

    def until(self, now: datetime) -> dict[str, list[dict[str, Any]]]:
        """The records due up to `now`, by kind."""
        out: dict[str, list[dict[str, Any]]] = {}

        def add(kind: str, record: dict[str, Any]) -> None:
            out.setdefault(kind, []).append(record)

        while self._next_case <= now:
            add("case_report", self.sim.case_report(self._next_case))
            self._next_case = self._after(self._next_case, self._case_rate_per_s(self._next_case))
        for code, due in self._next_fix.items():
            while due <= now:
                add("team_position", self.sim.team_position(due, code))
                due += timedelta(seconds=self.rates.fix_every_s)
            self._next_fix[code] = due
        for inst in self.sim.sentinels:
            self._sentinel_counts(inst, now, add)
        while self._next_stock <= now:
            add("stock_change", self.sim.stock_change(self._next_stock))
            self._next_stock = self._after(self._next_stock, self.rates.stock_per_hour / 3600)
        return out

    def _sentinel_counts(self, inst: dict[str, Any], now: datetime, add: Callable[[str, dict[str, Any]], None]) -> None:
        code = inst["code"]
        while self._next_count[code] <= now:
            due, last = self._next_count[code], self._last_count[code]
            hours = max((due - last).total_seconds() / 3600, 0.0)
            expected = self.rates.visits_per_day * hours / 24 * HOURLY[due.hour] * 24 / sum(HOURLY)
            for syndrome in SYNDROMES:
                visits = max(0, round(self.sim.rng.gauss(expected, math.sqrt(expected) if expected else 0)))
                add("syndromic_count", self.sim.syndromic_count(due, inst, syndrome, visits))
            self._last_count[code] = due
            self._next_count[code] = due + timedelta(seconds=self.rates.syndromic_every_s)


def run_live(feed: LiveFeed, send: Sender, clock: Callable[[], datetime], *, duration: float | None = None,
             stop: threading.Event | None = None, tick: float = 1.0) -> int:
    """Send the feed's records as they fall due, every `tick` seconds, until `duration` or `stop`; returns the count."""
    stop = stop or threading.Event()
    start, sent = clock(), 0
    while not stop.is_set() and (duration is None or (clock() - start).total_seconds() < duration):
        for kind, records in feed.until(clock()).items():
            send(kind, records)
            sent += len(records)
        stop.wait(tick)
    return sent
