"""Prospective space-time permutation scan statistic (Kulldorff et al., PLoS Med 2005).

Input: case counts ``c[s, d]`` per location ``s`` and day ``d`` over a short study period (the last
≤ 30 days) and the locations' coordinates. Candidate clusters are cylinders: a circle centred on
a location that grows over its nearest neighbours (equidistant neighbours join together) while it
holds at most ``max_share`` of all cases and its radius is at most ``max_radius_km``, times a
window of the last ``w = 1..max_days`` days (prospective: every window ends on the last day).

Under the permutation null the expected count in a cylinder Z is ``μ_Z = Σ_{s∈Z} C_s·C_w / C``
(``C_s`` cases at s over the period, ``C_w`` cases anywhere in the window, C all cases), and the
Poisson generalised likelihood ratio is ``LLR = c ln(c/μ) + (C-c) ln((C-c)/(C-μ))`` for ``c > μ``
(0 otherwise). The most likely cluster maximises the LLR. Its p-value comes from Monte Carlo
replicates that randomly permute the days among the cases (keeping every location's and every
day's total), ``p = rank / (R + 1)`` with ``rank = 1 + #{replicates with max LLR ≥ observed}``,
and with a daily analysis the recurrence interval is ``1/p = (R+1)/rank`` days. Secondary
clusters are the next-best cylinders that share no location with a cluster already reported,
each judged against the same replicate maxima (as SaTScan does).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from alerting.detectors.base import DetectorInputError, check_positive_int

EARTH_RADIUS_KM = 6371.0088
_REP_CHUNK_ELEMENTS = 4_000_000  # circles × (replicates × windows) per block of the LLR computation
_FIRST_STOP_BLOCK = 50  # with `stop_above_p`: replicates of the first block (doubling after each block)


def _plain(value: Any) -> Any:
    """A JSON-friendly scalar: ISO date strings, Python numbers."""
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        ts = pd.Timestamp(value)
        return ts.date().isoformat() if ts == ts.normalize() else ts.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    return value


@dataclass(frozen=True)
class ScanCluster:
    """One space-time cluster: where, when, how many cases against how many expected, how unusual."""

    centre: Any
    radius_km: float
    locations: list[Any]
    start: Any
    end: Any
    days: int
    observed: int
    expected: float
    llr: float
    p_value: float
    recurrence_interval_days: float

    @property
    def relative_risk(self) -> float:
        """Observed / expected inside the cylinder."""
        return self.observed / self.expected if self.expected > 0 else float("inf")

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form for storing with a signal (dates as ISO strings, numpy scalars as Python)."""
        return {
            "centre": _plain(self.centre),
            "radius_km": self.radius_km,
            "locations": [_plain(x) for x in self.locations],
            "start": _plain(self.start),
            "end": _plain(self.end),
            "days": self.days,
            "observed": self.observed,
            "expected": self.expected,
            "observed_over_expected": self.relative_risk,
            "llr": self.llr,
            "p_value": self.p_value,
            "recurrence_interval_days": self.recurrence_interval_days,
        }


@dataclass(frozen=True)
class ScanResult:
    """Most likely cluster (None if no cylinder has more cases than expected), secondaries, parameters."""

    most_likely: ScanCluster | None
    secondary: list[ScanCluster]
    params: dict[str, Any]
    null_max_llr: np.ndarray = field(repr=False)
    total_cases: int = 0
    replications_run: int = -1  # fewer than params["replications"] when `stop_above_p` stopped early; -1: all

    def significant(self, alpha: float = 0.05) -> list[ScanCluster]:
        """The reported clusters with p-value ≤ alpha, most likely first."""
        found = [self.most_likely] if self.most_likely is not None else []
        return [c for c in found + self.secondary if c.p_value <= alpha]


