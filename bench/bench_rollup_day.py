"""The rollup check after more than a day of the simulator's case reports through the intake worker (issue 18).

Run: `.venv/bin/python -m bench.bench_rollup_day [--rate 300] [--seconds 120] [--workers 2]`.

A scratch database (bench_intake.scratch, without the small test world, whose squares overlap 310105) gets the
demo data set (its district 310105 with streets, institutions, 20 teams, sites and stock, and about three years of
seeded case reports). Then `onemap worker` processes consume
the intake stream while `onemap simulate --stress` feeds district 310105 for `--seconds` at `--rate` records per
second (a fixed number of records: rate × seconds); afterwards `onemap rollups check` compares case_daily with a
recomputation from case_report. It prints the differences (must be 0) and a `RESULT {json}` line.

Why the stress mode and not the real pace compressed in time: at the demo's real rates the district gets about
20 case reports a day (population × the seasonal rates of demo.cases, as `onemap simulate` computes them) and one
revision, beside ~350,000 team GPS fixes that the rollup never sees. The stress mode sends every kind of record
(cases, revisions, syndromic counts, GPS, stock) and, with the defaults, a few thousand case reports: hundreds of
days of the district's real case volume, which is what the rollup counts. The script prints that factor; it fails
if the run stored fewer case reports than one real day.

What the simulator writes to case_report: new reports (inserts) and revisions (a new version of a recent report
with another outcome: updates that keep every rollup key). It deletes nothing and never moves a report to another
day, disease, street or case type; those writes are covered by tests/store/test_rollups.py.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench.bench_intake import ONEMAP, ROOT, env_for, scratch
from geo.dates import CST
from geo.db import session_scope
from ingest.bus import intake_stats

DISTRICT = "310105"
SIM_IDS = "%:SIM%"  # source ids of the simulator's records: <institution or team>:SIM<run>-<n>


@dataclass
class Run:
    """What one run did and found."""

    seconds: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    differences: int = -1
    check_output: str = ""
    load: list[list[float]] = field(default_factory=list)
    refused: dict[str, int] = field(default_factory=dict)


def seed(services: Any) -> int:
    """The demo data set into the scratch database; returns the number of seeded case reports."""
    from demo.seed import seed_demo

    with tempfile.TemporaryDirectory() as keys, session_scope(services.session_factory) as session:
        seed_demo(session, cipher=services.cipher, end=datetime.now(CST).date(), keys_dir=Path(keys))
    with services.session_factory() as s:
        return int(s.scalar(text("SELECT count(*) FROM case_report")))


def real_day(services: Any) -> dict[str, float]:
    """A day of the district at the demo's real pace (what `onemap simulate` without --stress sends)."""
    from demo.cases import annual_rates_on
    from ingest.sim_feed import SYNDROMES, SimRates, expected_cases_per_day

    with services.session_factory() as s:
        population = int(s.scalar(text("SELECT population FROM region WHERE code = :d"), {"d": DISTRICT}))
        teams = int(s.scalar(text("SELECT count(*) FROM team WHERE district_code = :d"), {"d": DISTRICT}))
        sentinels = int(s.scalar(text("SELECT count(*) FROM institution WHERE district_code = :d AND "
                                      "(fever_clinic OR cardinality(sentinel_types) > 0)"), {"d": DISTRICT}))
    rates = SimRates(cases_per_day=expected_cases_per_day(population, annual_rates_on(datetime.now(CST).date())))
    cases = rates.cases_per_day * (1 + rates.revision_share)
    records = (cases + teams * 86_400 / rates.fix_every_s + sentinels * len(SYNDROMES) * 86_400 /
               rates.syndromic_every_s + rates.stock_per_hour * 24)
    return {"case_reports": cases, "records": records}


