"""A point as it arrives at the edge, in any supported CRS (converted to WGS84 when written)."""
from __future__ import annotations

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from geo.crs import UnknownCRSError, normalise_crs_name


class GeoPoint(BaseModel):
    """Optional lon/lat in WGS84, CGCS2000, GCJ-02 or BD-09; both or neither."""

    lon: float | None = Field(default=None, ge=73, le=136)
    lat: float | None = Field(default=None, ge=3, le=54)
    crs: str = "WGS84"

    @field_validator("crs")
    @classmethod
    def _crs(cls, value: str) -> str:
        try:
            return normalise_crs_name(value)
        except UnknownCRSError as exc:
            raise PydanticCustomError("crs_unknown", str(exc)) from None

    @model_validator(mode="after")
    def _both(self) -> GeoPoint:
        if (self.lon is None) != (self.lat is None):
            raise PydanticCustomError("point_incomplete", "lon and lat must be given together", {"field": "lat"})
        return self
