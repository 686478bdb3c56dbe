"""Timing of the early-warning detectors on synthetic data; prints plain-text figures.

    .venv/bin/python bench/bench_detectors.py            # full size
    .venv/bin/python bench/bench_detectors.py --quick    # a smaller smoke run

1. Space-time permutation scan: 999 Monte Carlo replications over 60 locations × 30 days.
2. Every count-series detector over 40 diseases × 200 regions × 3 years of daily Poisson counts
   (8,000 series × 1,096 days, processed as one matrix per detector).
"""
from __future__ import annotations

import argparse
import gc
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alerting.detectors import (  # noqa: E402
    count_threshold,
    cusum,
    ears_c1,
    ears_c2,
    ears_c3,
    ewma,
    moving_percentile,
    space_time_permutation_scan,
)


def _timed(func: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        out = func()
        best = min(best, time.perf_counter() - t0)
    return best, out


def bench_scan(n_loc: int, n_days: int, reps: int, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    # Locations scattered over a 40 km × 40 km district around Shanghai (lon/lat).
    lon = 121.47 + rng.uniform(-0.2, 0.2, n_loc)
    lat = 31.23 + rng.uniform(-0.18, 0.18, n_loc)
    coords = np.column_stack([lon, lat])
    table = rng.poisson(rng.gamma(2.0, 0.75, (n_loc, 1)), (n_loc, n_days))
    print(f"scan: {n_loc} locations x {n_days} days, {int(table.sum())} cases, {reps} replications")
    for max_days in (7, n_days):
        secs, res = _timed(
            lambda max_days=max_days: space_time_permutation_scan(table, coords, replications=reps, max_days=max_days, seed=seed),
            repeat=3,
        )
        ml = res.most_likely
        print(
            f"  max_days={max_days:>2}: {secs:6.2f} s (best of 3)   most likely cluster: "
            f"{len(ml.locations)} locations, {ml.days} days, LLR {ml.llr:.2f}, p {ml.p_value:.3f}"
        )


def bench_series(n_diseases: int, n_regions: int, n_years: int, seed: int = 2) -> None:
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2022-01-01", periods=365 * n_years + (1 if n_years >= 3 else 0), freq="D")
    n_series = n_diseases * n_regions
    rates = rng.gamma(0.8, 2.0, (n_series, 1))
    season = 1 + 0.4 * np.sin(2 * np.pi * dates.day_of_year.to_numpy() / 365.25)
    counts = rng.poisson(rates * season[None, :]).astype(float)
    cells = n_series * len(dates)
    print(
        f"series: {n_diseases} diseases x {n_regions} regions = {n_series} series x {len(dates)} days "
        f"({cells / 1e6:.1f} M series-days)"
    )
    mp_years = max(1, n_years - 1)  # the model needs `years` of history before a day is evaluated
    detectors: list[tuple[str, Callable[[], Any]]] = [
        ("count threshold (3 in 7 days)", lambda: count_threshold(counts, 3, 7)),
        ("EARS C1", lambda: ears_c1(counts)),
        ("EARS C2", lambda: ears_c2(counts)),
        ("EARS C3", lambda: ears_c3(counts)),
        ("CUSUM (fixed 28-day reference)", lambda: cusum(counts)),
        ("CUSUM (moving 28-day reference)", lambda: cusum(counts, reference="moving", guard=2)),
        ("EWMA", lambda: ewma(counts)),
        (f"moving percentile (P80, {mp_years} y x 5 windows)", lambda: moving_percentile(counts, dates, years=mp_years)),
        (
            "moving percentile, last day only",
            lambda: moving_percentile(counts, dates, years=mp_years, last_n_days=1),
        ),
    ]
    total = 0.0
    for name, func in detectors:
        secs, res = _timed(func)
        n_eval = int(res.evaluated.sum())
        rate = res.alarm.sum() / max(1, n_series * n_eval)
        print(f"  {name:<44s} {secs:7.2f} s   {n_series * n_eval / secs / 1e6:7.1f} M series-days/s   alarm rate {rate:.4f}")
        if "last day" not in name:
            total += secs
        del res
    print(f"  all detectors over all days: {total:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    args = parser.parse_args()
    print(f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} CPUs")
    if args.quick:
        bench_scan(20, 30, 99)
        bench_series(4, 20, 3)
    else:
        bench_scan(60, 30, 999)
        bench_series(40, 200, 3)


if __name__ == "__main__":
    main()
