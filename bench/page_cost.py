"""Main-thread cost of one real /monitor and one real /command page, idle and under the live stream.

    .venv/bin/python -m bench.page_cost [--seconds 15] [--rate 20]

The latency of POST → visible with 20 screens on one machine (bench/live_pages.py) is bounded by how much
main-thread time each page spends per second: here one page of each kind is measured alone, so the figure
does not depend on the load around it. Chromium's own counters (CDP `Performance.getMetrics`: TaskDuration,
ScriptDuration, LayoutDuration, RecalcStyleDuration, LayoutCount) over `seconds` idle, then over `seconds` of
the same stream as live_pages (cases and GPS fixes alternating, `rate` events a second). Prints the figures and
a RESULT line. A page that keeps drawing when nothing changes (an animation, a canvas render loop) shows as
idle task time; one that redraws too much per event, as stream task time.
"""
from __future__ import annotations

import argparse
import json
import time
from typing import Any

from playwright.sync_api import sync_playwright

from bench.bench_intake import scratch, server
from bench.bench_live_latency import CHROMIUM_ARGS
from bench.live_pages import Poster, _add_teams, _open_screens, _paced
from tests.factories.users import make_user

METRICS = ("TaskDuration", "ScriptDuration", "LayoutDuration", "RecalcStyleDuration", "LayoutCount")


def _metrics(cdp: Any) -> dict[str, float]:
    values = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return {k: float(values.get(k, 0.0)) for k in METRICS}


def _measure(cdps: dict[str, Any], during: Any) -> dict[str, dict[str, float]]:
    """Each page's counters accumulated while `during()` runs."""
    before = {name: _metrics(c) for name, c in cdps.items()}
    during()
    after = {name: _metrics(c) for name, c in cdps.items()}
    return {name: {k: round(after[name][k] - before[name][k], 3) for k in METRICS} for name in cdps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--rate", type=float, default=20.0, help="events per second in the stream")
    args = parser.parse_args()
    with scratch() as (settings, services, world), server(settings, port=8764) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        teams = _add_teams(services, world)
        analyst = make_user(services, "district_analyst", world.district_a)[1]
        commander = make_user(services, "district_commander", world.district_a)[1]
        monitors, commands = _open_screens(browser, url, 2, analyst=analyst, commander=commander)
        cdps = {}
        for name, page in (("/monitor", monitors[0]), ("/command", commands[0])):
            cdps[name] = page.context.new_cdp_session(page)
            cdps[name].send("Performance.enable")
        poster = Poster(services, world, url, teams, args.rate)
        result = {"seconds": args.seconds, "rate": args.rate,
                  "idle": _measure(cdps, lambda: time.sleep(args.seconds)),
                  "stream": _measure(cdps, lambda: _paced(poster.post, int(args.rate * args.seconds), args.rate))}
        browser.close()
    result["refused"] = poster.refused
    for phase in ("idle", "stream"):
        for name, m in result[phase].items():
            print(f"{phase:6s} {name:9s} main-thread task {m['TaskDuration']:6.2f} s in {args.seconds:g} s "
                  f"({m['TaskDuration'] / args.seconds:5.1%}); script {m['ScriptDuration']:.2f} s, layout "
                  f"{m['LayoutDuration']:.2f} s ({m['LayoutCount']:.0f}), style {m['RecalcStyleDuration']:.2f} s")
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
