"""Choropleth and layer queries with 5 million historical case reports: p50 / p95 before and after growing the table.

    .venv/bin/python -m bench.bench_5m [--rows 5000000 --repeat 20]

Works on a copy of the demo database on the benchmark cluster (bench.load.stack), never the shared
one. The demo's ~0.7 M case reports (16 districts, 3 years) are replicated server-side with shifted
ids and dates (each copy 1–6 days earlier) up to `--rows`: the same places and diseases at seven
times the density, so every query touches seven times the rows. Secondary indexes are dropped for
the load and rebuilt after it, then ANALYZE. Queries go through the Flask app (auth, SQL, GeoJSON).
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import date, timedelta
from typing import Any

from sqlalchemy import create_engine, text

from bench.load.stack import bench_database, make_tokens

# a copy has its original's district and point, so its grid cell: copied (the trigger looks up only missing cells)
COPY_COLUMNS = ("source_version", "disease_code", "case_type", "reporting_institution_id", "region_code",
                "district_code", "geom", "input_crs", "age", "sex", "occupation", "outcome", "name_enc",
                "id_number_enc", "phone_enc", "address_enc", "id_number_bidx", "phone_bidx", "grid_code")
SHIFTED = ("onset_date", "diagnosis_time", "report_time", "audit_time", "death_date")


def grow(database_url: str, rows: int) -> dict[str, Any]:
    """Replicate case_report up to `rows` rows; returns the row counts and seconds per phase."""
    engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
    out: dict[str, Any] = {}
    with engine.connect() as conn:
        base = int(conn.scalar(text("SELECT count(*) FROM case_report")))
        top = int(conn.scalar(text("SELECT max(id) FROM case_report")))
        out["rows_before"] = base
        indexes = conn.execute(text("""
            SELECT i.indexname, i.indexdef FROM pg_indexes i
            WHERE i.tablename = 'case_report' AND NOT EXISTS (
                SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)""")).all()
        t0 = time.perf_counter()
        for name, _ in indexes:
            conn.execute(text(f'DROP INDEX "{name}"'))
        copies, rest = divmod(max(0, rows - base), base)
        cols = ", ".join(COPY_COLUMNS + SHIFTED)
        shifted = ", ".join(f"c.{c} - k" if c in ("onset_date", "death_date") else f"c.{c} - k * interval '1 day'"
                            for c in SHIFTED)
        select = f"""SELECT c.source_id || '#r' || k, {', '.join('c.' + c for c in COPY_COLUMNS)}, {shifted}
                     FROM case_report c, generate_series(CAST(:first AS int), CAST(:last AS int)) k WHERE c.id <= :top"""
        conn.execute(text(f"INSERT INTO case_report (source_id, {cols}) {select}"),
                     {"first": 1, "last": copies, "top": top})
        if rest:
            conn.execute(text(f"INSERT INTO case_report (source_id, {cols}) {select} LIMIT :rest"),
                         {"first": copies + 1, "last": copies + 1, "top": top, "rest": rest})
        out["insert_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        for _, definition in indexes:
            conn.execute(text(definition))
        out["index_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        conn.execute(text("VACUUM ANALYZE case_report"))
        out["analyze_s"] = time.perf_counter() - t0
        out["rows_after"] = int(conn.scalar(text("SELECT count(*) FROM case_report")))
        out["table_mb"] = int(conn.scalar(text("SELECT pg_total_relation_size('case_report')"))) // 2**20
    engine.dispose()
    return out


def queries(diseases: list[str]) -> list[tuple[str, str, list[str]]]:
    """(label, who, urls): each label's URLs cycle through periods and diseases."""
    today = date.today()
    since = {d: (today - timedelta(days=d)).isoformat() for d in (7, 30, 90, 365)}
    by_disease = [f"&disease={d}" for d in diseases[:4]] + [""]
    return [
        ("choropleth: 16 districts, city view, 365 days", "city",
         [f"/api/v1/layers/incidence?level=district&since={since[365]}{d}" for d in by_disease]),
        ("choropleth: streets of the district, 30-365 days", "district",
         [f"/api/v1/layers/incidence?level=street&since={since[p]}{d}" for p in (30, 90, 365) for d in by_disease]),
        ("choropleth: H3 grid of the district, 30 days", "district",
         [f"/api/v1/layers/incidence?level=grid&since={since[30]}{d}" for d in by_disease]),
        ("case points layer, 7 days", "district", [f"/api/v1/layers/cases?since={since[7]}{d}" for d in by_disease]),
        ("KPIs + epidemic curve (monitor summary), 30-365 days", "district",
         [f"/api/v1/monitor/summary?since={since[p]}" for p in (30, 90, 365)]),
    ]


def measure(client: Any, headers: dict[str, dict[str, str]], diseases: list[str], repeat: int) -> dict[str, Any]:
    """p50 / p95 in ms per query label (after one untimed pass)."""
    out = {}
    for label, who, urls in queries(diseases):
        for url in urls:
            assert client.get(url, headers=headers[who]).status_code == 200, url
        times = []
        for i in range(repeat):
            t0 = time.perf_counter()
            r = client.get(urls[i % len(urls)], headers=headers[who])
            times.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200
        times.sort()
        out[label] = {"p50": statistics.median(times), "p95": times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with bench_database("5m") as raw_settings:
        # The cost of computing each answer, not of fetching a shared one: the answer cache is off.
        settings = raw_settings.model_copy(update={"answer_cache_seconds": 0})
        from dashboard import create_app

        headers = {"district": {"Authorization": f"Bearer {make_tokens(settings, 1)[0]}"},
                   "city": {"Authorization": f"Bearer {make_tokens(settings, 1, role='city_admin', city=True)[0]}"}}
        engine = create_engine(settings.database_url)
        with engine.connect() as conn:
            diseases = list(conn.scalars(text("SELECT disease_code FROM case_report WHERE district_code = '310105' "
                                              "GROUP BY 1 ORDER BY count(*) DESC LIMIT 4")))
        engine.dispose()
        app = create_app(settings)
        client = app.test_client()
        before = measure(client, headers, diseases, args.repeat)
        app.extensions["onemap"].engine.dispose()
        growth = grow(settings.database_url, args.rows)
        after = measure(client, headers, diseases, args.repeat)
        app.extensions["onemap"].engine.dispose()
    print(f"case_report grown from {growth['rows_before']:,} to {growth['rows_after']:,} rows "
          f"({growth['table_mb']:,} MB with indexes): insert {growth['insert_s']:.0f} s, "
          f"index rebuild {growth['index_s']:.0f} s, vacuum analyze {growth['analyze_s']:.0f} s")
    grown = f"{growth['rows_after'] / 1e6:.1f} M p50"
    print(f"  {'query (through the API, one client, answer cache off)':<55s} {'0.7 M p50':>9s} {'p95':>6s} {grown:>9s} {'p95':>6s}  ms")
    for label in after:
        b, a = before[label], after[label]
        print(f"  {label:<55s} {b['p50']:9.0f} {b['p95']:6.0f} {a['p50']:9.0f} {a['p95']:6.0f}")
    print("RESULT " + json.dumps({"growth": growth, "before": before, "after": after}))


if __name__ == "__main__":
    main()
