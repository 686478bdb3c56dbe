"""Response capacity: teams and their positions, resource sites, stock, incidents, duty roster."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from geo.db import Base
from store.types import created_col, geom_col, point_col, updated_col

TEAM_TYPES = ("epi", "sampling", "disinfection", "treatment")  # 流调 采样检测 消杀 医疗救治
TEAM_STATUSES = ("standby", "dispatched", "on_site", "resting")  # 待命 出动 在岗 休整


class Team(Base):
    """A response team with its current position and status."""

    __tablename__ = "team"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="standby")
    members: Mapped[int] = mapped_column(Integer, default=0)
    video_online: Mapped[bool] = mapped_column(Boolean, default=False)
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"))
    district_code: Mapped[str] = mapped_column(String(6), index=True)
    geom: Mapped[Any] = point_col()
    position_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[Any] = updated_col()


class TeamPosition(Base):
    """One GPS fix of a team (history behind the track on the command map)."""

    __tablename__ = "team_position"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    source_id: Mapped[str] = mapped_column(String(80), unique=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"))
    time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    geom: Mapped[Any] = point_col(nullable=False)
    input_crs: Mapped[str | None] = mapped_column(String(12))
    speed_kmh: Mapped[float | None] = mapped_column(Numeric(6, 2))


Index("ix_team_position_team_time", TeamPosition.team_id, TeamPosition.time)


class ResourceSite(Base):
    """A warehouse or store of emergency supplies."""

    __tablename__ = "resource_site"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"))
    district_code: Mapped[str] = mapped_column(String(6), index=True)
    geom: Mapped[Any] = point_col()
    position_is_demo: Mapped[bool] = mapped_column(Boolean, default=False)


class Stock(Base):
    """Current quantity of one item at one site, with its minimum level."""

    __tablename__ = "stock"
    __table_args__ = (UniqueConstraint("site_id", "item_code", name="uq_stock_site_item"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("resource_site.id", ondelete="CASCADE"))
    item_code: Mapped[str] = mapped_column(String(40))
    item_name: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(30))
    unit: Mapped[str] = mapped_column(String(10))
    quantity: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    min_level: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=0)
    updated_at: Mapped[Any] = updated_col()


class StockMovement(Base):
    """An in / out / allocation of stock (history behind the current quantity)."""

    __tablename__ = "stock_movement"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    source_id: Mapped[str] = mapped_column(String(80), unique=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("resource_site.id", ondelete="CASCADE"))
    item_code: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(10))  # in | out | allocate
    delta: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("task.id"))
    time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(Text)


Index("ix_stock_movement_site_time", StockMovement.site_id, StockMovement.time)


class Incident(Base):
    """An event being handled: from a confirmed signal or created by hand."""

    __tablename__ = "incident"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(16), default="open")
    signal_id: Mapped[int | None] = mapped_column(ForeignKey("signal.id"))
    district_code: Mapped[str] = mapped_column(String(6), index=True)
    geom: Mapped[Any] = point_col()
    area: Mapped[Any] = geom_col("MULTIPOLYGON")
    created_at: Mapped[Any] = created_col()


class DutyRoster(Base):
    """Who is on duty (应急值守) on a day, in which role; contacts SM4-encrypted."""

    __tablename__ = "duty_roster"
    __table_args__ = (UniqueConstraint("district_code", "day", "duty_role", "person_name_bidx", name="uq_duty"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    district_code: Mapped[str] = mapped_column(String(6))
    day: Mapped[date] = mapped_column(Date)
    duty_role: Mapped[str] = mapped_column(String(30))
    org_name: Mapped[str] = mapped_column(String(100))
    shift: Mapped[str] = mapped_column(String(20), default="全天")
    person_name_enc: Mapped[bytes] = mapped_column(LargeBinary)
    person_name_bidx: Mapped[bytes] = mapped_column(LargeBinary)
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
