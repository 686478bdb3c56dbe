"""A committed change as screens hear of it: what changed, where, for whom (announced by ingest.events)."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class ChangeEvent(BaseModel):
    """What changed, where, for whom: never personal data, only codes, ids, counts and a point."""

    kind: str = Field(min_length=1, max_length=40)
    id: int | str
    action: Literal["created", "updated", "deleted"] = "updated"
    district_code: str | None = None
    region_code: str | None = None
    # Set for records that belong to one institution: institution users see only their own.
    institution_id: int | None = None
    # [lon, lat] in WGS84, or a GeoJSON geometry object
    geometry: list[float] | dict[str, Any] | None = None
    fields: dict[str, Any] = Field(default_factory=dict)
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
