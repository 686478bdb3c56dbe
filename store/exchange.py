"""exchange_outbox: the ledger of district → city data exchange (issue 19, migration 0004).

A row is written in the same transaction as the business change it reports (triggers on case_report
insert and update), so nothing committed is missed and nothing rolled back is sent. The sender gives
each row an outcome: 'delivered' (the city accepted it, or already had it), 'refused' (the city
rejected the record; `outcome_code` says why), or 'superseded' (a newer row of the same record went
instead). Exchange KPIs are computed from these rows.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, CheckConstraint, DateTime, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from geo.db import Base
from store.types import created_col

STATUSES = ("pending", "delivered", "refused", "superseded")
# Set to 'off' for a transaction to load history without queueing it for the city (the demo seed).
CAPTURE_SETTING = "onemap.exchange_capture"


class ExchangeOutbox(Base):
    """One record version to send up to the city platform, and what became of it."""

    __tablename__ = "exchange_outbox"
    __table_args__ = (CheckConstraint(f"status IN {STATUSES}", name="ck_exchange_outbox_status"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    record_type: Mapped[str] = mapped_column(String(24))
    record_id: Mapped[int] = mapped_column(BigInteger)
    district_code: Mapped[str] = mapped_column(String(6))
    business_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # when the reported event happened
    enqueued_at: Mapped[Any] = created_col()
    status: Mapped[str] = mapped_column(String(12), server_default=text("'pending'"))
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    next_attempt_at: Mapped[Any] = created_col()
    first_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    conformant: Mapped[bool | None] = mapped_column(Boolean)  # passed the city's schema check on the first answer
    outcome_code: Mapped[str | None] = mapped_column(String(60))
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)


Index("ix_exchange_outbox_pending", ExchangeOutbox.id, postgresql_where=text("status = 'pending'"))
Index("ix_exchange_outbox_record", ExchangeOutbox.record_type, ExchangeOutbox.record_id)
Index("ix_exchange_outbox_enqueued", ExchangeOutbox.enqueued_at)
