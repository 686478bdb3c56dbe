"""The exchange schema, version 1: what a district sends up to the city platform (docs/exchange.md).

A batch is one signed POST: the district, a batch id, the digital envelope's header (one SM4 data key
wrapped for the city's SM2 key) and the records. A record is identified by `record_type` and
`record_id` ("<district>-<local id>") and carries a `version` that only grows; the city keeps the
highest version of each record and answers a version it already has as a duplicate. Personal data
travels only inside `identity_sealed` (SM4-GCM under the batch's data key, bound to
"<record_type>:<record_id>:<version>").
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

SCHEMA_VERSION = "onemap.exchange/1"
Code = Annotated[str, Field(pattern=r"^[0-9]{6}$")]
Outcome = Literal["accepted", "duplicate", "refused"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Envelope(Strict):
    algorithm: Literal["SM2-SM4-GCM"]
    recipient: str = Field(min_length=1, max_length=60)
    wrapped_key: str = Field(min_length=100, max_length=400)


class Record(Strict):
    """What every exchanged record carries: its id across districts, its growing version, its district."""

    record_type: str
    record_id: str = Field(pattern=r"^[0-9]{6}-[0-9]{1,18}$")
    version: int = Field(ge=1)
    district_code: Code
    changed_at: AwareDatetime


class CaseReportV1(Record):
    """A notifiable-disease report card as the city receives it (no clear-text identity)."""

    record_type: Literal["case_report"]
    source_id: str = Field(min_length=1, max_length=80)
    disease_code: str = Field(min_length=1, max_length=20)
    case_type: Literal["confirmed", "clinical", "suspected", "carrier"]
    onset_date: date
    diagnosis_time: AwareDatetime
    report_time: AwareDatetime
    audit_time: AwareDatetime | None = None
    region_code: str | None = Field(default=None, pattern=r"^[0-9]{9,12}$")
    lon: float | None = Field(default=None, ge=73, le=136)
    lat: float | None = Field(default=None, ge=3, le=54)
    age: int | None = Field(default=None, ge=0, le=130)
    sex: Literal["M", "F"] | None = None
    occupation: str | None = Field(default=None, max_length=20)
    outcome: Literal["under_treatment", "recovered", "died", "unknown"]
    death_date: date | None = None
    identity_sealed: str | None = Field(default=None, max_length=4000)


class SyndromicCountV1(Record):
    """Visits and cases of one syndrome at one sentinel institution on one day."""

    record_type: Literal["syndromic_count"]
    institution_code: str = Field(min_length=1, max_length=40)
    day: date
    syndrome: Literal["fever", "diarrhoea", "ili", "ari"]
    visits: int = Field(ge=0)
    cases: int = Field(ge=0)


class LabResultV1(Record):
    record_type: Literal["lab_result"]
    lab_institution_code: str = Field(min_length=1, max_length=40)
    sample_id: str = Field(min_length=1, max_length=60)
    pathogen: str = Field(min_length=1, max_length=60)
    result: str = Field(min_length=1, max_length=12)
    sample_time: AwareDatetime
    result_time: AwareDatetime | None = None
    region_code: str | None = Field(default=None, pattern=r"^[0-9]{9,12}$")
    case_source_id: str | None = Field(default=None, max_length=80)


class WarningEventV1(Record):
    """A warning event (预警事件) and its state; the alarms under it stay in the district."""

    record_type: Literal["warning_event"]
    title: str = Field(min_length=1, max_length=200)
    origin: str = Field(max_length=16)
    model: str = Field(max_length=30)
    grade: Literal["blue", "yellow", "orange", "red"] | None = None
    state: Literal["new", "verifying", "excluded", "suspected", "confirmed", "responding", "closed"]
    disease_code: str | None = Field(default=None, max_length=20)
    region_code: str | None = Field(default=None, max_length=20)
    window_start: date | None = None
    window_end: date | None = None
    first_fired_at: AwareDatetime
    last_fired_at: AwareDatetime


class TeamV1(Record):
    """A response team's status (its GPS track stays in the district)."""

    record_type: Literal["team"]
    code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=100)
    type: Literal["epi", "sampling", "disinfection", "treatment"]
    status: Literal["standby", "dispatched", "on_site", "resting"]
    members: int = Field(ge=0)
    video_online: bool
    lon: float | None = Field(default=None, ge=73, le=136)
    lat: float | None = Field(default=None, ge=3, le=54)


class StockV1(Record):
    """The stock of one item at one resource site."""

    record_type: Literal["stock"]
    site_code: str = Field(min_length=1, max_length=40)
    item_code: str = Field(min_length=1, max_length=40)
    item_name: str = Field(min_length=1, max_length=100)
    unit: str = Field(max_length=10)
    quantity: float = Field(ge=0)
    min_level: float = Field(ge=0)


RECORD_MODELS: dict[str, type[Record]] = {
    "case_report": CaseReportV1, "syndromic_count": SyndromicCountV1, "lab_result": LabResultV1,
    "warning_event": WarningEventV1, "team": TeamV1, "stock": StockV1,
}
RECORD_TYPES = tuple(RECORD_MODELS)


class Batch(Strict):
    schema_version: Literal["onemap.exchange/1"]
    batch_id: str = Field(min_length=8, max_length=80)
    district_code: Code
    sent_at: datetime
    envelope: Envelope
    records: list[dict[str, object]] = Field(min_length=1, max_length=1000)


class RecordResult(Strict):
    """The city's answer for one record of a batch."""

    record_type: str
    record_id: str
    version: int
    outcome: Outcome
    code: str | None = None  # why a record was refused, e.g. "schema.invalid", "identity.unreadable"


class BatchAnswer(Strict):
    batch_id: str
    results: list[RecordResult]


def context(record_type: str, record_id: str, version: int) -> str:
    """What a record's sealed identity is bound to."""
    return f"{record_type}:{record_id}:{version}"


def json_schemas() -> dict[str, dict[str, object]]:
    """The JSON Schemas (draft 2020-12, from the models) the city can validate against, by file stem."""
    out: dict[str, dict[str, object]] = {"batch.v1": Batch.model_json_schema(),
                                         "answer.v1": BatchAnswer.model_json_schema()}
    out.update({f"{name}.v1": model.model_json_schema() for name, model in RECORD_MODELS.items()})
    return out
