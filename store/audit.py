"""The hash-chained audit trail and its SM2-signed checkpoints."""
from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from geo.db import Base
from store.types import created_col


class AuditAction:
    """The columns of an audited action, chained (audit_log) or not yet (audit_pending)."""

    time: Mapped[Any] = created_col()
    actor_user_id: Mapped[int | None] = mapped_column(Integer)
    actor_name: Mapped[str | None] = mapped_column(String(60))
    action: Mapped[str] = mapped_column(String(40))
    object_type: Mapped[str | None] = mapped_column(String(30))
    object_id: Mapped[str | None] = mapped_column(String(80))
    district_code: Mapped[str | None] = mapped_column(String(6))
    ip: Mapped[str | None] = mapped_column(String(45))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


ACTION_COLUMNS = ("time", "actor_user_id", "actor_name", "action", "object_type", "object_id", "district_code", "ip",
                  "detail")


class AuditLog(AuditAction, Base):
    """One audited action; `row_hash` = SM3(prev_hash ‖ canonical row)."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary)
    row_hash: Mapped[bytes] = mapped_column(LargeBinary)


Index("ix_audit_time", AuditLog.time)
Index("ix_audit_actor", AuditLog.actor_user_id, AuditLog.time)


class AuditPending(AuditAction, Base):
    """An audited action written in its data's transaction without taking the chain's lock (intake).

    `accounts.audit.chain_pending` moves these rows into audit_log, in id order, shortly after their commit.
    """

    __tablename__ = "audit_pending"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)


class AuditCheckpoint(Base):
    """An SM2 signature over the chain head at `last_audit_id`."""

    __tablename__ = "audit_checkpoint"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_audit_id: Mapped[int] = mapped_column(ForeignKey("audit_log.id"))
    row_hash: Mapped[bytes] = mapped_column(LargeBinary)
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    key_id: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[Any] = created_col()
