"""Pydantic models at the fieldwork boundary: an investigation as the city's 流调 system sends it (and as
district staff enter it), the staff's edits, and the review steps."""
from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from geo.dates import PastDate, QueryDate, RecordedDateTime
from geo.schemas import GeoPoint
from store.records import Record, recorded_time, rule_error

MAX_ID = 2**31 - 1
MAX_CASE_ID = 2**63 - 1  # case_report.id is a bigint
CaseId = Annotated[int, Field(ge=1, le=MAX_CASE_ID)]
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"

SourceId = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.:\-]+$")]
RecordId = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.:\-]+$")]
PlaceKind = Literal["home", "work", "school", "public", "medical", "transport", "other"]
ContactState = Literal["pending", "traced", "observing", "released", "became_case"]
MilestoneKind = Literal["investigation_started", "samples_taken", "contacts_listed", "contacts_traced",
                        "control_measures", "communication"]


def _happened(value: datetime | None) -> datetime | None:
    """A time that has happened (Beijing time when it has no offset)."""
    return None if value is None else recorded_time(value)


Happened = Annotated[RecordedDateTime, AfterValidator(_happened)]


def _text(value: str) -> str:
    if any(ord(c) < 32 and c not in "\t\n\r" for c in value):
        raise PydanticCustomError("control_chars", "control characters are not allowed",
                                  {"message_zh": "不允许包含控制字符"})
    if not value.strip():
        raise PydanticCustomError("blank", "must not be blank", {"message_zh": "不能为空"})
    return value.strip()


Text = Annotated[str, Field(min_length=1, max_length=4000), AfterValidator(_text)]
Line = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_text)]


def check_id_number(value: str) -> str:
    """A resident ID number (GB 11643): 17 digits and a valid MOD 11-2 check character."""
    value = value.strip().upper()
    if not re.fullmatch(r"\d{17}[\dX]", value):
        raise PydanticCustomError("id_number_format", "id_number must be 17 digits and a check digit")
    if ID_CHECK[sum(int(d) * w for d, w in zip(value[:17], ID_WEIGHTS, strict=True)) % 11] != value[17]:
        raise PydanticCustomError("id_number_checksum", "id_number check digit is wrong")
    return value


class PlaceIn(Record, GeoPoint):
    """An exposure place: a point (lon/lat) or an area (`area`: one ring of lon/lat pairs), in `crs`."""

    name: Line
    kind: PlaceKind = "other"
    area: list[tuple[float, float]] | None = Field(default=None, min_length=3, max_length=500)
    start_time: Happened
    end_time: Happened
    note: Text | None = None

    @field_validator("area")
    @classmethod
    def _inside_china(cls, ring: list[tuple[float, float]] | None) -> list[tuple[float, float]] | None:
        if ring and any(not (73 <= lon <= 136 and 3 <= lat <= 54) for lon, lat in ring):
            raise PydanticCustomError("area_outside", "area vertices must lie in China (lon 73–136, lat 3–54)",
                                      {"message_zh": "区域顶点坐标超出范围"})
        return ring

    @model_validator(mode="after")
    def _shape_and_window(self) -> PlaceIn:
        if (self.lon is None) == (self.area is None):
            raise rule_error("lon", "place_shape", "give either a point (lon, lat) or an area, not both or neither")
        if self.end_time < self.start_time:
            raise rule_error("end_time", "time_order", "end_time is before start_time")
        return self


