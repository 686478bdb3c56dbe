"""Intake records as validated at the edge: one pydantic model per kind, plus per-record outcomes.

Every record carries the code of its source (institution, team or resource site) and the source
system's own id; together they form `source_id`, the idempotency key.
"""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from feeds.schemas import FEED_MESSAGES_ZH, FEED_SCHEMAS  # other departments' feeds (issue #10)
from geo.dates import CST, PastDate, RecordedDate, RecordedDateTime
from geo.schemas import GeoPoint
from store import records
from store.cases import OUTCOMES, SYNDROMES
from store.records import SHARED_ZH, Code, FieldError, Record, RecordOutcome, not_future_day, recorded_time, rule_error
from store.response import TEAM_STATUSES

ID_NUMBER_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_NUMBER_CHECK = "10X98765432"

RecordId = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.:\-]+$")]
RegionCode = Annotated[str, Field(pattern=r"^\d{6}(\d{3}(\d{3})?)?$")]


def check_id_number(value: str) -> str:
    """A resident ID number (GB 11643): 18 characters with a valid MOD 11-2 check digit."""
    value = value.strip().upper()
    if not re.fullmatch(r"\d{17}[\dX]", value):
        raise PydanticCustomError("id_number_format", "id_number must be 17 digits and a check digit")
    total = sum(int(d) * w for d, w in zip(value[:17], ID_NUMBER_WEIGHTS, strict=True))
    if ID_NUMBER_CHECK[total % 11] != value[17]:
        raise PydanticCustomError("id_number_checksum", "id_number check digit is wrong")
    return value


class _Located(Record, GeoPoint):
    """A record that may carry a point: lon/lat in WGS84, CGCS2000, GCJ-02 or BD-09."""


class Patient(Record):
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
    outcome: Literal[OUTCOMES] = "under_treatment"  # type: ignore[valid-type]  # runtime tuple, fine for pydantic
    death_date: PastDate | None = None
    patient: Patient | None = None

    @field_validator("diagnosis_time", "report_time", "audit_time")
    @classmethod
    def check_times(cls, value: datetime | None) -> datetime | None:
        return None if value is None else recorded_time(value)

    @field_validator("onset_date")
    @classmethod
    def _onset(cls, value: date) -> date:
        return not_future_day(value, "onset_date")

    @model_validator(mode="after")
    def _order(self) -> CaseReportIn:
        if self.diagnosis_time.astimezone(CST).date() < self.onset_date:
            raise rule_error("diagnosis_time", "time_order", "diagnosis_time is before onset_date")
        if self.report_time < self.diagnosis_time:
            raise rule_error("report_time", "time_order", "report_time is before diagnosis_time")
        if self.audit_time is not None and self.audit_time < self.report_time:
            raise rule_error("audit_time", "time_order", "audit_time is before report_time")
        if self.death_date is not None and (self.outcome != "died" or self.death_date < self.onset_date):
            raise rule_error("death_date", "death_date_inconsistent", "death_date needs outcome 'died' and onset before")
        return self


class SyndromicCountIn(Record):
    """Visits and cases of one syndrome at one institution on one day (counts of the day so far)."""

    institution_code: Code
    record_id: RecordId
    day: RecordedDate  # _counts refuses the future
    syndrome: Literal[SYNDROMES]  # type: ignore[valid-type]  # runtime tuple, fine for pydantic
    visits: int = Field(ge=0, le=1_000_000)
    cases: int = Field(ge=0, le=1_000_000)

    @model_validator(mode="after")
    def _counts(self) -> SyndromicCountIn:
        if self.cases > self.visits:
            raise rule_error("cases", "cases_exceed_visits", "cases exceed visits")
        not_future_day(self.day, "day")
        return self


