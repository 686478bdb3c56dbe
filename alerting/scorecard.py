"""Detection scorecard: every warning model (and the fused events) on simulated outbreaks.

The design follows Noufaily et al. (Stat Med 2013), moved from weeks to days:

- Baselines: negative-binomial daily counts with mean
  ``μ_t = exp(θ + β·t + Σ_{j≤m} γ_j cos(2πjt/365) + δ_j sin(2πjt/365)) · dow[t mod 7]`` and variance
  ``φ·μ_t`` (φ = 1 is Poisson), over a grid of scenarios: baseline level, trend, one or two seasonal
  harmonics, day-of-week effect, dispersion φ ∈ {1, 1.5, 3, 6}.
- Outbreaks: one per series in its evaluation period (the last ``eval_days``), starting on a random
  day; its size is ``round(k × sd)`` cases, where sd is the baseline standard deviation of the
  7-day count at the start day (``sqrt(φ·Σ μ)`` over the 7 days from the start, the weekly count
  Noufaily's k multiplies) and k = 2 … 10 in turn; each case falls ``floor(LogNormal(log 3, 0.5))``
  days after the start (median 3 days, 95% within 8), the log-normal profile of Noufaily.
- Models, with the runner's defaults (alerting/config.py): EARS C1/C2/C3, CUSUM, CIDARS moving
  percentile and Farrington flexible on weekly sums (an alarm for a week
  is dated on its Sunday, when the week is complete). The fused events feed every model's alarms of a
  series to :class:`alerting.events.EventBook`; an event's alarm day is a day an event at or above the
  inbox grade receives an alarm.
- Scores per model over all series: probability of detection (share of outbreaks with ≥ 1 alarm
  between the outbreak's first and last day), specificity (series-days without outbreak and without
  alarm / series-days without outbreak), positive predictive value (alarm days inside an outbreak /
  all alarm days) and the median delay (days from the outbreak start to its first alarm, detected
  outbreaks only); POD is also given per k.

The fixed count threshold (e.g. 3 dysentery cases in 7 days) is left out: the runner applies it to the
listed rare diseases only, and these baselines (≥ 1 case a day) reach it every week, so its figures
would say nothing (``run_count_threshold`` is kept for a rare-disease scenario).

Seeded and deterministic; numpy and the detectors only (no database).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from alerting.config import CusumCfg, EarsCfg, EventsCfg, MovingPercentileCfg
from alerting.detectors.cusum import cusum
from alerting.detectors.ears import Method, ears_c
from alerting.detectors.farrington import FREQ, farrington_flexible
from alerting.detectors.moving_percentile import moving_percentile
from alerting.detectors.threshold import count_threshold

START = date(2018, 1, 1)  # a Monday: weeks of the Farrington aggregates start on Mondays
K_VALUES = tuple(range(2, 11))
LOGNORMAL_MEANLOG = math.log(3.0)
LOGNORMAL_SDLOG = 0.5
COUNT_RULE = (3, 7)  # the dysentery rule: 3 cases in 7 days (count thresholds are set for rare diseases)


@dataclass(frozen=True)
class Scenario:
    """One baseline: level θ (log daily mean), trend β per day, harmonics, weekday effect, dispersion φ."""

    name: str
    theta: float
    beta: float = 0.0
    harmonics: tuple[tuple[float, float], ...] = ((0.3, 0.3),)
    dow_amplitude: float = 0.3
    phi: float = 1.5

    def dow(self) -> np.ndarray:
        """Weekday factors Monday … Sunday with mean 1 (weekends lower by about ``dow_amplitude``)."""
        raw = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 1.0 - self.dow_amplitude, 1.0 - self.dow_amplitude])
        factors: np.ndarray = raw / raw.mean()
        return factors

    def mean(self, n_days: int) -> np.ndarray:
        t = np.arange(n_days, dtype=float)
        eta = self.theta + self.beta * t
        for j, (g, d) in enumerate(self.harmonics, start=1):
            eta = eta + g * np.cos(2 * np.pi * j * t / 365.0) + d * np.sin(2 * np.pi * j * t / 365.0)
        weekday = (START.weekday() + np.arange(n_days)) % 7
        mu: np.ndarray = np.exp(eta) * self.dow()[weekday]
        return mu


SCENARIOS = (
    Scenario("low, φ=1", math.log(1.0), phi=1.0),
    Scenario("low, φ=3, 2 harmonics", math.log(1.5), harmonics=((0.4, 0.2), (0.2, 0.1)), phi=3.0),
    Scenario("mid, φ=1.5, trend", math.log(4.0), beta=0.0002, phi=1.5),
    Scenario("mid, φ=3, 2 harmonics", math.log(5.0), harmonics=((0.5, 0.3), (0.2, 0.2)), phi=3.0),
    Scenario("high, φ=1.5", math.log(15.0), harmonics=((0.6, 0.0),), dow_amplitude=0.5, phi=1.5),
    Scenario("high, φ=6, trend", math.log(20.0), beta=-0.0001, phi=6.0),
)


@dataclass(frozen=True)
class Simulation:
    """Counts ``(n_series, n_days)`` with outbreak cases added, and what was planted."""

    days: list[date]
    baseline_mean: np.ndarray  # μ of every series and day
    phi: np.ndarray  # dispersion per series
    counts: np.ndarray  # baseline + outbreak cases
    outbreak_cases: np.ndarray  # the planted cases alone
    k: np.ndarray  # k per series
    size: np.ndarray  # planted cases per series
    sd: np.ndarray  # the baseline sd of the 7-day count at the start day
    start: np.ndarray  # outbreak start (day index)
    end: np.ndarray  # last day with an outbreak case
    eval_from: int  # first evaluated day index
    scenario: np.ndarray  # scenario index per series


def nb_counts(rng: np.random.Generator, mu: np.ndarray, phi: float) -> np.ndarray:
    """Negative-binomial draws with mean μ and variance φ·μ (Poisson at φ = 1)."""
    if phi <= 1.0:
        return rng.poisson(mu)
    size = mu / (phi - 1.0)  # variance μ + μ²/size = φ μ
    return rng.negative_binomial(size, size / (size + mu))


def simulate(n_series: int, *, seed: int = 1, years: int = 6, eval_days: int = 364,
             scenarios: tuple[Scenario, ...] = SCENARIOS) -> Simulation:
    """``n_series`` series cycling over k = 2 … 10 and the scenarios, one outbreak each in the evaluation period."""
    rng = np.random.default_rng(seed)
    n_days = years * 364 + eval_days  # whole weeks
    eval_from = n_days - eval_days
    mus, phis, counts, extra = [], [], [], []
    ks, sizes, sds, starts, ends, scen = [], [], [], [], [], []
    for i in range(n_series):
        # every k in turn; a new scenario after each round of k (108 series: each scenario × k twice)
        s_idx = (i // len(K_VALUES)) % len(scenarios)
        sc = scenarios[s_idx]
        k = K_VALUES[i % len(K_VALUES)]
        mu = sc.mean(n_days)
        y = nb_counts(rng, mu, sc.phi)
        start = int(rng.integers(eval_from, n_days - 21))
        sd = math.sqrt(sc.phi * float(mu[start:start + 7].sum()))
        size = max(1, int(round(k * sd)))
        delays = np.floor(rng.lognormal(LOGNORMAL_MEANLOG, LOGNORMAL_SDLOG, size)).astype(int)
        delays = np.minimum(delays, n_days - 1 - start)
        planted = np.bincount(start + delays, minlength=n_days)
        mus.append(mu)
        phis.append(sc.phi)
        counts.append(y + planted)
        extra.append(planted)
        ks.append(k)
        sizes.append(size)
        sds.append(sd)
        starts.append(start)
        ends.append(start + int(delays.max()))
        scen.append(s_idx)
    days = [START + timedelta(days=d) for d in range(n_days)]
    return Simulation(days, np.array(mus), np.array(phis), np.array(counts), np.array(extra), np.array(ks),
                      np.array(sizes), np.array(sds), np.array(starts), np.array(ends), eval_from, np.array(scen))


# ---------------------------------------------------------------- models

@dataclass(frozen=True)
class ModelRun:
    """Alarms ``(n_series, n_days)`` of one model, with what it observed and expected (for the fused events)."""

    alarm: np.ndarray
    observed: np.ndarray
    expected: np.ndarray | None = None


def _gate(alarm: np.ndarray, on: np.ndarray, min_count: float) -> np.ndarray:
    return alarm & (on >= min_count)


def _week_sums(values: np.ndarray) -> np.ndarray:
    c = np.cumsum(values, axis=1)
    out = c.copy()
    out[:, 7:] = c[:, 7:] - c[:, :-7]
    return out


def run_ears(sim: Simulation, method: Method) -> ModelRun:
    e = EarsCfg()
    r = ears_c(sim.counts.astype(float), method, baseline=e.baseline, min_sigma=e.min_sigma, c3_form=e.c3_form)
    return ModelRun(_gate(r.alarm, sim.counts, e.min_count), r.observed, r.extra.get("baseline_mean"))


def run_cusum(sim: Simulation) -> ModelRun:
    c = CusumCfg()
    r = cusum(sim.counts.astype(float), k=c.k, h=c.h, reference="moving", baseline=c.baseline, guard=c.guard,
              min_sigma=c.min_sigma)
    return ModelRun(_gate(r.alarm, _week_sums(sim.counts), c.min_count), r.observed, r.extra.get("baseline_mean"))


def run_moving_percentile(sim: Simulation) -> ModelRun:
    p = MovingPercentileCfg()
    r = moving_percentile(sim.counts.astype(float), pd.DatetimeIndex(sim.days), window=p.window, years=p.years,
                          weeks_around=p.weeks_around, percentile=p.percentile, min_count=p.min_count,
                          min_baseline_windows=p.min_baseline_windows)
    return ModelRun(r.alarm, r.observed, r.threshold)


def run_count_threshold(sim: Simulation) -> ModelRun:
    r = count_threshold(sim.counts.astype(float), COUNT_RULE[0], COUNT_RULE[1])
    return ModelRun(r.alarm, r.observed, None)


def run_farrington(sim: Simulation) -> ModelRun:
    """R's default farringtonFlexible on weekly sums; a week's alarm is dated on its Sunday."""
    n_series, n_days = sim.counts.shape
    weekly = sim.counts.reshape(n_series, n_days // 7, 7).sum(axis=2).astype(float)
    mondays = pd.DatetimeIndex(sim.days[::7])
    first_week = sim.eval_from // 7
    alarm = np.zeros((n_series, n_days), dtype=bool)
    observed = np.zeros((n_series, n_days))
    expected = np.full((n_series, n_days), np.nan)
    skip = max(0, first_week - (FREQ * 5 + 3))  # R's default range (b = 5, w = 3) then starts at first_week
    r = farrington_flexible(weekly[:, skip:], dates=mondays[skip:])
    for w in range(first_week, weekly.shape[1]):
        sunday = w * 7 + 6
        alarm[:, sunday] = r.alarm[:, w - skip]
        observed[:, sunday] = weekly[:, w]
        expected[:, sunday] = r.extra["expected"][:, w - skip]
    return ModelRun(alarm, observed, expected)


MODELS: dict[str, Callable[[Simulation], ModelRun]] = {
    "ears_c1": lambda s: run_ears(s, "C1"),
    "ears_c2": lambda s: run_ears(s, "C2"),
    "ears_c3": lambda s: run_ears(s, "C3"),
    "cusum": run_cusum,
    "moving_percentile": run_moving_percentile,
    "farrington_flexible": run_farrington,
}


# ---------------------------------------------------------------- fused events

SIM_DISTRICT = "310105"
SIM_STREET = "310105001"
SIM_DISEASE = "sim"


def _num(x: Any) -> float | None:
    v = float(x)
    return v if math.isfinite(v) else None


def fused_alarms(runs: dict[str, ModelRun], sim: Simulation, cfg: EventsCfg | None = None) -> np.ndarray:
    """Days on which an event at or above the inbox grade receives an alarm, per series (alerting.events)."""
    from alerting.events import AlarmFact, DiseaseInfo, EventBook, grade_rank

    cfg = cfg or EventsCfg()
    diseases = {SIM_DISEASE: DiseaseInfo(SIM_DISEASE, "模拟病种", "乙", "intestinal")}
    n_series, n_days = sim.counts.shape
    out = np.zeros((n_series, n_days), dtype=bool)
    inbox = grade_rank(cfg.inbox_min_grade)
    for i in range(n_series):
        book = EventBook(cfg, diseases)
        for d in range(sim.eval_from, n_days):
            facts = [
                AlarmFact(model=name, source="cases", district=SIM_DISTRICT, place=SIM_STREET, day=sim.days[d],
                          disease=SIM_DISEASE, observed=_num(run.observed[i, d]),
                          expected=None if run.expected is None else _num(run.expected[i, d]))
                for name, run in runs.items() if run.alarm[i, d]
            ]
            if facts:
                touched = book.add_day(facts, sim.days[d])
                out[i, d] = any(grade_rank(ev.grade) >= inbox for ev in touched)
    return out


# ---------------------------------------------------------------- scoring

@dataclass(frozen=True)
class Score:
    """The figures of one model."""

    model: str
    pod: float
    specificity: float
    ppv: float | None
    median_delay: float | None
    pod_by_k: dict[int, float] = field(default_factory=dict)
    alarm_days: int = 0

    def pod_at_least(self, k_min: int) -> float:
        vals = [v for k, v in self.pod_by_k.items() if k >= k_min]
        return float(np.mean(vals)) if vals else float("nan")

    def as_json(self) -> dict[str, Any]:
        return {"model": self.model, "pod": self.pod, "pod_k5_plus": self.pod_at_least(5),
                "specificity": self.specificity, "ppv": self.ppv, "median_delay_days": self.median_delay,
                "alarm_days": self.alarm_days, "pod_by_k": {str(k): v for k, v in self.pod_by_k.items()}}


def outbreak_mask(sim: Simulation) -> np.ndarray:
    days = np.arange(sim.counts.shape[1])
    return (days[None, :] >= sim.start[:, None]) & (days[None, :] <= sim.end[:, None])


def score(model: str, alarm: np.ndarray, sim: Simulation) -> Score:
    """POD, specificity, PPV and median delay of ``alarm`` over the evaluation period."""
    a = np.asarray(alarm, dtype=bool)[:, sim.eval_from:]
    o = outbreak_mask(sim)[:, sim.eval_from:]
    hit = a & o
    detected = hit.any(axis=1)
    quiet = ~o
    specificity = float((quiet & ~a).sum() / quiet.sum())
    ppv = float(hit.sum() / a.sum()) if a.any() else None
    start = sim.start - sim.eval_from
    delays = [int(np.argmax(hit[i]) - start[i]) for i in np.flatnonzero(detected)]
    by_k = {int(k): float(detected[sim.k == k].mean()) for k in np.unique(sim.k)}
    return Score(model, float(detected.mean()), specificity, ppv,
                 float(np.median(delays)) if delays else None, by_k, int(a.sum()))


@dataclass(frozen=True)
class Scorecard:
    seed: int
    n_series: int
    scores: list[Score]
    fused: bool

    def as_json(self) -> dict[str, Any]:
        return {"seed": self.seed, "series": self.n_series, "design": "Noufaily et al. 2013, daily",
                "fused_events": self.fused, "models": [s.as_json() for s in self.scores]}

    def format(self) -> str:
        lines = [f"scorecard: {self.n_series} simulated series (seed {self.seed}), one outbreak each, k = 2…10",
                 f"{'model':<20} {'POD':>6} {'POD k≥5':>8} {'spec':>7} {'PPV':>6} {'delay':>6} {'alarm days':>10}"]
        for s in self.scores:
            ppv = f"{s.ppv:6.3f}" if s.ppv is not None else f"{'—':>6}"
            delay = f"{s.median_delay:6.1f}" if s.median_delay is not None else f"{'—':>6}"
            lines.append(f"{s.model:<20} {s.pod:6.3f} {s.pod_at_least(5):8.3f} {s.specificity:7.4f} {ppv} {delay} "
                         f"{s.alarm_days:>10}")
        return "\n".join(lines) + "\n"


DEFAULT_SERIES = 108  # 12 outbreaks per k; Farrington's weekly GLMs take most of the ~30 s
QUICK_SERIES = 18


def run_scorecard(n_series: int = DEFAULT_SERIES, *, seed: int = 1, quick: bool = False, fused: bool = True,
                  models: tuple[str, ...] | None = None) -> Scorecard:
    """Simulate, run every model (or ``models``) and the fused events, score them. ``quick``: 18 series, for tests."""
    if quick:
        n_series = min(n_series, QUICK_SERIES)
    unknown = [m for m in models or () if m not in MODELS]
    if unknown:
        raise ValueError(f"unknown model {unknown[0]!r}; use {', '.join(MODELS)}")
    sim = simulate(n_series, seed=seed)
    runs = {name: fn(sim) for name, fn in MODELS.items() if models is None or name in models}
    scores = [score(name, run.alarm, sim) for name, run in runs.items()]
    if fused:
        scores.append(score("fused_events", fused_alarms(runs, sim), sim))
    return Scorecard(seed, n_series, scores, fused)
