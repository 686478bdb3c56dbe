"""Inbox items: what a user, a role of a district or an institution must look at (new, escalated, assigned signals)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from geo.db import Base
from store.types import created_col

# Addressed to one user, or to a role within a district (e.g. every district_commander), or to an institution.
INBOX_KINDS = ("signal.new", "signal.city", "signal.escalated", "signal.assigned")


class InboxItem(Base):
    """One notification; read by any one addressee (a shared queue for role / institution items)."""

    __tablename__ = "inbox_item"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    district_code: Mapped[str] = mapped_column(String(6))
    recipient_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    recipient_role: Mapped[str | None] = mapped_column(String(24))
    recipient_institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"))
    signal_id: Mapped[int | None] = mapped_column(ForeignKey("signal.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[Any] = created_col()
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    read_by_user_id: Mapped[int | None] = mapped_column(Integer)


Index("ix_inbox_user", InboxItem.recipient_user_id, InboxItem.created_at)
Index("ix_inbox_role", InboxItem.district_code, InboxItem.recipient_role, InboxItem.created_at)
Index("ix_inbox_institution", InboxItem.recipient_institution_id, InboxItem.created_at)
