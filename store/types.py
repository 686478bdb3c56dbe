"""Column helpers shared by the table modules."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import DateTime, func
from sqlalchemy.orm import MappedColumn, mapped_column

from geo.srid import SRID


def utcnow() -> datetime:
    return datetime.now(UTC)


def point_col(nullable: bool = True) -> MappedColumn[Any]:  # WKB when read, WKT or SQL when written
    return mapped_column(Geometry("POINT", srid=SRID, spatial_index=True), nullable=nullable)


def geom_col(kind: str = "GEOMETRY", nullable: bool = True) -> MappedColumn[Any]:
    return mapped_column(Geometry(kind, srid=SRID, spatial_index=True), nullable=nullable)


def created_col() -> MappedColumn[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


def updated_col() -> MappedColumn[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), nullable=False)
