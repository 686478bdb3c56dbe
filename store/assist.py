"""跨地区信息协查 (cross-region investigation requests): requests, their timelines and the outbox to the city.

Each district keeps its own copy of a request: `direction` 'out' on the sending district, 'in' on the
receiving one; both share the public `request_no`. Personal data is only ever stored encrypted with the
district's own FieldCipher (`personal_enc`); it travels sealed for the receiving district's SM2 key.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from geo.db import Base
from store.types import created_col, point_col, updated_col

ASSIST_STATES = ("sent", "received", "accepted", "returned", "assigned", "answered", "closed")
SUBJECT_KINDS = ("person", "contact", "place", "sample")
OUTBOX_STATUSES = ("pending", "delivered", "refused")
# Chinese state names, shared by the assist domain and the map layer (layers may not import assist).
STATE_ZH = {"sent": "已发出", "received": "已送达", "accepted": "已受理", "returned": "已退回", "assigned": "已指派",
            "answered": "已反馈", "closed": "已办结"}


class AssistRequest(Base):
    """One 协查 request as this district holds it."""

    __tablename__ = "assist_request"
    __table_args__ = (
        CheckConstraint(f"state IN {ASSIST_STATES}", name="ck_assist_request_state"),
        CheckConstraint(f"subject_kind IN {SUBJECT_KINDS}", name="ck_assist_request_subject"),
        CheckConstraint("direction IN ('out', 'in')", name="ck_assist_request_direction"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_no: Mapped[str] = mapped_column(String(40), unique=True)
    direction: Mapped[str] = mapped_column(String(3))
    from_district: Mapped[str] = mapped_column(String(6))
    to_district: Mapped[str] = mapped_column(String(6))
    subject_kind: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text)
    facts: Mapped[list[Any]] = mapped_column(JSONB, default=list)
    personal_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    place_name: Mapped[str | None] = mapped_column(String(200))
    place: Mapped[Any] = point_col()
    deadline: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    state: Mapped[str] = mapped_column(String(10))
    assignee: Mapped[str | None] = mapped_column(String(100))
    findings: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[list[Any]] = mapped_column(JSONB, default=list)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    last_reminder_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[Any] = created_col()
    updated_at: Mapped[Any] = updated_col()


Index("ix_assist_request_box", AssistRequest.direction, AssistRequest.state)


class AssistEvent(Base):
    """One entry of a request's timeline; `message_id` is set when it came from the other district."""

    __tablename__ = "assist_event"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("assist_request.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(String(20))
    from_state: Mapped[str | None] = mapped_column(String(10))
    to_state: Mapped[str | None] = mapped_column(String(10))
    district_code: Mapped[str] = mapped_column(String(6))  # the district where it happened
    actor_name: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    recorded_at: Mapped[Any] = created_col()


class AssistOutbox(Base):
    """One message to the city platform (relayed to the other district), written with the change."""

    __tablename__ = "assist_outbox"
    __table_args__ = (CheckConstraint(f"status IN {OUTBOX_STATUSES}", name="ck_assist_outbox_status"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(64), unique=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("assist_request.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[Any] = created_col()
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[Any] = created_col()


Index("ix_assist_outbox_pending", AssistOutbox.status, AssistOutbox.next_attempt_at)
