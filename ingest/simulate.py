"""A realistic live feed for demonstrations, built from the district's own regions, institutions, teams and sites.

Case reports arrive through the day (more in clinic hours), diseases weighted by season; syndromic
counts grow at sentinel institutions; teams drive between random waypoints inside the district at
20–40 km/h (some devices report GCJ-02, as Amap-based terminals do); sites consume and restock.
"""
from __future__ import annotations

import json
import logging
import math
import random
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from shapely import wkb
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.crs import wgs84_to_gcj02
from geo.dates import CST
from ingest.bus import encode_record, submit_many
from ingest.schemas import ID_NUMBER_CHECK, ID_NUMBER_WEIGHTS

log = logging.getLogger(__name__)
KM_PER_DEG = 111.32
# (name fragment, relative frequency, peak months): Shanghai's usual seasonal pattern
SEASONS = (
    ("流行性感冒", 30, (12, 1, 2, 3)), ("流感", 30, (12, 1, 2, 3)), ("手足口", 12, (5, 6, 7)),
    ("感染性腹泻", 10, (7, 8, 9)), ("诺如", 6, (11, 12, 1, 2, 3)), ("水痘", 5, (11, 12, 1, 5, 6)),
    ("猩红热", 3, (11, 12, 5, 6)), ("登革热", 1, (8, 9, 10)), ("细菌性痢疾", 1, (7, 8, 9)),
    ("肺结核", 6, ()), ("梅毒", 5, ()), ("乙型肝炎", 4, ()), ("新型冠状病毒", 8, (1, 7, 12)), ("腮腺炎", 2, (4, 5, 6)),
)
HOURLY = [0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.4, 0.8, 1.4, 1.8, 1.8, 1.5, 1.0, 1.2, 1.6, 1.6, 1.4, 1.0, 0.8,
          0.7, 0.6, 0.5, 0.4, 0.3]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英华"
ROADS = ("愚园路", "长宁路", "天山路", "仙霞路", "虹桥路", "延安西路", "中山西路", "安顺路", "古北路", "遵义路")


@dataclass
class SimWorld:
    """What the simulator reads from the database for one district."""

    district_code: str
    district: BaseGeometry
    streets: list[tuple[str, BaseGeometry, int]]
    institutions: list[dict[str, Any]]
    teams: list[dict[str, Any]]
    stock: list[dict[str, Any]]
    diseases: list[dict[str, Any]]
    population: int = 0  # the district's residents (census), for realistic rates


def load_world(session: Session, district_code: str) -> SimWorld:
    """Read regions, institutions, teams, stock and diseases of `district_code`; raises if the district is empty."""
    row = session.execute(text("SELECT ST_AsBinary(geom) g, population FROM region WHERE code = :d"),
                          {"d": district_code}).first()
    geom, population = (row.g, int(row.population or 0)) if row else (None, 0)
    if geom is None:
        raise LookupError(f"district {district_code} has no polygon in table region (run `onemap seed --demo`)")
    streets = [(r.code, wkb.loads(bytes(r.g)), int(r.population or 1)) for r in session.execute(text(
        "SELECT code, ST_AsBinary(geom) g, population FROM region WHERE level = 'street' AND district_code = :d"),
        {"d": district_code})]
    institutions = [dict(r._mapping) for r in session.execute(text(
        "SELECT id, code, kind, fever_clinic, sentinel_types FROM institution WHERE district_code = :d ORDER BY code"),
        {"d": district_code})]
    teams = [dict(r._mapping) for r in session.execute(text(
        "SELECT code, ST_X(geom) lon, ST_Y(geom) lat FROM team WHERE district_code = :d ORDER BY code"),
        {"d": district_code})]
    stock = [dict(r._mapping) for r in session.execute(text(
        "SELECT s.code site_code, st.item_code, st.quantity::float8 quantity, st.min_level::float8 min_level "
        "FROM stock st JOIN resource_site s ON s.id = st.site_id WHERE s.district_code = :d ORDER BY 1, 2"),
        {"d": district_code})]
    diseases = [dict(r._mapping) for r in session.execute(text("SELECT code, name, single_case FROM disease"))]
    if not institutions or not diseases:
        raise LookupError(f"district {district_code} has no institutions or no disease list")
    return SimWorld(district_code, wkb.loads(bytes(geom)), streets, institutions, teams, stock, diseases,
                    population or sum(s[2] for s in streets))