class LabResultIn(Record):
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
        return None if value is None else recorded_time(value)

    @model_validator(mode="after")
    def _order(self) -> LabResultIn:
        if self.result_time is not None and self.result_time < self.sample_time:
            raise rule_error("result_time", "time_order", "result_time is before sample_time")
        if self.result != "pending" and self.result_time is None:
            raise rule_error("result_time", "missing", "result_time is required once a result is known")
        return self


class TeamPositionIn(_Located):
    """One GPS fix of a response team; `status` optionally changes the team's status."""

    team_code: Code
    record_id: RecordId
    time: RecordedDateTime
    lon: float = Field(ge=73, le=136)
    lat: float = Field(ge=3, le=54)
    speed_kmh: float | None = Field(default=None, ge=0, le=250)
    status: Literal[TEAM_STATUSES] | None = None  # type: ignore[valid-type]  # runtime tuple, fine for pydantic

    @field_validator("time")
    @classmethod
    def check_time(cls, value: datetime) -> datetime:
        return recorded_time(value)


class StockChangeIn(Record):
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
        return recorded_time(value)

    @property
    def delta(self) -> float:
        return self.quantity if self.kind == "in" else -self.quantity


SCHEMAS: dict[str, type[Record]] = {
    "case_report": CaseReportIn,
    "syndromic_count": SyndromicCountIn,
    "lab_result": LabResultIn,
    "team_position": TeamPositionIn,
    "stock_change": StockChangeIn,
}
SCHEMAS.update(FEED_SCHEMAS)  # school_absence, drug_sales, weather_daily, opinion_item (feeds/schemas.py)
KINDS = tuple(SCHEMAS)


def source_id_of(record: Record) -> str:
    """`<institution|team|site code>:<source system id>`, the idempotency key."""
    if hasattr(record, "source_id"):  # feed kinds derive it from their natural key
        key: str = record.source_id
        return key
    # The other kinds declare record_id, and site_code where there is no institution or team; Record does not.
    owner = getattr(record, "institution_code", None) or getattr(record, "team_code", None) or record.site_code  # type: ignore[attr-defined]
    return f"{owner}:{record.record_id}"  # type: ignore[attr-defined]


# --- outcomes -------------------------------------------------------------------------------------

_INGEST_ZH = {
    "greater_than": "数值必须大于0", "string_type": "应为文本", "int_type": "应为整数", "float_type": "应为数字",
    "model_type": "应为对象", "time_order": "时间先后顺序不合理",
    "id_number_format": "身份证号格式不正确", "id_number_checksum": "身份证号校验位错误",
    "cases_exceed_visits": "病例数不能大于就诊数", "death_date_inconsistent": "死亡日期与转归不一致",
    "ref.unknown_institution": "机构编码不存在", "ref.unknown_disease": "疾病编码不存在",
    "ref.unknown_team": "队伍编码不存在", "ref.unknown_site": "物资点编码不存在",
    "ref.unknown_item": "该物资点无此物资，首次入库须提供名称、类别和单位",
    "scope.forbidden": "无权提交该机构或辖区的数据", "geo.outside_district": "坐标不在报告辖区内",
    "geo.region_outside_district": "区划不属于报告辖区", "stock.insufficient": "库存不足",
    "pii.cipher_unavailable": "未配置个人信息加密密钥，无法接收身份信息",
}
_ZH = {**FEED_MESSAGES_ZH, **SHARED_ZH, **_INGEST_ZH}


def field_error(field: str | None, code: str, message: str) -> FieldError:
    """A FieldError with the Chinese message looked up from its code."""
    return records.field_error(field, code, message, _ZH)


class BatchResult(BaseModel):
    """The outcome of every record of a batch, in request order."""

    kind: str
    accepted: int
    rejected: int
    results: list[RecordOutcome]


def parse_record(kind: str, raw: Any) -> tuple[Record | None, list[FieldError]]:
    """Validate one raw record of `kind`; returns the model or its field errors."""
    return records.parse(SCHEMAS[kind], raw, _ZH)
