"""Intake records as validated at the edge: one pydantic model per kind, plus per-record outcomes.

Every record carries the code of its source (institution, team or resource site) and the source
system's own id; together they form `source_id`, the idempotency key.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from feeds.schemas import FEED_MESSAGES_ZH, FEED_SCHEMAS  # other departments' feeds (issue #10)
from geo.dates import PastDate, RecordedDate, RecordedDateTime, now_utc
from geo.schemas import GeoPoint
from store.cases import OUTCOMES, SYNDROMES
from store.response import TEAM_STATUSES

CST = timezone(timedelta(hours=8))
MAX_FUTURE = timedelta(minutes=10)
ID_NUMBER_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_NUMBER_CHECK = "10X98765432"

Code = Annotated[str, Field(min_length=1, max_length=38, pattern=r"^[A-Za-z0-9_.\-]+$")]
RecordId = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.:\-]+$")]
RegionCode = Annotated[str, Field(pattern=r"^\d{6}(\d{3}(\d{3})?)?$")]


def _aware(value: datetime) -> datetime:
    """Times without an offset are Beijing time (what Chinese source systems send)."""
    return value.replace(tzinfo=CST) if value.tzinfo is None else value


def _not_future(value: datetime) -> datetime:
    if value > now_utc() + MAX_FUTURE:
        raise PydanticCustomError("time_in_future", "time lies in the future")
    return value


def check_id_number(value: str) -> str:
    """A resident ID number (GB 11643): 18 characters with a valid MOD 11-2 check digit."""
    value = value.strip().upper()
    if not re.fullmatch(r"\d{17}[\dX]", value):
        raise PydanticCustomError("id_number_format", "id_number must be 17 digits and a check digit")
    total = sum(int(d) * w for d, w in zip(value[:17], ID_NUMBER_WEIGHTS))
    if ID_NUMBER_CHECK[total % 11] != value[17]:
        raise PydanticCustomError("id_number_checksum", "id_number check digit is wrong")
    return value


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _Located(_Record, GeoPoint):
    """A record that may carry a point: lon/lat in WGS84, CGCS2000, GCJ-02 or BD-09."""


class Patient(_Record):
    """Identity of the patient; stored only encrypted, never echoed."""

    name: str | None = Field(default=None, min_length=1, max_length=50)
    id_number: str | None = None
    phone: str | None = Field(default=None, pattern=r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8}|\d{8})$")
    address: str | None = Field(default=None, min_length=2, max_length=200)

    @field_validator("id_number")
    @classmethod
    def _id_number(cls, value: str | None) -> str | None:
        return None if value is None else check_id_number(value)


class CaseReportIn(_Located):
    """A notifiable-disease report card (传染病报告卡)."""

    institution_code: Code
    record_id: RecordId
    version: int = Field(default=1, ge=1, le=1_000_000)
    disease_code: str = Field(min_length=1, max_length=20)
    case_type: Literal["confirmed", "clinical", "suspected", "carrier"] = "confirmed"
    onset_date: RecordedDate  # _onset refuses the future
    diagnosis_time: RecordedDateTime
    report_time: RecordedDateTime
    audit_time: RecordedDateTime | None = None
    region_code: RegionCode | None = None
    age: int | None = Field(default=None, ge=0, le=130)
    sex: Literal["M", "F"] | None = None
    occupation: str | None = Field(default=None, max_length=20)
    outcome: Literal[OUTCOMES] = "under_treatment"  # type: ignore[valid-type]
    death_date: PastDate | None = None
    patient: Patient | None = None

    @field_validator("diagnosis_time", "report_time", "audit_time")
    @classmethod
    def check_times(cls, value: datetime | None) -> datetime | None:
        return None if value is None else _not_future(_aware(value))

    @field_validator("onset_date")
    @classmethod
    def _onset(cls, value: date) -> date:
        if value > now_utc().astimezone(CST).date():
            raise PydanticCustomError("date_in_future", "onset_date lies in the future")
        return value

    @model_validator(mode="after")
    def _order(self) -> CaseReportIn:
        if self.diagnosis_time.astimezone(CST).date() < self.onset_date:
            raise _err("diagnosis_time", "time_order", "diagnosis_time is before onset_date")
        if self.report_time < self.diagnosis_time:
            raise _err("report_time", "time_order", "report_time is before diagnosis_time")
        if self.audit_time is not None and self.audit_time < self.report_time:
            raise _err("audit_time", "time_order", "audit_time is before report_time")
        if self.death_date is not None and (self.outcome != "died" or self.death_date < self.onset_date):
            raise _err("death_date", "death_date_inconsistent", "death_date needs outcome 'died' and onset before")
        return self


class SyndromicCountIn(_Record):
    """Visits and cases of one syndrome at one institution on one day (counts of the day so far)."""

    institution_code: Code
    record_id: RecordId
    day: RecordedDate  # _counts refuses the future
    syndrome: Literal[SYNDROMES]  # type: ignore[valid-type]
    visits: int = Field(ge=0, le=1_000_000)
    cases: int = Field(ge=0, le=1_000_000)

    @model_validator(mode="after")
    def _counts(self) -> SyndromicCountIn:
        if self.cases > self.visits:
            raise _err("cases", "cases_exceed_visits", "cases exceed visits")
        if self.day > now_utc().astimezone(CST).date():
            raise _err("day", "date_in_future", "day lies in the future")
        return self


class LabResultIn(_Record):
    """One laboratory test of one sample for one pathogen."""

    institution_code: Code
    record_id: RecordId
    sample_id: str = Field(min_length=1, max_length=60)
    pathogen: str = Field(min_length=1, max_length=60)
    result: Literal["positive", "negative", "pending", "indeterminate"]
    sample_time: RecordedDateTime
    result_time: RecordedDateTime | None = None
    region_code: RegionCode | None = None
    case_source_id: str | None = Field(default=None, max_length=80)

    @field_validator("sample_time", "result_time")
    @classmethod
    def check_times(cls, value: datetime | None) -> datetime | None:
        return None if value is None else _not_future(_aware(value))

    @model_validator(mode="after")
    def _order(self) -> LabResultIn:
        if self.result_time is not None and self.result_time < self.sample_time:
            raise _err("result_time", "time_order", "result_time is before sample_time")
        if self.result != "pending" and self.result_time is None:
            raise _err("result_time", "missing", "result_time is required once a result is known")
        return self


class TeamPositionIn(_Located):
    """One GPS fix of a response team; `status` optionally changes the team's status."""

    team_code: Code
    record_id: RecordId
    time: RecordedDateTime
    lon: float = Field(ge=73, le=136)
    lat: float = Field(ge=3, le=54)
    speed_kmh: float | None = Field(default=None, ge=0, le=250)
    status: Literal[TEAM_STATUSES] | None = None  # type: ignore[valid-type]

    @field_validator("time")
    @classmethod
    def check_time(cls, value: datetime) -> datetime:
        return _not_future(_aware(value))


