"""Documentation models of API answers that are built as plain dicts (layers, summaries, live status).

They describe the stable part of each answer for /api/v1/openapi.json; extra members are allowed, so
a new KPI or foreign GeoJSON member does not break clients or the schema check.
"""
from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class LayerQuery(BaseModel):
    """Filters of /api/v1/layers/<id> and /api/v1/monitor/summary (query parameters)."""

    bbox: str | None = Field(default=None, description="west,south,east,north (WGS84)")
    since: date | None = None
    until: date | None = None
    disease: str | None = Field(default=None, description="disease codes, comma-separated")
    region: str | None = Field(default=None, description="6/9/12-digit region code, h3:<cell> or inst:<id>")
    level: Literal["district", "street", "grid"] | None = None
    limit: int | None = Field(default=None, ge=1, le=100000)


class Feature(_Open):
    type: Literal["Feature"]
    geometry: dict[str, Any] | None
    properties: dict[str, Any] | None


class FeatureCollection(_Open):
    """GeoJSON (RFC 7946) with optional foreign members (legend, totals …)."""

    type: Literal["FeatureCollection"]
    features: list[Feature]


class LayerEntry(_Open):
    id: str
    title: str
    geometry_type: str
    crs: str
    group: str
    updated_at: str | None


class LayerCatalogue(BaseModel):
    layers: list[LayerEntry]


class MonitorSummary(_Open):
    kpis: Any
    qc: Any
    top_diseases: Any
    epicurve: Any


class SignalEvidence(_Open):
    id: int
    title: str


class LiveStatus(_Open):
    relay: dict[str, Any]
    events: dict[str, Any]
    intake: Any
    heartbeat_seconds: float


class InfluenceQuery(BaseModel):
    disease: str = Field(pattern=r"^[A-Za-z0-9_.\-]{1,20}$")
    district: str | None = Field(default=None, pattern=r"^\d{6}$")


class InfluenceOut(_Open):
    disease_code: str
    disease_name: str
    district_code: str


class IngestBatchIn(BaseModel):
    """A batch of at most 1000 records of one kind (a bare JSON list of records is accepted too)."""

    records: list[dict[str, Any]] = Field(min_length=1, max_length=1000)


class LiveQuery(BaseModel):
    last_event_id: str | None = Field(default=None, description="resume after this event (or Last-Event-ID)")
