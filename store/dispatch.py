"""Dispatched tasks (city → district → institution / team), their events and the callback outbox."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from geo.dates import TolerantDateTime
from geo.db import Base
from store.types import created_col, geom_col, updated_col

# 已下发 已签收 处置中 已完成 已退回 已撤销
TASK_STATES = ("issued", "accepted", "in_progress", "done", "returned", "cancelled")
TASK_TYPES = ("epi", "sampling", "disinfection", "supply", "screening", "other")


class Task(Base):
    """A task or sub-task; `root_id` points at the city task of the tree."""

    __tablename__ = "task"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("task.id"), index=True)
    root_id: Mapped[int | None] = mapped_column(ForeignKey("task.id"))
    city_task_id: Mapped[str | None] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(16))
    priority: Mapped[int] = mapped_column(Integer, default=2)
    deadline: Mapped[datetime] = mapped_column(TolerantDateTime())  # odd old rows read back clamped
    state: Mapped[str] = mapped_column(String(12), default="issued")
    progress: Mapped[int] = mapped_column(Integer, default=0)
    description: Mapped[str | None] = mapped_column(Text)
    location: Mapped[Any] = geom_col()
    district_code: Mapped[str] = mapped_column(String(6))
    assignee_institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"))
    assignee_team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id"))
    signal_id: Mapped[int | None] = mapped_column(ForeignKey("signal.id"))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"))
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    counts: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    attachments: Mapped[list[Any]] = mapped_column(JSONB, default=list)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    last_reminder_at: Mapped[datetime | None] = mapped_column(TolerantDateTime())
    created_at: Mapped[Any] = created_col()
    updated_at: Mapped[Any] = updated_col()


Index("ix_task_district_state", Task.district_code, Task.state)


class TaskEvent(Base):
    """A state change or feedback on a task."""

    __tablename__ = "task_event"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"), index=True)
    time: Mapped[Any] = created_col()
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    actor_name: Mapped[str | None] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    from_state: Mapped[str | None] = mapped_column(String(12))
    to_state: Mapped[str | None] = mapped_column(String(12))
    progress: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    counts: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    location: Mapped[Any] = geom_col("POINT")
    attachments: Mapped[list[Any]] = mapped_column(JSONB, default=list)


class CallbackDelivery(Base):
    """Outbox row: one message to the city platform, written with the change, retried until 2xx."""

    __tablename__ = "callback_delivery"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id"), index=True)
    task_event_id: Mapped[int | None] = mapped_column(ForeignKey("task_event.id"))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[Any] = created_col()
    last_error: Mapped[str | None] = mapped_column(Text)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[Any] = created_col()


Index("ix_callback_pending", CallbackDelivery.status, CallbackDelivery.next_attempt_at)
