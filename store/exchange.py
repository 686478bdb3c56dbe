"""exchange_outbox and exchange_inbound: the ledgers of district ⇄ city data exchange (issue 19).

exchange_outbox (migration 0004, upward): a row is written in the same transaction as the business
change it reports (triggers on case_report insert and update), so nothing committed is missed and
nothing rolled back is sent. The sender gives each row an outcome: 'delivered' (the city accepted it,
or already had it), 'refused' (the city rejected the record; `outcome_code` says why), or
'superseded' (a newer row of the same record went instead). Exchange KPIs are computed from these rows.

exchange_inbound (migration 0006, downward): one row per record the city sent down, see ExchangeInbound.
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


INBOUND_OUTCOMES = ("created", "updated", "duplicate", "stale", "rejected")
LANDED = ("created", "updated")


class ExchangeInbound(Base):
    """One record the city sent down (migration 0006): what it was, when it changed and arrived, what became of it.

    Written in the transaction that lands (or refuses) the record. The version a district holds of a
    reference record is the highest version that landed ('created' or 'updated').
    """

    __tablename__ = "exchange_inbound"
    __table_args__ = (CheckConstraint("direction IN ('down')", name="ck_exchange_inbound_direction"),
                      CheckConstraint(f"outcome IN {INBOUND_OUTCOMES}", name="ck_exchange_inbound_outcome"))
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    direction: Mapped[str] = mapped_column(String(4), server_default=text("'down'"))
    record_type: Mapped[str] = mapped_column(String(24))
    record_key: Mapped[str | None] = mapped_column(String(80))
    version: Mapped[int | None] = mapped_column(BigInteger)
    received_at: Mapped[Any] = created_col()
    business_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # the record's changed_at
    outcome: Mapped[str] = mapped_column(String(12))
    outcome_code: Mapped[str | None] = mapped_column(String(60))
    conformant: Mapped[bool] = mapped_column(Boolean)  # passed the schema check


Index("ix_exchange_inbound_record", ExchangeInbound.record_type, ExchangeInbound.record_key)
Index("ix_exchange_inbound_received", ExchangeInbound.received_at)
