"""流调 (field investigation) and the closed loop of warning events (issue 20).

An investigation belongs to a warning event (`signal` of kind 'event') or a case report. Its exposure
places carry a point or an area in WGS84 (converted at intake from GCJ-02/BD-09), its contacts' identities
are only ever stored SM4-encrypted with SM3 blind indexes, its samples are listed. Response milestones
and the event review (处置说明 → 评价 → 复核) hang off the event.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from geo.db import Base
from store.types import created_col, geom_col, updated_col

INVESTIGATION_STATUSES = ("planned", "in_progress", "completed")
PLACE_KINDS = ("home", "work", "school", "public", "medical", "transport", "other")
CONTACT_DEGREES = ("close", "secondary")
# 待追踪 → 已追踪 → 医学观察 → 解除 / 转为病例
CONTACT_STATES = ("pending", "traced", "observing", "released", "became_case")
SAMPLE_RESULTS = ("pending", "positive", "negative", "indeterminate")
MILESTONES = ("investigation_started", "samples_taken", "contacts_listed", "contacts_traced", "control_measures",
              "communication")
REVIEW_STATES = ("closed", "evaluated", "reviewed", "returned")


def _in(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    return CheckConstraint(f"{column} IN {values}", name=name)


class Investigation(Base):
    """One 流调 of a case or a warning event: who, when, status; `source_id` is the city system's id."""

    __tablename__ = "investigation"
    __table_args__ = (
        _in("status", INVESTIGATION_STATUSES, "ck_investigation_status"),
        CheckConstraint("signal_id IS NOT NULL OR case_id IS NOT NULL", name="ck_investigation_subject"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[str | None] = mapped_column(String(80), unique=True)
    signal_id: Mapped[int | None] = mapped_column(ForeignKey("signal.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case_report.id", ondelete="SET NULL"), index=True)
    district_code: Mapped[str] = mapped_column(String(6), index=True)
    investigator: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(12))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_onset_date: Mapped[date | None] = mapped_column(Date)  # the earliest onset the 流调 found
    summary: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str | None] = mapped_column(String(64))  # of the last intake payload (idempotency)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[Any] = created_col()
    updated_at: Mapped[Any] = updated_col()


class ExposurePlace(Base):
    """A place the case or contacts were at, with its time window; a point or an area (WGS84)."""

    __tablename__ = "exposure_place"
    __table_args__ = (_in("kind", PLACE_KINDS, "ck_exposure_place_kind"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    investigation_id: Mapped[int] = mapped_column(ForeignKey("investigation.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))
    geom: Mapped[Any] = geom_col()
    input_crs: Mapped[str | None] = mapped_column(String(10))
    start_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    end_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(Text)


class Contact(Base):
    """A close or secondary contact: identity as ciphertext and blind indexes only; follow-up state and dates."""

    __tablename__ = "contact"
    __table_args__ = (
        _in("degree", CONTACT_DEGREES, "ck_contact_degree"),
        _in("state", CONTACT_STATES, "ck_contact_state"),
        UniqueConstraint("investigation_id", "record_id", name="uq_contact_record"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    investigation_id: Mapped[int] = mapped_column(ForeignKey("investigation.id", ondelete="CASCADE"), index=True)
    record_id: Mapped[str] = mapped_column(String(40))  # the source's id of the contact within the investigation
    degree: Mapped[str] = mapped_column(String(10))
    name_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    id_number_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    id_number_bidx: Mapped[bytes | None] = mapped_column(LargeBinary, index=True)
    phone_bidx: Mapped[bytes | None] = mapped_column(LargeBinary, index=True)
    last_exposure_date: Mapped[date | None] = mapped_column(Date)
    region_code: Mapped[str | None] = mapped_column(String(12), index=True)  # the street (given or located)
    geom: Mapped[Any] = geom_col("POINT")  # where the contact lives or was met (WGS84); never shown to masked roles
    input_crs: Mapped[str | None] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(12))
    listed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    traced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    observation_start: Mapped[date | None] = mapped_column(Date)
    released_on: Mapped[date | None] = mapped_column(Date)
    became_case_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # the case report the contact became (migration 0009): the contact → case edge of the transmission chain
    became_case_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("case_report.id", ondelete="SET NULL", name="fk_contact_became_case_id"), index=True)
    note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[Any] = updated_col()


class Sample(Base):
    """A sample taken during the investigation and its result."""

    __tablename__ = "fieldwork_sample"
    __table_args__ = (
        _in("result", SAMPLE_RESULTS, "ck_fieldwork_sample_result"),
        UniqueConstraint("investigation_id", "sample_no", name="uq_fieldwork_sample_no"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    investigation_id: Mapped[int] = mapped_column(ForeignKey("investigation.id", ondelete="CASCADE"), index=True)
    sample_no: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(30))
    subject: Mapped[str | None] = mapped_column(String(100))
    taken_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    result: Mapped[str] = mapped_column(String(14))
    result_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ResponseMilestone(Base):
    """One early-response action of an event, done at `done_at` (7-1-7's last step)."""

    __tablename__ = "response_milestone"
    __table_args__ = (
        _in("kind", MILESTONES, "ck_response_milestone_kind"),
        UniqueConstraint("signal_id", "kind", name="uq_response_milestone"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    signal_id: Mapped[int] = mapped_column(ForeignKey("signal.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    done_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(Text)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    recorded_at: Mapped[Any] = created_col()


class EventReview(Base):
    """The closed loop of one event: 处置说明 at closing, 评价 (with the 7-1-7 figures), 复核 by a second role."""

    __tablename__ = "event_review"
    __table_args__ = (_in("state", REVIEW_STATES, "ck_event_review_state"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    signal_id: Mapped[int] = mapped_column(ForeignKey("signal.id", ondelete="CASCADE"), unique=True)
    state: Mapped[str] = mapped_column(String(10))
    summary: Mapped[str] = mapped_column(Text)
    closed_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    closed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    timeliness: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    effectiveness: Mapped[str | None] = mapped_column(Text)
    lessons: Mapped[str | None] = mapped_column(Text)
    evaluated_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    evaluator_role: Mapped[str | None] = mapped_column(String(30))
    evaluated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    review_note: Mapped[str | None] = mapped_column(Text)
    reviewed_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
