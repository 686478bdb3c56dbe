"""Synthesise three years of case reports: seasonal Poisson background plus the planted outbreaks."""
from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import MultiPolygon

from demo.diseases import DISEASES, DiseaseSpec
from demo.outbreaks import OUTBREAKS, Outbreak

OCCUPATIONS = ("散居儿童", "幼托儿童", "学生", "工人", "商业服务", "干部职员", "离退人员", "家务及待业", "医务人员", "其他")


@dataclass
class CaseBatch:
    """Column arrays of generated cases (one row per case)."""

    disease: np.ndarray
    onset: npt.NDArray[np.datetime64]
    district: np.ndarray
    region: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    age: np.ndarray
    outbreak: np.ndarray  # outbreak key or ""

    def __len__(self) -> int:
        return len(self.disease)

    @staticmethod
    def concat(batches: list[CaseBatch]) -> CaseBatch:
        return CaseBatch(*(np.concatenate([getattr(b, f) for b in batches]) for f in CaseBatch.__dataclass_fields__))


def season_profile(spec: DiseaseSpec, days: np.ndarray) -> np.ndarray:
    """Relative level by day (mean 1 over a year) from the disease's peaks."""
    doy = (days - days.astype("datetime64[Y]")).astype(int) + 1
    base = np.arange(1, 366)
    def bumps(d: np.ndarray) -> np.ndarray:
        level = np.ones(len(d), dtype=float)
        for peak, width, height in spec.peaks:
            dist = np.minimum(np.abs(d - peak), 365 - np.abs(d - peak))
            level += height * np.exp(-0.5 * (dist / width) ** 2)
        return level
    relative: np.ndarray = bumps(doy) / bumps(base).mean()
    return relative


def random_points(rng: np.random.Generator, area: MultiPolygon, n: int) -> tuple[np.ndarray, np.ndarray]:
    """n uniform points inside `area` by vectorised rejection sampling."""
    minx, miny, maxx, maxy = area.bounds
    shapely.prepare(area)
    xs, ys = [], []
    need = n
    while need > 0:
        m = int(need * (maxx - minx) * (maxy - miny) / area.area * 1.2) + 16
        # Rounded as stored (6 decimals), so a point near the border cannot end up outside after storing.
        x = np.round(rng.uniform(minx, maxx, m), 6)
        y = np.round(rng.uniform(miny, maxy, m), 6)
        keep = shapely.contains_xy(area, x, y)
        xs.append(x[keep][:need])
        ys.append(y[keep][:need])
        need -= len(xs[-1])
    return np.concatenate(xs), np.concatenate(ys)


def background(rng: np.random.Generator, days: np.ndarray, district: str, population: int,
               areas: list[tuple[str, MultiPolygon, int]], diseases: Sequence[DiseaseSpec] = DISEASES) -> CaseBatch:
    """Seasonal, over-dispersed background cases of every disease (or of `diseases`) for one district.

    `areas` are (region code, polygon, population) of the units cases live in (streets or the district).
    """
    batches = []
    weights = np.array([a[2] for a in areas], dtype=float)
    weights /= weights.sum()
    n_weeks = len(days) // 7 + 1
    for spec in diseases:
        if spec.rate <= 0:
            continue
        # Weekly gamma noise (shape 15) makes counts over-dispersed like real surveillance series.
        noise = np.repeat(rng.gamma(15, 1 / 15, n_weeks), 7)[: len(days)]
        lam = population / 1e5 * spec.rate / 365 * season_profile(spec, days) * noise
        counts = rng.poisson(lam)
        n = int(counts.sum())
        if n == 0:
            continue
        onset = np.repeat(days, counts)
        unit = rng.choice(len(areas), size=n, p=weights)
        lon = np.empty(n)
        lat = np.empty(n)
        for u in np.unique(unit):
            idx = np.flatnonzero(unit == u)
            lon[idx], lat[idx] = random_points(rng, areas[u][1], len(idx))
        lo, hi = spec.ages
        batches.append(CaseBatch(
            disease=np.full(n, spec.code, dtype=object), onset=onset, district=np.full(n, district, dtype=object),
            region=np.array([areas[u][0] for u in unit], dtype=object), lon=lon, lat=lat,
            age=np.clip(rng.integers(lo, hi + 1, n) + rng.integers(-2, 3, n), 0, 99),
            outbreak=np.full(n, "", dtype=object),
        ))
    return CaseBatch.concat(batches)


