"""POST → visible on the REAL /monitor and /command pages (`bench.bench_live_latency --page real`).

Half the screens open /monitor as a district analyst, half /command as a district commander, of the scratch
world's district A (production server, `onemap serve`). The posting threads alternate a case report (today,
counted type) and a GPS fix of one of TEAMS teams, at `rate` events per second in total. Each page stamps, with
its own clock (the same machine's), when:
  - the new case's live marker is in the DOM (`path.live-case[data-case-id]`, assets/monitor_map.js),
  - the KPI 当日报告 figure first reaches "figure before + k" for the k-th case this page heard of,
  - the team marker has moved to the fix's point (assets/command.js sets data-moved on the icon).
Missing = a posted event not visible on a screen 5 s after the last post.
"""
from __future__ import annotations

import json
import statistics
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import requests
from sqlalchemy import text

from tests.factories.intake import case
from tests.factories.users import make_user

TEAMS = 40
CST = timezone(timedelta(hours=8))
# Runs in every page before its own scripts.
PROBE = """
window.__bench = {marker: {}, kpi: {}, team: {}, caseOrder: [], caseIds: {}, pendingTeams: {}, kpiLast: null};
(function () {
  const b = window.__bench;
  const key = (xy) => xy[0].toFixed(5) + "," + xy[1].toFixed(5);
  window.addEventListener("onemap:change", e => {
    const ev = e.detail || {};
    if (ev.kind === "case_report" && ev.action === "created" && ev.fields && ev.fields.source_id) {
      b.caseIds[ev.id] = ev.fields.source_id; b.caseOrder.push(ev.fields.source_id);
    } else if (ev.kind === "team_position" && Array.isArray(ev.geometry)) {
      b.pendingTeams[ev.id] = key(ev.geometry);
    }
  });
  function look(now) {
    const kpi = document.getElementById("mon-kpi-today");
    if (kpi) {
      const v = parseInt(kpi.textContent.replace(/[^0-9]/g, ""), 10);
      if (!isNaN(v) && v !== b.kpiLast) { b.kpiLast = v; if (!(v in b.kpi)) { b.kpi[v] = now; } }
    }
    const markers = (window.onemap && window.onemap.commandMarkers) || {};
    for (const id in b.pendingTeams) {
      const m = markers[id];
      if (!m) { continue; }
      const ll = m.getLatLng(), k = key([ll.lng, ll.lat]);
      if (k === b.pendingTeams[id]) { b.team[k] = now; delete b.pendingTeams[id]; }
    }
  }
  new MutationObserver(records => {
    const now = Date.now();
    for (const r of records) {
      const nodes = r.type === "attributes" ? [r.target] : r.addedNodes;
      for (const n of nodes) {
        const id = n.getAttribute && n.getAttribute("data-case-id");
        if (id && b.caseIds[id] && !(b.caseIds[id] in b.marker)) { b.marker[b.caseIds[id]] = now; }
      }
    }
    look(now);
  }).observe(document, {childList: true, subtree: true, characterData: true, attributes: true,
                        attributeFilter: ["data-case-id", "data-moved"]});
})();
"""


def _add_teams(services: Any, world: Any) -> list[str]:
    """TEAMS teams of district A, each already at a point (so /command draws its marker)."""
    codes = [f"BT{world.tag}{i:02d}" for i in range(TEAMS)]
    start = datetime.now(UTC) - timedelta(hours=2)
    with services.session_factory() as s:
        inst = world.inst_ids[world.inst_a]
        for i, code in enumerate(codes):
            s.execute(text("""INSERT INTO team (code, name, type, status, members, video_online, institution_id,
                                                district_code, geom, position_time, updated_at)
                              VALUES (:c, :n, 'epi', 'standby', 4, false, :i, :d,
                                      ST_SetSRID(ST_MakePoint(:x, 31.205), 4326), :t, now())"""),
                      {"c": code, "n": f"测试队{i}", "i": inst, "d": world.district_a, "x": 121.305 + i * 0.002,
                       "t": start})
        s.commit()
    return codes


