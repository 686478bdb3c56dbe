"""Time a full district warning run and the space-time scan (999 replications) on a seeded database.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/onemap_demo .venv/bin/python bench/bench_warn.py

Runs are made inside a transaction that is rolled back, so the database is left as it was.
"""
from __future__ import annotations

import statistics
import sys
import time
from datetime import date, timedelta

from alerting import series as sq
from alerting.config import load_config
from alerting.detectors.scan import space_time_permutation_scan
from alerting.runner import run_all
from config import load_settings
from config.runtime import build_services
from store.accounts import Setting


def main() -> None:
    svc = build_services(load_settings(), pool_size=2)
    district = svc.settings.district_code
    with svc.session_factory() as db:
        seeded = db.get(Setting, "demo.seeded")
        end = date.fromisoformat(seeded.value["end"]) if seeded else date.today()
        cfg = load_config(db)
    runs = []
    for k in (10, 5, 0):  # days inside and after the demo's current outbreak
        with svc.session_factory() as db:
            db.begin()
            t0 = time.perf_counter()
            report = run_all(db, as_of=end - timedelta(days=k), district_code=district)
            runs.append(time.perf_counter() - t0)
            db.rollback()
        print(f"run {report.as_of}: {report.seconds:.2f} s, alarms {report.alarms}, "
              f"stages { {k: round(v, 2) for k, v in report.model_seconds.items()} }")
    print(f"full district run ({district}, all diseases, regions, models): median {statistics.median(runs):.2f} s, "
          f"max {max(runs):.2f} s (goal < 10 s)")
    with svc.session_factory() as db:
        as_of = end - timedelta(days=9)
        for unit in ("street", "grid"):
            data = sq.scan_counts(db, disease_code="diarrhoea", start=as_of - timedelta(days=cfg.scan.study_days - 1),
                                  end=as_of, district_code=district, unit=unit)
            times = []
            for seed in range(3):
                t0 = time.perf_counter()
                res = space_time_permutation_scan(data.counts, data.coords, max_share=cfg.scan.max_share,
                                                  max_days=cfg.scan.max_days, replications=999, seed=seed)
                times.append(time.perf_counter() - t0)
            top = res.most_likely
            print(f"scan diarrhoea {as_of} by {unit} ({data.counts.shape[0]} locations, {int(data.counts.values.sum())} "
                  f"cases, 999 replications): median {statistics.median(times):.3f} s; most likely "
                  f"{top.locations[:3] if top else None} O={top.observed if top else 0} p={top.p_value if top else 1}")


if __name__ == "__main__":
    sys.exit(main())