def planted(rng: np.random.Generator, end: date, outbreak: Outbreak, area: MultiPolygon) -> CaseBatch:
    """An outbreak's cases: onsets on an epidemic curve, homes within its radius and inside `area`."""
    start = np.datetime64(end - timedelta(days=outbreak.starts_days_before_end), "D")
    # Triangular epidemic curve, peaking a third of the way through.
    offsets = np.floor(rng.triangular(0, outbreak.duration_days / 3, outbreak.duration_days, outbreak.cases))
    onset = np.minimum(start + offsets.astype("timedelta64[D]"), np.datetime64(end, "D"))
    n = outbreak.cases
    lon, lat = np.empty(0), np.empty(0)
    while len(lon) < n:
        r = outbreak.radius_m * np.sqrt(rng.uniform(0, 1, n))
        theta = rng.uniform(0, 2 * np.pi, n)
        x = np.round(outbreak.lon + r * np.cos(theta) / (111_320 * np.cos(np.radians(outbreak.lat))), 6)
        y = np.round(outbreak.lat + r * np.sin(theta) / 110_540, 6)
        keep = shapely.contains_xy(area, x, y)
        lon, lat = np.concatenate([lon, x[keep]])[:n], np.concatenate([lat, y[keep]])[:n]
    return CaseBatch(
        disease=np.full(n, outbreak.disease_code, dtype=object), onset=onset,
        district=np.full(n, outbreak.street_code[:6], dtype=object),
        region=np.full(n, outbreak.street_code, dtype=object), lon=lon, lat=lat,
        age=rng.integers(outbreak.ages[0], outbreak.ages[1] + 1, n), outbreak=np.full(n, outbreak.key, dtype=object),
    )


def planted_all(seed: int, end: date, area: MultiPolygon) -> CaseBatch:
    """Every planted outbreak, each drawn from a stream of its own (`outbreak_rng`)."""
    return CaseBatch.concat([planted(outbreak_rng(seed, o), end, o, area) for o in OUTBREAKS])


def outbreak_rng(seed: int, outbreak: Outbreak) -> np.random.Generator:
    """The outbreak's own random stream, the same for every end date: its cases (onset days counted from its
    start, homes, ages) do not depend on the day the demo ends, so neither does the ground truth a backtest
    measures against (the background, drawn before it, depends on the dates it covers)."""
    return np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(outbreak.key.encode())]))


def timelines(rng: np.random.Generator, onset: np.ndarray, cutoff: datetime) -> dict[str, np.ndarray]:
    """Diagnosis 0–6 days after onset; report mostly within hours (5% late); audit within a day (mostly).

    Returns ISO-8601 UTC strings (audit "" where still pending at the cutoff), ready for COPY, and `known`:
    whether the case is reported by the cutoff (a case reported later does not exist yet at the cutoff; kept,
    its times would all fall on the cutoff and swell the last day's reports — 当日报告 +271% 同比 on a fresh demo).
    """
    n = len(onset)
    minute = np.timedelta64(1, "m")
    end = np.datetime64(cutoff.astimezone(UTC).replace(tzinfo=None), "m")
    local_midnight = onset.astype("datetime64[m]") - np.timedelta64(8 * 60, "m")  # 00:00 CST in UTC
    diag = local_midnight + ((np.minimum(rng.geometric(0.45, n) - 1, 6) * 24 + rng.uniform(8, 20, n)) * 60).astype(int) * minute
    report_h = np.where(rng.uniform(size=n) < 0.95, rng.lognormal(0.8, 0.9, n).clip(0.05, 23.5), rng.uniform(24, 96, n))
    report = diag + (report_h * 60).astype(int) * minute
    known = np.asarray(report <= end)  # an array: typed as np.ndarray (the stubs give a scalar for datetime64 arrays)
    diag, report = np.minimum(diag, end - 30 * minute), np.minimum(report, end)
    audit_h = np.where(rng.uniform(size=n) < 0.93, rng.lognormal(1.5, 0.8, n).clip(0.1, 23.5), rng.uniform(24, 72, n))
    audit = report + (audit_h * 60).astype(int) * minute

    def as_text(a: np.ndarray) -> np.ndarray:
        return np.char.add(np.datetime_as_string(a, unit="m"), ":00+00")

    audit_text = np.where(audit <= end, as_text(audit), "")
    return {"diagnosis": as_text(diag), "report": as_text(report), "audit": audit_text, "known": known}


def annual_rates_on(day: date, diseases: Sequence[DiseaseSpec] = DISEASES) -> list[float]:
    """Each disease's annual rate per 100,000 scaled by its season on `day` (what the background uses that day)."""
    days = np.array([np.datetime64(day, "D")])
    return [spec.rate * float(season_profile(spec, days)[0]) for spec in diseases if spec.rate > 0]
