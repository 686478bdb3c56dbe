"""What a warning run's reuse reads (migration warn_0003): the change log of its inputs, kept by triggers, and
the alarms of the last completed run per scope and day (`alerting.run_reuse`)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, DateTime, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from geo.db import Base


class WarnInputChange(Base):
    """One writing statement on a warning input of one district ('*': of every district); append-only."""

    __tablename__ = "warn_input_change"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    district_code: Mapped[str] = mapped_column(String(6))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))


Index("ix_warn_input_change_district", WarnInputChange.district_code, WarnInputChange.id)


class WarnRunResult(Base):
    """The alarms (JSON text) of the last completed warning run of a scope ('*': the city) and day."""

    __tablename__ = "warn_run_result"
    scope: Mapped[str] = mapped_column(String(6), primary_key=True)
    as_of: Mapped[date] = mapped_column(Date, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    result: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))
