"""The answers of the fieldwork API (validated on the way out; documented in the OpenAPI document)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel


class StepOut(BaseModel):
    step: str
    label_zh: str
    start: date | None
    end: date | None
    days: int | None
    target_days: int
    met: bool | None


class TimelinessOut(BaseModel):
    event_id: int
    steps: list[StepOut]
    all_met: bool | None
    missing_milestones: list[str]


class StepSummaryOut(BaseModel):
    step: str
    label_zh: str
    target_days: int
    measured: int
    met: int
    share_met: float | None
    median_days: float | None


class DistrictTimelinessOut(BaseModel):
    district_code: str
    date_from: date | None
    date_to: date | None
    confirmed_only: bool
    as_of: date
    events: int
    all_met: int
    steps: list[StepSummaryOut]
    bottleneck: str | None
    bottleneck_zh: str | None
    per_event: list[TimelinessOut]


class ContactOut(BaseModel):
    id: int
    record_id: str
    degree: str
    state: str
    name: str | None
    id_number: str | None
    phone: str | None
    masked: bool
    last_exposure_date: date | None
    listed_at: datetime
    traced_at: datetime | None
    observation_start: date | None
    released_on: date | None
    became_case_at: datetime | None
    became_case_id: int | None
    note: str | None


class PlaceOut(BaseModel):
    id: int
    name: str
    kind: str
    geometry: dict[str, Any] | None
    input_crs: str | None
    start_time: datetime
    end_time: datetime
    note: str | None


class SampleOut(BaseModel):
    id: int
    sample_no: str
    kind: str
    subject: str | None
    taken_at: datetime
    result: str
    result_at: datetime | None


class InvestigationOut(BaseModel):
    id: int
    source_id: str | None
    signal_id: int | None
    case_id: int | None
    investigator: str
    status: str
    started_at: datetime
    completed_at: datetime | None
    first_onset_date: date | None
    summary: str | None
    places: list[PlaceOut]
    contacts: list[ContactOut]
    samples: list[SampleOut]


class MilestoneOut(BaseModel):
    kind: str
    done_at: datetime
    note: str | None


class ReviewOut(BaseModel):
    signal_id: int
    state: str
    summary: str
    closed_at: datetime
    closed_by_user_id: int | None
    timeliness: dict[str, Any] | None
    effectiveness: str | None
    lessons: str | None
    evaluated_by_user_id: int | None
    evaluator_role: str | None
    evaluated_at: datetime | None
    review_note: str | None
    reviewed_by_user_id: int | None
    reviewed_at: datetime | None


class EventOut(BaseModel):
    id: int
    title: str
    state: str
    grade: str | None
    district_code: str
    first_fired_at: datetime


class EventFieldworkOut(BaseModel):
    event: EventOut
    investigations: list[InvestigationOut]
    milestones: list[MilestoneOut]
    timeliness: TimelinessOut
    review: ReviewOut | None


class SavedOut(BaseModel):
    id: int
    status: str


class ContactsAddedOut(BaseModel):
    investigation_id: int
    added: int
    contact_ids: list[int]


class ContactStateOut(BaseModel):
    id: int
    state: str
    traced_at: datetime | None
    observation_start: date | None
    released_on: date | None
    became_case_at: datetime | None
    became_case_id: int | None


class ChainNodeOut(BaseModel):
    id: str
    kind: str  # event | index_case | contact | secondary_case
    kind_zh: str
    label: str
    case_id: int | None
    contact_id: int | None
    degree: str | None
    state: str | None
    state_zh: str | None
    onset_date: date | None
    disease: str | None


class ChainEdgeOut(BaseModel):
    source: str
    target: str
    kind: str  # evidence | exposure | became_case
    kind_zh: str
    investigation_id: int | None


class ChainCountsOut(BaseModel):
    index_cases: int
    contacts: int
    secondary_cases: int


class ChainOut(BaseModel):
    event_id: int
    title: str
    nodes: list[ChainNodeOut]
    edges: list[ChainEdgeOut]
    counts: ChainCountsOut
