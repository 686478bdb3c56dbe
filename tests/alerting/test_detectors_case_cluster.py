"""Case clusters (聚集性病例): enough cases near one case's home within a few days, and nothing else."""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from alerting.detectors.base import DetectorInputError
from alerting.detectors.case_cluster import case_clusters, cluster_on, to_metres

RULE: dict[str, Any] = {"min_cases": 3, "window": 3, "radius_m": 500.0}


def test_three_neighbours_in_three_days_are_a_cluster_on_the_third_day() -> None:
    days = np.array([10, 11, 12, 12])
    xy = np.array([[0, 0], [300, 0], [0, 400], [5000, 5000]], dtype=float)
    assert cluster_on(days, xy, 11, **RULE) is None  # two cases so far
    cl = cluster_on(days, xy, 12, **RULE)
    assert cl is not None and cl.day == 12 and sorted(cl.members) == [0, 1, 2] and cl.centre in (0, 1, 2)
    assert cluster_on(days, xy, 13, **RULE) is None  # day 10 has left the window
    assert [c.day for c in case_clusters(days, xy, **RULE)] == [12]


def test_cases_too_far_apart_or_too_spread_in_time_are_not() -> None:
    far = np.array([[0, 0], [900, 0], [0, 900]], dtype=float)
    assert case_clusters(np.array([1, 1, 2]), far, **RULE) == []
    near = np.array([[0, 0], [100, 0], [0, 100]], dtype=float)
    assert case_clusters(np.array([1, 3, 5]), near, **RULE) == []
    assert case_clusters(np.array([], dtype=int), np.zeros((0, 2)), **RULE) == []


def test_bad_input_is_refused() -> None:
    with pytest.raises(DetectorInputError):
        cluster_on(np.array([1, 2]), np.zeros((3, 2)), 2, **RULE)
    with pytest.raises(DetectorInputError):
        cluster_on(np.array([1]), np.zeros((1, 2)), 1, min_cases=1, window=3, radius_m=500)


def test_degrees_become_local_metres() -> None:
    xy = to_metres(np.array([121.37, 121.38]), np.array([31.2, 31.2]))
    assert 900 < xy[1, 0] - xy[0, 0] < 1000 and xy[1, 1] == xy[0, 1]
