"""Issue 21: the primary's CPU share under the layer and KPI read load, (a) without and (b) with a read replica.

    .venv/bin/python -m bench.ha.cpu_share [--clients 24] [--seconds 60]

Starts the HA data tier (bench/ha/topology.py: PostgreSQL primary + streaming replica, Redis + Sentinels), seeds
the demo data set on the primary (the replica follows), then runs the same closed-loop read load twice through two
gunicorn web processes with ANSWER_CACHE_SECONDS=0 (every request computed): (a) without REPLICA_URLS, (b) with
REPLICA_URLS naming the replica. Measures the CPU seconds of each cluster (postmaster and children, /proc) over each
load. Prints the primary's share of PostgreSQL CPU, its CPU seconds per 1,000 requests, p50/p95 and errors; the
last line is `RESULT {json}`. Stops everything it started.
"""
from __future__ import annotations

import argparse
import json
import shutil
import signal
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from bench.ha.layer_load import LayerLoad, request_mix
from bench.ha.proc_cpu import postmaster, tree_cpu
from bench.ha.run import _secrets, migrated_database
from bench.ha.topology import WEB_PORTS, Topology
from bench.load.stack import DISTRICT, make_tokens
from config.settings import Settings

CST = timezone(timedelta(hours=8))


def seed(settings: Settings) -> float:
    """The demo data set on the primary, vacuumed and checkpointed; returns seconds."""
    from config.runtime import build_services
    from demo.seed import seed_demo
    from geo.db import session_scope

    started, keys_dir = time.perf_counter(), Path(tempfile.mkdtemp(prefix="onemap-ha-keys-"))
    svc = build_services(settings, pool_size=1)
    try:
        with session_scope(svc.session_factory) as session:
            seed_demo(session, cipher=svc.cipher, end=datetime.now(CST).date(), keys_dir=keys_dir)
        with svc.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
            conn.execute(text("CHECKPOINT"))
    finally:
        svc.engine.dispose()
        shutil.rmtree(keys_dir, ignore_errors=True)
    return time.perf_counter() - started


def top_diseases(settings: Settings, n: int = 2) -> list[str]:
    """The diseases with the most case reports in the demo district (filters that find something)."""
    engine = create_engine(settings.database_url)
    with engine.connect() as conn:
        codes = conn.scalars(text("SELECT disease_code FROM case_report WHERE district_code = :d GROUP BY 1 "
                                  "ORDER BY count(*) DESC LIMIT :n"), {"d": DISTRICT, "n": n}).all()
    engine.dispose()
    return list(codes)


def caught_up(topo: Topology, timeout: float = 300) -> float:
    """Wait until the replica has replayed the primary's current WAL position; returns seconds waited."""
    started = time.monotonic()
    primary, replica = (create_engine(pg.url()) for pg in (topo.primary, topo.replica))
    try:
        with primary.connect() as conn:
            target = conn.scalar(text("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn"))
        while time.monotonic() - started < timeout:
            with replica.connect() as conn:
                if conn.scalar(text("SELECT pg_last_wal_replay_lsn() - '0/0'::pg_lsn")) >= target:
                    return time.monotonic() - started
            time.sleep(0.5)
    finally:
        primary.dispose()
        replica.dispose()
    raise RuntimeError("the replica did not catch up with the seeded primary")


def cluster_cpu(topo: Topology) -> tuple[float, float]:
    """CPU seconds used so far by the primary's and the replica's postgres processes."""
    return tree_cpu(postmaster(topo.primary.data)), tree_cpu(postmaster(topo.replica.data))


def warm(load: LayerLoad, routed: bool) -> None:
    """Every path once through each web process (imports, caches, the replica probed fresh)."""
    warmup = LayerLoad(load.bases, load.tokens, load.paths, clients=len(WEB_PORTS) * 2, think=0.0)
    warmup.run(6.0)
    if routed and warmup.routes.get("replica", 0) == 0:
        raise RuntimeError(f"no read reached the replica while warming up: {dict(warmup.routes)}")


