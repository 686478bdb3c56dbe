"""Resident memory (RSS) of the web processes: the gunicorn master and each worker, idle and after every endpoint.

    .venv/bin/python -m bench.bench_memory

`bench.load.run_load` samples the same figures while it serves 200 users and 1,000 screens; this
script alone shows what a worker costs before and after it has loaded every layer once.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import requests

from bench.load.stack import bench_database, make_tokens, start_gunicorn
from tests.system.chaos.support import free_port, stop

ENDPOINTS = ("/api/v1/layers/incidence?level=street", "/api/v1/layers/incidence?level=grid", "/api/v1/layers/cases",
             "/api/v1/layers/institutions.fever_clinic", "/api/v1/layers/teams", "/api/v1/layers/resources",
             "/api/v1/layers/signals", "/api/v1/layers/tasks", "/api/v1/monitor/summary", "/api/v1/command/summary",
             "/api/v1/signals", "/api/v1/dispatch/tasks", "/monitor", "/command")


def rss_mib(pid: int) -> float:
    """VmRSS of one process in MiB (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def workers_of(master: int) -> list[int]:
    """The gunicorn workers: children of the master process."""
    out = []
    for task in Path(f"/proc/{master}/task").iterdir():
        children = Path(f"/proc/{master}/task/{task.name}/children")
        if children.exists():
            out += [int(p) for p in children.read_text().split()]
    return sorted(out)


def snapshot(master: int) -> dict[str, float]:
    """RSS of the master and of each worker (MiB)."""
    figures = {"master": rss_mib(master)}
    for i, pid in enumerate(workers_of(master)):
        figures[f"worker{i + 1}"] = rss_mib(pid)
    return figures


def _fmt(figures: dict[str, float]) -> str:
    return "  ".join(f"{k} {v:6.0f}" for k, v in figures.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=20, help="passes over every endpoint")
    args = parser.parse_args()
    with bench_database("mem") as settings:
        token = make_tokens(settings, 1)[0]
        port = free_port(8870)
        web = start_gunicorn(settings, port, workers=args.workers, threads=32, connections=1000)
        try:
            print(f"RSS MiB, {args.workers} gthread workers on the demo data set")
            print(f"  idle after start       {_fmt(snapshot(web.pid))}")
            http = requests.Session()
            http.headers["Authorization"] = f"Bearer {token}"
            for _ in range(args.rounds):
                for path in ENDPOINTS:
                    http.get(f"http://127.0.0.1:{port}{path}", timeout=120)
            print(f"  after {args.rounds} x {len(ENDPOINTS)} requests  {_fmt(snapshot(web.pid))}")
        finally:
            stop(web)


if __name__ == "__main__":
    main()
