"""Regions (district / street / grid) and institutions."""
from __future__ import annotations

from typing import Any

from sqlalchemy import ARRAY, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from geo.db import Base
from store.types import created_col, geom_col, point_col, updated_col

REGION_LEVELS = ("city", "district", "street", "grid")
INSTITUTION_KINDS = ("hospital", "chc", "cdc", "lab", "clinic", "other")


class Region(Base):
    """An administrative or grid area; code is GB/T 2260 (6 digits) or the NBS 9-digit street code."""

    __tablename__ = "region"
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str | None] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(10), index=True)
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"), index=True)
    district_code: Mapped[str | None] = mapped_column(String(6), index=True)
    population: Mapped[int | None] = mapped_column(BigInteger)
    # census_2020 | demo_area_share | imported: where the population figure comes from
    population_source: Mapped[str | None] = mapped_column(String(40))
    geom: Mapped[Any] = geom_col("MULTIPOLYGON", nullable=False)
    label_point: Mapped[Any] = point_col()
    # True where the polygon is a stand-in (no open street polygons exist)
    geometry_is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[Any] = updated_col()


# Grid cells only (migration 0012): the kept cell of each written case report is looked up among them.
Index("ix_region_grid_geom", Region.geom, postgresql_using="gist", postgresql_where=Region.level == "grid")
Index("ix_region_grid_district", Region.district_code, postgresql_where=Region.level == "grid")


class RegionAlias(Base):
    """Other names of a region, for matching place names in free text."""

    __tablename__ = "region_alias"
    alias: Mapped[str] = mapped_column(String(100), primary_key=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code", ondelete="CASCADE"), index=True)


class Institution(Base):
    """A hospital, community health centre, CDC, lab or clinic with its service flags."""

    __tablename__ = "institution"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), index=True)
    level: Mapped[str | None] = mapped_column(String(10))
    fever_clinic: Mapped[bool] = mapped_column(Boolean, default=False)
    intestinal_clinic: Mapped[bool] = mapped_column(Boolean, default=False)
    sentinel_types: Mapped[list[str]] = mapped_column(ARRAY(String(20)), default=list)
    is_lab: Mapped[bool] = mapped_column(Boolean, default=False)
    vaccination_clinic: Mapped[bool] = mapped_column(Boolean, default=False)
    region_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"), index=True)
    district_code: Mapped[str] = mapped_column(String(6), index=True)
    geom: Mapped[Any] = point_col()
    position_is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    input_crs: Mapped[str | None] = mapped_column(String(12))
    source: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[Any] = created_col()


Index("ix_institution_flags", Institution.district_code, Institution.fever_clinic, Institution.intestinal_clinic)
