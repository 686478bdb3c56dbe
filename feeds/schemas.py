"""Records of the other departments' feeds as validated at the edge, one pydantic model per kind.

Each record's `source_id` (its idempotency key) follows from its natural key: one absenteeism row per
school and day, one sales row per pharmacy (or street), day and drug group, one weather row per
district and day, one opinion item per source-system id. Sending a record again updates it.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from geo.dates import RecordedDate, RecordedDateTime
from geo.schemas import GeoPoint
from store import records
from store.feeds import DRUG_GROUPS, SYMPTOM_GROUPS
from store.records import SHARED_ZH, Code, FieldError, Record, not_future_day, recorded_time, rule_error

RecordId = Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9_.:\-]+$")]
StreetCode = Annotated[str, Field(pattern=r"^\d{9}$")]
DistrictCode = Annotated[str, Field(pattern=r"^\d{6}$")]
Count = Annotated[int, Field(ge=0, le=100_000)]


class _Feed(Record):
    @property
    def source_id(self) -> str:  # pragma: no cover - every kind overrides it
        raise NotImplementedError


class _Point(_Feed, GeoPoint):
    """An optional point in WGS84, CGCS2000, GCJ-02 or BD-09 (converted to WGS84 on write)."""


class SchoolAbsenceIn(_Point):
    """One school's absenteeism on one school day (education bureau, 因病缺课).

    `absent_ill` of the `absent` pupils are away for illness; the symptom groups count each ill pupil
    once by the main symptom, so they add up to at most `absent_ill`. A school not yet known is
    registered from its first record, which then needs `school_name`, `school_kind` and a point or
    a street code.
    """

    school_code: Code
    day: RecordedDate
    enrolled: int = Field(ge=1, le=20_000)
    absent: Count
    absent_ill: Count
    fever: Count = 0
    respiratory: Count = 0
    gastrointestinal: Count = 0
    rash: Count = 0
    school_name: str | None = Field(default=None, min_length=2, max_length=100)
    school_kind: Literal["kindergarten", "primary", "middle"] | None = None
    region_code: StreetCode | None = None

    @model_validator(mode="after")
    def _counts(self) -> SchoolAbsenceIn:
        not_future_day(self.day, "day")
        if self.absent > self.enrolled:
            raise rule_error("absent", "absent_exceeds_enrolled", "absent exceeds enrolled")
        if self.absent_ill > self.absent:
            raise rule_error("absent_ill", "ill_exceeds_absent", "absent_ill exceeds absent")
        if sum(getattr(self, g) for g in SYMPTOM_GROUPS) > self.absent_ill:
            raise rule_error("gastrointestinal", "symptoms_exceed_ill",
                       "fever + respiratory + gastrointestinal + rash exceed absent_ill")
        return self

    @property
    def source_id(self) -> str:
        return f"edu:{self.school_code}:{self.day:%Y%m%d}"


class DrugSalesIn(_Point):
    """Units of one sentinel drug group sold on one day, by one pharmacy or summed over a street.

    Give `pharmacy_code` (a pharmacy not yet known also needs `pharmacy_name` and a point or street
    code) or, for street totals, only `region_code`.
    """

    pharmacy_code: Code | None = None
    region_code: StreetCode | None = None
    day: RecordedDate
    drug_group: Literal[DRUG_GROUPS]  # type: ignore[valid-type]  # runtime tuple, fine for pydantic
    units: int = Field(ge=0, le=1_000_000)
    pharmacy_name: str | None = Field(default=None, min_length=2, max_length=100)

    @model_validator(mode="after")
    def _place(self) -> DrugSalesIn:
        not_future_day(self.day, "day")
        if self.pharmacy_code is None and self.region_code is None:
            raise rule_error("pharmacy_code", "sales_place_missing", "give pharmacy_code or (for street totals) region_code")
        if self.pharmacy_code is None and self.lon is not None:
            raise rule_error("lon", "sales_point_without_pharmacy", "a point belongs to a pharmacy; street totals have none")
        return self

    @property
    def source_id(self) -> str:
        owner = self.pharmacy_code or f"street-{self.region_code}"
        return f"drug:{owner}:{self.day:%Y%m%d}:{self.drug_group}"


class WeatherDailyIn(_Feed):
    """One district's daily weather (meteorological service): °C, relative humidity %, rainfall mm."""

    district_code: DistrictCode
    day: RecordedDate
    temp_mean: float = Field(ge=-40, le=50)
    temp_max: float | None = Field(default=None, ge=-40, le=50)
    temp_min: float | None = Field(default=None, ge=-40, le=50)
    humidity: float | None = Field(default=None, ge=0, le=100)
    rainfall_mm: float | None = Field(default=None, ge=0, le=1000)

    @model_validator(mode="after")
    def _order(self) -> WeatherDailyIn:
        not_future_day(self.day, "day")
        if self.temp_max is not None and self.temp_max < self.temp_mean:
            raise rule_error("temp_max", "temp_order", "temp_max is below temp_mean")
        if self.temp_min is not None and self.temp_min > self.temp_mean:
            raise rule_error("temp_min", "temp_order", "temp_min is above temp_mean")
        return self

    @property
    def source_id(self) -> str:
        return f"met:{self.district_code}:{self.day:%Y%m%d}"


