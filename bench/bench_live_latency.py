"""Signal-to-screen latency: POST a case report → the DOM of every open screen changed (via assets/live.js).

Run: `.venv/bin/python -m bench.bench_live_latency [--screens 20 --rate 20 --seconds 30]`. Starts the
production server (`onemap serve`) on a scratch database, opens N headless Chromium pages that load
live.js (through the Dash page shell) and append an element on each `onemap:change`; a
MutationObserver stamps the moment the element is in the DOM. Prints p50/p95/max over all screens.
`--page tiny` (default) serves a minimal same-origin page holding only live.js (intercepted by the
browser, so the server is untouched); `--page dash` loads the full Dash shell with every page script;
`--page real` opens the real /monitor and /command pages and measures POST → visible (case marker, KPI
当日报告, team marker) — see bench/live_pages.py.
"""
from __future__ import annotations

import argparse
import math
import statistics
import threading
import time
import uuid
from typing import Any

import requests
from playwright.sync_api import sync_playwright

from bench.bench_intake import scratch, server
from tests.factories.intake import case
from tests.factories.users import make_user

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
TINY_PAGE = "<!doctype html><html><head><meta charset='utf-8'><script src='/assets/live.js'></script></head>" \
            "<body><div id='screen'></div></body></html>"
# Runs in each page before its scripts: turn every change into a DOM node and stamp when it lands.
PAGE_PROBE = """
window.__seen = {};
new MutationObserver(records => {
  const now = Date.now();
  for (const r of records) for (const n of r.addedNodes) if (n.dataset && n.dataset.sid) window.__seen[n.dataset.sid] = now;
}).observe(document, {childList: true, subtree: true});
window.addEventListener("onemap:change", e => {
  const sid = e.detail.fields && e.detail.fields.source_id;
  if (!sid) return;
  const el = document.createElement("i");
  el.dataset.sid = sid;
  el.hidden = true;  // in the DOM, not drawn: visible, the growing line of 1,500 words was re-broken on every event
  el.textContent = e.detail.kind;
  (document.body || document.documentElement).appendChild(el);
});
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _open_screens(browser: Any, url: str, token: str, screens: int, *, tiny: bool) -> list[Any]:
    """`screens` pages on /bench-live, each connected to the live feed."""
    pages = []
    for _ in range(screens):  # one context per screen: each is its own browser (HTTP/1.1 allows 6 per host)
        context = browser.new_context(  # bypass_csp: only so the probe below may run; live.js needs none
            bypass_csp=True, extra_http_headers={"Authorization": f"Bearer {token}"})
        context.add_init_script(PAGE_PROBE)
        if tiny:
            context.route(f"{url}/bench-live", lambda route: route.fulfill(content_type="text/html", body=TINY_PAGE))
        pages.append(context.new_page())
    for page in pages:
        page.goto(f"{url}/bench-live", wait_until="domcontentloaded")
    for page in pages:
        page.wait_for_function("window.OneMapLive && window.OneMapLive.connected", timeout=60_000)
    return pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--screens", type=int, default=20)
    parser.add_argument("--rate", type=float, default=20.0, help="events per second")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--page", choices=["tiny", "dash", "real"], default="tiny")
    args = parser.parse_args()
    with scratch() as (settings, services, world), server(settings, port=8762) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        if args.page == "real":
            from bench.live_pages import run as run_real_pages

            run_real_pages(browser, url, services, world, args.screens, args.rate, args.seconds)
            browser.close()
            return
        pages = _open_screens(browser, url, world.tokens["district_a"], args.screens, tiny=args.page == "tiny")
        posted: dict[str, float] = {}
        answered: list[float] = []  # POST → its response: the server's part before the event is published
        refused: dict[int, int] = {}
        # Enough posting users that the per-user ingest rate limit (600/minute) is not what is measured:
        # with two users at 50 events/s a fifth of the posts were refused with 429 and counted as
        # "missing" deliveries although no event had been published.
        extra = [make_user(services, "city_admin", "310000")[1] for _ in range(max(0, math.ceil(args.rate / 5) - 2))]
        tokens = [world.tokens[k] for k in ("city", "district_a")] + extra
        tag = uuid.uuid4().hex[:6]
        total = int(args.rate * args.seconds)
        local = threading.local()  # a requests.Session is not thread-safe: one per posting thread

        def post(i: int) -> None:
            rid = f"lat{tag}-{i}"
            t_post = time.time() * 1000
            http = local.__dict__.setdefault("session", requests.Session())
            r = http.post(f"{url}/api/v1/ingest/case_report", json={"records": [case(world, rid)]},
                          headers={"Authorization": f"Bearer {tokens[i % len(tokens)]}"}, timeout=10)
            if r.status_code == 200:
                posted[f"{world.inst_a}:{rid}"] = t_post
                answered.append(time.time() * 1000 - t_post)
            else:
                refused[r.status_code] = refused.get(r.status_code, 0) + 1

        start = time.monotonic()
        threads = []
        for i in range(total):
            time.sleep(max(0.0, start + i / args.rate - time.monotonic()))
            t = threading.Thread(target=post, args=(i,))
            t.start()
            threads.append(t)
        for t in threads:
            t.join()
        time.sleep(3.0)
        latencies: list[float] = []
        missing = 0
        for page in pages:
            seen: dict[str, Any] = page.evaluate("window.__seen")
            for sid, t_post in posted.items():
                if sid in seen:
                    latencies.append(seen[sid] - t_post)
                else:
                    missing += 1
        browser.close()
    print(f"{args.screens} screens ({args.page} page), {args.rate:g} events/s for {args.seconds:g} s ({total} posted, "
          f"{len(posted)} accepted, refused {refused or 'none'}), {len(latencies)} deliveries, {missing} missing")
    print(f"  POST → DOM latency  p50 {percentile(latencies, 0.5):7.0f} ms   p95 {percentile(latencies, 0.95):7.0f} ms"
          f"   max {max(latencies):7.0f} ms   mean {statistics.fmean(latencies):7.0f} ms")
    print(f"  of which POST → response  p50 {percentile(answered, 0.5):7.0f} ms   p95 {percentile(answered, 0.95):7.0f} ms"
          f"   max {max(answered):7.0f} ms")


if __name__ == "__main__":
    main()
