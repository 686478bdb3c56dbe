"""Pydantic models at the dispatch boundary: HTTP bodies, query strings, callback payloads."""
from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from geo.dates import DeadlineDateTime
from store.dispatch import TASK_STATES, TASK_TYPES

TaskType = Literal["epi", "sampling", "disinfection", "supply", "screening", "other"]
TaskState = Literal["issued", "accepted", "in_progress", "done", "returned", "cancelled"]
FeedbackStatus = Literal["accepted", "in_progress", "done"]
InputCrs = Literal["WGS84", "CGCS2000", "GCJ02", "BD09"]

assert set(get_args(TaskType)) == set(TASK_TYPES) and set(get_args(TaskState)) == set(TASK_STATES)


def _no_control_chars(value: str) -> str:
    """PostgreSQL rejects NUL; other control characters (except tab/newline) are never meant."""
    if any(ord(c) < 32 and c not in "\t\n\r" for c in value):
        raise ValueError("control characters are not allowed")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value.strip()


_SAFE_URL = re.compile(r"^(https?://[^\s/?#]+|/(?![/\\]))[^\s]*$", re.IGNORECASE)


def _safe_url(value: str) -> str:
    """http(s) or a same-site path; never javascript:, data:, protocol-relative //host or other schemes."""
    if not _SAFE_URL.match(value):
        raise PydanticCustomError("url_scheme", "url must start with http://, https:// or /")
    return value


Text = Annotated[str, AfterValidator(_no_control_chars)]
Title = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_no_control_chars), AfterValidator(_not_blank)]
Code = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:\-]*$")]
CountKey = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")]
Lon = Annotated[float, Field(ge=-180, le=180)]
Lat = Annotated[float, Field(ge=-90, le=90)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=4000)


class PointGeometry(Strict):
    """A GeoJSON point, longitude first."""

    type: Literal["Point"]
    coordinates: tuple[Lon, Lat]


class PolygonGeometry(Strict):
    """A GeoJSON polygon: closed rings of at least four positions."""

    type: Literal["Polygon"]
    coordinates: Annotated[list[Annotated[list[tuple[Lon, Lat]], Field(min_length=4, max_length=5000)]],
                           Field(min_length=1, max_length=50)]

    @model_validator(mode="after")
    def _closed(self) -> PolygonGeometry:
        for ring in self.coordinates:
            if ring[0] != ring[-1]:
                raise ValueError("polygon rings must be closed (first position equals last)")
        return self


class Attachment(Strict):
    """Metadata of a file kept elsewhere (the file itself is not uploaded here)."""

    name: Annotated[Text, Field(min_length=1, max_length=200)]
    content_type: Annotated[str, Field(max_length=100, pattern=r"^[\w.+-]+/[\w.+-]+$")] | None = None
    size: Annotated[int, Field(ge=0, le=10**12)] | None = None
    sm3: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] | None = None
    url: Annotated[Text, Field(max_length=1000), AfterValidator(_safe_url)] | None = None


Attachments = Annotated[list[Attachment], Field(max_length=50)]
Counts = Annotated[dict[CountKey, Annotated[int, Field(ge=0, le=10**9)]], Field(max_length=30)]


class TaskCreate(Strict):
    """A task as the city (or the district itself) issues it."""

    city_task_id: Code | None = Field(None, description="The city's id; repeating it returns the same task")
    title: Title
    type: TaskType
    priority: Annotated[int, Field(ge=1, le=4, description="1 特急 2 紧急 3 一般 4 低")] = 2
    deadline: DeadlineDateTime
    district_code: Annotated[str, Field(pattern=r"^\d{6}$")] | None = None
    location: PointGeometry | None = None
    area: PolygonGeometry | None = None
    crs: InputCrs = "WGS84"
    description: Annotated[Text, Field(max_length=4000)] | None = None
    attachments: Attachments = []
    signal_id: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    incident_id: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None

    @model_validator(mode="after")
    def _one_place(self) -> TaskCreate:
        if self.location is not None and self.area is not None:
            raise ValueError("give either location or area, not both")
        return self


