"""Click option type for days given on the command line, range-checked like every other date (geo.dates)."""
from __future__ import annotations

from datetime import datetime, time
from typing import Any

import click

from geo import dates


class Day(click.ParamType):
    """YYYY-MM-DD inside a window; converts to midnight (a datetime, as click.DateTime did)."""

    name = "YYYY-MM-DD"

    def __init__(self, window: dates.Window = dates.QUERY) -> None:
        self.window = window

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        field = param.name if param is not None and param.name else "date"
        try:
            day = dates.parse_date(str(value), field, self.window)
        except dates.DateRangeError as exc:
            self.fail(f"{exc.message} ({exc.code})", param, ctx)
        if day is None:
            self.fail("a date YYYY-MM-DD is required", param, ctx)
        return datetime.combine(day, time())


DAY = Day()