def disease_weight(name: str, single_case: bool, month: int) -> float:
    """Relative frequency of a disease in `month` (peak months count four times)."""
    if single_case:
        return 0.01
    for fragment, base, peaks in SEASONS:
        if fragment in name:
            return base * (4.0 if month in peaks else 1.0)
    return 0.5


def random_point(rng: random.Random, polygon: BaseGeometry) -> tuple[float, float]:
    """A uniformly random point inside `polygon` (rejection sampling in its bounds)."""
    x0, y0, x1, y1 = polygon.bounds
    for _ in range(10_000):
        x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
        if polygon.contains(Point(x, y)):
            return x, y
    c = polygon.representative_point()
    return c.x, c.y


def fake_id_number(rng: random.Random, district_code: str, birth: date) -> str:
    """A synthetic resident ID number with a valid check digit (never a real person's)."""
    body = f"{district_code}{birth:%Y%m%d}{rng.randrange(1000):03d}"
    return body + ID_NUMBER_CHECK[sum(int(d) * w for d, w in zip(body, ID_NUMBER_WEIGHTS, strict=True)) % 11]


@dataclass
class _Team:
    code: str
    lon: float
    lat: float
    target: tuple[float, float]
    speed: float
    gcj: bool
    last: float
    seq: int = 0


