"""CUSUM in R's algo.cusum mode (given m) against R surveillance 1.20.3, and the fast recursion.

Fixtures: fixtures/r/make_farrington_cusum.R (standard, rossi, and exact ties S == h, where R alarms).
"""
from __future__ import annotations

import csv
import importlib
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alerting.detectors import cusum, cusum_r
from alerting.detectors.base import DetectorInputError
from alerting.series_cli import SeriesInputError, run_series

cusum_mod = importlib.import_module("alerting.detectors.cusum")  # the package re-exports the function
FIXTURES = Path(__file__).parent / "fixtures" / "r"
META = json.loads((FIXTURES / "meta.json").read_text(encoding="utf-8"))
CASES = [c for c in META["cases"] if c["series"].startswith("daily_")]
REFERENCE = pd.read_csv(FIXTURES / "cusum_reference.csv")


def _params(case: dict) -> dict[str, str]:
    return dict(p.split("=", 1) for p in case["params"] if p)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_cli_equals_r(case: dict) -> None:
    text = (FIXTURES / case["series"]).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(run_series("cusum", _params(case), text))))
    ref = REFERENCE[REFERENCE["case"] == case["id"]]
    assert len(rows) == len(ref)
    np.testing.assert_allclose([float(r["threshold"]) for r in rows], ref["upperbound"], rtol=0, atol=1e-6)
    assert [int(r["alarm"]) for r in rows] == ref["alarm"].tolist()
    assert [r["date"] for r in rows] == ref["date"].tolist()


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_statistic_equals_r(case: dict) -> None:
    series = pd.read_csv(FIXTURES / case["series"])
    p = _params(case)
    res = cusum_r(series["count"].to_numpy(float), m=float(p["m"]), k=float(p["k"]), h=float(p["h"]),
                  trans=p["trans"])
    ref = REFERENCE[REFERENCE["case"] == case["id"]]
    np.testing.assert_allclose(res.extra["cusum"], ref["cusum"], rtol=0, atol=1e-6)
    assert res.params["reset"] is False and res.evaluated.all()


@pytest.mark.parametrize("case_id", ["tie_standard", "tie_rossi"])
def test_tie_alarms_as_r_does(case_id: str) -> None:
    ref = REFERENCE[REFERENCE["case"] == case_id]
    h = float(_params(next(c for c in CASES if c["id"] == case_id))["h"])
    ties = ref[ref["cusum"] == h]
    assert len(ties) > 0 and (ties["alarm"] == 1).all()  # the fixture holds exact ties and R alarms on them


def test_tie_day_alarms_only_in_r_mode() -> None:
    y = np.array([4.0, 7, 4, 4])  # z = (y - 4) / 2; minus k = 0.5 → S = 0, 1.0, 0.5, 0
    r_mode = cusum_r(y, m=4, k=0.5, h=1.0)
    assert r_mode.extra["cusum"].tolist() == [0.0, 1.0, 0.5, 0.0]
    assert r_mode.alarm.tolist() == [False, True, False, False]
    ours = cusum(y, mu=4.0, sigma=2.0, k=0.5, h=1.0, reset=False)
    assert not ours.alarm.any()  # the default model keeps S > h


def test_standard_bound_is_rounded_up_and_never_negative() -> None:
    res = cusum_r(np.array([30.0, 30, 0]), m=2.0, k=0.5, h=1.0)
    assert np.all(res.threshold == np.ceil(res.threshold)) and np.all(res.threshold >= 0)
    assert res.threshold[1] == 0.0  # S far above h: R's bound clips to 0


@pytest.mark.parametrize("params, field", [
    ({"m": "5", "reference": "moving"}, "reference"),
    ({"m": "5", "baseline": "14"}, "baseline"),
    ({"m": "5", "reset": "true"}, "reset"),
    ({"trans": "rossi"}, "trans"),
    ({"m": "0"}, "m"),
    ({"m": "5", "trans": "anscombe"}, "trans"),
])
def test_r_mode_parameters_are_checked(params: dict[str, str], field: str) -> None:
    text = "date,count\n2024-01-01,3\n2024-01-02,4\n2024-01-03,9\n"
    with pytest.raises(SeriesInputError) as exc:
        run_series("cusum", params, text)
    assert exc.value.code == "series.bad_param" and exc.value.field == field


def test_r_mode_defaults_are_r_defaults() -> None:
    res = cusum_r(np.array([5.0, 9, 12]), m=5.0)
    assert res.params["k"] == 1.04 and res.params["h"] == 2.26 and res.params["trans"] == "standard"
    with pytest.raises(DetectorInputError):
        cusum_r(np.array([1.0]), m=-1.0)


@pytest.mark.parametrize("reset", [True, False])
@pytest.mark.parametrize("reference", ["fixed", "moving"])
def test_row_loop_and_vectorised_paths_agree(monkeypatch: pytest.MonkeyPatch, reset: bool, reference: str) -> None:
    rng = np.random.default_rng(11)
    m = rng.poisson(4.0, (20, 400)).astype(float)
    m[3, 200:215] += 9
    m[5, 50] = np.nan
    fast = cusum(m, reference=reference, reset=reset, k=0.5, h=3.0)
    monkeypatch.setattr(cusum_mod, "_ROW_LOOP_MAX", 10_000)
    rows = cusum(m, reference=reference, reset=reset, k=0.5, h=3.0)
    monkeypatch.setattr(cusum_mod, "_ROW_LOOP_MAX", 0)
    vec = cusum(m, reference=reference, reset=reset, k=0.5, h=3.0)
    for res in (rows, fast):
        np.testing.assert_array_equal(res.alarm, vec.alarm)
        np.testing.assert_allclose(res.extra["cusum"], vec.extra["cusum"], rtol=1e-12, equal_nan=True)
        np.testing.assert_allclose(res.threshold, vec.threshold, rtol=1e-12, equal_nan=True)
    assert vec.alarm[3].any()
