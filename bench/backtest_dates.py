"""Issue 16's backtest on the demo for many end dates: each planted outbreak's first onset, detection day, models
and grade, and the events reaching the inbox per district-week.

    .venv/bin/python -m bench.backtest_dates [--dates 2027-01-20,...] [--keep] [--warn '{"case_clusters": ...}']
                                             [--nominal-start]

Seeds the demo ending on each date into a database of its own (about a minute each; `--keep` keeps it as
`onemap_bt16_<date>` and a later run reuses it), runs `alerting.backtest.run_backtest` with the settings'
warning parameters overlaid with `--warn` (a JSON object of `warn.*` fields), prints the backtest's per-model
table and a summary table, and a `RESULT {json}` line.
"""
from __future__ import annotations

import argparse
import json
import time
from datetime import date, timedelta
from typing import Any

from sqlalchemy import text

from alerting.backtest import BacktestReport, run_backtest
from alerting.cluster_alarms import clusters_by_district, read_cases
from alerting.config import WarnConfig, load_config
from config.runtime import build_services
from demo.seed import is_seeded, seed_demo
from geo.db import session_scope
from tests.databases import _admin_engine, create_database, drop_database, make_test_settings, migrate

# The reference dates, today (2026-12-01), and dates spread over a year: winter, summer, month ends, a leap day.
DATES = ("2027-01-20", "2027-07-15", "2028-02-29", "2026-12-01", "2026-11-23", "2026-12-31", "2027-02-28",
         "2027-03-31", "2027-04-30", "2027-06-01", "2027-08-31", "2027-09-30", "2027-10-31", "2027-11-15")
DISTRICT = "310105"


def _exists(name: str) -> bool:
    admin = _admin_engine()  # type: ignore[no-untyped-call]
    with admin.connect() as conn:
        found = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar()
    admin.dispose()
    return bool(found)


def _services(name: str) -> Any:
    """Services on the date's database, created, migrated and seeded when it is not there yet."""
    fresh = not _exists(name)
    if fresh:
        create_database(name)
    settings = make_test_settings(name, redis_namespace=f"bench-{name}")
    if fresh:
        migrate(settings)
    return build_services(settings, pool_size=1)


def _seed(svc: Any, end: date) -> None:
    with session_scope(svc.session_factory) as session:
        if not is_seeded(session):
            seed_demo(session, cipher=svc.cipher, end=end)


def _config(session: Any, overlay: dict[str, Any]) -> WarnConfig:
    base = load_config(session).model_dump()
    return WarnConfig.model_validate({**base, **overlay})


def backtest_on(end: date, overlay: dict[str, Any], keep: bool) -> tuple[BacktestReport, dict[str, int | None]]:
    """The backtest of the demo ending `end` and, per outbreak, `runner_cluster_offset`."""
    name = f"onemap_bt16_{end:%Y%m%d}"
    svc = _services(name)
    try:
        _seed(svc, end)
        with svc.session_factory() as session:
            cfg = _config(session, overlay)
            report = run_backtest(session, district_code=DISTRICT, config=cfg, scan_every_days=7,
                                  scan_replications=99)
            return report, {o["key"]: runner_cluster_offset(session, o, cfg) for o in report.outbreaks}
    finally:
        svc.engine.dispose()
        if not keep:
            drop_database(name)


def runner_cluster_offset(session: Any, o: dict[str, Any], cfg: WarnConfig) -> int | None:
    """Days after the first onset of the first daily run whose case-cluster alarm holds the outbreak's cases,
    with only the cases reported by the end of the run's day (the backtest itself knows every report)."""
    rule = cfg.case_clusters.get(o["disease_code"])
    for k in range(8 if rule else 0):
        as_of = o["start"] + timedelta(days=k)
        cases = read_cases(session, disease=o["disease_code"], rule=rule, start=o["start"], end=as_of,  # type: ignore[arg-type]
                           district_code=DISTRICT, reported_by=as_of)
        for day in range(as_of.toordinal() - cfg.lookback_days + 1, as_of.toordinal() + 1):
            if any(o["street_code"] in cases.streets(cl) for _, cl in clusters_by_district(cases, day, rule)):  # type: ignore[arg-type]
                return k
    return None


def summary(reports: dict[str, BacktestReport], runner: dict[str, dict[str, int | None]]) -> list[str]:
    """One row per date and outbreak: first onset, detection, days after first onset, grade, models, and the
    first daily run with a case-cluster alarm on the cases reported by then."""
    lines = ["| demo end | events / district-week | outbreak | first onset | detected | days | grade | models | "
             "case cluster, reports by the run's day |", "|---|---|---|---|---|---|---|---|---|"]
    for end, rep in reports.items():
        for key, ev in rep.outbreak_events().items():
            late = runner[end].get(key)
            run = "" if late is None else f"+{late}"
            if ev is None:
                lines.append(f"| {end} | {rep.events_per_district_week()} | {key} | | not flagged | | | | {run} |")
                continue
            lines.append(f"| {end} | {rep.events_per_district_week()} | {key} | {ev['first_onset']} | "
                         f"{ev['detected']} | +{ev['day_offset']} | {ev['grade']} | {', '.join(ev['models'])} "
                         f"| {run} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dates", default=",".join(DATES))
    parser.add_argument("--keep", action="store_true", help="keep (and reuse) each date's database")
    parser.add_argument("--warn", default="{}", help="JSON object overlaid on the warning parameters")
    parser.add_argument("--nominal-start", action="store_true",
                        help="measure from each outbreak's nominal start, not its first case's onset (the old measure)")
    args = parser.parse_args()
    overlay, reports, runner = json.loads(args.warn), {}, {}
    for day in args.dates.split(","):
        started = time.perf_counter()
        reports[day], runner[day] = backtest_on(date.fromisoformat(day), overlay, args.keep)
        if args.nominal_start:
            for o in reports[day].outbreaks:
                o["start"] = o["nominal_start"]
        print(f"== demo ending {day} ({time.perf_counter() - started:.0f} s)\n{reports[day].format()}\n", flush=True)
    print("\n".join(summary(reports, runner)))
    print("RESULT " + json.dumps({d: {"events_per_district_week": r.events_per_district_week(),
                                      "outbreak_events": r.outbreak_events()} for d, r in reports.items()},
                                 ensure_ascii=False))


if __name__ == "__main__":
    main()
