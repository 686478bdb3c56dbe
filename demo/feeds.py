"""Demo data of the other departments' feeds, consistent with the case history of demo/cases.py.

* ~30 schools and ~25 pharmacies in Changning (demo positions inside their streets); absenteeism on
  school days (Mon–Fri; the demo ignores holidays) for three years, daily sentinel-drug sales for one.
  Fever/respiratory absences and antipyretic and cough-and-cold sales follow the influenza season,
  gastrointestinal absences and antidiarrhoeal sales the diarrhoea season.
* The current planted outbreak (diarrhoea around a kindergarten in 仙霞新村街道) shows in the
  gastrointestinal absences of the schools near it from `LEAD_DAYS` before the first onsets — sick
  children stay home before anyone is diagnosed and reported — and in antidiarrhoeal sales nearby.
* Weather of every district: Shanghai's cycle (hot humid summers, cool winters, plum rain in June).
* Public-opinion items: background noise, and the parents' post about 仙霞 a few days before the end.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, TypedDict

import numpy as np
import shapely
from shapely.geometry import Point
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from demo import cases as casegen
from demo.diseases import BY_CODE
from demo.geography import DEMO_DISTRICT
from demo.outbreaks import OUTBREAKS, Outbreak
from demo.pgcopy import driver_connection
from feeds.schemas import OpinionItemIn
from feeds.writers import write_feed
from geo.dates import CST
from geo.srid import SRID
from store.feeds import Pharmacy, School

HISTORY_DAYS = 3 * 365
SALES_DAYS = 366  # drug sales only for the last year: the warning models and the map need weeks, not years
LEAD_DAYS = 4  # absences rise this many days before the outbreak's first onsets
NEAR_M = 1500  # schools and pharmacies within this distance of an outbreak see it
# (kind, name suffix, enrolled range) of the three schools of each street
SCHOOL_KINDS = (("kindergarten", "幼儿园", (220, 420)), ("primary", "小学", (700, 1500)),
                ("middle", "中学", (600, 1200)))
# daily illness absences per pupil by symptom group at an average point of its season
ABSENCE_RATES = {"fever": 0.0011, "respiratory": 0.0014, "gastrointestinal": 0.0007, "rash": 0.00012}
GROUP_SEASON = {"fever": "influenza", "respiratory": "influenza", "gastrointestinal": "diarrhoea", "rash": "hfmd"}
OTHER_ILL_RATE = 0.0012
LEAVE_RATE = 0.004
# units per pharmacy and day at an average point of the season
SALES = {"antipyretic": (14, "influenza"), "cough_cold": (18, "influenza"), "antidiarrhoeal": (6, "diarrhoea")}


class _SchoolRow(TypedDict):
    code: str
    name: str
    kind: str
    region_code: str
    district_code: str
    geom: str
    position_is_demo: bool
    enrolled: int
    lon: float
    lat: float


class _PharmacyRow(TypedDict):
    code: str
    name: str
    region_code: str
    district_code: str
    geom: str
    position_is_demo: bool


def _days(end: date, n: int = HISTORY_DAYS) -> np.ndarray:
    return np.arange(np.datetime64(end - timedelta(days=n - 1)), np.datetime64(end + timedelta(days=1)))


def _weekday(days: np.ndarray) -> np.ndarray:
    return (days.astype("datetime64[D]").view("int64") - 4) % 7  # 0 = Monday


def _metres(lon: float, lat: float, o: Outbreak) -> float:
    return float(np.hypot((lon - o.lon) * 111_320 * np.cos(np.radians(o.lat)), (lat - o.lat) * 110_540))


def _current() -> Outbreak | None:
    """The planted outbreak still running at the end of the demo (the one screens should show)."""
    return next((o for o in OUTBREAKS if o.starts_days_before_end < 30), None)


def _curve(days: np.ndarray, end: date, o: Outbreak, lead: int) -> np.ndarray:
    """0..1 triangular outbreak curve over `days`, starting `lead` days before the first onsets."""
    start = np.datetime64(end - timedelta(days=o.starts_days_before_end + lead), "D")
    length = o.duration_days + lead
    t = (days - start).astype(int)
    peak = max(length / 3, 1)
    up = t / peak
    down = (length - t) / (length - peak)
    return np.where((t >= 0) & (t <= length), np.where(t <= peak, up, down), 0.0).clip(0, 1)


def _place_near(rng: np.random.Generator, area: Any, o: Outbreak, metres: float) -> tuple[float, float]:
    """A point inside `area` within `metres` of the outbreak centre."""
    for _ in range(1000):
        r, a = metres * np.sqrt(rng.uniform()), rng.uniform(0, 2 * np.pi)
        x = round(o.lon + r * np.cos(a) / (111_320 * np.cos(np.radians(o.lat))), 6)
        y = round(o.lat + r * np.sin(a) / 110_540, 6)
        if area.contains(Point(x, y)):
            return x, y
    raise ValueError("no point of the street lies near the outbreak")


def _points(rng: np.random.Generator, streets: list[Any], per_street: dict[str, int], outbreak: Outbreak | None,
            near: dict[str, float]) -> list[tuple[str, int, float, float]]:
    """(street code, index in street, lon, lat); the first `near` ones of the outbreak street sit close to it."""
    out = []
    for s in streets:
        n = per_street.get(s.code, 0)
        lon, lat = casegen.random_points(rng, s.geom, n)
        for j in range(n):
            x, y = float(lon[j]), float(lat[j])
            if outbreak is not None and s.code == outbreak.street_code and j < len(near):
                x, y = _place_near(rng, s.geom, outbreak, list(near.values())[j])
            out.append((s.code, j, x, y))
    return out


def _copy(session: Session, table: str, columns: tuple[str, ...], rows: Any) -> int:
    raw = driver_connection(session)
    n = 0
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            n += 1
    return n


# ---------------------------------------------------------------- schools

def _write_schools(session: Session, rng: np.random.Generator, streets: list[Any], end: date,
                   outbreak: Outbreak | None) -> int:
    # the kindergarten of the outbreak street is the outbreak's setting; its primary school is nearby
    pts = _points(rng, streets, {s.code: 3 for s in streets}, outbreak, {"kindergarten": 150, "primary": 700})
    names = {s.code: s.name.removesuffix("街道").removesuffix("镇") for s in streets}
    rows: list[_SchoolRow] = []
    for street, j, x, y in pts:
        kind, suffix, (lo, hi) = SCHOOL_KINDS[j]
        rows.append(_SchoolRow(code=f"EDU-{street}-{j + 1}", name=f"长宁区{names[street]}{suffix}", kind=kind,
                               region_code=street, district_code=DEMO_DISTRICT, geom=f"SRID={SRID};POINT({x} {y})",
                               position_is_demo=True, enrolled=int(rng.integers(lo, hi)), lon=x, lat=y))
    session.execute(insert(School), [{k: v for k, v in r.items() if k not in ("enrolled", "lon", "lat")}
                                     for r in rows])
    ids = dict(session.execute(select(School.code, School.id)).all())
    days = _days(end)
    school_days = days[_weekday(days) < 5]
    season = {g: casegen.season_profile(BY_CODE[d], school_days) for g, d in GROUP_SEASON.items()}
    curve = _curve(school_days, end, outbreak, LEAD_DAYS) if outbreak else np.zeros(len(school_days))
    dates = school_days.astype(date).tolist()

    def generate() -> Any:
        for r in rows:
            n, shape = r["enrolled"], len(school_days)
            noise = rng.gamma(20, 1 / 20, shape)
            counts = {g: rng.poisson(n * rate * season[g] * noise) for g, rate in ABSENCE_RATES.items()}
            if outbreak is not None:
                distance = _metres(r["lon"], r["lat"], outbreak)
                if distance < NEAR_M:
                    # the kindergarten at the centre is hit hardest; young pupils only
                    peak = (20 if r["kind"] == "kindergarten" else 6 if r["kind"] == "primary" else 1)
                    counts["gastrointestinal"] += rng.poisson(peak * curve * (1 - distance / NEAR_M))
            ill = sum(counts.values()) + rng.poisson(n * OTHER_ILL_RATE * noise)
            absent = np.minimum(ill + rng.poisson(n * LEAVE_RATE, shape), n)
            code, sid = r["code"], ids[r["code"]]
            for k, day in enumerate(dates):
                yield (f"edu:{code}:{day:%Y%m%d}", sid, DEMO_DISTRICT, day, n, int(absent[k]), int(ill[k]),
                       int(counts["fever"][k]), int(counts["respiratory"][k]), int(counts["gastrointestinal"][k]),
                       int(counts["rash"][k]))

    return _copy(session, "school_absence", ("source_id", "school_id", "district_code", "day", "enrolled", "absent",
                                              "absent_ill", "fever", "respiratory", "gastrointestinal", "rash"),
                 generate())


# ---------------------------------------------------------------- pharmacies

def _write_pharmacies(session: Session, rng: np.random.Generator, streets: list[Any], end: date,
                      outbreak: Outbreak | None) -> int:
    per_street = {s.code: (3 if k % 2 == 0 or (outbreak and s.code == outbreak.street_code) else 2)
                  for k, s in enumerate(streets)}
    pts = _points(rng, streets, per_street, outbreak, {"first": 400, "second": 900})
    names = {s.code: s.name.removesuffix("街道").removesuffix("镇") for s in streets}
    chains = ("益丰大药房", "华氏大药房", "雷允上药房", "第一医药", "国大药房")
    rows: list[_PharmacyRow] = []
    for k, (street, j, x, y) in enumerate(pts):
        rows.append(_PharmacyRow(code=f"PH-{street}-{j + 1}",
                                 name=f"{chains[k % len(chains)]}（{names[street]}{j + 1}店）", region_code=street,
                                 district_code=DEMO_DISTRICT, geom=f"SRID={SRID};POINT({x} {y})",
                                 position_is_demo=True))
    session.execute(insert(Pharmacy), rows)
    ids = dict(session.execute(select(Pharmacy.code, Pharmacy.id)).all())
    days = _days(end, SALES_DAYS)
    weekend = np.where(_weekday(days) >= 5, 1.15, 1.0)
    season = {g: casegen.season_profile(BY_CODE[d], days) for g, (_, d) in SALES.items()}
    curve = _curve(days, end, outbreak, 1) if outbreak else np.zeros(len(days))
    dates = days.astype(date).tolist()

    def generate() -> Any:
        for r, (street, _, x, y) in zip(rows, pts, strict=True):
            size = rng.uniform(0.6, 1.6)
            for group, (base, _) in SALES.items():
                lam = base * size * season[group] * weekend * rng.gamma(60, 1 / 60, len(days))
                if group == "antidiarrhoeal" and outbreak is not None:
                    distance = _metres(x, y, outbreak)
                    if distance < NEAR_M:
                        lam = lam + 12 * curve * (1 - distance / NEAR_M)
                units = rng.poisson(lam)
                code, pid = r["code"], ids[r["code"]]
                for k, day in enumerate(dates):
                    yield (f"drug:{code}:{day:%Y%m%d}:{group}", pid, street, DEMO_DISTRICT, day, group, int(units[k]))

    return _copy(session, "drug_sales", ("source_id", "pharmacy_id", "region_code", "district_code", "day",
                                          "drug_group", "units"), generate())


# ---------------------------------------------------------------- weather

def weather_normals(days: np.ndarray) -> dict[str, np.ndarray]:
    """Shanghai's daily climate: mean temperature °C, humidity %, chance of rain, by day of year."""
    doy = (days - days.astype("datetime64[Y]")).astype(int) + 1
    phase = 2 * np.pi * (doy - 25) / 365.25
    plum = np.exp(-0.5 * ((doy - 172) / 12) ** 2)  # 梅雨: mid-June to early July
    return {"temp": 16.8 - 12.0 * np.cos(phase), "humidity": 72 + 6 * np.sin(phase - 0.6) + 10 * plum,
            "rain_chance": 0.28 + 0.12 * np.sin(phase - 0.4) + 0.45 * plum}


