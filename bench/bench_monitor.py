"""Benchmark /monitor: first render in headless Chromium and the layer API p95 under 50 concurrent clients.

    .venv/bin/python -m bench.bench_monitor [--runs 6] [--clients 50] [--requests 20] [--skip-render]
        [--phases at_rest,live,uncached] [--workers 2] [--grow 5000000]

On a copy of the seeded demo database (see bench.load.stack) after one warning run, with the web
tier as `onemap serve` runs it (gunicorn gthread, 2 workers). The layer API is measured three ways:
data at rest; while the demo's live feed runs (`onemap worker` + `onemap simulate --rate 20`, 20 change
events a second: team positions, cases, sentinel counts, stock; each recomputes only the answers it can
affect, see store/topics.py); and with every request a question never asked
before (no cache hit at all). Each measurement also prints the CPU a request cost the server, PostgreSQL
and the load generator, which share the machine's cores (bench.cpu_share). `--grow N` first replicates
the demo's case reports up to N rows (bench.bench_5m.grow). Prints a RESULT line for bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlsplit

from bench.bench_5m import grow
from bench.cpu_share import cpu_seconds
from bench.load.stack import DISTRICT, bench_database, make_tokens, start_gunicorn
from tests.system.chaos.support import ONEMAP, ROOT, free_port, service_env, stop

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
LAYER_URLS = ("/api/v1/layers/incidence", "/api/v1/layers/cases", "/api/v1/layers/signals",
              "/api/v1/layers/institutions.fever_clinic", "/api/v1/layers/incidence?level=grid")


def session_cookie(settings: Any) -> str:
    """A logged-in district analyst's session cookie, valid for the server (same secret key and Redis)."""
    from dashboard import create_app
    from tests.factories.users import login, make_user

    app = create_app(settings)
    user, _ = make_user(app.extensions["onemap"], "district_analyst", DISTRICT)
    client = app.test_client()
    login(client, user)
    return client.get_cookie("onemap_session").value  # type: ignore[union-attr]


def first_render(base: str, cookie: str, runs: int) -> list[float]:
    """Seconds from navigation until the choropleth, KPI and QC panels are drawn, each in a fresh browser context."""
    from playwright.sync_api import sync_playwright

    times = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for _ in range(runs):
            ctx = browser.new_context(viewport={"width": 1920, "height": 1080})
            ctx.add_cookies([{"name": "onemap_session", "value": cookie, "url": base}])
            page = ctx.new_page()
            t0 = time.perf_counter()
            page.goto(base + "/monitor")
            page.wait_for_selector(".leaflet-overlay-pane path", state="attached", timeout=60000)
            page.wait_for_selector("#mon-kpi-days28", state="attached", timeout=60000)
            page.wait_for_selector("#mon-qc-incidence", state="attached", timeout=60000)
            times.append(time.perf_counter() - t0)
            ctx.close()
        browser.close()
    return times


Timing = tuple[int, float, bool]  # index in LAYER_URLS, seconds, answered from the cache


def _client(args: tuple[str, str, int, int, bool]) -> list[Timing]:
    """One client: `requests_each` layer requests over one keep-alive connection, as a browser makes them.

    It speaks HTTP with the standard library's http.client: requests spent ~1.6 ms of CPU per request, on the
    same two cores as the server it measures (a sixth of the machine at 190 requests/s).
    """
    base, token, i, requests_each, fresh_questions = args
    out: list[Timing] = []
    host, port = urlsplit(base).hostname, urlsplit(base).port
    conn = http.client.HTTPConnection(host or "127.0.0.1", port, timeout=60)
    headers = {"Authorization": f"Bearer {token}"}
    for j in range(requests_each):
        which = (i + j) % len(LAYER_URLS)
        url = LAYER_URLS[which]
        if fresh_questions:
            until = date.today() - timedelta(days=1 + i * requests_each + j)
            url += ("&" if "?" in url else "?") + f"until={until.isoformat()}"
        t0 = time.perf_counter()
        conn.request("GET", url, headers=headers)
        resp = conn.getresponse()
        resp.read()
        if resp.status != 200:
            raise RuntimeError(f"{url}: HTTP {resp.status}")
        out.append((which, time.perf_counter() - t0, resp.getheader("X-Answer-Cache") == "hit"))
    conn.close()
    return out


