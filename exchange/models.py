"""Exchange API shapes: the KPI query and answer (pydantic at the boundary)."""
from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from geo.dates import QueryDate

MAX_DAYS = 366


class KpiQuery(BaseModel):
    """The days to report (Beijing dates, both included); default: the last 7 days."""

    model_config = ConfigDict(extra="forbid")
    since: QueryDate | None = None
    until: QueryDate | None = None

    @field_validator("until")
    @classmethod
    def _order(cls, until: date | None, info: ValidationInfo) -> date | None:
        since = info.data.get("since")
        if since and until and until < since:
            raise ValueError("until is before since")
        if since and until and (until - since).days >= MAX_DAYS:
            raise ValueError(f"the period is longer than {MAX_DAYS} days")
        return until


class Rates(BaseModel):
    success: float | None
    timeliness: float | None
    conformance: float | None


class DayRow(BaseModel):
    day: date
    direction: str = Field(description="'up' (district → city) or 'down' (city → district)")
    record_type: str
    answered: int
    delivered: int
    refused: int
    timely: int
    conformant: int
    judged: int
    pending: int
    superseded: int
    rates: Rates


class KpiAnswer(BaseModel):
    since: date
    until: date
    deadline_hours: float
    goals: dict[str, float]
    totals: Rates = Field(description="over the whole period, both directions")
    directions: dict[str, Rates] = Field(description="over the whole period, per direction: 'up' (district → city), "
                                                     "'down' (city → district)")
    days: list[DayRow]
    waiting: dict[str, Any] = Field(description="pending records now, the oldest one's queue time, last delivery")
    stale: bool = Field(description="records have waited longer than the deadline: the city is not taking them")
