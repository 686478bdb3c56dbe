"""Benchmark /monitor: first render in headless Chromium and the layer API p95 under 50 concurrent clients.

Run against a database with the demo data (e.g. `DATABASE_URL=… PII_KEYS=… python bench/bench_monitor.py`);
it starts the app on a free local port, logs in a district analyst and a city admin, and prints figures.
"""
from __future__ import annotations

import argparse
import socket
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.request import Request, urlopen

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
LAYER_URLS = ("/api/v1/layers/incidence", "/api/v1/layers/cases", "/api/v1/layers/signals",
              "/api/v1/layers/institutions.fever_clinic", "/api/v1/layers/incidence?level=grid")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(app):  # type: ignore[no-untyped-def]
    from werkzeug.serving import make_server

    port = _port()
    srv = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f"http://127.0.0.1:{port}"


def first_render(base: str, cookie: str, runs: int) -> list[float]:
    """Seconds from navigation until the choropleth, KPI and QC panels are drawn."""
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


def layer_api(base: str, token: str, clients: int, requests_each: int) -> list[float]:
    """Latencies (s) of layer requests issued by `clients` concurrent clients."""
    def one(i: int) -> list[float]:
        out = []
        for j in range(requests_each):
            url = base + LAYER_URLS[(i + j) % len(LAYER_URLS)]
            t0 = time.perf_counter()
            with urlopen(Request(url, headers={"Authorization": f"Bearer {token}"}), timeout=60) as resp:
                resp.read()
            out.append(time.perf_counter() - t0)
        return out

    with ThreadPoolExecutor(clients) as pool:
        return [t for chunk in pool.map(one, range(clients)) for t in chunk]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=10)
    args = parser.parse_args()

    from config import load_settings
    from dashboard import create_app
    from tests.security.support import login, make_user

    app = create_app(load_settings())
    svc = app.extensions["onemap"]
    user, token = make_user(svc, "district_analyst", "310105")
    client = app.test_client()
    login(client, user)
    cookie = client.get_cookie("onemap_session").value  # type: ignore[union-attr]
    srv, base = _start(app)
    try:
        renders = first_render(base, cookie, args.runs)
        print(f"first render /monitor (district analyst, 1920x1080): median {statistics.median(renders):.2f} s, "
              f"max {max(renders):.2f} s over {len(renders)} runs (goal < 2 s)")
        layer_api(base, token, 5, 2)  # warm-up
        lat = layer_api(base, token, args.clients, args.requests)
        print(f"layer API, {args.clients} concurrent clients, {len(lat)} requests: p50 {pct(lat, 0.5) * 1000:.0f} ms, "
              f"p95 {pct(lat, 0.95) * 1000:.0f} ms, max {max(lat) * 1000:.0f} ms (goal p95 < 200 ms)")
    finally:
        srv.shutdown()


if __name__ == "__main__":
    main()
