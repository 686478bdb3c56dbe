"""Other departments' feeds: schools, pharmacies, weather, public opinion (舆情)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from geo.db import Base
from store.types import point_col, updated_col

SYMPTOM_GROUPS = ("fever", "respiratory", "gastrointestinal", "rash")
DRUG_GROUPS = ("antipyretic", "cough_cold", "antidiarrhoeal")


class School(Base):
    """A school reporting absenteeism (education bureau)."""

    __tablename__ = "school"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))  # kindergarten | primary | middle
    region_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"))
    district_code: Mapped[str] = mapped_column(String(6), index=True)
    geom: Mapped[Any] = point_col()
    position_is_demo: Mapped[bool] = mapped_column(default=False)


class SchoolAbsence(Base):
    """Daily absenteeism of one school, with illness absences by symptom group."""

    __tablename__ = "school_absence"
    __table_args__ = (UniqueConstraint("school_id", "day", name="uq_school_day"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    source_id: Mapped[str] = mapped_column(String(80), unique=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id", ondelete="CASCADE"))
    district_code: Mapped[str] = mapped_column(String(6))
    day: Mapped[date] = mapped_column(Date)
    enrolled: Mapped[int] = mapped_column(Integer)
    absent: Mapped[int] = mapped_column(Integer)
    absent_ill: Mapped[int] = mapped_column(Integer)
    fever: Mapped[int] = mapped_column(Integer, default=0)
    respiratory: Mapped[int] = mapped_column(Integer, default=0)
    gastrointestinal: Mapped[int] = mapped_column(Integer, default=0)
    rash: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[Any] = updated_col()


Index("ix_school_absence_district_day", SchoolAbsence.district_code, SchoolAbsence.day)


class Pharmacy(Base):
    """A retail pharmacy reporting sentinel drug sales."""

    __tablename__ = "pharmacy"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    region_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"))
    district_code: Mapped[str] = mapped_column(String(6), index=True)
    geom: Mapped[Any] = point_col()
    position_is_demo: Mapped[bool] = mapped_column(default=False)


class DrugSales(Base):
    """Units of a sentinel drug group sold per pharmacy (or per street) and day."""

    __tablename__ = "drug_sales"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    source_id: Mapped[str] = mapped_column(String(80), unique=True)
    pharmacy_id: Mapped[int | None] = mapped_column(ForeignKey("pharmacy.id", ondelete="CASCADE"))
    region_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"))
    district_code: Mapped[str] = mapped_column(String(6))
    day: Mapped[date] = mapped_column(Date)
    drug_group: Mapped[str] = mapped_column(String(20))
    units: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[Any] = updated_col()


Index("ix_drug_sales_district_day", DrugSales.district_code, DrugSales.day, DrugSales.drug_group)


class WeatherDaily(Base):
    """Daily weather of a district (meteorological service)."""

    __tablename__ = "weather_daily"
    __table_args__ = (UniqueConstraint("district_code", "day", name="uq_weather_district_day"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    source_id: Mapped[str] = mapped_column(String(80), unique=True)
    district_code: Mapped[str] = mapped_column(String(6))
    day: Mapped[date] = mapped_column(Date)
    temp_mean: Mapped[float] = mapped_column(Float)
    temp_max: Mapped[float | None] = mapped_column(Float)
    temp_min: Mapped[float | None] = mapped_column(Float)
    humidity: Mapped[float | None] = mapped_column(Float)
    rainfall_mm: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[Any] = updated_col()


class OpinionItem(Base):
    """A public-opinion item (舆情) matched to a region where its place names allow."""

    __tablename__ = "opinion_item"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    source_id: Mapped[str] = mapped_column(String(80), unique=True)
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    source: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(300))
    excerpt: Mapped[str | None] = mapped_column(Text)
    keywords: Mapped[list[str]] = mapped_column(ARRAY(String(40)), default=list)
    place_text: Mapped[str | None] = mapped_column(String(200))
    region_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"))
    district_code: Mapped[str | None] = mapped_column(String(6), index=True)
    geom: Mapped[Any] = point_col()
    matched_disease_code: Mapped[str | None] = mapped_column(ForeignKey("disease.code"))
    updated_at: Mapped[Any] = updated_col()
