"""Space-time permutation scan: brute-force agreement, a planted cluster, and the null false-alarm rate."""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom

from alerting.detectors import space_time_permutation_scan
from alerting.detectors.base import DetectorInputError
from alerting.detectors.scan import candidate_circles, pairwise_distance_km


def _brute_force_max_llr(table: np.ndarray, dist: np.ndarray, max_share: float, max_days: int) -> float:
    """Every circle 'all locations within the distance to some location', every window ending today."""
    C = table.sum()
    n_loc, n_days = table.shape
    loc_tot = table.sum(1)
    best = 0.0
    seen = set()
    for i, j in itertools.product(range(n_loc), range(n_loc)):
        members = frozenset(np.flatnonzero(dist[i] <= dist[i, j]))
        if members in seen or loc_tot[list(members)].sum() > max_share * C:
            continue
        seen.add(members)
        idx = list(members)
        for w in range(1, min(max_days, n_days) + 1):
            c = table[idx, n_days - w :].sum()
            mu = loc_tot[idx].sum() * table[:, n_days - w :].sum() / C
            if c > mu:
                llr = c * np.log(c / mu) + ((C - c) * np.log((C - c) / (C - mu)) if c < C else 0.0)
                best = max(best, llr)
    return best


def _grid(n_side: int, spacing_m: float = 1000.0) -> np.ndarray:
    g = np.arange(n_side) * spacing_m
    return np.array([(x, y) for x in g for y in g], dtype=float)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_most_likely_cluster_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 10_000, (15, 2))
    table = rng.poisson(1.5, (15, 12))
    res = space_time_permutation_scan(table, xy, coords_kind="xy", max_days=5, replications=19, seed=seed)
    dist = pairwise_distance_km(xy, "xy")
    assert res.most_likely is not None
    assert res.most_likely.llr == pytest.approx(_brute_force_max_llr(table, dist, 0.5, 5), rel=1e-9)
    ml = res.most_likely
    idx = list(ml.locations)
    assert ml.observed == table[idx, 12 - ml.days :].sum()
    assert ml.expected == pytest.approx(table[idx].sum() * table[:, 12 - ml.days :].sum() / table.sum())
    assert ml.centre == ml.locations[0]
    assert ml.radius_km == pytest.approx(dist[ml.centre, idx].max())


def test_planted_cluster_is_found() -> None:
    rng = np.random.default_rng(2024)
    xy = _grid(8)  # 64 locations on a 1 km grid
    ids = [f"S{i:02d}" for i in range(64)]
    days = pd.date_range("2025-05-01", periods=30)
    table = rng.poisson(1.0, (64, 30))
    centre = 27
    near = np.argsort(np.linalg.norm(xy - xy[centre], axis=1))[:4]
    table[near, -3:] += 4
    res = space_time_permutation_scan(
        pd.DataFrame(table, index=ids, columns=days), xy, coords_kind="xy", replications=999, seed=1
    )
    ml = res.most_likely
    assert ml is not None and ml.p_value < 0.05
    assert set(ml.locations) & {ids[i] for i in near} and len(set(ml.locations) - {ids[i] for i in near}) <= 2
    assert ml.end == days[-1] and 1 <= ml.days <= 5
    assert ml.recurrence_interval_days == pytest.approx(1 / ml.p_value)
    assert ml.p_value == 1 / 1000  # nothing in 999 permutations comes near
    assert ml.relative_risk > 2
    assert res.significant(0.05)[0] is ml
    for sec in res.secondary:  # secondary clusters share no location with earlier ones
        assert not set(sec.locations) & set(ml.locations)
        assert sec.llr <= ml.llr and sec.p_value >= ml.p_value
    stored = ml.as_dict()
    assert stored["observed"] == ml.observed and stored["locations"] == ml.locations


def test_null_false_alarm_rate_is_nominal() -> None:
    """100 null data sets (location and day independent): p ≤ 0.05 in about 5% of them."""
    rng = np.random.default_rng(99)
    xy = rng.uniform(0, 20_000, (30, 2))
    weights = rng.gamma(2.0, 1.0, 30)
    weights /= weights.sum()
    n_sets, alarms, pvalues = 100, 0, []
    for k in range(n_sets):
        n_cases = 300
        loc = rng.choice(30, size=n_cases, p=weights)
        day = rng.integers(0, 30, size=n_cases)
        table = np.zeros((30, 30), dtype=int)
        np.add.at(table, (loc, day), 1)
        res = space_time_permutation_scan(table, xy, coords_kind="xy", replications=99, seed=k)
        assert res.most_likely is not None
        pvalues.append(res.most_likely.p_value)
        alarms += res.most_likely.p_value <= 0.05
    # Under the null P(p ≤ 0.05) = 5/100 exactly; 99.9% binomial bounds for 100 data sets.
    lo, hi = binom.ppf(0.0005, n_sets, 0.05), binom.ppf(0.9995, n_sets, 0.05)
    assert lo <= alarms <= hi, (alarms, lo, hi)
    assert 0.35 < float(np.mean(pvalues)) < 0.65


