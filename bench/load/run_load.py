"""The HTTP API under load: locust users on layers, KPIs, signals and tasks while N SSE screens stay open.

    .venv/bin/python -m bench.load.run_load [--users 200 --screens 1000 --seconds 120]

Everything runs in separate processes on this machine: the web tier (gunicorn gthread, 2 workers,
as `onemap serve`), locust (headless), the SSE screens (bench.load.sse_hold) and, meanwhile, one case
report a second posted to the intake so every screen has events to receive. Prints p50/p95/p99 and
the error rate per endpoint group, what the screens got, and the RSS of each web worker under load;
the last line is `RESULT {json}` for bench.run_all.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import create_engine, text

from bench.bench_memory import snapshot
from bench.load.stack import bench_database, make_tokens, start_gunicorn, write_tokens
from tests.system.chaos.support import ROOT, free_port, stop

LOCUST = os.path.join(os.path.dirname(sys.executable), "locust")
CST = timezone(timedelta(hours=8))


def _demo_source(settings: Any) -> tuple[str, str, float, float]:
    """An institution of the demo district (code and point) and a disease code, for the posted case reports."""
    engine = create_engine(settings.database_url)
    with engine.connect() as conn:
        inst = conn.execute(text("SELECT code, ST_X(geom), ST_Y(geom) FROM institution "
                                 "WHERE district_code = '310105' AND geom IS NOT NULL ORDER BY id LIMIT 1")).one()
        disease = conn.scalar(text("SELECT code FROM disease WHERE NOT single_case ORDER BY code LIMIT 1"))
    engine.dispose()
    return inst[0], disease, float(inst[1]), float(inst[2])


class Poster(threading.Thread):
    """Posts one case report every 1/rate seconds while the load runs; counts what was accepted."""

    def __init__(self, url: str, token: str, source: tuple[str, str, float, float], tag: str, rate: float) -> None:
        super().__init__(daemon=True)
        self.url, self.token, self.source, self.tag, self.rate = url, token, source, tag, rate
        self.accepted = self.failed = 0
        self.halt = threading.Event()

    def run(self) -> None:
        inst, disease, lon, lat = self.source
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {self.token}"
        i = 0
        while not self.halt.wait(1 / self.rate):
            t = datetime.now(CST).replace(microsecond=0) - timedelta(hours=1)
            rec = {"institution_code": inst, "record_id": f"{self.tag}-{i}", "disease_code": disease,
                   "onset_date": (t - timedelta(days=1)).date().isoformat(), "diagnosis_time": t.isoformat(),
                   "report_time": t.isoformat(), "lon": lon, "lat": lat, "age": 30, "sex": "M"}
            i += 1
            try:
                r = http.post(f"{self.url}/api/v1/ingest/case_report", json={"records": [rec]}, timeout=30)
                ok = r.status_code == 200
            except requests.RequestException:
                ok = False
            self.accepted += ok
            self.failed += not ok


class RssSampler(threading.Thread):
    """Peak RSS per web process, sampled every 2 s."""

    def __init__(self, master: int) -> None:
        super().__init__(daemon=True)
        self.master, self.peak, self.halt = master, {}, threading.Event()

    def run(self) -> None:
        while not self.halt.wait(2.0):
            for name, mib in snapshot(self.master).items():
                self.peak[name] = max(self.peak.get(name, 0.0), mib)


def _stats(csv_prefix: str) -> list[dict[str, str]]:
    with open(f"{csv_prefix}_stats.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _warm(url: str, token: str) -> None:
    """Each worker imports and builds its caches once before the clock starts."""
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"
    for _ in range(4):
        for path in ("/api/v1/layers/incidence?level=street", "/api/v1/layers/cases", "/api/v1/monitor/summary",
                     "/api/v1/signals", "/api/v1/dispatch/tasks", "/api/v1/command/summary"):
            http.get(url + path, timeout=120)


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="onemap-load-"))
    try:
        run(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(work: Path) -> None:
    """Parse the arguments, run the load, print the figures (`work` holds tokens and locust's CSV)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--screens", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--wait", default="1,3", help="think time of each user: min,max seconds")
    parser.add_argument("--post-rate", type=float, default=1.0, help="case reports per second during the load")
    args = parser.parse_args()
    with bench_database("load") as settings:
        tokens = make_tokens(settings, max(args.users, 1))
        write_tokens(tokens, work / "tokens.json")
        # gthread: an open SSE stream holds a thread; size each worker for its share of screens and users
        threads = (args.screens + args.users) // args.workers + 200
        port = free_port(8850)
        web = start_gunicorn(settings, port, workers=args.workers, threads=threads, connections=threads)
        url = f"http://127.0.0.1:{port}"
        tag = f"bl{uuid.uuid4().hex[:6]}"
        sse = locust = None
        try:
            _warm(url, tokens[0])
            idle = snapshot(web.pid)
            sse = subprocess.Popen([sys.executable, "-m", "bench.load.sse_hold", "--url", url, "--tokens",
                                    str(work / "tokens.json"), "--screens", str(args.screens), "--seconds",
                                    str(args.seconds + 600), "--match", f":{tag}-"],
                                   cwd=ROOT, stdout=subprocess.PIPE, text=True)
            assert sse.stdout is not None
            opened = sse.stdout.readline().strip()  # "connected N"
            sampler = RssSampler(web.pid)
            sampler.start()
            poster = Poster(url, tokens[-1], _demo_source(settings), tag, args.post_rate)
            poster.start()
            started = time.perf_counter()
            locust = subprocess.run(
                [LOCUST, "-f", str(Path(ROOT) / "bench/load/locustfile.py"), "--headless", "-u", str(args.users),
                 "-r", str(max(1, args.users // 10)), "-t", f"{args.seconds}s", "--host", url, "--csv",
                 str(work / "locust"), "--only-summary", "--loglevel", "WARNING", "--stop-timeout", "10"],
                cwd=ROOT, env={**os.environ, "ONEMAP_BENCH_TOKENS": str(work / "tokens.json"), "ONEMAP_BENCH_WAIT": args.wait},
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=args.seconds + 180)
            elapsed = time.perf_counter() - started
            poster.halt.set()
            poster.join(30)
            time.sleep(3)  # the last events reach the screens
            sampler.halt.set()
            sse.send_signal(signal.SIGINT)
            screens = json.loads(sse.communicate(timeout=120)[0].strip().splitlines()[-1])
        finally:
            if sse is not None and sse.poll() is None:
                sse.kill()
            stop(web, timeout=30)
    if not (work / "locust_stats.csv").exists():
        raise SystemExit(f"locust wrote no statistics (exit {locust.returncode}): {locust.stderr[-3000:]}")
    rows = _stats(str(work / "locust"))
    total = next(r for r in rows if r["Name"] == "Aggregated")
    count, failures = int(total["Request Count"]), int(total["Failure Count"])
    print(f"{args.users} locust users (think time {args.wait.replace(',', '-')} s) for {args.seconds} s "
          f"with {args.screens} SSE screens open "
          f"({opened}); web: {args.workers} gunicorn gthread workers x {threads} threads; {os.cpu_count()} CPUs")
    print(f"  {'endpoint group':<58s} {'requests':>8s} {'fail':>5s} {'p50':>6s} {'p95':>6s} {'p99':>6s}  ms")
    for r in rows:
        print(f"  {r['Name']:<58s} {int(r['Request Count']):8d} {int(r['Failure Count']):5d} {r['50%']:>6s} "
              f"{r['95%']:>6s} {r['99%']:>6s}")
    print(f"  throughput {count / elapsed:.1f} req/s; error rate {failures / max(count, 1):.4%}")
    print(f"  screens: {screens['opened']}/{screens['screens']} open, {screens['drops']} dropped streams, "
          f"{screens['errors']} connect errors; case events posted {poster.accepted} (failed {poster.failed}), "
          f"received per screen min {screens['matched_min']} max {screens['matched_max']}")
    print(f"  RSS MiB idle (warm) {idle}; peak under load {sampler.peak}")
    if locust.returncode not in (0, 1):
        print(f"  locust exited {locust.returncode}: {locust.stderr[-2000:]}")
    result = {"users": args.users, "seconds": args.seconds, "wait": args.wait, "screens": screens, "requests": count,
              "failures": failures, "error_rate": failures / max(count, 1), "rps": count / elapsed,
              "p50": float(total["50%"]), "p95": float(total["95%"]), "p99": float(total["99%"]),
              "posted": poster.accepted, "post_failed": poster.failed, "rss_idle": idle, "rss_peak": sampler.peak,
              "threads": threads,
              "groups": {r["Name"]: {"n": int(r["Request Count"]), "fail": int(r["Failure Count"]),
                                     "p50": r["50%"], "p95": r["95%"], "p99": r["99%"]} for r in rows}}
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
