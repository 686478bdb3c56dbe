"""Our vector tiles and OGC API items side by side with tipg serving the same tables on the same machine.

    .venv/bin/python -m bench.bench_ogc_tipg [--clients 8] [--pages 200] [--tiles-per-zoom 40]

On a copy of the seeded demo database (bench.load.stack): our web tier as `onemap serve` runs it (gunicorn,
2 workers) and tipg (PyPI, FastAPI + asyncpg, 2 uvicorn workers, installed into its own virtualenv
var/tipg-venv because its web stack is not ours) over `case_report` and `region`. Measured per request:
tiles at z 11-15 over the demo district, and pages of 100 items (bbox of the district, walking the offsets).
Ours is measured twice: the first time each question is asked (computed, no cache hit) and again (answered
from the shared answer cache); tipg computes every request. Prints p50/p95 and the ratio ours/tipg, and a
RESULT line for bench/RESULTS.md.

Not the same work: ours applies the caller's scope, location precision and audit over `--days` of cases
(default 3 years, the layers' maximum; the case layer keeps its newest 20,000 points), tipg serves the raw
table (every district, every day) cut to the same tile or bbox.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import requests
from sqlalchemy import create_engine, text

from bench.load.stack import DISTRICT, bench_database, make_tokens, start_gunicorn, wait_until_up
from tests.system.chaos.support import ROOT, free_port, stop

TIPG_VERSION = "1.6.1"
TIPG_VENV = Path(ROOT) / "var" / "tipg-venv"
CASE_PROPS = "disease_code,case_type,onset_date,region_code"


def tipg_python() -> Path:
    """tipg's own virtualenv (created once): its FastAPI/asyncpg stack stays out of the product's environment."""
    py = TIPG_VENV / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(TIPG_VENV)], check=True)
    probe = subprocess.run([str(py), "-c", f"import tipg, sys; sys.exit(tipg.__version__ != '{TIPG_VERSION}')"],
                           capture_output=True)
    if probe.returncode != 0:
        subprocess.run([str(py), "-m", "pip", "install", "-q", f"tipg=={TIPG_VERSION}", "uvicorn"], check=True)
    return py


@contextmanager
def tipg_server(database_url: str) -> Iterator[str]:
    """tipg on a free port over the bench database's case_report and region tables."""
    port = free_port(8640)
    env = {**os.environ, "DATABASE_URL": database_url.replace("postgresql+psycopg://", "postgresql://"),
           "TIPG_DB_SCHEMAS": '["public"]', "TIPG_DB_TABLES": '["public.case_report","public.region"]',
           "TIPG_DB_SPATIAL": "true", "TIPG_MAX_FEATURES_PER_QUERY": "10000"}
    proc = subprocess.Popen([str(tipg_python()), "-m", "uvicorn", "tipg.main:app", "--host", "127.0.0.1",
                             "--port", str(port), "--workers", "2", "--log-level", "warning"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(proc, base + "/collections", "tipg", 120)
        yield base
    finally:
        stop(proc)


def district_bbox(database_url: str) -> tuple[float, float, float, float]:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        row = conn.execute(text("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                                "(SELECT ST_Extent(geom) AS e FROM region WHERE code = :c) s"), {"c": DISTRICT}).one()
    engine.dispose()
    return float(row[0]), float(row[1]), float(row[2]), float(row[3])


def tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2 ** z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


def district_tiles(bbox: tuple[float, float, float, float], per_zoom: int) -> list[tuple[int, int, int]]:
    """Tiles at z 11-15 over the district, evenly thinned to at most `per_zoom` per zoom."""
    out = []
    for z in range(11, 16):
        x0, y0 = tile_xy(bbox[0], bbox[3], z)
        x1, y1 = tile_xy(bbox[2], bbox[1], z)
        zoom = [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
        step = max(1, len(zoom) // per_zoom)
        out += zoom[::step][:per_zoom]
    return out


def timed(http: requests.Session, url: str) -> float:
    t0 = time.perf_counter()
    r = http.get(url, timeout=120)
    elapsed = (time.perf_counter() - t0) * 1000
    if r.status_code != 200:
        raise RuntimeError(f"{url}: {r.status_code} {r.text[:200]}")
    return elapsed


def measure(urls: list[str], clients: int, headers: dict[str, str]) -> list[float]:
    """Milliseconds per request, `clients` keep-alive connections sharing the list."""
    def worker(part: list[str]) -> list[float]:
        http = requests.Session()
        http.headers.update(headers)
        return [timed(http, u) for u in part]

    parts = [urls[i::clients] for i in range(clients)]
    with ThreadPoolExecutor(clients) as pool:
        return [ms for done in pool.map(worker, parts) for ms in done]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def figures(values: list[float]) -> dict[str, float]:
    return {"n": len(values), "p50_ms": round(statistics.median(values), 1), "p95_ms": round(pct(values, 95), 1)}


def compare(label: str, ours: Callable[[], list[str]], theirs: list[str], clients: int,
            token: str) -> dict[str, Any]:
    auth = {"Authorization": f"Bearer {token}"}
    first = figures(measure(ours(), clients, auth))
    again = figures(measure(ours(), clients, auth))
    tipg = figures(measure(theirs, clients, {}))
    row = {"what": label, "ours_first": first, "ours_cached": again, "tipg": tipg,
           "ratio_p95_first": round(first["p95_ms"] / tipg["p95_ms"], 2),
           "ratio_p95_cached": round(again["p95_ms"] / tipg["p95_ms"], 2)}
    print(f"{label}: ours first p50 {first['p50_ms']} p95 {first['p95_ms']} ms · ours cached p95 "
          f"{again['p95_ms']} ms · tipg p50 {tipg['p50_ms']} p95 {tipg['p95_ms']} ms · "
          f"ratio p95 first {row['ratio_p95_first']} cached {row['ratio_p95_cached']}", flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--pages", type=int, default=200)
    ap.add_argument("--tiles-per-zoom", type=int, default=40)
    ap.add_argument("--days", type=int, default=1095, help="our period (tipg serves the whole table)")
    args = ap.parse_args()
    with bench_database("ogc") as settings:
        token = make_tokens(settings, 1)[0]
        bbox = district_bbox(settings.database_url)
        bbox_q = ",".join(f"{v:.6f}" for v in bbox)
        tiles = district_tiles(bbox, args.tiles_per_zoom)
        since = (datetime.now(ZoneInfo("Asia/Shanghai")).date() - timedelta(days=args.days - 1)).isoformat()
        port = free_port(8640)
        ours = start_gunicorn(settings, port, workers=2, threads=8, connections=64)
        base = f"http://127.0.0.1:{port}"
        try:
            with tipg_server(settings.database_url) as tipg:
                rows = [
                    compare("case tiles", lambda: [f"{base}/api/v1/tiles/cases/{z}/{x}/{y}.mvt?since={since}" for z, x, y in tiles],
                            [f"{tipg}/collections/public.case_report/tiles/WebMercatorQuad/{z}/{x}/{y}"
                             f"?properties={CASE_PROPS}" for z, x, y in tiles], args.clients, token),
                    compare("case items (100 per page)",
                            lambda: [f"{base}/ogc/collections/cases/items?limit=100&offset={100 * i}&bbox={bbox_q}"
                                     f"&datetime={since}T00:00:00%2B08:00/.." for i in range(args.pages)],
                            [f"{tipg}/collections/public.case_report/items?limit=100&offset={100 * i}&bbox={bbox_q}"
                             f"&properties={CASE_PROPS}" for i in range(args.pages)], args.clients, token),
                ]
        finally:
            stop(ours)
    print("RESULT " + json.dumps({"rows": rows, "clients": args.clients, "tiles": len(tiles), "pages": args.pages,
                                 "days": args.days},
                                 ensure_ascii=False))


if __name__ == "__main__":
    main()
