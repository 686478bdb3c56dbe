"""Organisations (city → district → institution), users, tokens, API clients, settings."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from geo.db import Base
from store.types import created_col, updated_col

ORG_LEVELS = ("city", "district", "institution")
ROLES = (
    "city_admin", "district_commander", "district_analyst", "institution_user", "wall_kiosk", "city_api",
)


class Org(Base):
    """A node of the organisation tree; `region_code` is the area it may see."""

    __tablename__ = "org"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(12))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org.id"))
    region_code: Mapped[str] = mapped_column(String(20))
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"))


class AppUser(Base):
    """An account: password (PBKDF2-HMAC-SM3) plus an SM2 public key for the second factor."""

    __tablename__ = "app_user"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"))
    role: Mapped[str] = mapped_column(String(24))
    password_hash: Mapped[bytes | None] = mapped_column(LargeBinary)
    password_salt: Mapped[bytes | None] = mapped_column(LargeBinary)
    password_iterations: Mapped[int] = mapped_column(Integer, default=100_000)
    sm2_public_key: Mapped[str | None] = mapped_column(String(140))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    may_view_pii: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[Any] = created_col()


class ApiToken(Base):
    """A personal API token or a kiosk device token; only its SM3 hash is stored."""

    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(12), default="personal")  # personal | device
    token_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    created_at: Mapped[Any] = created_col()
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ApiClient(Base):
    """A machine client (the city platform) that signs its requests with SM2."""

    __tablename__ = "api_client"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    sm2_public_key: Mapped[str] = mapped_column(String(140))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[Any] = created_col()


class Setting(Base):
    """A setting changed at run time (model parameters, thresholds); changes are audited."""

    __tablename__ = "setting"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[Any] = mapped_column(JSONB)
    updated_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    updated_at: Mapped[Any] = updated_col()
