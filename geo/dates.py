"""Range checks for every date and datetime that enters the system: one window per kind of field.

Parsing alone accepts 0001-01-01 and 9999-12-31 (and offsets up to ±23:59), which later overflow
date arithmetic, time-zone conversion or the database driver. Each edge (REST bodies and query
strings, the city API, ingest batches, feeds, CLI imports, Dash inputs) checks its dates against
one of the windows below:

- PAST     things that happened (onset, report, sample, feed day, GPS fix): [1900-01-01, tomorrow]
- DEADLINE task deadlines: [now − 1 day, now + 5 years]
- QUERY    query windows (since/until/date/as_of/day): [1900-01-01, today + 1 year]

"Now" is injectable: pydantic validation context `{"now": datetime}`, `frozen_now(...)`, or the
`now` argument of the plain functions. Dates are days in Asia/Shanghai; naive times are Beijing time.
Refusals carry the stable code `invalid.date_range`, the field, and English and Chinese messages.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, AwareDatetime, ValidationInfo
from pydantic_core import PydanticCustomError
from sqlalchemy import DateTime, func, literal
from sqlalchemy.types import TypeDecorator

from core.errors import DomainError

CST = timezone(timedelta(hours=8))
FLOOR_DAY = date(1900, 1, 1)
CODE = "invalid.date_range"
FORMAT_CODE = "invalid.date_format"
# What reading code shows for a stored time outside Python's range (kept clear of year 1 and 9999 so
# conversion to any offset cannot overflow).
READ_FLOOR = datetime(1, 1, 3, tzinfo=UTC)
READ_CEILING = datetime(9999, 12, 29, tzinfo=UTC)

_now_override: ContextVar[datetime | None] = ContextVar("onemap_now", default=None)


def now_utc() -> datetime:
    """The current time (UTC), or the one `frozen_now` set."""
    return _now_override.get() or datetime.now(UTC)


@contextmanager
def frozen_now(now: datetime) -> Iterator[None]:
    """Make every window use `now` (aware) as the current time inside the block."""
    token = _now_override.set(now.astimezone(UTC))
    try:
        yield
    finally:
        _now_override.reset(token)


def _day(now: datetime) -> date:
    return now.astimezone(CST).date()


def _at_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=CST)


def _at_end(day: date) -> datetime:
    return datetime.combine(day, time.max, tzinfo=CST)


@dataclass(frozen=True)
class Window:
    """An inclusive range of allowed instants, computed from the current time."""

    name: str
    lower: Callable[[datetime], datetime]
    upper: Callable[[datetime], datetime]
    label_zh: str

    def bounds(self, now: datetime | None = None) -> tuple[datetime, datetime]:
        now = now or now_utc()
        return self.lower(now), self.upper(now)

    def day_bounds(self, now: datetime | None = None) -> tuple[date, date]:
        lo, hi = self.bounds(now)
        return lo.astimezone(CST).date(), hi.astimezone(CST).date()


PAST = Window("past", lambda now: _at_start(FLOOR_DAY), lambda now: _at_end(_day(now) + timedelta(days=1)),
              "不早于1900-01-01且不晚于明天")
DEADLINE = Window("deadline", lambda now: now - timedelta(days=1), lambda now: now + timedelta(days=5 * 365 + 1),
                  "须在当前时间前1天至5年后之间")
# For fields whose own, stricter check refuses the future (with its established code, e.g.
# invalid.date_in_future): only the floor is added here, the ceiling is the end of the calendar.
RECORDED = Window("recorded", lambda now: _at_start(FLOOR_DAY), lambda now: READ_CEILING, "不早于1900-01-01")
QUERY = Window("query", lambda now: _at_start(FLOOR_DAY), lambda now: _at_end(_day(now) + timedelta(days=366)),
               "不早于1900-01-01且不晚于一年后")


class DateRangeError(DomainError, ValueError):
    """A date outside its window (or unreadable): the field, a stable code, English and Chinese messages."""

    field: str

    def __init__(self, field: str, code: str, message: str, message_zh: str) -> None:
        super().__init__("invalid", code, message, message_zh, field)


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=CST) if value.tzinfo is None else value


def _outside(value: date | datetime, window: Window, now: datetime | None) -> tuple[str, str] | None:
    """(low, high) as text when `value` lies outside `window`, else None. Never converts `value`."""
    if isinstance(value, datetime):
        lo, hi = window.bounds(now)
        if lo <= _aware(value) <= hi:  # aware comparison works without overflow at the calendar's ends
            return None
        return lo.astimezone(CST).isoformat(timespec="minutes"), hi.astimezone(CST).isoformat(timespec="minutes")
    lo_day, hi_day = window.day_bounds(now)
    if lo_day <= value <= hi_day:
        return None
    return lo_day.isoformat(), hi_day.isoformat()


_Day = TypeVar("_Day", bound=date)


def check(value: _Day | None, window: Window, field: str, now: datetime | None = None) -> _Day | None:
    """`value` (a date or datetime, or None) if inside `window`; DateRangeError naming `field` otherwise."""
    if value is None:
        return None
    bad = _outside(value, window, now)
    if bad is None:
        return value
    raise DateRangeError(field, CODE, f"{field} must lie between {bad[0]} and {bad[1]}",
                         f"{field} 超出允许范围（{window.label_zh}：{bad[0]} 至 {bad[1]}）")


def parse_date(raw: str | None, field: str, window: Window = QUERY, now: datetime | None = None) -> date | None:
    """A YYYY-MM-DD query parameter inside `window`; None when absent or empty."""
    if raw is None or raw == "":
        return None
    try:
        value = date.fromisoformat(raw) if len(raw) == 10 else None
    except ValueError:
        value = None
    if value is None:
        raise DateRangeError(field, FORMAT_CODE, f"{field} must be a date YYYY-MM-DD",
                             f"{field} 日期格式应为 YYYY-MM-DD")
    return check(value, window, field, now)


def parse_datetime(raw: str | None, field: str, window: Window, now: datetime | None = None) -> datetime | None:
    """An ISO 8601 time inside `window` (naive = Beijing time); None when absent or empty."""
    if raw is None or raw == "":
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise DateRangeError(field, FORMAT_CODE, f"{field} must be an ISO 8601 time",
                             f"{field} 时间格式不正确") from None
    return check(_aware(value), window, field, now)


# ---------------------------------------------------------------- pydantic

def _validator(window: Window) -> AfterValidator:
    def validate(value: Any, info: ValidationInfo) -> Any:
        now = (info.context or {}).get("now") if isinstance(info.context, dict) else None
        field = info.field_name or "date"
        try:
            return check(value, window, field, now)
        except DateRangeError as exc:
            raise PydanticCustomError("date_range", "{message}",
                                      {"message": exc.message, "message_zh": exc.message_zh}) from None
    return AfterValidator(validate)


PastDate = Annotated[date, _validator(PAST)]
RecordedDate = Annotated[date, _validator(RECORDED)]
RecordedDateTime = Annotated[datetime, _validator(RECORDED)]
PastDateTime = Annotated[datetime, _validator(PAST)]
DeadlineDateTime = Annotated[AwareDatetime, _validator(DEADLINE)]
QueryDate = Annotated[date, _validator(QUERY)]
QueryDateTime = Annotated[datetime, _validator(QUERY)]


class TolerantDateTime(TypeDecorator[datetime]):
    """timestamptz read back clamped into [READ_FLOOR, READ_CEILING] by the database itself.

    A row written before the range checks (year 0 BC, 'infinity', 9999-12-31 23:59) would otherwise
    fail in the driver ("timestamp too small") or overflow the conversion to Beijing time, and take
    every list that contains it down. Comparisons and ordering still use the stored value.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def column_expression(self, column: Any) -> Any:
        plain = DateTime(timezone=True)
        return func.greatest(func.least(column, literal(READ_CEILING, plain)), literal(READ_FLOOR, plain),
                             type_=plain)
