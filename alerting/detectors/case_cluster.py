"""Case clusters (聚集性病例): at least `min_cases` cases of one disease whose homes lie within `radius_m` of one
case's home, with onsets within `days` days.

China's HFMD guideline (手足口病预防控制指南, 2009) calls a cluster "2 or more cases in one class, or 5 or more in
one kindergarten or school, within a week". The case report does not name the kindergarten, so the homes of young
children stand in for its catchment: Shanghai's kindergartens take the children of their neighbourhood, a few
hundred metres around. The count series models see the street (a few km²), where an outbreak's first days
(one or two cases a day) hide in the season's background; a neighbourhood of 500 m does not.

Pure numpy: coordinates in metres (any local projection), onset days as integers.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from alerting.detectors.base import DetectorInputError


@dataclass(frozen=True)
class CaseCluster:
    """The cluster found on day `day`: its centre case and member cases (indices into the input)."""

    day: int
    centre: int
    members: tuple[int, ...]


def _check(days: np.ndarray, xy: np.ndarray, min_cases: int, window: int, radius_m: float) -> None:
    if xy.ndim != 2 or xy.shape[1] != 2 or xy.shape[0] != days.shape[0]:
        raise DetectorInputError("case_cluster: xy must be (n, 2) with one row per onset day")
    if min_cases < 2 or window < 1 or radius_m <= 0:
        raise DetectorInputError("case_cluster: min_cases ≥ 2, days ≥ 1 and radius_m > 0 are required")


def cluster_on(days: np.ndarray, xy: np.ndarray, day: int, *, min_cases: int, window: int,
               radius_m: float) -> CaseCluster | None:
    """The largest cluster of the cases with onset in `day - window + 1 … day`, if it has `min_cases` cases."""
    days, xy = np.asarray(days, dtype=int), np.asarray(xy, dtype=float)
    _check(days, xy, min_cases, window, radius_m)
    idx = np.flatnonzero((days > day - window) & (days <= day))
    if idx.size < min_cases:
        return None
    d = xy[idx, None, :] - xy[None, idx, :]
    near = (d ** 2).sum(axis=2) <= radius_m ** 2
    counts = near.sum(axis=1)
    best = int(np.argmax(counts))
    if counts[best] < min_cases:
        return None
    return CaseCluster(day=day, centre=int(idx[best]), members=tuple(int(i) for i in idx[near[best]]))


def case_clusters(days: np.ndarray, xy: np.ndarray, *, min_cases: int, window: int,
                  radius_m: float) -> list[CaseCluster]:
    """The cluster of every day from the first onset to the last that has one (a day-by-day replay)."""
    days = np.asarray(days, dtype=int)
    if days.size == 0:
        return []
    out = []
    for day in range(int(days.min()), int(days.max()) + 1):
        cl = cluster_on(days, xy, day, min_cases=min_cases, window=window, radius_m=radius_m)
        if cl is not None:
            out.append(cl)
    return out


def to_metres(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Longitude/latitude (WGS84) as local metres (equirectangular; exact enough within a district)."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    lat0 = float(np.mean(lat)) if lat.size else 0.0
    return np.column_stack([lon * 111_320 * np.cos(np.radians(lat0)), lat * 110_540])
