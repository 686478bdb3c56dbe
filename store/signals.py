"""Warning signals, their state changes and receipts by institutions."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from geo.db import Base
from store.types import created_col, geom_col, updated_col

# 新信号 → 核实中 → 已排除 | 疑似事件 → 已确认 → 处置中 → 已结案
SIGNAL_STATES = ("new", "verifying", "excluded", "suspected", "confirmed", "responding", "closed")
# event: a warning event (预警事件, fused and graded; the loop, inbox and push work on these); alarm: one model's
# raw alarm, kept as evidence of its event
SIGNAL_KINDS = ("event", "alarm")
GRADES = ("blue", "yellow", "orange", "red")


class Signal(Base):
    """A warning signal with the evidence that raised it."""

    __tablename__ = "signal"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # region + disease + model + window: repeated firing updates the open signal with this key
    dedup_key: Mapped[str] = mapped_column(String(200), index=True)
    origin: Mapped[str] = mapped_column(String(16))  # model | city | opinion | department
    source_dept: Mapped[str | None] = mapped_column(String(30))
    external_id: Mapped[str | None] = mapped_column(String(80), unique=True)
    model: Mapped[str] = mapped_column(String(30))
    kind: Mapped[str] = mapped_column(String(8), default="event", server_default="event")
    event_id: Mapped[int | None] = mapped_column(ForeignKey("signal.id", ondelete="SET NULL"), index=True)
    grade: Mapped[str | None] = mapped_column(String(8))  # events: blue | yellow | orange | red
    disease_code: Mapped[str | None] = mapped_column(ForeignKey("disease.code"))
    region_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"))
    district_code: Mapped[str] = mapped_column(String(6))
    state: Mapped[str] = mapped_column(String(12), default="new")
    title: Mapped[str] = mapped_column(String(200))
    observed: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    window_start: Mapped[date | None] = mapped_column(Date)
    window_end: Mapped[date | None] = mapped_column(Date)
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    geom: Mapped[Any] = geom_col()
    assignee_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    verify_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    fire_count: Mapped[int] = mapped_column(Integer, default=1)
    first_fired_at: Mapped[Any] = created_col()
    last_fired_at: Mapped[Any] = created_col()
    updated_at: Mapped[Any] = updated_col()


Index("ix_signal_district_state", Signal.district_code, Signal.state)
Index("ix_signal_kind_district_end", Signal.kind, Signal.district_code, Signal.window_end)


class SignalEvent(Base):
    """One action on a signal: who, when, from which state to which, why."""

    __tablename__ = "signal_event"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    signal_id: Mapped[int] = mapped_column(ForeignKey("signal.id", ondelete="CASCADE"), index=True)
    time: Mapped[Any] = created_col()
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    action: Mapped[str] = mapped_column(String(30))
    from_state: Mapped[str | None] = mapped_column(String(12))
    to_state: Mapped[str | None] = mapped_column(String(12))
    reason: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class SignalReceipt(Base):
    """A signal pushed to an institution, and when it acknowledged (已签收)."""

    __tablename__ = "signal_receipt"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    signal_id: Mapped[int] = mapped_column(ForeignKey("signal.id", ondelete="CASCADE"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    pushed_at: Mapped[Any] = created_col()
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ack_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