class ContactIn(Record, GeoPoint):
    """A close or secondary contact; identity is stored only encrypted and never echoed.

    Where the contact lives or was met: an optional point (lon, lat in `crs`) and/or the street's 9-digit
    code; without a street the point's street is found by point-in-polygon at intake.
    """

    record_id: RecordId
    degree: Literal["close", "secondary"] = "close"
    name: str | None = Field(default=None, min_length=1, max_length=50)
    id_number: str | None = None
    phone: str | None = Field(default=None, pattern=r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8}|\d{8})$")
    last_exposure_date: PastDate | None = None
    state: ContactState = "pending"
    traced_at: Happened | None = None
    note: Text | None = None
    street: Annotated[str, Field(pattern=r"^\d{9}$")] | None = None
    case_id: CaseId | None = None  # the case report a contact in state became_case became (same district)

    @field_validator("id_number")
    @classmethod
    def _id_number(cls, value: str | None) -> str | None:
        return None if value is None else check_id_number(value)

    @field_validator("case_id")
    @classmethod
    def _case_of_became_case(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is not None and info.data.get("state") != "became_case":
            raise PydanticCustomError("case_without_became_case", "case_id is only given with state became_case",
                                      {"message_zh": "仅转为病例的密接可填写病例编号"})
        return value

    @model_validator(mode="after")
    def _traced(self) -> ContactIn:
        if self.state != "pending" and self.traced_at is None:
            raise rule_error("traced_at", "missing", "traced_at is required once a contact is past pending")
        return self


class SampleIn(Record):
    sample_no: Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9_.:\-]+$")]
    kind: Annotated[str, Field(min_length=1, max_length=30)]
    subject: Line | None = None
    taken_at: Happened
    result: Literal["pending", "positive", "negative", "indeterminate"] = "pending"
    result_at: Happened | None = None

    @model_validator(mode="after")
    def _order(self) -> SampleIn:
        if self.result_at is not None and self.result_at < self.taken_at:
            raise rule_error("result_at", "time_order", "result_at is before taken_at")
        if self.result != "pending" and self.result_at is None:
            raise rule_error("result_at", "missing", "result_at is required once a result is known")
        return self


class InvestigationIn(Record):
    """One 流调 of a warning event (`signal_id`) or a case (`case_source_id`), with what it found."""

    source_id: SourceId | None = None
    signal_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    case_source_id: Annotated[str, Field(min_length=1, max_length=80)] | None = None
    investigator: Line
    status: Literal["planned", "in_progress", "completed"] = "in_progress"
    started_at: Happened
    completed_at: Happened | None = None
    first_onset_date: PastDate | None = None
    summary: Text | None = None
    places: list[PlaceIn] = Field(default_factory=list, max_length=200)
    contacts: list[ContactIn] = Field(default_factory=list, max_length=1000)
    samples: list[SampleIn] = Field(default_factory=list, max_length=500)

    @model_validator(mode="after")
    def _subject_and_order(self) -> InvestigationIn:
        if self.signal_id is None and self.case_source_id is None:
            raise rule_error("signal_id", "subject_missing", "give the event (signal_id) or the case (case_source_id)")
        if self.completed_at is not None and self.completed_at < self.started_at:
            raise rule_error("completed_at", "time_order", "completed_at is before started_at")
        if (self.status == "completed") != (self.completed_at is not None):
            raise rule_error("completed_at", "status_mismatch", "completed_at is set exactly when status is completed")
        for name, key in (("contacts", "record_id"), ("samples", "sample_no")):
            keys = [getattr(item, key) for item in getattr(self, name)]
            if len(keys) != len(set(keys)):
                raise rule_error(name, "duplicate_key", f"{name}: {key} repeats within the investigation")
        return self


class IntakeBatchIn(BaseModel):
    """The city's batch: at most 200 investigations; each one is accepted or refused as a whole."""

    model_config = ConfigDict(extra="forbid")
    records: list[InvestigationIn] = Field(min_length=1, max_length=200)


class ContactsIn(BaseModel):
    """Contacts added by district staff to an investigation (all or nothing)."""

    model_config = ConfigDict(extra="forbid")
    contacts: list[ContactIn] = Field(min_length=1, max_length=1000)


class ContactStateBody(BaseModel):
    """One step of a contact's follow-up; `case_id` names the case report it became (only with became_case)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    to: ContactState
    at: Happened | None = None  # default: now
    note: Text | None = None
    case_id: CaseId | None = None


class MilestoneBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    kind: MilestoneKind
    done_at: Happened
    note: Text | None = None


class CloseBody(BaseModel):
    """Closing an event needs its 处置说明."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    summary: Text


class EvaluationBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    effectiveness: Text
    lessons: Text


class ReviewBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    verdict: Literal["approved", "returned"]
    note: Text | None = None

    @model_validator(mode="after")
    def _reason(self) -> ReviewBody:
        if self.verdict == "returned" and self.note is None:
            raise rule_error("note", "missing", "a returned review needs a note")
        return self


class EventQuery(BaseModel):
    """`clear=true` asks for contacts' identities in clear (roles with the personal-data right; audited)."""

    model_config = ConfigDict(extra="forbid")
    clear: bool = False
    purpose: Annotated[str, Field(max_length=200)] | None = None


class TimelinessQuery(BaseModel):
    """Events raised between `from` and `to` (Beijing days, inclusive); `confirmed_only` keeps outbreaks."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    from_: QueryDate | None = Field(default=None, alias="from")
    to: QueryDate | None = None
    confirmed_only: bool = False