def _write_weather(session: Session, rng: np.random.Generator, districts: list[Any], end: date) -> int:
    days = _days(end)
    normal = weather_normals(days)
    n = len(days)
    anomaly = np.zeros(n)  # regional AR(1) temperature anomaly, shared by all districts
    shocks = rng.normal(0, 1.3, n)
    for k in range(1, n):
        anomaly[k] = 0.75 * anomaly[k - 1] + shocks[k]
    rainy = rng.uniform(size=n) < normal["rain_chance"]
    rain = np.where(rainy, rng.gamma(0.8, 12, n), 0.0)
    dates = days.astype(date).tolist()

    def generate() -> Any:
        for d in districts:
            urban = 0.6 if d.code in ("310101", "310104", "310105", "310106", "310107", "310109", "310110") else 0.0
            temp = normal["temp"] + anomaly + urban + rng.normal(0, 0.4, n) - np.where(rainy, 1.2, 0)
            spread = rng.uniform(2.5, 5.0, n) * np.where(rainy, 0.6, 1.0)
            humidity = np.clip(normal["humidity"] + np.where(rainy, 12, -4) + rng.normal(0, 5, n), 25, 100)
            local_rain = np.where(rainy, rain * rng.gamma(6, 1 / 6, n), 0.0)
            for k, day in enumerate(dates):
                yield (f"met:{d.code}:{day:%Y%m%d}", d.code, day, round(temp[k], 1), round(temp[k] + spread[k], 1),
                       round(temp[k] - spread[k], 1), round(humidity[k], 0), round(local_rain[k], 1))

    return _copy(session, "weather_daily", ("source_id", "district_code", "day", "temp_mean", "temp_max", "temp_min",
                                             "humidity", "rainfall_mm"), generate())


