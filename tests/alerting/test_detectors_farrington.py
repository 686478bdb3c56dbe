"""farringtonFlexible against R surveillance 1.20.3 on fixtures made by fixtures/r/make_farrington_cusum.R.

Each case runs through the command-line front-end (``run_series``) on the weekly CSV R read, and
the upper bounds (1e-6) and alarm weeks must equal R's; weeks where R gives no bound (before its
range, or fewer than limit54 cases) print none here.
"""
from __future__ import annotations

import csv
import io
import json
import math
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alerting.detectors import farrington_flexible
from alerting.detectors.base import DetectorInputError
from alerting.detectors.farrington import reference_dates
from alerting.series_cli import SeriesInputError, run_series

FIXTURES = Path(__file__).parent / "fixtures" / "r"
META = json.loads((FIXTURES / "meta.json").read_text(encoding="utf-8"))
CASES = [c for c in META["cases"] if c["series"].startswith("weekly_")]
REFERENCE = pd.read_csv(FIXTURES / "farrington_reference.csv")


def _params(case: dict) -> dict[str, str]:
    return dict(p.split("=", 1) for p in case["params"] if p)


def _run(case: dict) -> list[dict[str, str]]:
    text = (FIXTURES / case["series"]).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(run_series("farrington-flexible", _params(case), text))))


def test_fixtures_are_from_the_claimed_versions() -> None:
    assert META["surveillance"] == "1.20.3" and META["R"].startswith("4.")
    ids = {c["id"] for c in CASES}
    assert {"default", "nbplugin", "muan", "noufaily_recommended", "powertrans_half", "no_reweight",
            "powertrans_none_notrend", "past_weeks_0", "trend_forced"} <= ids
    assert set(REFERENCE["case"]) == ids


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_farrington_flexible_equals_r(case: dict) -> None:
    rows = _run(case)
    ref = REFERENCE[REFERENCE["case"] == case["id"]]
    first = int(ref["week"].min()) - 1
    assert all(r["threshold"] == "" and r["alarm"] == "" for r in rows[:first])
    got = rows[first:]
    assert len(got) == len(ref)
    for r, (_, want) in zip(got, ref.iterrows(), strict=True):
        assert r["date"] == want["date"] and float(r["observed"]) == want["observed"]
        if math.isnan(want["upperbound"]):
            assert r["threshold"] == "", r
            assert want["alarm"] == 0
        else:
            assert float(r["threshold"]) == pytest.approx(want["upperbound"], abs=1e-6), r
            assert int(r["alarm"]) == want["alarm"], r
    assert sum(int(r["alarm"] or 0) for r in got) == int(ref["alarm"].sum())


def test_outbreak_is_flagged_like_r() -> None:
    ref = REFERENCE[REFERENCE["case"] == "default_outbreak"]
    assert ref["alarm"].sum() > 0  # the fixture must exercise alarms, not only quiet weeks


def test_reference_weeks_follow_r_calendar() -> None:
    # R: seq(by = "-1 year") maps 29 February to 1 March, then the nearest same weekday.
    refs = reference_dates(date(2024, 2, 26), 2)
    assert refs == [date(2024, 2, 26), date(2023, 2, 27), date(2022, 2, 28)]
    assert reference_dates(date(2024, 3, 4), 1)[1] == date(2023, 3, 6)


def _weekly_csv(n: int, start: date = date(2016, 1, 4)) -> str:
    days = pd.date_range(start, periods=n, freq="7D")
    return "date,count\n" + "".join(f"{d.date()},{i % 7}\n" for i, d in enumerate(days))


def test_non_monday_row_is_refused_naming_the_line() -> None:
    text = "date,count\n2024-01-01,3\n2024-01-08,4\n2024-01-16,2\n"
    with pytest.raises(SeriesInputError) as exc:
        run_series("farrington-flexible", {}, text)
    assert exc.value.code == "series.not_monday" and exc.value.line == 4 and exc.value.field == "date"
    assert "2024-01-16 is a Tuesday" in str(exc.value) and "\n" not in str(exc.value)


def test_missing_week_is_refused() -> None:
    text = "date,count\n2024-01-01,3\n2024-01-15,4\n"
    with pytest.raises(SeriesInputError) as exc:
        run_series("farrington-flexible", {}, text)
    assert exc.value.code == "series.gap" and exc.value.line == 3


def test_too_few_weeks_for_b() -> None:
    with pytest.raises(SeriesInputError) as exc:
        run_series("farrington-flexible", {"b": "5"}, _weekly_csv(200))
    assert exc.value.code == "series.too_short"


@pytest.mark.parametrize("name, value", [("thresholdMethod", "quantile"), ("limit54", "5"), ("limit54", "-1,4"),
                                         ("powertrans", "3/4"), ("alpha", "0"), ("noPeriods", "0"),
                                         ("reweight", "maybe")])
def test_bad_parameters_name_the_field(name: str, value: str) -> None:
    with pytest.raises(SeriesInputError) as exc:
        run_series("farrington-flexible", {name: value}, _weekly_csv(120))
    assert exc.value.code == "series.bad_param" and exc.value.field == name


def test_detector_needs_weekly_dates() -> None:
    with pytest.raises(DetectorInputError):
        farrington_flexible(np.ones(10), dates=pd.date_range("2024-01-01", periods=10, freq="D"))


def test_limit54_accepts_r_and_colon_forms() -> None:
    a = run_series("farrington-flexible", {"b": "1", "limit54": "0,4"}, _weekly_csv(120))
    b = run_series("farrington-flexible", {"b": "1", "limit54": "0:4"}, _weekly_csv(120))
    assert a == b and a.count(",1\n") + a.count(",0\n") == 120 - 55
