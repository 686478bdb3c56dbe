"""Pydantic models at the command boundary (HTTP bodies and query strings)."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dispatch.models import Text, Title

Lon = Annotated[float, Field(ge=73, le=136, description="WGS84 longitude (China)")]
Lat = Annotated[float, Field(ge=3, le=54, description="WGS84 latitude (China)")]
Id = Annotated[int, Field(ge=1, le=2**31 - 1)]
TeamType = Literal["epi", "sampling", "disinfection", "treatment"]
TaskType = Literal["epi", "sampling", "disinfection", "supply", "screening", "other"]
Radius = Annotated[float, Field(gt=0, le=50_000)]
ItemCode = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]*$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=4000)


class DecisionQuery(Strict):
    """A point (or an incident) to decide for, and how far and fast to look."""

    incident_id: Id | None = None
    lon: Lon | None = None
    lat: Lat | None = None
    k: Annotated[int, Field(ge=1, le=50)] = 5
    radii_m: Annotated[list[Radius], Field(min_length=1, max_length=6)] = [500, 1000, 3000]
    reach_m: Annotated[float, Field(gt=0, le=50_000)] = 5000
    speed_kmh: Annotated[float, Field(gt=0, le=200)] | None = None
    detour: Annotated[float, Field(ge=1, le=5)] | None = None
    team_types: Annotated[list[TeamType], Field(max_length=4)] | None = None

    @model_validator(mode="after")
    def _place(self) -> DecisionQuery:
        if self.incident_id is None and (self.lon is None or self.lat is None):
            raise ValueError("give incident_id or both lon and lat")
        return self


class Allocation(Strict):
    """Stock to allocate from a site to the new task."""

    site_id: Id
    item_code: ItemCode
    quantity: Annotated[float, Field(gt=0, le=1e9)]


class DispatchPlan(Strict):
    """The commander's choice: teams and stock for an incident or a point, as one dispatched task."""

    incident_id: Id | None = None
    lon: Lon | None = None
    lat: Lat | None = None
    title: Title
    type: TaskType = "epi"
    priority: Annotated[int, Field(ge=1, le=4)] = 2
    deadline_hours: Annotated[int, Field(ge=1, le=720)] = 24
    team_ids: Annotated[list[Id], Field(min_length=1, max_length=20)]
    allocations: Annotated[list[Allocation], Field(max_length=50)] = []
    note: Annotated[Text, Field(max_length=2000)] | None = None

    @model_validator(mode="after")
    def _check(self) -> DispatchPlan:
        if self.incident_id is None and (self.lon is None or self.lat is None):
            raise ValueError("give incident_id or both lon and lat")
        if len(set(self.team_ids)) != len(self.team_ids):
            raise ValueError("team_ids must not repeat")
        return self


class MovementIn(Strict):
    """A stock movement entered by hand (allocations are made by dispatching)."""

    site_id: Id
    item_code: ItemCode
    kind: Literal["in", "out"]
    quantity: Annotated[float, Field(gt=0, le=1e9)]
    note: Annotated[Text, Field(max_length=500)] | None = None


class IncidentIn(Strict):
    """An event created by hand at a point, with a circular affected area."""

    title: Title
    kind: Annotated[str, Field(min_length=1, max_length=30, pattern=r"^[a-z][a-z0-9_]*$")] = "outbreak"
    lon: Lon
    lat: Lat
    radius_m: Annotated[float, Field(gt=0, le=20_000)] = 500


class CoverageQuery(Strict):
    radius_m: Annotated[float, Field(gt=0, le=20_000)] = 3000