class SubtaskSpec(Strict):
    """One sub-task for an institution or a team."""

    title: Title
    type: TaskType | None = None
    priority: Annotated[int, Field(ge=1, le=4)] | None = None
    deadline: DeadlineDateTime
    assignee_institution_id: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    assignee_team_id: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    description: Annotated[Text, Field(max_length=4000)] | None = None
    location: PointGeometry | None = None
    crs: InputCrs = "WGS84"

    @model_validator(mode="after")
    def _one_assignee(self) -> SubtaskSpec:
        if (self.assignee_institution_id is None) == (self.assignee_team_id is None):
            raise ValueError("give exactly one of assignee_institution_id or assignee_team_id")
        return self


class SplitRequest(Strict):
    subtasks: Annotated[list[SubtaskSpec], Field(min_length=1, max_length=50)]


class ReturnRequest(Strict):
    reason: Annotated[Text, Field(min_length=1, max_length=2000), AfterValidator(_not_blank)]


class CancelRequest(Strict):
    reason: Annotated[Text, Field(max_length=2000)] | None = None


class AcceptRequest(Strict):
    note: Annotated[Text, Field(max_length=2000)] | None = None


class FeedbackRequest(Strict):
    """Progress reported by the assignee."""

    status: FeedbackStatus = "in_progress"
    progress: Annotated[int, Field(ge=0, le=100)] | None = None
    note: Annotated[Text, Field(max_length=4000)] | None = None
    counts: Counts = {}
    location: PointGeometry | None = None
    crs: InputCrs = "WGS84"
    attachments: Attachments = []


class TaskQuery(Strict):
    """Filters of the task list (query string)."""

    state: TaskState | None = None
    type: TaskType | None = None
    priority: Annotated[int, Field(ge=1, le=4)] | None = None
    overdue: bool | None = None
    roots_only: bool = False
    parent_id: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    q: Annotated[Text, Field(max_length=100)] | None = None
    limit: Annotated[int, Field(ge=1, le=500)] = 100
    offset: Annotated[int, Field(ge=0, le=10**6)] = 0


class DeliveryQuery(Strict):
    status: Literal["pending", "delivered"] | None = None
    task_id: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    limit: Annotated[int, Field(ge=1, le=500)] = 100


class TaskOut(BaseModel):
    id: int
    parent_id: int | None
    root_id: int | None
    city_task_id: str | None
    title: str
    type: str
    priority: int
    deadline: datetime
    state: str
    state_zh: str
    overdue: bool
    progress: int
    description: str | None
    district_code: str
    assignee_institution_id: int | None
    assignee_team_id: int | None
    assignee_name: str | None
    counts: dict[str, int]
    attachments: list[dict[str, Any]]
    location: dict[str, Any] | None
    escalation_level: int
    created_at: datetime
    updated_at: datetime


class TaskTree(TaskOut):
    children: list[TaskTree] = []


class TaskCreated(BaseModel):
    created: bool
    task: TaskOut


class TaskPage(BaseModel):
    total: int
    items: list[TaskOut]


class EventOut(BaseModel):
    id: int
    task_id: int
    time: datetime
    actor_name: str | None
    kind: str
    from_state: str | None
    to_state: str | None
    progress: int | None
    note: str | None
    counts: dict[str, int]
    attachments: list[dict[str, Any]]
    location: dict[str, Any] | None


class EventList(BaseModel):
    items: list[EventOut]


class DeliveryOut(BaseModel):
    id: int
    idempotency_key: str
    task_id: int
    status: str
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime
    event: str


class DeliveryList(BaseModel):
    items: list[DeliveryOut]


class CallbackPayload(BaseModel):
    """What the city receives for every state change or progress update of its task."""

    idempotency_key: str
    event: Literal["task.state_changed", "task.progress", "task.split"]
    sequence: int
    city_task_id: str
    task_id: int
    district_code: str
    state: str
    progress: int
    counts: dict[str, int]
    note: str | None
    time: datetime
    subtasks: list[dict[str, Any]]