def feed(settings: Any, services: Any, rate: float, seconds: float, workers: int) -> float:
    """Workers consume while the simulator sends rate × seconds records; returns the seconds until drained."""
    env = env_for(settings)
    procs = [subprocess.Popen([ONEMAP, "worker", "--batch", "500"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) for _ in range(workers)]
    start = time.perf_counter()
    try:
        subprocess.run([ONEMAP, "simulate", "--stress", "--rate", str(rate), "--duration", str(seconds),
                        "--district", DISTRICT, "--seed", "18"], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=seconds + 120)
        wait_drained(services, settings.redis_namespace, 600)
        return time.perf_counter() - start
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(60)


def wait_drained(services: Any, namespace: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = intake_stats(services.redis, namespace)
        if st["queued"] == 0 and st["pending"] == 0:
            return
        time.sleep(0.5)
    raise RuntimeError(f"intake not drained after {timeout:.0f} s: {intake_stats(services.redis, namespace)}")


def simulated(services: Any, namespace: str) -> dict[str, int]:
    """The simulator's case reports as stored (revisions: stored versions above 1), and the dead letters."""
    with services.session_factory() as s:
        row = s.execute(text("SELECT count(*) n, count(*) FILTER (WHERE source_version > 1) revised, coalesce("
                             "sum(source_version - 1), 0) revisions FROM case_report WHERE source_id LIKE :ids"),
                        {"ids": SIM_IDS}).one()
        positions = int(s.scalar(text("SELECT count(*) FROM team_position WHERE source_id LIKE :ids"),
                                 {"ids": SIM_IDS}))
    return {"case_reports": int(row.n), "revised_reports": int(row.revised), "revisions": int(row.revisions),
            "team_positions": positions, "dead_letters": int(intake_stats(services.redis, namespace)["dead"])}


def refused(services: Any) -> dict[str, int]:
    """Dead letters (records the worker refused) by kind and first error code."""
    from ingest.worker import read_dead_letters

    return dict(Counter(f"{row['kind']}:{(row['errors'] or [{}])[0].get('code')}"
                        for row in read_dead_letters(services, count=100_000)))


def check(settings: Any) -> tuple[int, str]:
    """`onemap rollups check` on the scratch database: (differences, its output)."""
    done = subprocess.run([ONEMAP, "rollups", "check"], cwd=ROOT, env=env_for(settings), capture_output=True,
                          text=True, timeout=600)
    last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    if not last.endswith(" differences"):
        raise RuntimeError(f"rollups check answered {done.returncode}: {done.stdout} {done.stderr}")
    return int(last.split()[0]), done.stdout.strip()


def run(rate: float, seconds: float, workers: int) -> Run:
    result = Run(load=[list(os.getloadavg())])
    with scratch(with_world=False) as (settings, services, _world):
        t = time.perf_counter()
        result.counts["seeded_case_reports"] = seed(services)
        result.seconds["seed"] = time.perf_counter() - t
        day = real_day(services)
        result.seconds["feed_until_drained"] = feed(settings, services, rate, seconds, workers)
        result.counts.update(simulated(services, settings.redis_namespace))
        result.refused = refused(services)
        result.counts["total_case_reports"] = result.counts["seeded_case_reports"] + result.counts["case_reports"]
        t = time.perf_counter()
        result.differences, result.check_output = check(settings)
        result.seconds["check"] = time.perf_counter() - t
    result.counts["real_day_case_reports"] = round(day["case_reports"])
    result.counts["real_day_records"] = round(day["records"])
    result.load.append(list(os.getloadavg()))
    return result


def report(r: Run, rate: float, seconds: float, total: float) -> None:
    c = r.counts
    factor = c["case_reports"] / max(c["real_day_case_reports"], 1)
    print(f"district {DISTRICT}: simulate --stress {rate:g}/s for {seconds:g} s = {rate * seconds:.0f} records; "
          f"a real day here is ~{c['real_day_records']:,} records of which ~{c['real_day_case_reports']} case reports")
    print(f"  stored from the simulator: {c['case_reports']:,} case reports ({factor:.0f} real days of cases), "
          f"{c['revisions']} revisions on {c['revised_reports']} reports, {c['team_positions']:,} GPS fixes, "
          f"{c['dead_letters']} dead letters (refused: {r.refused or 'none'})")
    print(f"  case_report holds {c['total_case_reports']:,} rows ({c['seeded_case_reports']:,} seeded by the demo)")
    print(f"  seed {r.seconds['seed']:.0f} s, feed until drained {r.seconds['feed_until_drained']:.0f} s, "
          f"check {r.seconds['check']:.1f} s, total {total:.0f} s; load average {r.load[0][0]:.2f} → {r.load[1][0]:.2f}")
    print("onemap rollups check: " + r.check_output.replace("\n", "\n  "))
    print("RESULT " + json.dumps({"differences": r.differences, "rate": rate, "seconds": seconds, **c,
                                  "real_days_of_cases": round(factor, 1), "refused": r.refused,
                                  "timings_s": {k: round(v, 1) for k, v in r.seconds.items()},
                                  "total_s": round(total, 1), "loadavg": r.load}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=300.0, help="records per second of the simulator")
    parser.add_argument("--seconds", type=float, default=120.0, help="how long the simulator sends")
    parser.add_argument("--workers", type=int, default=2, help="`onemap worker` processes")
    args = parser.parse_args()
    start = time.perf_counter()
    r = run(args.rate, args.seconds, args.workers)
    report(r, args.rate, args.seconds, time.perf_counter() - start)
    if r.differences != 0 or any(k.startswith("case_report:") for k in r.refused):
        raise SystemExit(1)
    if r.counts["case_reports"] < r.counts["real_day_case_reports"]:
        raise SystemExit("fewer case reports than one real day: raise --rate or --seconds")


if __name__ == "__main__":
    main()
