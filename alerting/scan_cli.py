"""CSV front-end to the space-time permutation scan (``onemap warn scan FILE``).

``run_scan`` reads ``region,lon,lat,date,count`` rows (one region keeps one WGS84 position; ISO
dates; whole non-negative counts; rows of the same region and day add up, as SaTScan's case file
does) and returns the most likely and secondary clusters as a JSON-ready dict: for each its
regions, start, end, observed, expected, llr and p (plus centre, radius, days, observed/expected,
recurrence interval and whether p ≤ alpha). The study period runs from the file's first to its
last date (days without rows count 0); the last date is "today" of the prospective scan. Bad input
raises :class:`ScanInputError` (a :class:`SeriesInputError`) with a stable code, the line and the field.
"""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np

from alerting.detectors.base import DetectorInputError
from alerting.detectors.scan import ScanCluster, space_time_permutation_scan
from alerting.series_cli import SeriesInputError
from geo import dates

HEADER = ["region", "lon", "lat", "date", "count"]
MAX_STUDY_DAYS = 366
MAX_REGIONS = 5000


class ScanInputError(SeriesInputError):
    """Input ``run_scan`` refuses; ``code`` is ``scan.*``."""


@dataclass(frozen=True)
class ScanOptions:
    """The scan's knobs as the command line gives them."""

    max_share: float = 0.5
    max_days: int = 7
    replications: int = 999
    seed: int = 0
    alpha: float = 0.05
    max_radius_km: float | None = None
    secondary: int = 5


@dataclass
class _Table:
    regions: dict[str, tuple[float, float]]
    cases: dict[tuple[str, date], int]


def _bad(code: str, line: int, field: str, message: str) -> ScanInputError:
    return ScanInputError(f"scan.{code}", f"line {line}, field '{field}': {message}", line, field)


def _number(raw: str, line: int, field: str, lo: float, hi: float) -> float:
    try:
        v = float(raw)
    except ValueError:
        v = math.nan
    if not math.isfinite(v) or not lo <= v <= hi:
        raise _bad(f"bad_{field}", line, field, f"{raw!r} is not a number in [{lo:g}, {hi:g}]")
    return v


def _day(raw: str, line: int) -> date:
    try:
        if len(raw) != 10:
            raise ValueError
        d = date.fromisoformat(raw)
        dates.check(d, dates.PAST, "date")
    except dates.DateRangeError as exc:
        raise _bad("date_range", line, "date", exc.message) from None
    except ValueError:
        raise _bad("bad_date", line, "date", f"{raw!r} is not a YYYY-MM-DD date") from None
    return d


def _count(raw: str, line: int) -> int:
    try:
        v = float(raw)
    except ValueError:
        v = math.nan
    if not math.isfinite(v) or v < 0 or not v.is_integer():
        raise _bad("bad_count", line, "count", f"{raw!r} is not a whole number ≥ 0")
    return int(v)


def _add_row(table: _Table, line: int, row: list[str]) -> None:
    if len(row) != len(HEADER):
        raise ScanInputError("scan.bad_row",
                             f"line {line}: expected 5 fields (region,lon,lat,date,count), got {len(row)}", line)
    region, raw_lon, raw_lat, raw_date, raw_count = row
    if not region:
        raise _bad("bad_region", line, "region", "is empty")
    pos = (_number(raw_lon, line, "lon", -180.0, 180.0), _number(raw_lat, line, "lat", -90.0, 90.0))
    known = table.regions.setdefault(region, pos)
    if known != pos:
        raise _bad("moved_region", line, "lon", f"region {region!r} is at {known[0]:g},{known[1]:g} on an earlier row")
    key = (region, _day(raw_date, line))
    table.cases[key] = table.cases.get(key, 0) + _count(raw_count, line)


def parse_scan_csv(csv_text: str) -> _Table:
    """Read and check every row; the first bad row raises, naming its line and field."""
    reader = csv.reader(io.StringIO(csv_text.lstrip("\ufeff")))
    table = _Table({}, {})
    header_seen = False
    for row in reader:
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        if not header_seen:
            if [c.lower() for c in cells] != HEADER:
                raise ScanInputError("scan.bad_header", f"line {reader.line_num}: header must be "
                                     f"'region,lon,lat,date,count', got {','.join(cells)!r}", reader.line_num)
            header_seen = True
            continue
        _add_row(table, reader.line_num, cells)
    if not header_seen:
        raise ScanInputError("scan.empty", "no header and no rows")
    if not table.cases:
        raise ScanInputError("scan.empty", "no data rows after the header")
    return table


def _matrix(table: _Table) -> tuple[list[str], list[date], np.ndarray, np.ndarray]:
    first = min(d for _, d in table.cases)
    last = max(d for _, d in table.cases)
    n_days = (last - first).days + 1
    if n_days > MAX_STUDY_DAYS:
        raise ScanInputError("scan.too_long", f"the dates span {n_days} days; the scan takes at most "
                             f"{MAX_STUDY_DAYS} (give the recent weeks)", field="date")
    if len(table.regions) > MAX_REGIONS:
        raise ScanInputError("scan.too_many_regions", f"{len(table.regions)} regions; at most {MAX_REGIONS}",
                             field="region")
    regions = list(table.regions)
    index = {r: i for i, r in enumerate(regions)}
    counts = np.zeros((len(regions), n_days), dtype=np.int64)
    for (region, d), c in table.cases.items():
        counts[index[region], (d - first).days] += c
    days = [first + timedelta(days=i) for i in range(n_days)]
    coords = np.array([table.regions[r] for r in regions], dtype=float)
    return regions, days, counts, coords


def _cluster(c: ScanCluster, alpha: float) -> dict[str, Any]:
    d = c.as_dict()
    return {
        "regions": d["locations"], "start": d["start"], "end": d["end"], "days": d["days"],
        "observed": d["observed"], "expected": d["expected"], "observed_over_expected": d["observed_over_expected"],
        "llr": d["llr"], "p": d["p_value"], "significant": c.p_value <= alpha,
        "centre": d["centre"], "radius_km": d["radius_km"], "recurrence_interval_days": d["recurrence_interval_days"],
    }


def _check_options(opt: ScanOptions) -> None:
    if not 0.0 < opt.alpha < 1.0:
        raise ScanInputError("scan.bad_param", f"alpha must be in (0, 1), got {opt.alpha!r}", field="alpha")
    if not 0.0 < opt.max_share <= 1.0:
        raise ScanInputError("scan.bad_param", f"max_share must be in (0, 1], got {opt.max_share!r}", field="max_share")


def run_scan(csv_text: str, options: ScanOptions = ScanOptions()) -> dict[str, Any]:
    """Scan a ``region,lon,lat,date,count`` CSV; a JSON-ready dict with the clusters."""
    _check_options(options)
    regions, days, counts, coords = _matrix(parse_scan_csv(csv_text))
    try:
        result = space_time_permutation_scan(
            counts, coords, location_ids=regions, days=days, max_share=options.max_share,
            max_radius_km=options.max_radius_km, max_days=options.max_days, replications=options.replications,
            n_secondary=options.secondary, seed=options.seed,
        )
    except DetectorInputError as exc:
        raise ScanInputError("scan.bad_param", str(exc)) from exc
    return {
        "study_start": days[0].isoformat(), "study_end": days[-1].isoformat(), "regions": len(regions),
        "total_cases": result.total_cases, "alpha": options.alpha, "params": result.params,
        "most_likely": None if result.most_likely is None else _cluster(result.most_likely, options.alpha),
        "secondary": [_cluster(c, options.alpha) for c in result.secondary],
    }
