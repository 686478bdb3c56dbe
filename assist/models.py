"""Pydantic models at the assist boundary: API bodies and answers, and the messages relayed by the city."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, model_validator
from pydantic_core import PydanticCustomError

from assist.districts import is_known
from geo.dates import DeadlineDateTime, PastDateTime, RecordedDateTime, now_utc

SubjectKind = Literal["person", "contact", "place", "sample"]
State = Literal["sent", "received", "accepted", "returned", "assigned", "answered", "closed"]
StateChange = Literal["accepted", "returned", "assigned", "closed"]
MessageKind = Literal["request", "state", "answer"]
MAX_ATTACHMENTS = 10
MAX_FACTS = 30
REQUEST_NO = r"^XC-\d{6}-\d{8}-\d{4}$"


def refusal(kind: str, message: str, message_zh: str) -> PydanticCustomError:
    """A validation error whose code is `invalid.<kind>` and which brings its Chinese message."""
    return PydanticCustomError(kind, "{message}", {"message": message, "message_zh": message_zh})


def _plain(value: str) -> str:
    """No control characters (PostgreSQL refuses NUL) and not blank."""
    if any(ord(c) < 32 and c not in "\t\n\r" for c in value):
        raise refusal("control_chars", "control characters are not allowed", "不允许包含控制字符")
    if not value.strip():
        raise refusal("blank", "must not be blank", "不能为空")
    return value.strip()


def _district(value: str) -> str:
    if not is_known(value):
        raise refusal("unknown_district", f"unknown district {value!r}", f"未知的区划代码 {value}")
    return value


def _future(value: datetime, info: ValidationInfo) -> datetime:
    now = (info.context or {}).get("now") if isinstance(info.context, dict) else None
    if value <= (now or now_utc()):
        raise refusal("deadline_past", "deadline must lie in the future", "协查期限须晚于当前时间")
    return value


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise refusal("naive_time", "times must carry their UTC offset", "时间须带时区")
    return value


def _some_facts(value: list[str]) -> list[str]:
    if not value:
        raise refusal("facts_missing", "facts: at least one fact to check is required", "须填写至少一项核查事项")
    if len(value) > MAX_FACTS:
        raise refusal("too_many_facts", f"facts: at most {MAX_FACTS}", f"核查事项不能超过 {MAX_FACTS} 项")
    return value


def _few_attachments(value: list[Any]) -> list[Any]:
    if len(value) > MAX_ATTACHMENTS:
        raise refusal("too_many_attachments", f"attachments: at most {MAX_ATTACHMENTS}",
                      f"附件不能超过 {MAX_ATTACHMENTS} 个")
    return value


Plain = Annotated[str, AfterValidator(_plain)]
Short = Annotated[Plain, Field(min_length=1, max_length=200)]
Long = Annotated[Plain, Field(min_length=1, max_length=4000)]
District = Annotated[str, Field(pattern=r"^\d{6}$"), AfterValidator(_district)]
Facts = Annotated[list[Annotated[Plain, Field(min_length=1, max_length=500)]], AfterValidator(_some_facts)]
FutureDeadline = Annotated[DeadlineDateTime, AfterValidator(_future)]
At = Annotated[PastDateTime, AfterValidator(_aware)]
SentDeadline = Annotated[RecordedDateTime, AfterValidator(_aware)]
RequestNo = Annotated[str, Field(pattern=REQUEST_NO)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=20000)


class Personal(Strict):
    """Personal data of the subject: sealed for the receiving district, stored encrypted at rest."""

    name: Annotated[Plain, Field(max_length=100)] | None = None
    id_number: Annotated[str, Field(pattern=r"^[0-9A-Za-z]{6,20}$")] | None = None
    phone: Annotated[str, Field(pattern=r"^[0-9+\- ]{5,20}$")] | None = None
    address: Annotated[Plain, Field(max_length=300)] | None = None


class PlacePoint(Strict):
    """WGS84 longitude and latitude of the place concerned (for the map of open requests)."""

    lon: Annotated[float, Field(ge=-180, le=180)]
    lat: Annotated[float, Field(ge=-90, le=90)]


class Attachment(Strict):
    """Metadata of an attached file (the file itself travels elsewhere)."""

    name: Short
    size: Annotated[int, Field(ge=0, le=10**10)]
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


Attachments = Annotated[list[Attachment], AfterValidator(_few_attachments)]


class AssistCreate(Strict):
    """A new 协查 request to another district (or the city)."""

    to_district: District
    subject_kind: SubjectKind
    reason: Short
    facts: Facts
    personal: Personal | None = None
    place_name: Short | None = None
    place: PlacePoint | None = None
    deadline: FutureDeadline


class NoteBody(Strict):
    note: Annotated[Plain, Field(max_length=1000)] | None = None


class ReturnBody(Strict):
    reason: Annotated[Plain, Field(min_length=1, max_length=1000)]


class AssignBody(Strict):
    assignee: Annotated[Plain, Field(min_length=1, max_length=100)]
    note: Annotated[Plain, Field(max_length=1000)] | None = None


class AnswerBody(Strict):
    findings: Long
    attachments: Attachments = []


class ListQuery(Strict):
    box: Literal["inbox", "outbox"] | None = None
    state: State | None = None
    limit: Annotated[int, Field(ge=1, le=500)] = 100


# ---------------------------------------------------------------- messages relayed by the city


class EnvelopeHeader(Strict):
    algorithm: Annotated[str, Field(max_length=40)]
    recipient: Annotated[str, Field(max_length=80)]
    wrapped_key: Annotated[str, Field(max_length=1000)]


class RequestPart(Strict):
    """What a new request carries: everything but personal data in clear, personal data sealed."""

    subject_kind: SubjectKind
    reason: Short
    facts: Facts
    place_name: Short | None = None
    place: PlacePoint | None = None
    deadline: SentDeadline
    envelope: EnvelopeHeader | None = None
    personal_sealed: Annotated[str, Field(max_length=8000)] | None = None

    @model_validator(mode="after")
    def _sealed_with_envelope(self) -> RequestPart:
        if (self.envelope is None) != (self.personal_sealed is None):
            raise refusal("envelope_missing", "personal_sealed and envelope go together", "密封数据与数字信封须同时提供")
        return self


class AssistMessage(Strict):
    """One message between two districts through the city: a new request, a state change or the answer."""

    message_id: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
    kind: MessageKind
    request_no: RequestNo
    from_district: District
    to_district: District
    origin: District  # the district that sends this message (from_district or to_district)
    at: At
    actor: Annotated[Plain, Field(max_length=100)]
    state: StateChange | None = None
    note: Annotated[Plain, Field(max_length=1000)] | None = None
    assignee: Annotated[Plain, Field(max_length=100)] | None = None
    request: RequestPart | None = None
    answer: AnswerBody | None = None

    @model_validator(mode="after")
    def _complete(self) -> AssistMessage:
        if self.origin not in (self.from_district, self.to_district) or self.from_district == self.to_district:
            raise refusal("bad_route", "origin must be one of two different districts", "消息的收发区不正确")
        part = {"request": self.request, "answer": self.answer, "state": self.state}[self.kind]
        if part is None:
            raise refusal("message_incomplete", f"a {self.kind} message needs its {self.kind}", "消息内容不完整")
        return self

    @property
    def destination(self) -> str:
        return self.to_district if self.origin == self.from_district else self.from_district


class InboundAnswer(BaseModel):
    message_id: str
    received_at: datetime
    duplicate: bool


# ---------------------------------------------------------------- answers


class EventOut(BaseModel):
    at: datetime
    kind: str
    from_state: str | None
    to_state: str | None
    district_code: str
    actor_name: str | None
    note: str | None


class AssistOut(BaseModel):
    id: int
    request_no: str
    direction: Literal["out", "in"]
    from_district: str
    from_name: str
    to_district: str
    to_name: str
    subject_kind: SubjectKind
    reason: str
    facts: list[str]
    place_name: str | None
    place: PlacePoint | None
    deadline: datetime
    state: State
    state_zh: str
    assignee: str | None
    findings: str | None
    attachments: list[Attachment]
    overdue: bool
    escalation_level: int
    actions: list[str]
    created_at: datetime
    updated_at: datetime


class AssistDetail(AssistOut):
    personal: Personal | None = None
    personal_masked: bool = False
    events: list[EventOut]


class AssistPage(BaseModel):
    total: int
    items: list[AssistOut]
