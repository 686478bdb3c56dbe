"""The warning engine at city scale: 16 districts, 208 streets, 40 diseases, 3 years of daily data.

    .venv/bin/python -m bench.bench_city_warn [--streets-per-district 13 --diseases 40 --years 3]

Builds a synthetic city in an empty migrated database on the benchmark cluster (street squares,
sentinel institutions with syndromic counts, Poisson case counts with a seasonal term and a few
injected outbreaks in the last days), COPYs it in, then times `alerting.runner.run_all` for the whole
city (every model: single case, thresholds, moving percentile on streets and districts, EARS, CUSUM,
space-time scan per district), a second run of the same day (dedup: nothing new; the inputs are unchanged,
so the first run's alarms are reused, `alerting.run_reuse`) and a third with reuse off (computed again).
`--dump FILE` writes the signals after the first two runs; `--compare BEFORE AFTER` compares two such files
(e.g. of two versions of the engine on the same city: the same seed and day give the same data).
The matrix speed of each detector alone is bench/bench_detectors.py.
"""
from __future__ import annotations

import argparse
import io
import json
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import create_engine, text

from bench.load.stack import bench_database

DISTRICTS = ("310101", "310104", "310105", "310106", "310107", "310109", "310110", "310112", "310113", "310114",
             "310115", "310116", "310117", "310118", "310120", "310151")
SYNDROMES = ("fever", "diarrhoea", "ili", "ari")
CST = timezone(timedelta(hours=8))


def _square(x: float, y: float, size: float) -> str:
    return (f"SRID=4326;MULTIPOLYGON((({x} {y},{x + size} {y},{x + size} {y + size},{x} {y + size},{x} {y})))")


def _copy(conn: object, table: str, columns: list[str], rows: list[tuple[object, ...]]) -> None:
    buf = io.StringIO()
    for row in rows:
        buf.write("\t".join("\\N" if v is None else str(v) for v in row) + "\n")
    raw = conn.connection.dbapi_connection  # type: ignore[attr-defined]
    with raw.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        copy.write(buf.getvalue())