def _client_group(args: tuple[str, list[str], list[int], int, bool]) -> list[list[Timing]]:
    base, tokens, ids, requests_each, fresh = args
    with ThreadPoolExecutor(len(ids)) as pool:
        return list(pool.map(_client, [(base, tokens[i % len(tokens)], i, requests_each, fresh) for i in ids]))


Measured = tuple[list[Timing], float, dict[str, float]]  # timings, seconds, CPU seconds per part


def layer_api(base: str, tokens: list[str], server_pid: int, clients: int, requests_each: int,
              fresh_questions: bool = False) -> Measured:
    """(URL, latency (s), cache hit) of each layer request made by `clients` concurrent clients, the seconds
    they took together, and the CPU seconds each part spent meanwhile (server_pid's tree: the server).

    The clients run in several processes (10 threads each) so that the load generator's own GIL does not
    add to the latencies measured. With `fresh_questions`, each request asks for a period ending on a
    different day, so no answer is cached.
    """
    groups = [list(range(clients))[k:k + 10] for k in range(0, clients, 10)]
    with ProcessPoolExecutor(len(groups)) as pool:
        pool.submit(int).result()  # the client processes are up before the clock starts
        with cpu_seconds(server_pid) as cpu:
            started = time.perf_counter()
            chunks = [c for g in pool.map(_client_group, [(base, tokens, ids, requests_each, fresh_questions)
                                                           for ids in groups]) for c in g]
            seconds = time.perf_counter() - started
    return [t for c in chunks for t in c], seconds, cpu