def test_constraints_on_share_and_radius() -> None:
    xy = _grid(4)
    dist = pairwise_distance_km(xy, "xy")
    loc_cases = np.ones(16)
    members, centres, radii = candidate_circles(dist, loc_cases, 0.5, None)
    assert members.sum(axis=1).max() <= 8
    assert len({m.tobytes() for m in members}) == len(members)
    members, centres, radii = candidate_circles(dist, loc_cases, 1.0, 1.0)
    assert radii.max() <= 1.0
    # Equidistant neighbours join together: from a grid corner the first ring has 2 members.
    corner = members[(centres == 0)]
    assert sorted(corner.sum(axis=1).tolist()) == [1, 3]


def test_haversine() -> None:
    # People's Square to Lujiazui, Shanghai: ≈ 3.1 km.
    d = pairwise_distance_km(np.array([[121.4737, 31.2304], [121.5055, 31.2397]]), "lonlat")
    assert d[0, 1] == pytest.approx(3.2, abs=0.2)
    assert d[0, 0] == 0


def test_reproducible_with_seed_and_degenerate_inputs() -> None:
    rng = np.random.default_rng(4)
    xy = rng.uniform(0, 5000, (10, 2))
    table = rng.poisson(2, (10, 20))
    a = space_time_permutation_scan(table, xy, coords_kind="xy", replications=49, seed=3)
    b = space_time_permutation_scan(table, xy, coords_kind="xy", replications=49, seed=3)
    np.testing.assert_array_equal(a.null_max_llr, b.null_max_llr)
    empty = space_time_permutation_scan(np.zeros((10, 20)), xy, coords_kind="xy")
    assert empty.most_likely is None and empty.significant() == []
    none = space_time_permutation_scan(table, xy, coords_kind="xy", replications=0)
    assert none.most_likely is not None and none.most_likely.p_value == 1.0
    assert a.params["replications"] == 49 and a.params["max_days"] == 7


@pytest.mark.parametrize(
    "table, coords, kwargs",
    [
        (np.full((3, 4), -1), np.zeros((3, 2)), {}),
        (np.full((3, 4), 1.5), np.zeros((3, 2)), {}),
        (np.ones((3, 4)), np.zeros((2, 2)), {}),
        (np.ones((3, 4)), np.zeros((3, 2)), {"max_share": 0}),
        (np.ones((3, 4)), np.zeros((3, 2)), {"max_days": 0}),
        (np.ones((3, 4)), np.zeros((3, 3)), {}),
    ],
)
def test_bad_input(table, coords, kwargs) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DetectorInputError):
        space_time_permutation_scan(table, coords, **kwargs)


@pytest.mark.parametrize("alpha", [0.01, 0.05])
def test_early_stop_gives_the_significant_clusters_of_the_full_run(alpha: float) -> None:
    """stop_above_p skips only replicates that cannot change `significant(alpha)`: null, planted and borderline
    data sets give the same significant clusters (same p-values) as the full 999 replicates."""
    rng = np.random.default_rng(7)
    xy = rng.uniform(0, 10_000, (13, 2))
    found = stopped = 0
    for k in range(40):
        table = rng.poisson(rng.uniform(0.05, 1.0), (13, 60))
        if k % 3 == 0:  # a planted cluster of varying strength, from invisible to obvious
            table[:2, -3:] += k % 5
        full = space_time_permutation_scan(table, xy, coords_kind="xy", replications=999, seed=k)
        fast = space_time_permutation_scan(table, xy, coords_kind="xy", replications=999, seed=k,
                                           stop_above_p=alpha)
        assert [c.as_dict() for c in fast.significant(alpha)] == [c.as_dict() for c in full.significant(alpha)]
        found += bool(full.significant(alpha))
        if fast.replications_run >= 0:
            stopped += 1
            assert fast.replications_run < 999 and not fast.significant(alpha)
            assert np.array_equal(fast.null_max_llr, full.null_max_llr[:fast.replications_run])
        else:
            assert np.array_equal(fast.null_max_llr, full.null_max_llr)
    assert found >= 3 and stopped >= 20  # both paths are exercised
