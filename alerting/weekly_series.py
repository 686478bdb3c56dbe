"""Weekly ``date,count`` CSV for the weekly models: one row per week, dated by its Monday.

The rows pass the daily parser's checks first (header, dates, counts, order, duplicates); then
every date must be a Monday and each row the week after the previous one. A bad row raises
:class:`~alerting.series_cli.SeriesInputError` naming its line.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date

import numpy as np

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def check_weekly(rows: list[tuple[int, list[str]]], error: Callable[[str, str, int], Exception]) -> None:
    """Refuse a data row whose date is not a Monday or not 7 days after the previous row's."""
    prev: date | None = None
    for line, row in rows[1:]:
        d = date.fromisoformat(row[0])
        if d.weekday() != 0:
            raise error("series.not_monday",
                        f"series line {line}, field 'date': {row[0]} is a {WEEKDAYS[d.weekday()]}; weekly counts "
                        "are dated by the Monday of their week", line)
        if prev is not None and (d - prev).days != 7:
            missing = (d - prev).days // 7 - 1
            raise error("series.gap",
                        f"series line {line}, field 'date': {missing} week(s) missing before {row[0]} "
                        "(give every week, with 0 for a week without cases)", line)
        prev = d


def weekly_counts(days: list[date], counts: np.ndarray) -> tuple[list[date], np.ndarray]:
    """The Mondays and their counts out of a daily parse made with ``fill_gaps`` (gaps hold 0)."""
    keep = [i for i, d in enumerate(days) if d.weekday() == 0]
    return [days[i] for i in keep], counts[keep]