@contextmanager
def live_feed(settings: Any, rate: float) -> Iterator[None]:
    """The demo's live feed: the intake worker and the simulator at `rate` records per second."""
    env = service_env(settings)
    procs = [subprocess.Popen([ONEMAP, "worker"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL),
             subprocess.Popen([ONEMAP, "simulate", "--rate", str(rate), "--district", DISTRICT], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        _wait_for_events(settings, 2 * rate)
        yield
    finally:
        for proc in procs:
            stop(proc)


def _wait_for_events(settings: Any, count: float, timeout: float = 300) -> None:
    """Until the feed has published `count` change events (on a loaded machine the two processes take
    tens of seconds to start; a fixed pause measured an idle feed)."""
    import redis as redis_lib

    from ingest.events import events_key

    redis = redis_lib.Redis.from_url(settings.redis_url)
    start, deadline = redis.xlen(events_key(settings.redis_namespace)), time.monotonic() + timeout
    while redis.xlen(events_key(settings.redis_namespace)) - start < count and time.monotonic() < deadline:
        time.sleep(0.5)


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def describe(label: str, measured: Measured) -> dict[str, Any]:
    """Print and return p50/p95/max (ms), throughput and the hit share of the timings, overall and per URL, and
    the CPU per request of each part."""
    timings, seconds, cpu = measured
    lat, hits = [t for _, t, _ in timings], sum(h for _, _, h in timings)
    figures: dict[str, Any] = {"p50": pct(lat, 0.5) * 1000, "p95": pct(lat, 0.95) * 1000, "max": max(lat) * 1000,
                               "requests": len(lat), "per_second": len(lat) / seconds, "hit_share": hits / len(lat),
                               "urls": {}, "cpu_ms_per_request": {part: 1000 * cpu.get(part, 0.0) / len(timings)
                                                                  for part in CPU_PARTS}}
    print(f"layer API, {label}: {len(lat)} requests ({figures['per_second']:.0f}/s), p50 {figures['p50']:.0f} ms, "
          f"p95 {figures['p95']:.0f} ms, max {figures['max']:.0f} ms; {hits / len(lat):.0%} cache hits "
          "(goal p95 < 200 ms)")
    per = figures["cpu_ms_per_request"]
    print(f"  CPU per request: server {per['server']:.2f} ms, PostgreSQL {per['postgres']:.2f} ms, load generator "
          f"{per['loadgen']:.2f} ms, other {per['other']:.2f} ms; {sum(cpu.values()) / seconds:.2f} of "
          f"{os.cpu_count()} cores busy")
    for which, url in enumerate(LAYER_URLS):
        mine = [(t, h) for w, t, h in timings if w == which]
        if mine:
            lat_url, share = [t for t, _ in mine], sum(h for _, h in mine) / len(mine)
            figures["urls"][url] = {"p50": pct(lat_url, 0.5) * 1000, "p95": pct(lat_url, 0.95) * 1000, "hit_share": share}
            print(f"  {url:45s} p50 {pct(lat_url, 0.5) * 1000:5.0f} ms, p95 {pct(lat_url, 0.95) * 1000:5.0f} ms, "
                  f"{share:4.0%} hits")
    return figures


PHASES = ("at_rest", "live", "uncached")
CPU_PARTS = ("server", "postgres", "loadgen", "other")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=6, help="page loads (the first after the server starts is "
                                                            "reported apart)")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--live-rate", type=float, default=20.0)
    parser.add_argument("--skip-render", action="store_true", help="leave out the first render in Chromium")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (`onemap serve`'s default: 2)")
    parser.add_argument("--grow", type=int, default=0, metavar="ROWS",
                        help="replicate the demo's case reports up to ROWS first (as bench.bench_5m)")
    parser.add_argument("--phases", default=",".join(PHASES),
                        help=f"which layer API measurements to make, comma-separated among {', '.join(PHASES)}")
    args = parser.parse_args()
    args.phases = [p for p in args.phases.split(",") if p]
    unknown = set(args.phases) - set(PHASES)
    if unknown:
        parser.error(f"unknown phase {sorted(unknown)[0]}")
    return args


def render_figures(base: str, cookie: str, runs: int) -> dict[str, float]:
    renders = first_render(base, cookie, runs)
    first, rest = renders[0], renders[1:] or renders
    print(f"first render /monitor (district analyst, 1920x1080, gunicorn 2 workers): first page after the "
          f"server started {first:.2f} s; then median {statistics.median(rest):.2f} s, max {max(rest):.2f} s "
          f"over {len(rest)} fresh browser contexts (goal < 2 s)")
    return {"first": first, "median": statistics.median(rest), "max": max(rest)}


def api_figures(settings: Any, base: str, tokens: list[str], args: argparse.Namespace, server_pid: int
                ) -> dict[str, Any]:
    """The layer API measured in each of `args.phases`."""
    result: dict[str, Any] = {}
    layer_api(base, tokens, server_pid, 5, 2)  # warm-up: one answer per question
    if "at_rest" in args.phases:
        result["at_rest"] = describe(f"{args.clients} concurrent clients, data at rest",
                                     layer_api(base, tokens, server_pid, args.clients, args.requests))
    if "live" in args.phases:
        with live_feed(settings, args.live_rate):
            result["live"] = describe(f"{args.clients} concurrent clients, live feed at {args.live_rate:g} "
                                      f"records/s", layer_api(base, tokens, server_pid, args.clients, args.requests))
    if "uncached" in args.phases:
        result["uncached"] = describe(f"{args.clients} concurrent clients, every request a new question",
                                      layer_api(base, tokens, server_pid, args.clients, args.requests,
                                                fresh_questions=True))
    return result


def main() -> None:
    args = parse_args()
    with bench_database("monitor") as settings:
        if args.grow:
            print("case reports grown: " + json.dumps(grow(settings.database_url, args.grow)))
        subprocess.run([ONEMAP, "warn", "run"], cwd=ROOT, env=service_env(settings), check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        tokens = make_tokens(settings, 10)
        cookie = "" if args.skip_render else session_cookie(settings)
        port = free_port(8350)
        web = start_gunicorn(settings, port, workers=args.workers, threads=64, connections=1000)
        base = f"http://127.0.0.1:{port}"
        result: dict[str, Any] = {"clients": args.clients, "workers": args.workers, "grow": args.grow}
        try:
            if not args.skip_render:
                result["render"] = render_figures(base, cookie, args.runs)
            result.update(api_figures(settings, base, tokens, args, web.pid))
        finally:
            stop(web)
        print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