class Poster:
    """Posts the stream: even i a case report of district A (today, counted type), odd i a GPS fix of one of the
    teams; remembers when each accepted one was posted (ms) and counts refusals by status."""

    def __init__(self, services: Any, world: Any, url: str, teams: list[str], rate: float) -> None:
        self.world, self.url, self.teams, self.tag = world, url, teams, uuid.uuid4().hex[:6]
        now = datetime.now(CST).replace(microsecond=0)
        self.report_time = max(now - timedelta(minutes=1), now.replace(hour=0, minute=0, second=0))
        # diagnosed an hour before the report, but never before the onset day (today): the intake refuses that (422)
        self.diagnosis_time = max(self.report_time - timedelta(hours=1), now.replace(hour=0, minute=0, second=0))
        self.gps_start = now - timedelta(minutes=90)
        self.cases: dict[str, float] = {}
        self.fixes: dict[str, float] = {}
        self.refused: Counter[int] = Counter()
        self._refused_lock = threading.Lock()
        self.local = threading.local()  # a requests.Session per posting thread
        self.tokens = [world.tokens["city"]] + [make_user(services, "city_admin", "310000")[1]
                                                for _ in range(max(0, int(rate / 5)))]

    def _case(self, i: int) -> tuple[str, dict[str, Any], str]:
        rid = f"vis{self.tag}-{i}"
        rec = case(self.world, rid, lon=121.301 + (i % 97) / 1000, lat=31.205 + (i % 53) / 1000, case_type="confirmed",
                   report_time=self.report_time.isoformat(), diagnosis_time=self.diagnosis_time.isoformat(),
                   onset_date=self.report_time.date().isoformat())
        return "case_report", rec, f"{self.world.inst_a}:{rid}"

    def _fix(self, i: int) -> tuple[str, dict[str, Any], str]:
        # inside the scratch district (a fix at its western edge, lon 121.3, was refused: geo.outside_district)
        lon, lat = round(121.3001 + (i % 499) * 0.0002, 5), round(31.201 + (i // 499) * 0.0002 + (i % 7) * 0.004, 5)
        rec = {"team_code": self.teams[(i // 2) % len(self.teams)], "record_id": f"gps{self.tag}-{i}",
               "time": (self.gps_start + timedelta(seconds=i)).isoformat(), "lon": lon, "lat": lat}
        return "team_position", rec, f"{lon:.5f},{lat:.5f}"

    def post(self, i: int) -> None:
        http = self.local.__dict__.setdefault("session", requests.Session())
        t_post = time.time() * 1000
        kind, rec, key = self._case(i) if i % 2 == 0 else self._fix(i)
        r = http.post(f"{self.url}/api/v1/ingest/{kind}", json={"records": [rec]},
                      headers={"Authorization": f"Bearer {self.tokens[i % len(self.tokens)]}"}, timeout=30)
        if r.status_code != 200:
            with self._refused_lock:  # posting threads
                self.refused[r.status_code] += 1
        else:
            (self.cases if kind == "case_report" else self.fixes)[key] = t_post


def _summary(values: list[float], missing: int) -> dict[str, Any]:
    if not values:
        return {"n": 0, "missing": missing}
    ordered = sorted(values)

    def q(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))]

    return {"n": len(values), "missing": missing, "p50": q(0.5), "p95": q(0.95), "max": ordered[-1],
            "mean": statistics.fmean(values)}


def _open(browser: Any, url: str, token: str, path: str, ready: str) -> Any:
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, bypass_csp=True,
                                  extra_http_headers={"Authorization": f"Bearer {token}"})
    context.add_init_script(PROBE)
    page = context.new_page()
    page.goto(f"{url}{path}", wait_until="domcontentloaded")
    page.wait_for_selector(ready, state="attached", timeout=120_000)
    return page


def _open_screens(browser: Any, url: str, screens: int, *, analyst: str, commander: str) -> tuple[list[Any], list[Any]]:
    """Every other screen a /monitor (analyst), the rest /command (commander); each live and first-rendered."""
    monitors, commands = [], []
    for i in range(screens):
        if i % 2 == 0:
            monitors.append(_open(browser, url, analyst, "/monitor", "#mon-kpi-today"))
        else:
            commands.append(_open(browser, url, commander, "/command", ".cmd-team"))
    for page in monitors + commands:
        page.wait_for_function("window.OneMapLive && window.OneMapLive.connected", timeout=60_000)
    for page in monitors:  # first render settled: the KPI figure before any post
        page.wait_for_selector(".leaflet-overlay-pane path", state="attached", timeout=120_000)
    time.sleep(2.0)
    return monitors, commands


def _paced(post: Any, total: int, rate: float) -> None:
    """Call `post(i)` for i < total in threads started `rate` per second; wait for all."""
    start, threads = time.monotonic(), []
    for i in range(total):
        time.sleep(max(0.0, start + i / rate - time.monotonic()))
        t = threading.Thread(target=post, args=(i,))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()


def _delays(seen: dict[str, float], posted: dict[str, float], out: list[float], miss: dict[str, int],
            key: str) -> None:
    """Post → seen delay of each posted item the page saw; the others count as missing under `key`."""
    for item, t_post in posted.items():
        if item in seen:
            out.append(seen[item] - t_post)
        else:
            miss[key] += 1


def _monitor_latencies(seen: dict[str, Any], base: int, cases: dict[str, float],
                       out: tuple[list[float], list[float]], miss: dict[str, int]) -> None:
    """One /monitor's marker delays and KPI delays (the k-th case heard of raises the figure to base + k)."""
    marker, kpi = out
    _delays(seen["marker"], cases, marker, miss, "marker")
    shown = sorted((int(v), at) for v, at in seen["kpi"].items())
    for k, sid in enumerate(seen["caseOrder"], start=1):
        at = next((a for v, a in shown if v >= base + k), None)
        if sid in cases and at is not None:
            kpi.append(at - cases[sid])
    miss["kpi"] += sum(1 for sid in cases if sid not in seen["caseOrder"]) + \
        sum(1 for k in range(1, len(seen["caseOrder"]) + 1) if not any(v >= base + k for v, _ in shown))


def run(browser: Any, url: str, services: Any, world: Any, screens: int, rate: float, seconds: float) -> None:
    """Open the screens, post for `seconds`, print the figures and a RESULT line."""
    teams = _add_teams(services, world)
    analyst = make_user(services, "district_analyst", world.district_a)[1]
    commander = make_user(services, "district_commander", world.district_a)[1]
    monitors, commands = _open_screens(browser, url, screens, analyst=analyst, commander=commander)
    kpi_base = [int(p.inner_text("#mon-kpi-today").replace(",", "")) for p in monitors]

    poster, total = Poster(services, world, url, teams, rate), int(rate * seconds)
    cases, fixes, refused = poster.cases, poster.fixes, dict(poster.refused)

    _paced(poster.post, total, rate)
    time.sleep(5.0)

    marker, kpi, team = [], [], []
    miss = {"marker": 0, "kpi": 0, "team": 0}
    for page, base in zip(monitors, kpi_base, strict=True):
        _monitor_latencies(page.evaluate("window.__bench"), base, cases, (marker, kpi), miss)
    for page in commands:
        _delays(page.evaluate("window.__bench")["team"], fixes, team, miss, "team")
    result = {"screens": screens, "monitor_screens": len(monitors), "command_screens": len(commands), "rate": rate,
              "seconds": seconds, "posted": total, "cases": len(cases), "fixes": len(fixes), "refused": refused,
              "marker": _summary(marker, miss["marker"]), "kpi": _summary(kpi, miss["kpi"]),
              "team": _summary(team, miss["team"])}
    print(f"{screens} screens of the real pages ({len(monitors)} /monitor, {len(commands)} /command), {rate:g} events/s "
          f"for {seconds:g} s ({total} posted: {len(cases)} cases and {len(fixes)} GPS fixes accepted, "
          f"refused {refused or 'none'})")
    for key, what in (("marker", "case → /monitor live marker"), ("kpi", "case → /monitor KPI 当日报告"),
                      ("team", "GPS → /command team marker")):
        r = result[key]
        figures = (f"p50 {r['p50']:7.0f} ms   p95 {r['p95']:7.0f} ms   max {r['max']:7.0f} ms"
                   if r["n"] else "no deliveries")
        print(f"  {what:30s} {figures}   ({r['n']} seen, {r['missing']} missing)")
    worst = [result[k] for k in ("marker", "kpi", "team") if result[k]["n"]]
    if worst:
        p95 = max(r["p95"] for r in worst)
        print(f"  POST → visible (worst of the three)  p50 {max(r['p50'] for r in worst):7.0f} ms   p95 {p95:7.0f} ms"
              f"   {sum(r['missing'] for r in result.values() if isinstance(r, dict) and 'missing' in r)} missing")
    print("RESULT " + json.dumps(result))
