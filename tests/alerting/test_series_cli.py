"""The CSV front-end: run_series / run_rt output and their stable error codes."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alerting.series_cli import MODELS, SeriesInputError, parse_series, run_rt, run_series

FIX = Path(__file__).parent / "fixtures"


def _csv(counts, start: str = "2024-01-01") -> str:  # type: ignore[no-untyped-def]
    dates = pd.date_range(start, periods=len(counts))
    return "date,count\n" + "".join(f"{d.date()},{c}\n" for d, c in zip(dates, counts, strict=True))


def _read(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), keep_default_na=True)


@pytest.mark.parametrize(
    "model, case_id, params",
    [
        ("ears-c1", "agona_c1", {}),
        ("ears-c2", "agona_c2", {"alpha": "0.02"}),
        ("ears-c3", "agona_c3", {"alpha": "0.001", "baseline": "5"}),
    ],
)
def test_ears_through_csv_matches_earsC(model: str, case_id: str, params: dict) -> None:
    counts = pd.read_csv(FIX / "ears_input_agona.csv")["observed1"].tolist()
    out = _read(run_series(model, params, _csv(counts, "2023-01-01")))
    assert list(out.columns) == ["date", "observed", "threshold", "alarm"]
    assert len(out) == len(counts) and out["observed"].tolist() == counts
    ref = pd.read_csv(FIX / "ears_reference.csv")
    ref = ref[ref["case"] == case_id]
    got = out.iloc[ref["index"].to_numpy() - 1]
    np.testing.assert_allclose(got["threshold"], ref["upperbound"], rtol=1e-12)
    np.testing.assert_array_equal(got["alarm"], ref["alarm"])
    assert out["threshold"].iloc[: ref["index"].iloc[0] - 1].isna().all()


def test_cusum_and_moving_percentile_through_csv() -> None:
    rng = np.random.default_rng(0)
    y = rng.poisson(4, 40).tolist()
    out = _read(run_series("cusum", {"k": "0.5", "h": "3", "baseline": "14", "reset": "false"}, _csv(y)))
    assert out["threshold"].iloc[:14].isna().all() and out["threshold"].iloc[14:].notna().all()
    long = rng.poisson(3, 800).tolist()
    mp = _read(run_series("moving-percentile", {"years": "2", "percentile": "90", "min_count": "2"}, _csv(long, "2022-01-01")))
    assert mp["threshold"].notna().sum() > 0
    assert mp["observed"].iloc[10] == sum(long[4:11])  # the 7-day count
    ew = _read(run_series("ewma", {"lambda": "0.4", "L": "2.5"}, _csv(y)))
    assert set(ew["alarm"].dropna().unique()) <= {0, 1}
    ct = _read(run_series("count-threshold", {"min_cases": "10", "window": "3"}, _csv(y)))
    assert ct["threshold"].iloc[2] == 10


def test_gaps_can_be_filled() -> None:
    text = "date,count\n2024-01-01,1\n2024-01-03,2\n" + "".join(f"2024-01-{d:02d},1\n" for d in range(4, 20))
    with pytest.raises(SeriesInputError) as err:
        run_series("ears-c1", {}, text)
    assert err.value.code == "series.gap" and err.value.line == 3 and err.value.field == "date"
    out = _read(run_series("ears-c1", {"fill_gaps": "true"}, text))
    assert out["date"].iloc[1] == "2024-01-02" and out["observed"].iloc[1] == 0


@pytest.mark.parametrize(
    "text, code, line, field",
    [
        ("", "series.empty", None, None),
        ("date,count\n", "series.empty", 1, None),
        ("day,cases\n2024-01-01,1\n", "series.bad_header", 1, None),
        ("date,count\n2024-01-01,1,2\n", "series.bad_row", 2, None),
        ("date,count\n2024-01-01,1\n2024-13-01,1\n", "series.bad_date", 3, "date"),
        ("date,count\n2024-1-1,1\n", "series.bad_date", 2, "date"),
        ("date,count\n2024-01-01,abc\n", "series.bad_count", 2, "count"),
        ("date,count\n2024-01-01,-1\n", "series.bad_count", 2, "count"),
        ("date,count\n2024-01-01,nan\n", "series.bad_count", 2, "count"),
        ("date,count\n2024-01-01,\n", "series.bad_count", 2, "count"),
        ("date,count\n2024-01-02,1\n2024-01-02,1\n", "series.duplicate_date", 3, "date"),
        ("date,count\n2024-01-02,1\n2024-01-01,1\n", "series.unsorted", 3, "date"),
    ],
)
def test_bad_csv(text: str, code: str, line: int | None, field: str | None) -> None:
    with pytest.raises(SeriesInputError) as err:
        run_series("ears-c1", {}, text)
    assert isinstance(err.value, ValueError)
    assert err.value.code == code and err.value.line == line and err.value.field == field
    if line is not None:
        assert f"line {line}" in str(err.value)
    if field is not None:
        assert f"'{field}'" in str(err.value)


@pytest.mark.parametrize(
    "model, params, code",
    [
        ("ears-c9", {}, "series.unknown_model"),
        ("ears-c1", {"lambda": "0.3"}, "series.unknown_param"),
        ("ears-c1", {"alpha": "x"}, "series.bad_param"),
        ("ears-c1", {"alpha": "1.5"}, "series.bad_param"),
        ("ears-c1", {"baseline": "2"}, "series.bad_param"),
        ("ears-c1", {"minSigma": "-1"}, "series.bad_param"),
        ("cusum", {"h": "0"}, "series.bad_param"),
        ("cusum", {"reset": "maybe"}, "series.bad_param"),
        ("cusum", {"mu": "3"}, "series.bad_param"),
        ("cusum", {"baseline": "100"}, "series.too_short"),
        ("ears-c3", {"baseline": "28"}, "series.too_short"),
        ("moving-percentile", {}, "series.too_short"),
    ],
)
def test_bad_model_or_parameters(model: str, params: dict, code: str) -> None:
    with pytest.raises(SeriesInputError) as err:
        run_series(model, params, _csv([1, 2, 3] * 10))
    assert err.value.code == code


def test_every_model_listed_runs() -> None:
    y = (np.arange(1200) % 5).tolist()
    for model in MODELS:
        if model == "farrington-flexible":  # weekly rows (Mondays): tests/alerting/test_detectors_farrington.py
            continue
        assert run_series(model, {}, _csv(y, "2021-01-01")).startswith("date,observed,threshold,alarm\n")


def test_parse_series_accepts_bom_crlf_and_decimals() -> None:
    s = parse_series("\ufeffdate,count\r\n2024-01-01, 1.5\r\n2024-01-02,2\r\n\r\n")
    assert s.counts.tolist() == [1.5, 2.0] and len(s.dates) == 2


def test_run_rt_matches_epiestim() -> None:
    si = pd.read_csv(FIX / "epiestim_si_flu2009.csv")
    si_csv = "k,p\n" + "".join(f"{k},{p!r}\n" for k, p in zip(si["k"], si["p"], strict=True))
    flu = pd.read_csv(FIX / "epiestim_input_flu2009.csv")
    cases_csv = "date,count\n" + "".join(f"{d},{c}\n" for d, c in zip(flu["dates"], flu["I"], strict=True))
    out = _read(run_rt(si_csv, cases_csv, 7))
    assert list(out.columns) == ["t_start", "t_end", "mean", "std", "q025", "median", "q975"]
    ref = pd.read_csv(FIX / "epiestim_reference.csv")
    ref = ref[ref["case"] == "flu_np_weekly"]
    for col in ["t_start", "t_end", "mean", "std", "q025", "median", "q975"]:
        np.testing.assert_allclose(out[col], ref[col], rtol=1e-12, err_msg=col)
    assert len(_read(run_rt(si_csv, cases_csv, 14))) == len(flu) - 14


@pytest.mark.parametrize(
    "si_csv, cases, window, code",
    [
        ("k,prob\n0,0\n1,1\n", None, 7, "si.bad_header"),
        ("k,p\n", None, 7, "si.empty"),
        ("k,p\n0,0\n2,1\n", None, 7, "si.bad_k"),
        ("k,p\nx,0\n", None, 7, "si.bad_k"),
        ("k,p\n0,0\n1,-1\n", None, 7, "si.bad_p"),
        ("k,p\n0,0.5\n1,0.5\n", None, 7, "si.bad_distribution"),
        ("k,p\n0,0\n1,0.5\n", None, 7, "si.bad_distribution"),
        ("k,p\n0,0\n1,1\n", "date,count\n2024-01-01,x\n", 7, "cases.bad_count"),
        ("k,p\n0,0\n1,1\n", None, 0, "rt.bad_window"),
        ("k,p\n0,0\n1,1\n", None, 30, "rt.too_short"),
    ],
)
def test_run_rt_errors(si_csv: str, cases: str | None, window: int, code: str) -> None:
    with pytest.raises(SeriesInputError) as err:
        run_rt(si_csv, cases or _csv(list(range(1, 21))), window)
    assert err.value.code == code
