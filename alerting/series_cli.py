"""CSV front-end to the count-series detectors and the Rt estimator, for a command line.

``run_series`` reads ``date,count`` rows (ISO dates, one row per consecutive day, whole or
decimal non-negative counts) and writes ``date,observed,threshold,alarm``; ``threshold`` and
``alarm`` are empty where the model is not evaluated (too little history) or undefined, and
``alarm`` is ``1``/``0`` elsewhere. For ``moving-percentile`` and ``count-threshold`` the observed
value is the window count. Parameters are strings named as in R where R has them (``alpha``,
``baseline``, ``minSigma``, ``k``, ``h``, ...). ``farrington-flexible`` reads weekly rows dated by
their Monday and takes R's control names (``b``, ``w``, ``thresholdMethod``, ...); ``cusum`` with
``m`` is R's ``algo.cusum`` (``k``, ``h``, ``m``, ``trans``). ``run_rt`` reads a serial interval (``k,p``) and
``date,count`` cases and writes EpiEstim's ``t_start,t_end,mean,std,q025,median,q975``.
Bad input raises :class:`SeriesInputError` (a ValueError) with a stable ``code``, the line and
the field.
"""
from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from alerting.detectors.base import DetectionResult, DetectorInputError
from alerting.detectors.cusum import cusum, cusum_r, ewma
from alerting.detectors.ears import ears_c
from alerting.detectors.farrington import farrington_flexible
from alerting.detectors.moving_percentile import moving_percentile
from alerting.detectors.threshold import count_threshold
from alerting.forecast.rt import RtInputError, estimate_r
from alerting.weekly_series import check_weekly, weekly_counts
from geo import dates