class StockChangeIn(_Record):
    """Stock received (in), used (out) or allocated to a task at a resource site."""

    site_code: Code
    record_id: RecordId
    item_code: str = Field(min_length=1, max_length=40)
    kind: Literal["in", "out", "allocate"]
    quantity: float = Field(gt=0, le=1e9)
    time: RecordedDateTime
    note: str | None = Field(default=None, max_length=500)
    # Needed only when an item is received at a site for the first time.
    item_name: str | None = Field(default=None, max_length=100)
    category: str | None = Field(default=None, max_length=30)
    unit: str | None = Field(default=None, max_length=10)
    min_level: float | None = Field(default=None, ge=0)

    @field_validator("time")
    @classmethod
    def check_time(cls, value: datetime) -> datetime:
        return _not_future(_aware(value))

    @property
    def delta(self) -> float:
        return self.quantity if self.kind == "in" else -self.quantity


SCHEMAS: dict[str, type[_Record]] = {
    "case_report": CaseReportIn,
    "syndromic_count": SyndromicCountIn,
    "lab_result": LabResultIn,
    "team_position": TeamPositionIn,
    "stock_change": StockChangeIn,
}
SCHEMAS.update(FEED_SCHEMAS)  # school_absence, drug_sales, weather_daily, opinion_item (feeds/schemas.py)
KINDS = tuple(SCHEMAS)


def source_id_of(record: _Record) -> str:
    """`<institution|team|site code>:<source system id>`, the idempotency key."""
    if hasattr(record, "source_id"):  # feed kinds derive it from their natural key
        return record.source_id  # type: ignore[attr-defined]
    owner = getattr(record, "institution_code", None) or getattr(record, "team_code", None) or record.site_code  # type: ignore[attr-defined]
    return f"{owner}:{record.record_id}"  # type: ignore[attr-defined]


