"""Pydantic models at the boundaries of the signal loop: API bodies, query strings and responses."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from geo.dates import PastDate, PastDateTime, QueryDate
from store.labels import MODEL_ZH  # noqa: F401  (re-exported: the one table of model names)

SignalState = Literal["new", "verifying", "excluded", "suspected", "confirmed", "responding", "closed"]
STATE_ZH = {"new": "新信号", "verifying": "核实中", "excluded": "已排除", "suspected": "疑似事件",
            "confirmed": "已确认", "responding": "处置中", "closed": "已结案"}
CODE = r"^[0-9A-Za-z_.:\-]+$"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class TransitionRequest(_In):
    """Move a signal to another state; the reason is kept with the event."""

    to: SignalState
    reason: str = Field(min_length=1, max_length=2000)


class AssignRequest(_In):
    user_id: int = Field(ge=1, le=2**31 - 1)
    reason: str | None = Field(default=None, max_length=2000)


class GeoJsonGeometry(_In):
    """A GeoJSON Point, Polygon or MultiPolygon in WGS84 (or the `crs` given with it)."""

    type: Literal["Point", "Polygon", "MultiPolygon"]
    coordinates: list[Any] = Field(min_length=1)


class CitySignalIn(_In):
    """A warning signal pushed down by the city platform; `signal_id` is the city's id (idempotency key)."""

    signal_id: str = Field(min_length=1, max_length=80, pattern=CODE)
    district_code: str = Field(pattern=r"^\d{6}$")
    title: str = Field(min_length=1, max_length=200)
    region_code: str | None = Field(default=None, max_length=20, pattern=CODE)
    disease_code: str | None = Field(default=None, max_length=20, pattern=CODE)
    model: str = Field(default="city", min_length=1, max_length=30, pattern=CODE)
    description: str | None = Field(default=None, max_length=4000)
    observed: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    threshold: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    window_start: PastDate | None = None
    window_end: PastDate | None = None
    issued_at: PastDateTime | None = None
    geometry: GeoJsonGeometry | None = None
    crs: Literal["WGS84", "GCJ02", "BD09"] = "WGS84"
    evidence: dict[str, Any] = Field(default_factory=dict)

    @field_validator("window_end")
    @classmethod
    def _window(cls, v: date | None, info: Any) -> date | None:
        start = info.data.get("window_start")
        if v is not None and start is not None and v < start:
            raise ValueError("window_end is before window_start")
        return v


class SignalQuery(_In):
    """Filters of the signal list (query string)."""

    state: str | None = Field(default=None, max_length=200, description="comma-separated states")
    model: str | None = Field(default=None, max_length=30, pattern=CODE)
    disease_code: str | None = Field(default=None, max_length=20, pattern=CODE)
    region_code: str | None = Field(default=None, max_length=20, pattern=CODE)
    origin: Literal["model", "city", "fusion", "department", "opinion"] | None = None
    kind: Literal["event", "alarm"] | None = Field(default=None, description="default: events (alarms with model / event_id)")
    event_id: int | None = Field(default=None, ge=1, le=2**31 - 1, description="the alarms of one event")
    open_only: bool = False
    since: QueryDate | None = None
    until: QueryDate | None = None
    sort: Literal["time", "grade"] = Field(default="time", description="time: latest first; grade: 红 → 蓝, then latest")
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=1_000_000)

    @field_validator("state")
    @classmethod
    def _states(cls, v: str | None) -> str | None:
        if v:
            bad = [s for s in v.split(",") if s not in STATE_ZH]
            if bad:
                raise ValueError(f"unknown state {bad[0]!r}")
        return v


class InboxQuery(_In):
    unread_only: bool = False
    limit: int = Field(default=50, ge=1, le=500)


class SignalOut(BaseModel):
    id: int
    origin: str
    model: str
    state: SignalState
    title: str
    disease_code: str | None
    disease_name: str | None = None
    region_code: str | None
    region_name: str | None = None
    district_code: str
    external_id: str | None
    observed: float | None
    threshold: float | None
    window_start: date | None
    window_end: date | None
    fire_count: int
    first_fired_at: datetime | None
    last_fired_at: datetime | None
    verify_due_at: datetime | None
    escalated_at: datetime | None
    assignee_user_id: int | None
    receipts_total: int = 0
    receipts_acknowledged: int = 0
    kind: str = "event"
    grade: str | None = None
    event_id: int | None = None


class SignalEventOut(BaseModel):
    id: int
    time: datetime
    actor_user_id: int | None
    actor_name: str | None = None
    action: str
    from_state: str | None
    to_state: str | None
    reason: str | None
    data: dict[str, Any] = {}


class ReceiptOut(BaseModel):
    institution_id: int
    institution_code: str
    institution_name: str
    pushed_at: datetime
    acknowledged_at: datetime | None
    ack_user_id: int | None


class SignalDetail(SignalOut):
    params: dict[str, Any] = {}
    evidence: dict[str, Any] = {}
    geometry: dict[str, Any] | None = None
    events: list[SignalEventOut] = []
    receipts: list[ReceiptOut] = []
    allowed_transitions: list[str] = []
    alarms: list[SignalOut] = []


class SignalPage(BaseModel):
    total: int
    items: list[SignalOut]


class CitySignalResult(BaseModel):
    created: bool
    signal: SignalOut


class ReceiptResult(BaseModel):
    signal_id: int
    receipt: ReceiptOut


class InboxItemOut(BaseModel):
    id: int
    kind: str
    signal_id: int | None
    title: str
    created_at: datetime
    read_at: datetime | None


class InboxPage(BaseModel):
    unread: int
    items: list[InboxItemOut]


class RtQuery(_In):
    disease: str = Field(min_length=1, max_length=20, pattern=CODE)
    region: str | None = Field(default=None, max_length=20, pattern=CODE)
    days: int = Field(default=120, ge=28, le=730)
    window: int = Field(default=7, ge=3, le=28)
    as_of: QueryDate | None = None


class BurdenQuery(_In):
    disease: str = Field(min_length=1, max_length=20, pattern=CODE)
    days: int = Field(default=120, ge=28, le=730)
    as_of: QueryDate | None = None


class RtPoint(BaseModel):
    date: date
    mean: float | None
    q025: float | None
    q975: float | None


class ProjectionPoint(BaseModel):
    date: date
    mean: float
    q025: float
    q975: float


class RtOut(BaseModel):
    disease_code: str
    region_code: str
    as_of: date
    serial_interval: dict[str, float]
    observed: list[dict[str, Any]]
    rt: list[RtPoint]
    projection: list[ProjectionPoint]


class BurdenMetric(BaseModel):
    metric: str
    days: list[ProjectionPoint]


class DistrictBurdenOut(BaseModel):
    district_code: str
    ratios: dict[str, Any]
    metrics: list[BurdenMetric]


class BurdenOut(BaseModel):
    disease_code: str
    as_of: date
    districts: list[DistrictBurdenOut]