class SeriesInputError(ValueError):
    """Input the CSV front-end rejects; ``code`` is stable, the message names line and field."""

    def __init__(self, code: str, message: str, line: int | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.line = line
        self.field = field


@dataclass(frozen=True)
class DailySeries:
    """Parsed ``date,count`` input."""

    dates: list[date]
    counts: np.ndarray


def _rows(text: str, source: str) -> list[tuple[int, list[str]]]:
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.reader(io.StringIO(text))
    out = []
    for row in reader:
        if not row or all(not cell.strip() for cell in row):
            continue
        out.append((reader.line_num, [cell.strip() for cell in row]))
    if not out:
        raise SeriesInputError(f"{source}.empty", f"{source}: no header and no rows")
    return out


def parse_series(csv_text: str, *, fill_gaps: bool = False, source: str = "series") -> DailySeries:
    """Parse ``date,count`` CSV text into consecutive days and counts (gaps are errors unless filled with 0)."""
    rows = _rows(csv_text, source)
    line, header = rows[0]
    if [h.lower() for h in header] != ["date", "count"]:
        raise SeriesInputError(
            f"{source}.bad_header", f"{source} line {line}: header must be 'date,count', got {','.join(header)!r}", line
        )
    if len(rows) == 1:
        raise SeriesInputError(f"{source}.empty", f"{source} line {line}: no data rows after the header", line)
    days: list[date] = []
    counts: list[float] = []
    for line, row in rows[1:]:
        if len(row) != 2:
            raise SeriesInputError(
                f"{source}.bad_row", f"{source} line {line}: expected 2 fields (date,count), got {len(row)}", line
            )
        d = _parse_date(row[0], line, source)
        c = _parse_count(row[1], line, source)
        if days:
            for _ in range(1, _step(days[-1], d, row[0], line, source, fill_gaps)):
                days.append(days[-1] + timedelta(days=1))
                counts.append(0.0)
        days.append(d)
        counts.append(c)
    return DailySeries(days, np.asarray(counts, dtype=float))


def _parse_date(raw_date: str, line: int, source: str) -> date:
    """A row's YYYY-MM-DD date, in the past."""
    try:
        d = date.fromisoformat(raw_date)
        if len(raw_date) != 10:
            raise ValueError
        dates.check(d, dates.PAST, "date")
    except dates.DateRangeError as exc:
        raise SeriesInputError(f"{source}.date_range", f"{source} line {line}: {exc.message}", line,
                               "date") from None
    except ValueError:
        raise SeriesInputError(
            f"{source}.bad_date", f"{source} line {line}, field 'date': {raw_date!r} is not a YYYY-MM-DD date",
            line, "date",
        ) from None
    return d


def _parse_count(raw_count: str, line: int, source: str) -> float:
    """A row's count: a finite non-negative number."""
    try:
        c = float(raw_count)
    except ValueError:
        c = math.nan
    if not math.isfinite(c) or c < 0:
        raise SeriesInputError(
            f"{source}.bad_count",
            f"{source} line {line}, field 'count': {raw_count!r} is not a non-negative number",
            line, "count",
        )
    return c


def _step(previous: date, d: date, raw_date: str, line: int, source: str, fill_gaps: bool) -> int:
    """Days from the previous row's date to this row's: 1, or more when gaps may be filled."""
    step = (d - previous).days
    if step == 0:
        raise SeriesInputError(
            f"{source}.duplicate_date", f"{source} line {line}, field 'date': {raw_date} appears twice",
            line, "date",
        )
    if step < 0:
        raise SeriesInputError(
            f"{source}.unsorted",
            f"{source} line {line}, field 'date': {raw_date} comes before the previous row's date",
            line, "date",
        )
    if step > 1 and not fill_gaps:
        raise SeriesInputError(
            f"{source}.gap",
            f"{source} line {line}, field 'date': {step - 1} day(s) missing before {raw_date} "
            "(give every day, or fill_gaps=true to count them as 0)",
            line, "date",
        )
    return step


def _fmt(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    xf = float(x)
    if xf.is_integer() and abs(xf) < 1e15:
        return str(int(xf))
    return repr(xf)


# --- parameters ------------------------------------------------------------------------------

def _p_float(name: str, lo: float | None = None, hi: float | None = None, open_lo: bool = False) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        try:
            v = float(raw)
        except ValueError:
            raise SeriesInputError("series.bad_param", f"parameter {name}: {raw!r} is not a number", field=name) from None
        if not math.isfinite(v) or (lo is not None and (v <= lo if open_lo else v < lo)) or (hi is not None and v > hi):
            bound = f"{'>' if open_lo else '≥'} {lo}" if lo is not None else ""
            raise SeriesInputError(
                "series.bad_param", f"parameter {name}: {raw!r} is out of range {bound}".rstrip(), field=name
            )
        return v

    return parse


def _p_int(name: str, lo: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            v = int(raw)
        except ValueError:
            raise SeriesInputError("series.bad_param", f"parameter {name}: {raw!r} is not an integer", field=name) from None
        if v < lo:
            raise SeriesInputError("series.bad_param", f"parameter {name}: {raw!r} must be ≥ {lo}", field=name)
        return v

    return parse


def _p_bool(name: str) -> Callable[[str], bool]:
    def parse(raw: str) -> bool:
        v = raw.strip().lower()
        if v in ("true", "1", "yes"):
            return True
        if v in ("false", "0", "no"):
            return False
        raise SeriesInputError("series.bad_param", f"parameter {name}: {raw!r} is not true/false", field=name)

    return parse


def _p_choice(name: str, choices: tuple[str, ...]) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw not in choices:
            raise SeriesInputError(
                "series.bad_param", f"parameter {name}: {raw!r} is not one of {', '.join(choices)}", field=name
            )
        return raw

    return parse


def _p_limit54(raw: str) -> tuple[int, int]:
    parts = raw.replace(":", ",").split(",")
    try:
        cases, weeks = (int(x) for x in parts)
    except ValueError:
        cases, weeks = -1, 0
    if cases < 0 or weeks < 1:
        raise SeriesInputError(
            "series.bad_param", f"parameter limit54: {raw!r} is not cases,weeks (cases ≥ 0, weeks ≥ 1)", field="limit54"
        )
    return cases, weeks


_EARS = {
    "alpha": ("alpha", _p_float("alpha", 0.0, 1.0, open_lo=True)),
    "baseline": ("baseline", _p_int("baseline", 3)),
    "minSigma": ("min_sigma", _p_float("minSigma", 0.0)),
}
_CONTROL = {
    "baseline": ("baseline", _p_int("baseline", 2)),
    "reference": ("reference", _p_choice("reference", ("fixed", "moving"))),
    "guard": ("guard", _p_int("guard", 0)),
    "minSigma": ("min_sigma", _p_float("minSigma", 0.0)),
    "reset": ("reset", _p_bool("reset")),
    "mu": ("mu", _p_float("mu")),
    "sigma": ("sigma", _p_float("sigma", 0.0)),
}
MODELS: dict[str, tuple[Callable[..., DetectionResult], dict[str, tuple[str, Callable[[str], Any]]], dict[str, Any]]] = {
    "ears-c1": (ears_c, _EARS, {"method": "C1"}),
    "ears-c2": (ears_c, _EARS, {"method": "C2"}),
    "ears-c3": (
        ears_c,
        {**_EARS, "c3_form": ("c3_form", _p_choice("c3_form", ("surveillance", "cdc")))},
        {"method": "C3"},
    ),
    "cusum": (
        cusum,
        {"k": ("k", _p_float("k", 0.0)), "h": ("h", _p_float("h", 0.0, open_lo=True)), **_CONTROL,
         "m": ("m", _p_float("m", 0.0, open_lo=True)), "trans": ("trans", _p_choice("trans", ("standard", "rossi")))},
        {},
    ),
    "farrington-flexible": (
        farrington_flexible,
        {
            "b": ("b", _p_int("b", 1)),
            "w": ("w", _p_int("w", 0)),
            "reweight": ("reweight", _p_bool("reweight")),
            "weightsThreshold": ("weights_threshold", _p_float("weightsThreshold", 0.0)),
            "alpha": ("alpha", _p_float("alpha", 0.0, 0.5, open_lo=True)),
            "trend": ("trend", _p_bool("trend")),
            "pThresholdTrend": ("p_threshold_trend", _p_float("pThresholdTrend", 0.0, 1.0)),
            "limit54": ("limit54", _p_limit54),
            "powertrans": ("powertrans", _p_choice("powertrans", ("2/3", "1/2", "none"))),
            "noPeriods": ("no_periods", _p_int("noPeriods", 1)),
            "pastWeeksNotIncluded": ("past_weeks_not_included", _p_int("pastWeeksNotIncluded", 0)),
            "thresholdMethod": ("threshold_method", _p_choice("thresholdMethod", ("delta", "nbPlugin", "muan"))),
        },
        {},
    ),
    "ewma": (
        ewma,
        {"lambda": ("lam", _p_float("lambda", 0.0, 1.0, open_lo=True)), "L": ("L", _p_float("L", 0.0, open_lo=True)), **_CONTROL},
        {},
    ),
    "moving-percentile": (
        moving_percentile,
        {
            "window": ("window", _p_int("window", 1)),
            "years": ("years", _p_int("years", 1)),
            "weeks_around": ("weeks_around", _p_int("weeks_around", 0)),
            "percentile": ("percentile", _p_float("percentile", 0.0, 100.0)),
            "min_count": ("min_count", _p_float("min_count", 0.0)),
            "min_baseline_windows": ("min_baseline_windows", _p_int("min_baseline_windows", 1)),
            "quantile_method": (
                "quantile_method",
                _p_choice("quantile_method", ("linear", "lower", "higher", "nearest", "midpoint")),
            ),
        },
        {},
    ),
    "count-threshold": (
        count_threshold,
        {"min_cases": ("min_cases", _p_int("min_cases", 1)), "window": ("window", _p_int("window", 1))},
        {"min_cases": 1},
    ),
}


_R_CUSUM = ("k", "h", "m", "trans")


def _cusum_variant(kwargs: dict[str, Any]) -> Callable[..., DetectionResult]:
    """With ``m`` the model is R's algo.cusum (k, h, m, trans only); without it ``trans`` is refused."""
    if "m" not in kwargs:
        if "trans" in kwargs:
            raise SeriesInputError("series.bad_param", "parameter trans needs m (R's algo.cusum mode)", field="trans")
        return cusum
    extra = [name for name in kwargs if name not in _R_CUSUM]
    if extra:
        raise SeriesInputError(
            "series.bad_param", f"with m (R's algo.cusum) cusum takes only k, h, m, trans; not {extra[0]}", field=extra[0]
        )
    return cusum_r


def _parse_weekly(csv_text: str) -> DailySeries:
    """``date,count`` with one row per week dated by its Monday (see alerting/weekly_series.py)."""
    daily = parse_series(csv_text, fill_gaps=True)
    check_weekly(_rows(csv_text, "series"), lambda code, msg, line: SeriesInputError(code, msg, line, "date"))
    days, counts = weekly_counts(daily.dates, daily.counts)
    return DailySeries(days, counts)


def run_series(model: str, params: dict[str, str], csv_text: str) -> str:
    """Run one detector over ``date,count`` CSV text; return ``date,observed,threshold,alarm`` CSV."""
    if model not in MODELS:
        raise SeriesInputError(
            "series.unknown_model", f"unknown model {model!r}; use one of {', '.join(MODELS)}", field="model"
        )
    func, spec, fixed = MODELS[model]
    kwargs: dict[str, Any] = dict(fixed)
    fill_gaps = False
    for name, raw in params.items():
        if name == "fill_gaps":
            fill_gaps = _p_bool("fill_gaps")(str(raw))
            continue
        if name not in spec:
            allowed = ", ".join([*spec, "fill_gaps"])
            raise SeriesInputError(
                "series.unknown_param", f"model {model} has no parameter {name!r} (it takes {allowed})", field=name
            )
        key, parse = spec[name]
        kwargs[key] = parse(str(raw))
    if ("mu" in kwargs) != ("sigma" in kwargs):
        raise SeriesInputError("series.bad_param", "give both mu and sigma, or neither", field="mu")
    if func is cusum:
        func = _cusum_variant(kwargs)
    series = _parse_weekly(csv_text) if func is farrington_flexible else parse_series(csv_text, fill_gaps=fill_gaps)
    index = pd.DatetimeIndex(pd.to_datetime(series.dates))
    try:
        result = (func(series.counts, index, **kwargs) if func is moving_percentile
                  else func(series.counts, dates=index, **kwargs))
    except DetectorInputError as exc:
        code = "series.too_short" if exc.code == "detector.too_short" else "series.bad_param"
        raise SeriesInputError(code, str(exc)) from exc
    if not result.evaluated.any():
        raise SeriesInputError(
            "series.too_short", f"{len(series.dates)} days are too few for {model} with these parameters"
        )
    out = io.StringIO()
    out.write("date,observed,threshold,alarm\n")
    for i, d in enumerate(series.dates):
        thr = result.threshold[i]
        ok = bool(result.evaluated[i]) and not math.isnan(thr)
        alarm = ("1" if result.alarm[i] else "0") if ok else ""
        out.write(f"{d.isoformat()},{_fmt(result.observed[i])},{_fmt(thr) if ok else ''},{alarm}\n")
    return out.getvalue()


def parse_si(si_csv: str) -> np.ndarray:
    """Parse ``k,p`` serial-interval CSV (k = 0, 1, 2, ... in order) into the probability vector."""
    rows = _rows(si_csv, "si")
    line, header = rows[0]
    if [h.lower() for h in header] != ["k", "p"]:
        raise SeriesInputError("si.bad_header", f"si line {line}: header must be 'k,p', got {','.join(header)!r}", line)
    if len(rows) == 1:
        raise SeriesInputError("si.empty", f"si line {line}: no data rows after the header", line)
    probs: list[float] = []
    for line, row in rows[1:]:
        if len(row) != 2:
            raise SeriesInputError("si.bad_row", f"si line {line}: expected 2 fields (k,p), got {len(row)}", line)
        try:
            k = int(row[0])
        except ValueError:
            raise SeriesInputError("si.bad_k", f"si line {line}, field 'k': {row[0]!r} is not an integer", line, "k") from None
        if k != len(probs):
            raise SeriesInputError(
                "si.bad_k", f"si line {line}, field 'k': expected {len(probs)} (k runs 0, 1, 2, ...), got {k}", line, "k"
            )
        try:
            p = float(row[1])
        except ValueError:
            p = math.nan
        if not math.isfinite(p) or p < 0:
            raise SeriesInputError(
                "si.bad_p", f"si line {line}, field 'p': {row[1]!r} is not a non-negative number", line, "p"
            )
        probs.append(p)
    return np.asarray(probs)


def run_rt(si_csv: str, cases_csv: str, window: int = 7) -> str:
    """EpiEstim non-parametric-SI Rt over sliding windows; CSV ``t_start,t_end,mean,std,q025,median,q975``."""
    si = parse_si(si_csv)
    series = parse_series(cases_csv, source="cases")
    if isinstance(window, bool) or int(window) != window or window < 1:
        raise SeriesInputError("rt.bad_window", f"window must be a whole number ≥ 1, got {window!r}", field="window")
    try:
        res = estimate_r(series.counts, "non_parametric_si", si_distr=si, window=int(window))
    except RtInputError as exc:
        code = {"rt.bad_si": "si.bad_distribution"}.get(exc.code, exc.code)
        raise SeriesInputError(code, str(exc)) from exc
    out = io.StringIO()
    out.write("t_start,t_end,mean,std,q025,median,q975\n")
    for i in range(res.t_start.size):
        vals = [res.mean[i], res.std[i], res.q025[i], res.median[i], res.q975[i]]
        out.write(f"{int(res.t_start[i])},{int(res.t_end[i])}," + ",".join(_fmt(v) for v in vals) + "\n")
    return out.getvalue()
