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
RECORD_TYPES = ("case_report",)
Code = Annotated[str, Field(pattern=r"^[0-9]{6}$")]
Outcome = Literal["accepted", "duplicate", "refused"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Envelope(Strict):
    algorithm: Literal["SM2-SM4-GCM"]
    recipient: str = Field(min_length=1, max_length=60)
    wrapped_key: str = Field(min_length=100, max_length=400)


class CaseReportV1(Strict):
    """A notifiable-disease report card as the city receives it (no clear-text identity)."""

    record_type: Literal["case_report"]
    record_id: str = Field(pattern=r"^[0-9]{6}-[0-9]{1,18}$")
    version: int = Field(ge=1)
    district_code: Code
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
    changed_at: AwareDatetime
    identity_sealed: str | None = Field(default=None, max_length=4000)


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
