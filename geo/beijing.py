"""Beijing time for people: the one way every page, the wall, the briefing and the API show a stored instant.

Instants are stored in UTC (timestamptz); whatever zone the database session or the browser uses, what a
user reads is the same instant in Asia/Shanghai (UTC+8, no daylight saving). Naive values are taken to be
Beijing time already (as everywhere else, see geo/dates.py). The browser side is assets/beijing_time.js.
"""
from __future__ import annotations

from datetime import datetime

from geo.dates import CST

__all__ = ["CST", "age_zh", "iso", "minute", "short", "to_beijing"]


def to_beijing(value: datetime | str | None) -> datetime | None:
    """`value` (aware datetime, naive Beijing time, or ISO 8601 text) as an aware Beijing-time datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value.replace(tzinfo=CST) if value.tzinfo is None else value.astimezone(CST)


def iso(value: datetime | str | None) -> str | None:
    """ISO 8601 with the +08:00 offset (what the API returns), seconds precision."""
    local = to_beijing(value)
    return local.isoformat(timespec="seconds") if local else None


def minute(value: datetime | str | None) -> str:
    """'YYYY-MM-DD HH:MM' in Beijing time; '' for no value."""
    local = to_beijing(value)
    return local.strftime("%Y-%m-%d %H:%M") if local else ""


def short(value: datetime | str | None) -> str:
    """'MM-DD HH:MM' in Beijing time (lists and boards); '' for no value."""
    local = to_beijing(value)
    return local.strftime("%m-%d %H:%M") if local else ""


def age_zh(value: datetime | str | None, now: datetime) -> str:
    """How long ago `value` was, in Chinese ('刚刚', '5 分钟前', '3 小时前', '2 天前'); '' for no value."""
    then = to_beijing(value)
    if then is None:
        return ""
    seconds = int((now.astimezone(CST) - then).total_seconds())
    if seconds < 60:
        return "刚刚"
    if seconds < 3600:
        return f"{seconds // 60} 分钟前"
    if seconds < 86400:
        return f"{seconds // 3600} 小时前"
    return f"{seconds // 86400} 天前"