# ---------------------------------------------------------------- public opinion

_NOISE = (
    ("微信公众号", "长宁区一周天气：冷空气来袭注意添衣", "气象台提示本周气温下降明显", "天气;降温", "长宁"),
    ("本地论坛", "华阳路菜场改造完成重新开放", "居民反映购物更方便", "菜场;改造", "华阳路"),
    ("微博", "天山路地铁站早高峰客流大", "网友吐槽排队时间长", "地铁;早高峰", None),
    ("新闻客户端", "专家提醒：秋冬季注意预防呼吸道疾病", "勤洗手、常通风、规范佩戴口罩", "健康;预防", None),
    ("微博", "北新泾一小区停车难问题引关注", "居民建议增加夜间停车位", "停车;小区", "北新泾"),
    ("短视频平台", "虹桥街道社区活动丰富老人生活", "社区食堂受欢迎", "社区;老人", "虹桥"),
    ("本地论坛", "周家桥一带道路施工绕行提示", "施工预计持续两周", "道路;施工", "周家桥"),
    ("新闻客户端", "本市流感疫苗接种工作启动", "重点人群可就近接种", "流感;疫苗", None),
    ("微博", "江苏路附近新开一家书店", "周末人气很旺", "书店;周末", "江苏路"),
    ("微信公众号", "程家桥公园银杏进入最佳观赏期", "市民纷纷前往拍照", "公园;银杏", "程家桥"),
)