_KEYWORD_SPLIT = re.compile(r"[;；,，、|\s]+")


class OpinionItemIn(_Point):
    """A public-opinion item (舆情): where it was seen, when, what it says, and where it is about.

    `place` is matched to street and district names and aliases; without it the title and excerpt are
    searched. A point, if the monitoring system has one, places the item exactly.
    """

    item_id: RecordId
    published_at: RecordedDateTime
    source: str = Field(min_length=1, max_length=60)
    title: str = Field(min_length=1, max_length=300)
    excerpt: str | None = Field(default=None, max_length=2000)
    keywords: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(default_factory=list, max_length=30)
    place: str | None = Field(default=None, max_length=200)

    @field_validator("keywords", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):  # CSV cells: "仙霞;幼儿园;腹泻"
            return [k for k in _KEYWORD_SPLIT.split(value) if k]
        return value

    @field_validator("published_at")
    @classmethod
    def _time(cls, value: datetime) -> datetime:
        return recorded_time(value, "published_at lies in the future")

    @property
    def source_id(self) -> str:
        return f"opinion:{self.item_id}"


FEED_SCHEMAS: dict[str, type[_Feed]] = {
    "school_absence": SchoolAbsenceIn,
    "drug_sales": DrugSalesIn,
    "weather_daily": WeatherDailyIn,
    "opinion_item": OpinionItemIn,
}
FEED_KINDS = tuple(FEED_SCHEMAS)

FEED_MESSAGES_ZH = {
    "absent_exceeds_enrolled": "缺课人数不能大于在校人数", "ill_exceeds_absent": "因病缺课人数不能大于缺课人数",
    "symptoms_exceed_ill": "各症状组人数之和不能大于因病缺课人数", "temp_order": "最高/最低气温与平均气温矛盾",
    "sales_place_missing": "须提供药店编码或街道编码", "sales_point_without_pharmacy": "街道汇总数据不能带坐标",
    "ref.unknown_school": "学校编码不存在，首次上报须提供学校名称、类型和位置",
    "ref.unknown_pharmacy": "药店编码不存在，首次上报须提供药店名称和位置",
    "ref.not_a_street": "区划编码不是街道", "ref.unknown_district": "区编码不存在", "geo.outside_area": "坐标不在任何已知区内",
    "scope.forbidden": "无权提交该辖区的数据",
}
_ZH = {**SHARED_ZH, "int_from_float": "应为整数", "too_long": "条目过多", "list_type": "应为列表", **FEED_MESSAGES_ZH}


def feed_error(field: str | None, code: str, message: str) -> FieldError:
    """A FieldError with its Chinese message looked up from the code."""
    return records.field_error(field, code, message, _ZH)


def parse_feed(kind: str, raw: Any) -> tuple[_Feed | None, list[FieldError]]:
    """Validate one raw record of a feed kind; the model, or its field errors (values never echoed)."""
    rec, errors = records.parse(FEED_SCHEMAS[kind], raw, _ZH, "record must be an object")
    return rec if isinstance(rec, _Feed) else None, errors
