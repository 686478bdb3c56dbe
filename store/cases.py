"""Notifiable diseases, case reports, syndromic counts and lab results."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    FetchedValue,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from geo.db import Base
from store.types import created_col, point_col, updated_col

DISEASE_CLASSES = ("甲", "乙", "丙", "其他")
OUTCOMES = ("under_treatment", "recovered", "died", "unknown")
SYNDROMES = ("fever", "diarrhoea", "ili", "ari")


class Disease(Base):
    """An entry of the national notifiable disease list."""

    __tablename__ = "disease"
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(80))
    klass: Mapped[str] = mapped_column(String(4))
    # Diseases on the single-case warning list fire on one case.
    single_case: Mapped[bool] = mapped_column(Boolean, default=False)
    category: Mapped[str] = mapped_column(String(20))


class CaseReport(Base):
    """A notifiable-disease report card; identity fields only as SM4 ciphertext."""

    __tablename__ = "case_report"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # institution code + ':' + the source system's id: the idempotency key
    source_id: Mapped[str] = mapped_column(String(80), unique=True)
    source_version: Mapped[int] = mapped_column(Integer, default=1)
    disease_code: Mapped[str] = mapped_column(ForeignKey("disease.code"))
    case_type: Mapped[str] = mapped_column(String(12), default="confirmed")
    onset_date: Mapped[date] = mapped_column(Date)
    diagnosis_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    report_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    audit_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reporting_institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"), index=True)
    region_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"))
    district_code: Mapped[str] = mapped_column(String(6))
    geom: Mapped[Any] = point_col()
    # The grid cell of the point ('' none): given by the writer, else looked up by the database (store.case_cells)
    grid_code: Mapped[str] = mapped_column(String(20), server_default=FetchedValue(), server_onupdate=FetchedValue())
    input_crs: Mapped[str | None] = mapped_column(String(12))
    age: Mapped[int | None] = mapped_column(SmallInteger)
    sex: Mapped[str | None] = mapped_column(String(1))
    occupation: Mapped[str | None] = mapped_column(String(20))
    outcome: Mapped[str] = mapped_column(String(16), default="under_treatment")
    death_date: Mapped[date | None] = mapped_column(Date)
    name_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    id_number_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    address_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    id_number_bidx: Mapped[bytes | None] = mapped_column(LargeBinary, index=True)
    phone_bidx: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[Any] = created_col()
    updated_at: Mapped[Any] = updated_col()


Index("ix_case_district_onset", CaseReport.district_code, CaseReport.onset_date)
# Counted cases only, covering what the city choropleth reads (migration 0002).
Index("ix_case_counted_district_onset", CaseReport.district_code, CaseReport.onset_date,
      postgresql_include=["disease_code", "region_code"],
      postgresql_where=text("case_type IN ('confirmed', 'clinical')"))
Index("ix_case_disease_onset", CaseReport.disease_code, CaseReport.onset_date)
Index("ix_case_region_onset", CaseReport.region_code, CaseReport.onset_date)
Index("ix_case_report_time", CaseReport.report_time)
Index("ix_case_updated", CaseReport.updated_at)


class SyndromicCount(Base):
    """Visits and cases of one syndrome at one institution on one day."""

    __tablename__ = "syndromic_count"
    __table_args__ = (UniqueConstraint("institution_id", "day", "syndrome", name="uq_syndromic_inst_day"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    source_id: Mapped[str] = mapped_column(String(80), unique=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    district_code: Mapped[str] = mapped_column(String(6))
    day: Mapped[date] = mapped_column(Date)
    syndrome: Mapped[str] = mapped_column(String(12))
    visits: Mapped[int] = mapped_column(Integer)
    cases: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[Any] = updated_col()


Index("ix_syndromic_district_day", SyndromicCount.district_code, SyndromicCount.day)


class LabResult(Base):
    """A laboratory test of one sample for one pathogen."""

    __tablename__ = "lab_result"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    source_id: Mapped[str] = mapped_column(String(80), unique=True)
    lab_institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    sample_id: Mapped[str] = mapped_column(String(60))
    pathogen: Mapped[str] = mapped_column(String(60))
    result: Mapped[str] = mapped_column(String(12))
    sample_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    result_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    region_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"))
    district_code: Mapped[str] = mapped_column(String(6))
    case_source_id: Mapped[str | None] = mapped_column(String(80))
    updated_at: Mapped[Any] = updated_col()


Index("ix_lab_district_time", LabResult.district_code, LabResult.sample_time)