def _opinion_items(end: date, rng: np.random.Generator, outbreak: Outbreak | None) -> list[OpinionItemIn]:
    items = []
    for k in range(60):  # background noise over the last ~120 days
        source, title, excerpt, keywords, place = _NOISE[k % len(_NOISE)]
        day = end - timedelta(days=int(rng.integers(1, 120)))
        at = datetime(day.year, day.month, day.day, int(rng.integers(7, 23)), int(rng.integers(0, 60)),
                      tzinfo=CST)
        items.append(OpinionItemIn(item_id=f"demo-noise-{k:03d}", published_at=at, source=source, title=title,
                                   excerpt=excerpt, keywords=keywords, place=place))
    if outbreak is not None:
        day = end - timedelta(days=4)
        items.append(OpinionItemIn(
            item_id="demo-xianxia-kindergarten", published_at=datetime(day.year, day.month, day.day, 20, 15,
                                                                      tzinfo=CST),
            source="微博", title="仙霞一幼儿园多名儿童呕吐腹泻，家长担忧",
            excerpt="网友称孩子所在的仙霞某幼儿园这几天好几个小朋友呕吐、腹泻请假在家，希望有关部门关注。",
            keywords="仙霞;幼儿园;多名儿童;呕吐;腹泻", place="长宁区仙霞"))
    return items


def _write_opinion(session: Session, rng: np.random.Generator, end: date, outbreak: Outbreak | None) -> int:
    items = _opinion_items(end, rng, outbreak)
    outcomes, _ = write_feed(session, kind="opinion_item", records=list(enumerate(items)))
    refused = [o for o in outcomes.values() if o.status == "rejected"]
    if refused:
        raise ValueError(f"demo opinion items refused: {refused[0].errors}")
    return len(items)


# ---------------------------------------------------------------- entry point

def seed_feeds(session: Session, *, rng: np.random.Generator, end: date, regions: Any) -> dict[str, int]:
    """Write schools, pharmacies, their daily data, weather and opinion items; returns row counts.

    `regions` has `.streets` (the demo district's streets) and `.districts` (RegionSeed lists), and the
    regions, aliases and diseases must already be in the session.
    """
    outbreak = _current()
    streets = sorted(regions.streets, key=lambda s: s.code)
    for s in streets:
        shapely.prepare(s.geom)
    counts = {"school_absence": _write_schools(session, rng, streets, end, outbreak),
              "drug_sales": _write_pharmacies(session, rng, streets, end, outbreak),
              "weather_daily": _write_weather(session, rng, regions.districts, end),
              "opinion_item": _write_opinion(session, rng, end, outbreak)}
    counts["school"] = int(session.scalar(select(func.count()).select_from(School)) or 0)
    counts["pharmacy"] = int(session.scalar(select(func.count()).select_from(Pharmacy)) or 0)
    return counts