def _err(field: str, code: str, message: str) -> PydanticCustomError:
    return PydanticCustomError(code, message, {"field": field})


# --- outcomes -------------------------------------------------------------------------------------

_ZH = {
    "missing": "缺少必填字段", "extra_forbidden": "不允许的字段", "string_too_long": "字段过长",
    "string_too_short": "字段不能为空", "string_pattern_mismatch": "格式不正确", "literal_error": "取值不在允许范围内",
    "greater_than_equal": "数值过小", "less_than_equal": "数值过大", "greater_than": "数值必须大于0",
    "int_parsing": "应为整数", "float_parsing": "应为数字", "date_from_datetime_parsing": "日期格式不正确",
    "date_parsing": "日期格式不正确", "datetime_parsing": "时间格式不正确", "datetime_from_date_parsing": "时间格式不正确",
    "string_type": "应为文本", "int_type": "应为整数", "float_type": "应为数字", "model_type": "应为对象",
    "time_in_future": "时间晚于当前时间", "date_in_future": "日期晚于当前日期", "time_order": "时间先后顺序不合理",
    "date_range": "日期或时间超出允许范围（1900-01-01 至明天）",
    "id_number_format": "身份证号格式不正确", "id_number_checksum": "身份证号校验位错误",
    "crs_unknown": "不支持的坐标系", "point_incomplete": "经度与纬度须同时提供",
    "cases_exceed_visits": "病例数不能大于就诊数", "death_date_inconsistent": "死亡日期与转归不一致",
    "ref.unknown_institution": "机构编码不存在", "ref.unknown_disease": "疾病编码不存在",
    "ref.unknown_region": "区划编码不存在", "ref.unknown_team": "队伍编码不存在", "ref.unknown_site": "物资点编码不存在",
    "ref.unknown_item": "该物资点无此物资，首次入库须提供名称、类别和单位",
    "scope.forbidden": "无权提交该机构或辖区的数据", "geo.outside_district": "坐标不在报告辖区内",
    "geo.region_outside_district": "区划不属于报告辖区", "stock.insufficient": "库存不足",
    "pii.cipher_unavailable": "未配置个人信息加密密钥，无法接收身份信息", "conflict.source_id": "来源编号与其他记录冲突",
    "record.not_object": "记录应为对象", "db.rejected": "数据库拒绝该记录",
}
_ZH.update({k: v for k, v in FEED_MESSAGES_ZH.items() if k not in _ZH})


class FieldError(BaseModel):
    """Why one record was refused: the field, a stable code and messages in English and Chinese."""

    field: str | None
    code: str
    message: str
    message_zh: str


def field_error(field: str | None, code: str, message: str) -> FieldError:
    """A FieldError with the Chinese message looked up from its code."""
    return FieldError(field=field, code=code, message=message, message_zh=_ZH.get(code, "字段值不合法"))


def errors_of(exc: ValidationError) -> list[FieldError]:
    """Pydantic errors as FieldErrors with dotted paths; values are never echoed (they may be personal)."""
    out = []
    for e in exc.errors(include_url=False, include_input=False):
        loc = ".".join(str(p) for p in e["loc"]) or (e.get("ctx") or {}).get("field")
        zh = (e.get("ctx") or {}).get("message_zh") or _ZH.get(e["type"], "字段值不合法")
        out.append(FieldError(field=loc or None, code=f"invalid.{e['type']}", message=e["msg"], message_zh=zh))
    return out


class RecordOutcome(BaseModel):
    """What happened to one record of a batch (`index` is its position in the request)."""

    index: int
    status: Literal["created", "updated", "unchanged", "rejected"]
    source_id: str | None = None
    id: int | None = None
    errors: list[FieldError] = []


class BatchResult(BaseModel):
    """The outcome of every record of a batch, in request order."""

    kind: str
    accepted: int
    rejected: int
    results: list[RecordOutcome]


def parse_record(kind: str, raw: Any) -> tuple[_Record | None, list[FieldError]]:
    """Validate one raw record of `kind`; returns the model or its field errors."""
    if not isinstance(raw, dict):
        return None, [field_error(None, "record.not_object", "record must be a JSON object")]
    try:
        return SCHEMAS[kind].model_validate(raw), []
    except ValidationError as exc:
        return None, errors_of(exc)
