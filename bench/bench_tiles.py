"""Vector tiles of the demo district: p50 / p95 per tile at z 11-15, case points and choropleth polygons.

    .venv/bin/python -m bench.bench_tiles [--days 28,365] [--repeat 2] [--append bench/RESULTS.md]

On a copy of the seeded demo database (bench.load.stack), through the Flask app in-process (auth, scope,
filters, SQL, audit; one client), every tile of z 11-15 that covers the district's extent. Measured with
the answer cache off (each tile computed: what the first screen to ask pays) and on (the same tiles
asked again: what every other screen pays). The district analyst sees precise points, the district
commander the 200 m cell centres (layers.precision). Prints a table and a RESULT line for
bench/RESULTS.md; `--append` also adds this run's section to that file.
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from bench.load.stack import DISTRICT, bench_database, make_tokens

ZOOMS = range(11, 16)


def tiles_over(bbox: tuple[float, float, float, float], zooms: range = ZOOMS) -> list[tuple[int, int, int]]:
    """Every XYZ tile of `zooms` that meets the WGS84 box (west, south, east, north)."""
    w, s, e, n = bbox

    def xy(lon: float, lat: float, z: int) -> tuple[int, int]:
        k = 2 ** z
        y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * k
        return min(k - 1, int((lon + 180) / 360 * k)), min(k - 1, int(y))

    out = []
    for z in zooms:
        (x0, y0), (x1, y1) = xy(w, n, z), xy(e, s, z)
        out += [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(client: Any, token: str, layer: str, tiles: list[tuple[int, int, int]], query: str,
            repeat: int) -> dict[str, Any]:
    """ms per tile request, by zoom and overall; bytes and features of the tiles."""
    per_zoom: dict[int, list[float]] = {}
    sizes: list[int] = []
    for _ in range(repeat):
        for z, x, y in tiles:
            t0 = time.perf_counter()
            resp = client.get(f"/api/v1/tiles/{layer}/{z}/{x}/{y}.mvt?{query}",
                              headers={"Authorization": f"Bearer {token}"})
            per_zoom.setdefault(z, []).append((time.perf_counter() - t0) * 1000)
            assert resp.status_code == 200, (layer, z, x, y, resp.status_code)
            sizes.append(len(resp.get_data()))
    every = [v for vs in per_zoom.values() for v in vs]
    return {"p50": statistics.median(every), "p95": pct(every, 0.95), "n": len(every),
            "kb_max": max(sizes) / 1024, "kb_median": statistics.median(sizes) / 1024,
            "zooms": {z: {"p50": statistics.median(v), "p95": pct(v, 0.95)} for z, v in sorted(per_zoom.items())}}


def district_facts(database_url: str, days: list[int]) -> tuple[tuple[float, float, float, float], dict[int, int], str]:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        box = conn.execute(text("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                                "(SELECT ST_Extent(geom) AS e FROM region WHERE code = :d) x"), {"d": DISTRICT}).one()
        last = conn.scalar(text("SELECT max(onset_date) FROM case_report WHERE district_code = :d"), {"d": DISTRICT})
        counts = {d: int(conn.scalar(text(
            "SELECT count(*) FROM case_report WHERE district_code = :d AND geom IS NOT NULL AND "
            "case_type IN ('confirmed', 'clinical') AND onset_date > CAST(:last AS date) - :days"),
            {"d": DISTRICT, "last": last, "days": d})) for d in days}
    engine.dispose()
    return (box[0], box[1], box[2], box[3]), counts, last.isoformat()


def run(settings: Any, days: list[int], repeat: int) -> dict[str, Any]:
    from dashboard import create_app

    bbox, counts, until = district_facts(settings.database_url, days)
    tiles = tiles_over(bbox)
    tokens = {"analyst": make_tokens(settings, 1)[0], "commander": make_tokens(settings, 1, role="district_commander")[0]}
    rows = []
    for cached in (False, True):
        app = create_app(settings.model_copy(update={"answer_cache_seconds": 60 if cached else 0}))
        client = app.test_client()
        for token in tokens.values():  # untimed: the app's first requests set up Dash, connections, templates
            client.get("/api/v1/tiles/incidence/0/0/0.mvt", headers={"Authorization": f"Bearer {token}"})
        for d in days:
            query = f"since={(date.fromisoformat(until) - timedelta(days=d - 1)).isoformat()}&until={until}"
            for layer, who in (("cases", "analyst"), ("cases", "commander"), ("incidence", "analyst")):
                if cached:  # first pass fills the cache; the measured pass answers from it
                    measure(client, tokens[who], layer, tiles, query, 1)
                r = measure(client, tokens[who], layer, tiles, query, repeat)
                rows.append({"layer": layer, "who": who, "days": d, "cases": counts[d], "cached": cached, **r})
        app.extensions["onemap"].engine.dispose()
    return {"tiles": len(tiles), "per_zoom": {z: sum(1 for t in tiles if t[0] == z) for z in ZOOMS}, "rows": rows,
            "bbox": bbox}


def report(result: dict[str, Any]) -> list[str]:
    zooms = "  ".join(f"z{z}:{n}" for z, n in result["per_zoom"].items())
    lines = [f"demo district {DISTRICT}: {result['tiles']} tiles at z 11-15 over its extent ({zooms}); in-process "
             "Flask client, one at a time",
             f"  {'layer / caller / period (counted cases)':<48s} {'cache':>5s} {'p50':>6s} {'p95':>6s}  "
             f"{'p95 by zoom 11 … 15 (ms)':<30s} {'KB med/max':>11s}"]
    for r in result["rows"]:
        what = f"{r['layer']} / {r['who']} / {r['days']} d ({r['cases']:,})"
        by_zoom = " ".join(f"{v['p95']:5.1f}" for v in r["zooms"].values())
        lines.append(f"  {what:<48s} {'on' if r['cached'] else 'off':>5s} {r['p50']:6.1f} {r['p95']:6.1f}  "
                     f"{by_zoom:<30s} {r['kb_median']:5.1f}/{r['kb_max']:<5.1f}")
    return lines


def append(path: Path, argv: str, lines: list[str], seconds: float) -> None:
    """This run's section at the end of bench/RESULTS.md, in run_all's format."""
    section = ["", "## Vector tiles of the demo district (z 11-15)", "",
               f"`python -m bench.bench_tiles {argv}` — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {seconds:.0f} s, "
               f"load average {' '.join(Path('/proc/loadavg').read_text().split()[:3])}", "", "```", *lines, "```", ""]
    with path.open("a", encoding="utf-8") as f:
        f.write("\n".join(section))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", default="28,365", help="periods (days up to the demo's last day), comma-separated")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--append", default="", help="append this run's section to this file (bench/RESULTS.md)")
    args = parser.parse_args()
    started = time.perf_counter()
    with bench_database("tiles") as settings:
        result = run(settings, [int(d) for d in args.days.split(",")], args.repeat)
    lines = report(result)
    print("\n".join(lines))
    print("RESULT " + json.dumps(result))
    if args.append:
        append(Path(args.append), f"--days {args.days} --repeat {args.repeat}", lines, time.perf_counter() - started)


if __name__ == "__main__":
    main()