def pairwise_distance_km(coords: np.ndarray, kind: Literal["lonlat", "xy"] = "lonlat") -> np.ndarray:
    """Distance matrix in km: haversine for lon/lat degrees, Euclidean for projected metres."""
    coords = np.asarray(coords, dtype=float)
    if coords.ndim != 2 or coords.shape[1] != 2 or not np.all(np.isfinite(coords)):
        raise DetectorInputError("coords must be an (n, 2) array of finite numbers", "scan.bad_coords")
    if kind == "xy":
        diff = coords[:, None, :] - coords[None, :, :]
        km: np.ndarray = np.sqrt((diff**2).sum(-1)) / 1000.0
        return km
    if kind != "lonlat":
        raise DetectorInputError("coords kind must be 'lonlat' or 'xy'", "scan.bad_coords")
    lon = np.radians(coords[:, 0])
    lat = np.radians(coords[:, 1])
    dlat = lat[:, None] - lat[None, :]
    dlon = lon[:, None] - lon[None, :]
    a = np.sin(dlat / 2) ** 2 + np.cos(lat)[:, None] * np.cos(lat)[None, :] * np.sin(dlon / 2) ** 2
    great_circle: np.ndarray = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return great_circle


def candidate_circles(
    dist_km: np.ndarray, loc_cases: np.ndarray, max_share: float, max_radius_km: float | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct circles as a membership matrix ``(n_circles, n_locations)``, their centres and radii."""
    n = dist_km.shape[0]
    total = loc_cases.sum()
    limit = max_share * total
    seen: dict[bytes, int] = {}
    members: list[np.ndarray] = []
    centres: list[int] = []
    radii: list[float] = []
    for i in range(n):
        order = np.argsort(dist_km[i], kind="stable")
        d = dist_km[i, order]
        cum = np.cumsum(loc_cases[order])
        for m in range(1, n + 1):
            if m < n and d[m] == d[m - 1]:
                continue  # equidistant neighbours enter the circle together
            if cum[m - 1] > limit + 1e-9 * max(total, 1):
                break
            if max_radius_km is not None and d[m - 1] > max_radius_km:
                break
            mask = np.zeros(n, dtype=bool)
            mask[order[:m]] = True
            key = np.packbits(mask).tobytes()
            if key in seen:
                continue
            seen[key] = len(members)
            members.append(mask)
            centres.append(i)
            radii.append(float(d[m - 1]))
    if not members:
        return np.zeros((0, n), dtype=bool), np.zeros(0, dtype=int), np.zeros(0)
    return np.array(members), np.array(centres), np.array(radii)


def _llr(c: np.ndarray, mu: np.ndarray, total: float) -> np.ndarray:
    """Poisson GLR of the permutation model, zero where c ≤ μ (reference formula, float c)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        inside = c * np.log(c / mu)
        rest = total - c
        outside = np.where(rest > 0, rest * np.log(rest / (total - mu)), 0.0)
        out = inside + outside
    return np.where(c > mu, out, 0.0)


class _LlrTable:
    """Fast LLR for integer counts: ``c ln c + (C-c) ln(C-c) - c ln μ - (C-c) ln(C-μ)`` from lookups."""

    def __init__(self, total: int, mu: np.ndarray) -> None:
        k = np.arange(total + 1, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            self.xlogx = np.where(k > 0, k * np.log(k), 0.0)
            self.log_mu = np.log(mu)
            self.log_rest = np.log(total - mu)
        self.total = total
        self.mu = mu

    def __call__(self, c: np.ndarray) -> np.ndarray:
        """LLR for ``c`` of shape ``(n_circles, reps, n_win)`` against μ of shape ``(n_circles, n_win)``."""
        rest = self.total - c
        out: np.ndarray = self.xlogx[c] + self.xlogx[rest]
        with np.errstate(invalid="ignore"):  # 0 · log 0 where μ = 0; masked below (c ≤ μ)
            out -= c * self.log_mu[:, None, :]
            out -= np.where(rest > 0, rest * self.log_rest[:, None, :], 0.0)
        out[c <= self.mu[:, None, :]] = 0.0
        return out


def _tail_tables(loc_of_case: np.ndarray, code_sets: np.ndarray, n_loc: int, n_win: int) -> np.ndarray:
    """Cases per (replicate, location, last-w-days window) from per-case day codes (0 = last day)."""
    reps = code_sets.shape[0]
    flat = (np.arange(reps)[:, None] * n_loc + loc_of_case[None, :]) * (n_win + 1) + code_sets
    counts = np.bincount(flat.ravel(), minlength=reps * n_loc * (n_win + 1)).reshape(reps, n_loc, n_win + 1)
    return np.cumsum(counts[:, :, :n_win], axis=2)


def space_time_permutation_scan(  # noqa: C901  (one numerical pass: inputs, windows, statistic, Monte Carlo)
    counts: np.ndarray | pd.DataFrame,
    coords: np.ndarray | Sequence[Sequence[float]],
    *,
    coords_kind: Literal["lonlat", "xy"] = "lonlat",
    location_ids: Sequence[Any] | None = None,
    days: Sequence[Any] | None = None,
    max_share: float = 0.5,
    max_radius_km: float | None = None,
    max_days: int = 7,
    replications: int = 999,
    n_secondary: int = 5,
    seed: int | np.random.Generator | None = 0,
    stop_above_p: float | None = None,
) -> ScanResult:
    """Prospective space-time permutation scan over ``counts[location, day]`` (last column = today).

    With ``stop_above_p``, the Monte Carlo stops as soon as the most likely cluster's p-value is certain to
    exceed it (more replicates can only add to its rank): every cluster then has a p-value above it, so
    ``significant(alpha)`` for any alpha ≤ ``stop_above_p`` is what the full run would give, and the
    replicates drawn are those of the full run (same seed, same order). The stored null maxima and the
    p-values are then those of the replicates run (lower bounds).
    """
    if isinstance(counts, pd.DataFrame):
        location_ids = list(counts.index) if location_ids is None else list(location_ids)
        days = list(counts.columns) if days is None else list(days)
        table = counts.to_numpy()
    else:
        table = np.asarray(counts)
    if table.ndim != 2 or table.shape[0] < 1 or table.shape[1] < 1:
        raise DetectorInputError("counts must be a (locations, days) matrix", "scan.bad_counts")
    if not np.all(np.isfinite(table)) or np.any(table < 0) or np.any(table != np.round(table)):
        raise DetectorInputError("counts must be non-negative whole numbers", "scan.bad_counts")
    table = table.astype(np.int64)
    n_loc, n_days = table.shape
    location_ids = list(range(n_loc)) if location_ids is None else list(location_ids)
    days = list(range(n_days)) if days is None else list(days)
    if len(location_ids) != n_loc or len(days) != n_days:
        raise DetectorInputError("location_ids/days do not match the counts", "scan.bad_counts")
    if not 0.0 < max_share <= 1.0:
        raise DetectorInputError("max_share must be in (0, 1]", "scan.bad_param")
    if max_radius_km is not None and max_radius_km < 0:
        raise DetectorInputError("max_radius_km must be ≥ 0", "scan.bad_param")
    max_days = check_positive_int("max_days", max_days, 1)
    replications = check_positive_int("replications", replications, 0)
    n_win = min(max_days, n_days)
    dist = pairwise_distance_km(np.asarray(coords, dtype=float), coords_kind)
    if dist.shape[0] != n_loc:
        raise DetectorInputError(f"{dist.shape[0]} coordinates for {n_loc} locations", "scan.bad_coords")

    params: dict[str, Any] = {
        "model": "space_time_permutation",
        "max_share": float(max_share),
        "max_radius_km": None if max_radius_km is None else float(max_radius_km),
        "max_days": max_days,
        "study_days": n_days,
        "replications": replications,
        "seed": seed if isinstance(seed, (int, type(None))) else "generator",
        "coords_kind": coords_kind,
    }
    total = int(table.sum())
    empty = ScanResult(None, [], params, np.zeros(0), total)
    if total == 0:
        return empty
    loc_cases = table.sum(axis=1).astype(float)
    day_cases = table.sum(axis=0).astype(float)
    members, centres, radii = candidate_circles(dist, loc_cases, max_share, max_radius_km)
    if members.shape[0] == 0:
        return empty
    memf = members.astype(float)
    tail_days = np.cumsum(day_cases[::-1])[:n_win]  # cases anywhere in the last w days
    mu = np.outer(memf @ loc_cases, tail_days) / total  # (n_circles, n_win)

    # Each case: its location and its day code (0 = last day, ..., n_win-1; n_win = earlier days).
    loc_of_case = np.repeat(np.repeat(np.arange(n_loc), n_days), table.ravel())
    back = (n_days - 1 - np.arange(n_days))
    code_of_day = np.where(back < n_win, back, n_win)
    code_of_case = np.repeat(np.tile(code_of_day, n_loc), table.ravel())

    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    llr_of = _LlrTable(total, mu)
    n_circ = members.shape[0]
    reps_per_block = max(1, _REP_CHUNK_ELEMENTS // max(1, n_circ * n_win))
    reps_per_block = min(reps_per_block, max(1, 20_000_000 // max(1, total)))
    block_cap = _FIRST_STOP_BLOCK if stop_above_p is not None else reps_per_block
    # Replicate 0 is the observed data, so observed and simulated maxima share one code path.
    observed_llr = np.zeros((n_circ, n_win))
    null_max = np.zeros(replications)
    done = -1
    while done < replications:
        n_block = min(block_cap, reps_per_block, replications - done)
        codes = np.tile(code_of_case, (n_block, 1))
        start_rep = done
        if start_rep < 0:
            if n_block > 1:
                rng.permuted(codes[1:], axis=1, out=codes[1:])
        else:
            rng.permuted(codes, axis=1, out=codes)
        tails = _tail_tables(loc_of_case, codes, n_loc, n_win)  # (n_block, n_loc, n_win)
        c = memf @ tails.transpose(1, 0, 2).reshape(n_loc, n_block * n_win)
        c = np.rint(c).astype(np.int64).reshape(n_circ, n_block, n_win)
        llr = llr_of(c)
        maxima = llr.max(axis=(0, 2))
        if start_rep < 0:
            observed_llr = llr[:, 0, :]
            null_max[: n_block - 1] = maxima[1:]
        else:
            null_max[start_rep : start_rep + n_block] = maxima
        done += n_block
        if stop_above_p is not None and done < replications:
            if _p_floor(observed_llr, null_max[:done], replications) > stop_above_p:
                null_max = null_max[:done]
                break
            block_cap *= 2

    def p_and_ri(value: float) -> tuple[float, float]:
        tol = 1e-9 * max(1.0, abs(value))
        rank = 1 + int(np.sum(null_max >= value - tol))
        p = rank / (replications + 1)
        return p, (replications + 1) / rank

    def make_cluster(ci: int, wi: int) -> ScanCluster:
        value = float(observed_llr[ci, wi])
        p, ri = p_and_ri(value)
        member_idx = np.flatnonzero(members[ci])
        member_idx = member_idx[np.argsort(dist[centres[ci], member_idx], kind="stable")]
        obs_cases = int(table[member_idx, n_days - 1 - wi :].sum())
        return ScanCluster(
            centre=location_ids[centres[ci]],
            radius_km=float(radii[ci]),
            locations=[location_ids[j] for j in member_idx],
            start=days[n_days - 1 - wi],
            end=days[n_days - 1],
            days=wi + 1,
            observed=obs_cases,
            expected=float(mu[ci, wi]),
            llr=value,
            p_value=p,
            recurrence_interval_days=ri,
        )

    best_w = observed_llr.argmax(axis=1)
    best = observed_llr[np.arange(n_circ), best_w]
    order = np.argsort(-best, kind="stable")
    clusters: list[ScanCluster] = []
    used = np.zeros(n_loc, dtype=bool)
    for ci in order:
        if best[ci] <= 0 or len(clusters) > n_secondary:
            break
        if np.any(used & members[ci]):
            continue
        clusters.append(make_cluster(int(ci), int(best_w[ci])))
        used |= members[ci]
    most = clusters[0] if clusters else None
    run = -1 if null_max.shape[0] == replications else int(null_max.shape[0])
    return ScanResult(most, clusters[1:], params, null_max, total, replications_run=run)


def _p_floor(observed_llr: np.ndarray, null_so_far: np.ndarray, replications: int) -> float:
    """The least p-value the most likely cluster can still get, from the replicates drawn so far."""
    value = float(observed_llr.max())
    tol = 1e-9 * max(1.0, abs(value))
    return (1 + int(np.sum(null_so_far >= value - tol))) / (replications + 1)