@dataclass
class Simulator:
    """Generates records of every intake kind; `records(n)` returns n of them grouped by kind."""

    world: SimWorld
    rng: random.Random = field(default_factory=random.Random)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(CST))
    fix_every_s: float = 5.0
    _teams: list[_Team] = field(default_factory=list)
    _counts: dict[tuple[str, str, str], list[int]] = field(default_factory=dict)
    _sent_cases: list[dict[str, Any]] = field(default_factory=list)
    _run: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    _n: int = 0

    def __post_init__(self) -> None:
        for i, t in enumerate(self.world.teams):
            lon, lat = (t["lon"], t["lat"]) if t["lon"] is not None else random_point(self.rng, self.world.district)
            self._teams.append(_Team(t["code"], lon, lat, random_point(self.rng, self.world.district),
                                     self.rng.uniform(20, 40), gcj=i % 2 == 1, last=self.clock().timestamp()))
        self._sentinels = [i for i in self.world.institutions if i["sentinel_types"] or i["fever_clinic"]] \
            or self.world.institutions
        self._reporters = [i for i in self.world.institutions if i["kind"] in ("hospital", "chc", "clinic")] \
            or self.world.institutions

    def records(self, n: int) -> dict[str, list[dict[str, Any]]]:
        """The next `n` records, by kind."""
        now = self.clock()
        hour = HOURLY[now.hour]
        kinds = ["team_position", "case_report", "syndromic_count", "stock_change"]
        weights = [0.55 if self._teams else 0, 0.2 * hour, 0.15, 0.1 if self.world.stock else 0]
        out: dict[str, list[dict[str, Any]]] = {}
        for kind in self.rng.choices(kinds, weights, k=n):
            out.setdefault(kind, []).append(getattr(self, kind)(now))
        return out

    def case_report(self, now: datetime) -> dict[str, Any]:
        self._n += 1
        if self._sent_cases and self.rng.random() < 0.05:  # a revision: the case is audited or its outcome changes
            rec = self.rng.choice(self._sent_cases)
            rec.update(version=rec["version"] + 1, outcome=self.rng.choice(["under_treatment", "recovered"]),
                       audit_time=max(now, datetime.fromisoformat(rec["report_time"])).isoformat())
            return dict(rec)
        month = now.month
        weights = [disease_weight(d["name"], d["single_case"], month) for d in self.world.diseases]
        disease = self.rng.choices(self.world.diseases, weights)[0]
        if self.world.streets:
            street = self.rng.choices(self.world.streets, [s[2] for s in self.world.streets])[0][1]
        else:
            street = self.world.district
        lon, lat = random_point(self.rng, street)
        diagnosis = now - timedelta(hours=self.rng.uniform(0.5, 6))
        onset = diagnosis.date() - timedelta(days=self.rng.randint(0, 5))
        age = min(95, int(self.rng.expovariate(1 / 30)))
        birth = date(now.year - age, self.rng.randint(1, 12), self.rng.randint(1, 28))
        rec = {
            "institution_code": self.rng.choice(self._reporters)["code"], "record_id": f"SIM{self._run}-{self._n}",
            "version": 1, "disease_code": disease["code"], "case_type": self.rng.choice(["confirmed", "clinical"]),
            "onset_date": onset.isoformat(), "diagnosis_time": diagnosis.isoformat(), "report_time": now.isoformat(),
            "lon": round(lon, 6), "lat": round(lat, 6), "crs": "WGS84", "age": age,
            "sex": self.rng.choice("MF"), "outcome": "under_treatment",
            "patient": {"name": self.rng.choice(SURNAMES) + "".join(self.rng.choices(GIVEN, k=self.rng.randint(1, 2))),
                        "id_number": fake_id_number(self.rng, self.world.district_code, birth),
                        "phone": f"1{self.rng.choice('3589')}{self.rng.randrange(10**9):09d}",
                        "address": f"上海市{self.rng.choice(ROADS)}{self.rng.randint(1, 2000)}号"},
        }
        self._sent_cases = (self._sent_cases + [rec])[-200:]
        return dict(rec)

    @property
    def sentinels(self) -> list[dict[str, Any]]:
        """Institutions that report syndromic counts (sentinels and fever clinics)."""
        return self._sentinels

    def syndromic_count(self, now: datetime, inst: dict[str, Any] | None = None, syndrome: str | None = None,
                        new_visits: int | None = None) -> dict[str, Any]:
        """The day's running count at a sentinel: `new_visits` more visits (default 1–12) since its last update."""
        inst = inst or self.rng.choice(self._sentinels)
        syndrome = syndrome or self.rng.choice(["fever", "diarrhoea", "ili", "ari"])
        key = (inst["code"], now.date().isoformat(), syndrome)
        visits, cases = self._counts.setdefault(key, [0, 0])
        added = self.rng.randint(1, 12) if new_visits is None else new_visits
        visits += added
        cases = min(visits, cases + sum(self.rng.random() < 0.06 for _ in range(added)))
        self._counts[key] = [visits, cases]
        return {"institution_code": inst["code"], "record_id": f"{key[1]}-{syndrome}", "day": key[1],
                "syndrome": syndrome, "visits": visits, "cases": cases}

    @property
    def team_codes(self) -> list[str]:
        return [t.code for t in self._teams]

    def team_position(self, now: datetime, code: str | None = None) -> dict[str, Any]:
        """A GPS fix of team `code` (default: the team whose last fix is oldest), driven since its last fix."""
        team = next(t for t in self._teams if t.code == code) if code else min(self._teams, key=lambda t: t.last)
        elapsed = max(1.0, min(now.timestamp() - team.last, 60.0))
        self._drive(team, elapsed)
        team.last, team.seq = now.timestamp(), team.seq + 1
        lon, lat, crs = team.lon, team.lat, "WGS84"
        if team.gcj:
            glon, glat = wgs84_to_gcj02(lon, lat)
            lon, lat, crs = float(glon), float(glat), "GCJ02"
        return {"team_code": team.code, "record_id": f"SIM{self._run}-{team.seq}", "time": now.isoformat(),
                "lon": round(lon, 7), "lat": round(lat, 7), "crs": crs, "speed_kmh": round(team.speed, 1)}

    def _drive(self, team: _Team, seconds: float) -> None:
        """Move toward the waypoint at the team's speed; pick a new waypoint on arrival or at the boundary."""
        km = team.speed * seconds / 3600
        dx = (team.target[0] - team.lon) * KM_PER_DEG * math.cos(math.radians(team.lat))
        dy = (team.target[1] - team.lat) * KM_PER_DEG
        dist = math.hypot(dx, dy)
        if dist <= km:
            lon, lat = team.target
            team.target, team.speed = random_point(self.rng, self.world.district), self.rng.uniform(20, 40)
        else:
            lon = team.lon + dx / dist * km / (KM_PER_DEG * math.cos(math.radians(team.lat)))
            lat = team.lat + dy / dist * km / KM_PER_DEG
        if self.world.district.contains(Point(lon, lat)):
            team.lon, team.lat = lon, lat
        else:  # a concave boundary: turn toward a new waypoint instead of leaving the district
            team.target = random_point(self.rng, self.world.district)

    def stock_change(self, now: datetime) -> dict[str, Any]:
        row = self.rng.choice(self.world.stock)
        self._n += 1
        if row["quantity"] < max(row["min_level"] * 1.2, 5):
            kind, qty = "in", round(max(row["min_level"] * 2, 50))
        else:
            kind, qty = "out", max(1, min(row["quantity"] - 1, self.rng.randint(1, 20)))
        row["quantity"] += qty if kind == "in" else -qty
        return {"site_code": row["site_code"], "record_id": f"SIM{self._run}-{self._n}", "item_code": row["item_code"],
                "kind": kind, "quantity": qty, "time": now.isoformat(), "note": "模拟" + ("补货" if kind == "in" else "领用")}