def phase(topo: Topology, keys: dict[str, str], load: LayerLoad, routed: bool, seconds: float) -> dict[str, Any]:
    """One load through fresh web processes (with or without REPLICA_URLS); CPU of each cluster over it."""
    web = [p.pid for p in topo.start_web(keys, REPLICA_URLS=topo.replica.url() if routed else "",
                                         ANSWER_CACHE_SECONDS="0")]
    try:
        warm(load, routed)
        time.sleep(1)  # let the warm-up's stragglers and the probes settle
        (p0, r0), w0 = cluster_cpu(topo), sum(tree_cpu(pid) for pid in web)
        wall = load.run(seconds)
        (p1, r1), w1 = cluster_cpu(topo), sum(tree_cpu(pid) for pid in web)
    finally:
        topo.stop_apps()
    figures = load.figures()
    primary, replica = p1 - p0, r1 - r0
    return {"replica_urls": routed, "seconds": round(wall, 1), **figures, "rps": round(figures["requests"] / wall, 1),
            "primary_cpu_s": round(primary, 2), "replica_cpu_s": round(replica, 2), "web_cpu_s": round(w1 - w0, 2),
            "primary_share": round(primary / max(primary + replica, 1e-9), 3),
            "primary_cpu_s_per_1000": round(1000 * primary / max(figures["requests"], 1), 2)}


NAMES = {False: "(a) no REPLICA_URLS", True: "(b) REPLICA_URLS=replica"}


def show_phase(r: dict[str, Any]) -> None:
    print(f"{NAMES[r['replica_urls']]:<26s} primary share {r['primary_share']:.1%}; primary {r['primary_cpu_s']:.1f} "
          f"CPU s ({r['primary_cpu_s_per_1000']:.2f} per 1,000 requests), replica {r['replica_cpu_s']:.1f} CPU s, "
          f"web {r['web_cpu_s']:.1f} CPU s; {r['requests']} requests ({r['rps']} req/s), p50 {r['p50_ms']} ms, "
          f"p95 {r['p95_ms']} ms, errors {r['errors']} {r['error_kinds'] or ''}; reads {r['routes']}")
    for sample in r["error_samples"]:
        print(f"    failed: {sample[:300]}")


def show(results: list[dict[str, Any]], context: dict[str, Any]) -> None:
    print(f"\n== primary CPU share under the layer/KPI read load ({context['clients']} clients, "
          f"{context['seconds']:.0f} s each, ANSWER_CACHE_SECONDS=0, demo seeded in {context['seed_s']:.0f} s)")
    for r in results:
        show_phase(r)
    print("RESULT " + json.dumps({**context, "runs": results}, ensure_ascii=False))


def run(topo: Topology, clients: int, seconds: float) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    keys = _secrets()
    topo.start_data()
    settings = migrated_database(topo, keys)
    seed_s = seed(settings)
    tokens = make_tokens(settings, 8)
    paths = request_mix(datetime.now(CST).date(), top_diseases(settings))
    caught_up(topo)
    bases = [f"http://127.0.0.1:{p}" for p in WEB_PORTS]
    print(f"demo seeded on the primary in {seed_s:.0f} s; {len(paths)} request paths; replica caught up")
    results = []
    for routed in (False, True):
        results.append(phase(topo, keys, LayerLoad(bases, tokens, paths, clients=clients), routed, seconds))
        show_phase(results[-1])  # at once: a run cut short still leaves its first figures
    context = {"date": date.today().isoformat(), "clients": clients, "seconds": seconds, "seed_s": round(seed_s, 1),
               "paths": len(paths)}
    return results, context


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=24)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # figures reach a log as they come
    topo = Topology()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        results, context = run(topo, args.clients, args.seconds)
    finally:
        topo.stop()
    show(results, context)
    fell = results[1]["primary_share"] < results[0]["primary_share"]
    errors = sum(r["errors"] for r in results)
    print(f"primary share fell: {'yes' if fell else 'NO'}; errors: {errors}")
    return 0 if fell and errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
