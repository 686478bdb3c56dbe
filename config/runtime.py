"""Process-wide connections built once from settings (by create_app or the CLI)."""
from __future__ import annotations

from dataclasses import dataclass

import redis
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings, require_blind_index_key
from geo.db import make_engine, make_session_factory
from security.pii import FieldCipher
from security.secrets import KeyRing


@dataclass
class Services:
    """Settings plus the database, Redis and the personal-data cipher."""

    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    redis: redis.Redis
    cipher: FieldCipher | None


def build_cipher(settings: Settings) -> FieldCipher | None:
    """The PII cipher, or None when no key is configured (then PII cannot be written).

    Raises MissingSecretError when PII_KEYS is set without a usable BLIND_INDEX_KEY.
    """
    if not settings.pii_keys.get_secret_value():
        return None
    return FieldCipher(
        KeyRing.parse(settings.pii_keys.get_secret_value()),
        require_blind_index_key(settings),  # refuses to start without one, never an all-zero key
    )


def build_services(settings: Settings, pool_size: int = 10) -> Services:
    engine = make_engine(settings.database_url, pool_size=pool_size, max_overflow=20)
    return Services(
        settings=settings,
        engine=engine,
        session_factory=make_session_factory(engine),
        redis=redis.Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=2),
        cipher=build_cipher(settings),
    )