Sender = Callable[[str, list[dict[str, Any]]], None]


def stream_sender(redis: Any, namespace: str, replicas: int = 0) -> Sender:
    """Queue records on the intake stream (the worker stores them); `replicas`: see bus.submit_many."""

    def send(kind: str, records: list[dict[str, Any]]) -> None:
        submit_many(redis, namespace, kind, records, replicas=replicas)

    return send


def http_sender(base_url: str, token: str, timeout: float = 10.0) -> Sender:
    """POST records to the intake API; refused records are logged, 503s are retried."""

    def send(kind: str, records: list[dict[str, Any]]) -> None:
        body = ("{\"records\":[" + ",".join(encode_record(r) for r in records) + "]}").encode()
        for attempt in range(5):
            req = urllib.request.Request(f"{base_url.rstrip('/')}/api/v1/ingest/{kind}", data=body, method="POST",
                                         headers={"Content-Type": "application/json",
                                                  "Authorization": f"Bearer {token}"})
            try:
                with urllib.request.urlopen(req, timeout=timeout) as resp:
                    _log_refused(kind, resp.status, resp.read())
                return
            except urllib.error.HTTPError as exc:
                if exc.code == 503:
                    time.sleep(float(exc.headers.get("Retry-After", "2")))
                    continue
                _log_refused(kind, exc.code, exc.read())
                return
            except urllib.error.URLError as exc:
                log.warning("intake unreachable (%s); retry %d", exc.reason, attempt + 1)
                time.sleep(2)
        log.error("gave up sending %d %s records", len(records), kind)

    return send


def _log_refused(kind: str, status: int, body: bytes) -> None:
    if status == 200:
        return
    try:
        results = json.loads(body).get("results", [])
    except ValueError:
        results = []
    codes = sorted({e["code"] for r in results for e in r.get("errors", [])})
    log.warning("%s batch answered %d: refused codes %s", kind, status, codes)


def run(sim: Simulator, send: Sender, *, rate: float, duration: float | None = None,
        stop: threading.Event | None = None, tick: float = 0.2) -> int:
    """Send about `rate` records per second until `duration` elapses or `stop` is set; returns the count."""
    stop = stop or threading.Event()
    start = next_tick = time.monotonic()
    due, sent = 0.0, 0
    while not stop.is_set() and (duration is None or time.monotonic() - start < duration):
        next_tick += tick
        due += rate * tick
        n, due = int(due), due - int(due)
        for kind, records in sim.records(n).items():
            send(kind, records)
        sent += n
        stop.wait(max(0.0, next_tick - time.monotonic()))
    return sent
