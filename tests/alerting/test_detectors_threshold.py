"""Fixed thresholds: single-case diseases and per-disease count rules."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alerting.detectors import count_threshold, single_case
from alerting.detectors.base import DetectorInputError
from alerting.detectors.threshold import (
    SINGLE_CASE_DISEASES,
    CountRule,
    fixed_threshold,
    is_single_case_disease,
)


@pytest.mark.parametrize(
    "name",
    ["plague", "cholera", "SARS", "polio", "hpai", "pulmonary_anthrax", "diphtheria", "unexplained pneumonia",
     "鼠疫", "霍乱", "传染性非典型肺炎", "人感染高致病性禽流感", "肺炭疽", "白喉", "不明原因肺炎"],
)
def test_single_case_list(name: str) -> None:
    assert is_single_case_disease(name)


def test_ordinary_diseases_are_not_single_case() -> None:
    assert not is_single_case_disease("influenza")
    assert not is_single_case_disease("手足口病")
    assert is_single_case_disease("hfmd", {"hfmd": "手足口病"})


def test_single_case_fires_on_one_case() -> None:
    dates = pd.date_range("2025-03-01", periods=5)
    res = single_case(pd.Series([0, 1, 0, 3, 0], index=dates), disease="cholera")
    assert res.alarm.tolist() == [False, True, False, True, False]
    assert res.params == {"min_cases": 1, "window": 1, "comparison": ">=", "disease": "cholera"}
    assert (res.threshold == 1).all()
    assert res.to_frame().index.equals(dates)


def test_count_threshold_over_window() -> None:
    y = np.array([0, 1, 0, 1, 0, 0, 1, 0, 0, 0])
    res = count_threshold(y, min_cases=3, window=7)
    assert np.isnan(res.threshold[:6]).all() and not res.evaluated[:6].any()
    np.testing.assert_array_equal(res.observed[6:], [3, 3, 2, 2])
    assert res.alarm.tolist() == [False] * 6 + [True, True, False, False]


def test_count_threshold_matrix() -> None:
    m = np.array([[5, 0, 0], [0, 0, 1]])
    res = count_threshold(m, min_cases=2, window=2)
    assert res.alarm.tolist() == [[False, True, False], [False, False, False]]


def test_fixed_threshold_dispatch() -> None:
    rules = {"dengue": CountRule(min_cases=2, window=7)}
    y = np.array([1, 0, 0, 0, 0, 0, 1, 0])
    assert fixed_threshold(y, "Plague").model == "single_case"
    dengue = fixed_threshold(y, "Dengue", rules=rules)
    assert dengue is not None and dengue.model == "count_threshold" and dengue.alarm[6]
    assert dengue.params["disease"] == "Dengue"
    assert fixed_threshold(y, "influenza", rules=rules) is None
    assert CountRule(3, 7).as_params() == {"min_cases": 3, "window": 7}


def test_bad_rules() -> None:
    with pytest.raises(DetectorInputError):
        count_threshold([1, 2], min_cases=0)
    with pytest.raises(DetectorInputError):
        count_threshold([1, 2], min_cases=1, window=0)
    assert len(SINGLE_CASE_DISEASES) >= 8
