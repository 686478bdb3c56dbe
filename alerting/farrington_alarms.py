"""Farrington flexible (R surveillance farringtonFlexible) in the warning runner, on ISO-week case counts.

Daily case counts by onset (reports known at the end of `as_of`) are summed into ISO weeks (Monday to
Sunday) per street and per district, like the moving percentile's levels. Only the most recent completed
week is evaluated (its Sunday is on or before `as_of`); a series is fitted only when that week can alarm at
all (R's `limit54`: enough cases in the last weeks). An alarm is dated by the week's Sunday, so the runs of
the following week find the same alarm again (`service.raise_alarm` keeps it unchanged) and an alarm in the
next week continues it. Without `52·b + w + 1` completed weeks since the first case the model is skipped and
the reason is logged and returned.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from geoalchemy2.shape import to_shape

from alerting import series as sq
from alerting.config import FarringtonCfg
from alerting.detectors.farrington import farrington_flexible
from alerting.evidence import Evidence, json_number
from alerting.run_context import RunContext
from alerting.service import Alarm

MODEL = "farrington_flexible"
EVIDENCE_WEEKS = 12
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WeeklyFrame:
    """Counts per (region_code, disease_code) row and ISO week (columns: the weeks' Mondays)."""

    counts: pd.DataFrame
    level: str


def last_completed_sunday(as_of: date) -> date:
    """The Sunday ending the latest ISO week completed by the end of `as_of` (as_of itself on a Sunday)."""
    return as_of - timedelta(days=(as_of.weekday() + 1) % 7)


def first_full_monday(day: date) -> date:
    """The Monday on or after `day`: the first week the data covers completely."""
    return day + timedelta(days=(7 - day.weekday()) % 7)


def to_weeks(daily: pd.DataFrame, first_monday: date, last_sunday: date) -> pd.DataFrame:
    """Daily columns → ISO-week sums over [first_monday, last_sunday] (whole weeks only)."""
    days = pd.date_range(first_monday, last_sunday, freq="D")
    values = daily.reindex(columns=days, fill_value=0).to_numpy(dtype=float)
    weeks = len(days) // 7
    summed = values.reshape(values.shape[0], weeks, 7).sum(axis=2)
    return pd.DataFrame(summed, index=daily.index, columns=pd.date_range(first_monday, periods=weeks, freq="7D"))


def history_gap(ctx: RunContext, f: FarringtonCfg) -> tuple[date, date] | str:
    """(first Monday, last Sunday) of the weeks to load, or why the model cannot run."""
    last_sunday = last_completed_sunday(ctx.as_of)
    first = sq.first_case_day(ctx.session, district_code=ctx.district_code)
    if first is None:
        return "no cases"
    monday = first_full_monday(first)
    have = max(0, ((last_sunday - monday).days + 1) // 7)
    need = f.weeks_needed()
    if have < need:
        return f"history too short: {have} completed weeks since {monday}, b={f.b}, w={f.w} need {need}"
    weeks = min(have, need + f.b + 1)  # a margin: the same week b years back may lie a week beyond 52·b
    return last_sunday - timedelta(days=7 * weeks - 1), last_sunday


def weekly_frames(ctx: RunContext, first_monday: date, last_sunday: date) -> list[WeeklyFrame]:
    """The configured levels' weekly series (reports received by the end of `as_of` count)."""
    out = []
    for level in ctx.cfg.farrington.levels:
        daily = sq.case_counts(ctx.session, level=level, start=first_monday, end=ctx.as_of,
                               district_code=ctx.district_code)
        out.append(WeeklyFrame(to_weeks(daily, first_monday, last_sunday), level))
    return out


def can_alarm(values: np.ndarray, limit54: tuple[int, int]) -> np.ndarray:
    """Rows whose last week may alarm: ≥ limit54[0] cases in the last limit54[1] weeks and a case this week."""
    cases, weeks = limit54
    may_alarm: np.ndarray = (values[:, -weeks:].sum(axis=1) >= cases) & (values[:, -1] > 0)
    return may_alarm


def _title(ctx: RunContext, region: str, disease: str, monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return (f"{_name(ctx.regions, region)}{_name(ctx.diseases, disease)}{year}年第{week}周病例数"
            f"超过历史同期上限（Farrington）")


def _name(table: dict[str, Any], code: str) -> str:
    row = table.get(code)
    return row.name if row is not None else code


def _geometry(ctx: RunContext, region: str) -> Any:
    row = ctx.regions.get(region)
    return to_shape(row.geom) if row is not None and row.geom is not None else None


def _weekly_evidence(mondays: pd.DatetimeIndex, counts: np.ndarray, upper: float | None,
                     expected: float | None) -> dict[str, Any]:
    """The last weeks (dated by their Mondays); bound and expectation of the evaluated last week only."""
    blank: list[float | None] = [None] * (len(mondays) - 1)
    return {"dates": [d.date().isoformat() for d in mondays], "counts": [float(v) for v in counts],
            "threshold": [*blank, upper], "baseline": [*blank, expected], "unit": "week"}


def _alarm(ctx: RunContext, frame: WeeklyFrame, row: int, r: Any) -> Alarm:
    region, disease = frame.counts.index[row]
    mondays = pd.DatetimeIndex(frame.counts.columns)
    monday = mondays[-1].date()
    sunday = monday + timedelta(days=6)
    counts = frame.counts.to_numpy()[row]
    observed, upper = float(counts[-1]), json_number(r.threshold[-1])
    expected = json_number(r.extra["expected"][-1])
    tail = slice(max(0, len(mondays) - EVIDENCE_WEEKS), len(mondays))
    year, week, _ = monday.isocalendar()
    evidence = Evidence(
        model=MODEL, level=frame.level, as_of=ctx.as_of, alarm_day=sunday, observed=observed, threshold=upper,
        baseline=expected, parameters=r.params, disease_name=_name(ctx.diseases, disease),
        region_name=_name(ctx.regions, region), series=_weekly_evidence(mondays[tail], counts[tail], upper, expected),
        details={"week_start": monday.isoformat(), "iso_week": f"{year}-W{week:02d}", "expected": expected})
    return Alarm(model=MODEL, district_code=region[:6], region_code=region, disease_code=disease,
                 title=_title(ctx, region, disease, monday), as_of=sunday, observed=observed, threshold=upper,
                 window_start=monday, params=r.params, evidence=evidence.as_json(), geometry=_geometry(ctx, region),
                 push_region_codes=[region])


def frame_alarms(ctx: RunContext, frame: WeeklyFrame) -> list[Alarm]:
    """Alarms of the last week of every series of one level that can alarm."""
    f = ctx.cfg.farrington
    values = frame.counts.to_numpy()
    rows = np.flatnonzero(can_alarm(values, f.limit54)) if values.size else np.array([], dtype=int)
    if rows.size == 0:
        return []
    with np.errstate(over="ignore"):  # a diverging fit's exp() is R's Inf too: no bound, no alarm
        res = farrington_flexible(values[rows], dates=frame.counts.columns, last_n_weeks=1, **f.control())
    return [_alarm(ctx, frame, int(row), res.series(j)) for j, row in enumerate(rows) if res.series(j).alarm[-1]]


def farrington_alarms(ctx: RunContext) -> tuple[list[Alarm], str | None]:
    """The runner's Farrington alarms for `ctx.as_of`, and why the model was skipped (None when it ran)."""
    f = ctx.cfg.farrington
    if not f.enabled:
        return [], "disabled"
    span = history_gap(ctx, f)
    if isinstance(span, str):
        log.info("farrington_flexible skipped for district %s on %s: %s", ctx.district_code or "*", ctx.as_of, span)
        return [], span
    alarms: list[Alarm] = []
    for frame in weekly_frames(ctx, *span):
        alarms += frame_alarms(ctx, frame)
    return alarms, None
