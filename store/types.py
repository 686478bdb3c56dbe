"""Column helpers shared by the table modules."""
from __future__ import annotations

from datetime import UTC, datetime

from geoalchemy2 import Geometry
from sqlalchemy import DateTime, func
from sqlalchemy.orm import mapped_column

from geo.srid import SRID


def utcnow() -> datetime:
    return datetime.now(UTC)


def point_col(nullable: bool = True):  # type: ignore[no-untyped-def]
    return mapped_column(Geometry("POINT", srid=SRID, spatial_index=True), nullable=nullable)


def geom_col(kind: str = "GEOMETRY", nullable: bool = True):  # type: ignore[no-untyped-def]
    return mapped_column(Geometry(kind, srid=SRID, spatial_index=True), nullable=nullable)


def created_col():  # type: ignore[no-untyped-def]
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


def updated_col():  # type: ignore[no-untyped-def]
    return mapped_column(DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), nullable=False)
