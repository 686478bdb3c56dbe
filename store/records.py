"""What every intake path (ingest batches, feed files) shares about a record: its base model, its rules,
its field errors (English and Chinese) and its outcome.

A package names its own error codes in a catalogue of Chinese messages built on `SHARED_ZH`;
`field_error`, `errors_of` and `parse` look messages up there, so one record reads the same wherever it
was refused.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

from geo.dates import CST, now_utc

MAX_FUTURE = timedelta(minutes=10)
FALLBACK_ZH = "字段值不合法"

Code = Annotated[str, Field(min_length=1, max_length=38, pattern=r"^[A-Za-z0-9_.\-]+$")]

# pydantic's own error types, and the codes the shared steps (parsing, points, dates, bulk writes) issue
SHARED_ZH: dict[str, str] = {
    "missing": "缺少必填字段", "extra_forbidden": "不允许的字段", "string_too_long": "字段过长",
    "string_too_short": "字段不能为空", "string_pattern_mismatch": "格式不正确", "literal_error": "取值不在允许范围内",
    "greater_than_equal": "数值过小", "less_than_equal": "数值过大", "int_parsing": "应为整数",
    "float_parsing": "应为数字", "date_parsing": "日期格式不正确", "date_from_datetime_parsing": "日期格式不正确",
    "datetime_parsing": "时间格式不正确", "datetime_from_date_parsing": "时间格式不正确",
    "time_in_future": "时间晚于当前时间", "date_in_future": "日期晚于当前日期",
    "date_range": "日期或时间超出允许范围（1900-01-01 至明天）",
    "crs_unknown": "不支持的坐标系", "point_incomplete": "经度与纬度须同时提供",
    "ref.unknown_region": "区划编码不存在", "conflict.source_id": "来源编号与其他记录冲突",
    "record.not_object": "记录应为对象", "db.rejected": "数据库拒绝该记录",
}


class Record(BaseModel):
    """An incoming record: unknown fields are refused, text is stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class FieldError(BaseModel):
    """Why one record was refused: the field, a stable code and messages in English and Chinese."""

    field: str | None
    code: str
    message: str
    message_zh: str


class RecordOutcome(BaseModel):
    """What happened to one record of a batch (`index` is its position in the request)."""

    index: int
    status: Literal["created", "updated", "unchanged", "rejected"]
    source_id: str | None = None
    id: int | None = None
    errors: list[FieldError] = []


def rule_error(field: str, code: str, message: str) -> PydanticCustomError:
    """A model validator's refusal, naming the field it is about."""
    return PydanticCustomError(code, message, {"field": field})


def recorded_time(value: datetime, message: str = "time lies in the future") -> datetime:
    """A time that has happened: without an offset it is Beijing time; at most `MAX_FUTURE` ahead."""
    value = value.replace(tzinfo=CST) if value.tzinfo is None else value
    if value > now_utc() + MAX_FUTURE:
        raise PydanticCustomError("time_in_future", message)
    return value


def today_cst() -> date:
    return now_utc().astimezone(CST).date()


def not_future_day(value: date, field: str) -> date:
    """A day that has begun in Beijing."""
    if value > today_cst():
        raise rule_error(field, "date_in_future", f"{field} lies in the future")
    return value


def field_error(field: str | None, code: str, message: str, messages: Mapping[str, str] = SHARED_ZH) -> FieldError:
    """A FieldError with the Chinese message looked up from its code in `messages`."""
    return FieldError(field=field, code=code, message=message, message_zh=messages.get(code, FALLBACK_ZH))


def errors_of(exc: ValidationError, messages: Mapping[str, str]) -> list[FieldError]:
    """Pydantic errors as FieldErrors with dotted paths; values are never echoed (they may be personal)."""
    out = []
    for e in exc.errors(include_url=False, include_input=False):
        ctx: dict[str, Any] = e.get("ctx") or {}
        loc = ".".join(str(p) for p in e["loc"]) or ctx.get("field")
        zh = ctx.get("message_zh") or messages.get(e["type"], FALLBACK_ZH)
        out.append(FieldError(field=loc or None, code=f"invalid.{e['type']}", message=e["msg"], message_zh=zh))
    return out


def parse(schema: type[Record], raw: Any, messages: Mapping[str, str],
          not_object: str = "record must be a JSON object") -> tuple[Record | None, list[FieldError]]:
    """Validate one raw record against `schema`; the model, or its field errors."""
    if not isinstance(raw, dict):
        return None, [field_error(None, "record.not_object", not_object, messages)]
    try:
        return schema.model_validate(raw), []
    except ValidationError as exc:
        return None, errors_of(exc, messages)