def _regions(streets_per_district: int) -> tuple[list[tuple[Any, ...]], list[tuple[str, str, float, float]]]:
    """Region rows (districts on a 4-wide grid, their streets on a 4-wide grid inside) and (street, district, x, y)."""
    regions: list[tuple[Any, ...]] = []
    streets: list[tuple[str, str, float, float]] = []
    for d, dcode in enumerate(DISTRICTS):
        x0, y0 = 121.0 + (d % 4) * 0.2, 30.9 + (d // 4) * 0.2
        regions.append((dcode, f"区{d}", "district", None, dcode, 700_000, _square(x0, y0, 0.2)))
        for s in range(streets_per_district):
            code = f"{dcode}{s + 1:03d}"
            sx, sy = x0 + (s % 4) * 0.05, y0 + (s // 4) * 0.05
            regions.append((code, f"区{d}街道{s}", "street", dcode, dcode, 50_000, _square(sx, sy, 0.05)))
            streets.append((code, dcode, sx + 0.025, sy + 0.025))
    return regions, streets


def build_city(database_url: str, *, streets_per_district: int, diseases: int, years: int, end: date,
               seed: int = 7) -> dict[str, int]:
    """Write regions, diseases, institutions, syndromic counts and case reports; returns row counts."""
    rng = np.random.default_rng(seed)
    days = 365 * years + 1
    start = end - timedelta(days=days - 1)
    engine = create_engine(database_url)
    counts: dict[str, int] = {}
    with engine.begin() as conn:
        regions, streets = _regions(streets_per_district)
        _copy(conn, "region", ["code", "name", "level", "parent_code", "district_code", "population", "geom",
                               "geometry_is_demo", "updated_at"],
              [(*r, "true", "now()") for r in regions])
        codes = [f"B{i:02d}" for i in range(diseases)]
        _copy(conn, "disease", ["code", "name", "name_en", "klass", "single_case", "category"],
              [(c, f"病种{c}", c, "乙", "true" if i < 2 else "false", "respiratory") for i, c in enumerate(codes)])
        inst_rows = []
        for d, dcode in enumerate(DISTRICTS):
            for i in range(20):
                code, lon, lat = f"S{dcode}{i:02d}", streets[d * streets_per_district][2], \
                    streets[d * streets_per_district][3]
                inst_rows.append((code, f"哨点{code}", "hospital", "true", "false", "{ili}", "false", "false",
                                  f"{dcode}001", dcode, f"SRID=4326;POINT({lon + i / 1000} {lat})", "true"))
        _copy(conn, "institution", ["code", "name", "kind", "fever_clinic", "intestinal_clinic", "sentinel_types",
                                    "is_lab", "vaccination_clinic", "region_code", "district_code", "geom",
                                    "position_is_demo"], inst_rows)
        inst = conn.execute(text("SELECT id, district_code FROM institution")).all()
        day_list = [start + timedelta(days=k) for k in range(days)]
        season = 1 + 0.4 * np.sin(2 * np.pi * np.arange(days) / 365.25)
        synd = []
        for iid, dcode in inst:
            for s in SYNDROMES:
                visits = rng.poisson(40 * season)
                cases = rng.binomial(visits, 0.1)
                synd += [(f"{iid}:{s}:{k}", iid, dcode, day_list[k], s, int(visits[k]), int(cases[k]))
                         for k in range(days)]
        _copy(conn, "syndromic_count", ["source_id", "institution_id", "district_code", "day", "syndrome", "visits",
                                        "cases"], synd)
        counts["syndromic_count"] = len(synd)
        # cases: per street × disease a gamma-distributed daily rate (most series sparse), seasonal
        rates = rng.gamma(0.5, 0.2, (len(streets), diseases))
        rates[:, :2] = 0.0005  # the single-case diseases are rare
        n_case = 0
        buf_rows = []
        for si, (scode, dcode, lon, lat) in enumerate(streets):
            lam = rates[si][:, None] * season[None, :]
            if si % 41 == 0:  # an outbreak in a few streets over the last 5 days
                lam[2 + si % 5, -5:] += 3.0
            daily = rng.poisson(lam)
            for di, k in zip(*np.nonzero(daily), strict=True):
                onset = day_list[k]
                t = datetime(onset.year, onset.month, onset.day, 15, tzinfo=CST)
                for _ in range(int(daily[di, k])):
                    n_case += 1
                    buf_rows.append((f"C{n_case}", 1, codes[di], "confirmed", onset, t.isoformat(),
                                     (t + timedelta(hours=2)).isoformat(), scode, dcode,
                                     f"SRID=4326;POINT({lon} {lat})", "under_treatment"))
        _copy(conn, "case_report", ["source_id", "source_version", "disease_code", "case_type", "onset_date",
                                    "diagnosis_time", "report_time", "region_code", "district_code", "geom",
                                    "outcome"], buf_rows)
        counts.update(region=len(regions), streets=len(streets), disease=diseases, institution=len(inst_rows),
                      case_report=n_case)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return counts


SIGNAL_FIELDS = ("kind", "dedup_key", "model", "district_code", "region_code", "disease_code", "state", "title",
                 "observed", "threshold", "window_start", "window_end", "fire_count", "grade", "params", "evidence",
                 "geom_wkt", "event_key")


def signal_rows(conn: Any) -> list[dict[str, Any]]:
    """Every signal (alarms and events) with what the run decides, its event by dedup key; sorted, ids left out."""
    rows = conn.execute(text(
        "SELECT s.kind, s.dedup_key, s.model, s.district_code, s.region_code, s.disease_code, s.state, s.title, "
        "s.observed, s.threshold, s.window_start::text, s.window_end::text, s.fire_count, s.grade, s.params, "
        "s.evidence, ST_AsText(s.geom) AS geom_wkt, e.dedup_key AS event_key "
        "FROM signal s LEFT JOIN signal e ON e.id = s.event_id")).mappings().all()
    return sorted((dict(r) for r in rows), key=lambda r: (r["kind"], r["dedup_key"], r["window_end"] or ""))


def side_rows(conn: Any) -> dict[str, Any]:
    """How many signal events (by action) and audit rows (by action) the runs wrote."""
    events = dict(conn.execute(text("SELECT action, count(*) FROM signal_event GROUP BY action")).all())
    audits = dict(conn.execute(text("SELECT action, count(*) FROM audit_log WHERE action LIKE 'signal.%' "
                                    "OR action LIKE 'event.%' GROUP BY action")).all())
    return {"signal_event": events, "audit": audits}


def dump_signals(database_url: str, path: str, runs: list[Any]) -> None:
    """Write the signals after both runs (JSON), so two versions of the engine can be compared."""
    engine = create_engine(database_url)
    with engine.connect() as conn:
        out = {"signals": signal_rows(conn), "side": side_rows(conn),
               "runs": [{k: v for k, v in r.as_dict().items() if k not in ("seconds", "model_seconds")}
                        for _, r in runs]}
    engine.dispose()
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(out, fh, ensure_ascii=False, indent=0, sort_keys=True, default=str)


def compare_dumps(before_path: str, after_path: str) -> bool:
    """Print how two dumps differ (signals by kind, dedup key and day; every column; signal events and audit rows
    by action; the runs' reports); True when they are the same."""
    before, after = (json.loads(Path(p).read_text(encoding="utf-8")) for p in (before_path, after_path))
    rows = [{(s["kind"], s["dedup_key"], s["window_end"]): s for s in d["signals"]} for d in (before, after)]
    differing = sorted({f for k in rows[0].keys() & rows[1].keys() for f in SIGNAL_FIELDS
                        if rows[0][k][f] != rows[1][k][f]})
    strip = [[{k: v for k, v in r.items() if k != "reused"} for r in d["runs"]] for d in (before, after)]
    print(f"signals {len(rows[0])} → {len(rows[1])}: only before {len(rows[0].keys() - rows[1].keys())}, only after "
          f"{len(rows[1].keys() - rows[0].keys())}, columns differing {differing or 'none'}; signal events and "
          f"audit rows {'same' if before['side'] == after['side'] else 'DIFFERENT'}; "
          f"run reports {'same' if strip[0] == strip[1] else 'DIFFERENT'}")
    return rows[0].keys() == rows[1].keys() and not differing and before["side"] == after["side"] \
        and strip[0] == strip[1]


def _timed_run(svc: Any, end: date, **kw: Any) -> tuple[float, Any]:
    from alerting.runner import run_all

    with svc.session_factory() as session:
        t0 = time.perf_counter()
        report = run_all(session, as_of=end, district_code=None, **kw)
        session.commit()
        return time.perf_counter() - t0, report


def _phases(report: Any, alarms: bool = True) -> None:
    for name, secs in sorted(report.model_seconds.items(), key=lambda kv: -kv[1]):
        print(f"    {name:<20s} {secs:7.2f} s" + (f"   alarms {report.alarms.get(name, '-')}" if alarms else ""))


def _print(counts: dict[str, int], args: Any, end: date, build_s: float, runs: list[tuple[float, Any]]) -> None:
    (first_s, r), (second_s, again), (third_s, computed) = runs
    print(f"synthetic city: {len(DISTRICTS)} districts, {counts['streets']} streets, {args.diseases} diseases, "
          f"{args.years} years daily to {end}: {counts['case_report']:,} case reports, "
          f"{counts['syndromic_count']:,} syndromic counts at {counts['institution']} sentinels (built in {build_s:.0f} s)")
    print(f"  series: {r.series}")
    print(f"  whole-city warning run (all models, signals written): {first_s:6.1f} s   "
          f"created {r.created}, refired {r.refired}, unchanged {r.unchanged}")
    _phases(r)
    print(f"  same day again (dedup):                                {second_s:6.1f} s   "
          f"created {again.created}, unchanged {again.unchanged}, alarms reused {again.reused}")
    _phases(again, alarms=False)
    print(f"  same day again, computed (reuse off):                  {third_s:6.1f} s   "
          f"created {computed.created}, unchanged {computed.unchanged}, same alarm rows "
          f"{computed.signal_ids == again.signal_ids}")
    _phases(computed, alarms=False)
    print("RESULT " + json.dumps({"counts": counts, "years": args.years, "first_s": first_s, "second_s": second_s,
                                  "computed_again_s": third_s, "second_model_seconds": again.model_seconds,
                                  "created": r.created, "second_created": again.created,
                                  "model_seconds": r.model_seconds, "alarms": r.alarms}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streets-per-district", type=int, default=13)
    parser.add_argument("--diseases", type=int, default=40)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--dump", help="write the signals after the first two runs to this JSON file")
    parser.add_argument("--compare", nargs=2, metavar=("BEFORE", "AFTER"), help="compare two dumps and exit")
    args = parser.parse_args()
    if args.compare:
        raise SystemExit(0 if compare_dumps(*args.compare) else 1)
    end = datetime.now(CST).date() - timedelta(days=1)
    with bench_database("warn", seeded=False) as settings:
        t0 = time.perf_counter()
        counts = build_city(settings.database_url, streets_per_district=args.streets_per_district,
                            diseases=args.diseases, years=args.years, end=end)
        build_s = time.perf_counter() - t0
        from config.runtime import build_services

        svc = build_services(settings, pool_size=1)
        runs = [_timed_run(svc, end), _timed_run(svc, end)]
        if args.dump:
            dump_signals(settings.database_url, args.dump, runs)
        runs.append(_timed_run(svc, end, reuse=False))
        svc.engine.dispose()
    _print(counts, args, end, build_s, runs)


if __name__ == "__main__":
    main()
