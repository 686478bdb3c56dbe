"""Process-wide connections built once from settings (by create_app or the CLI)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import urlsplit

import redis
from redis.sentinel import Sentinel
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from config.replicas import ReadRouter, RecentWrites, Replica, WriteHorizon
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
    # Reads of the read-heavy paths (issue 21); without replicas it hands out `session_factory`.
    reads: ReadRouter | None = None
    # Who wrote recently (read-your-writes); None without replicas.
    writes: RecentWrites | None = field(default=None)


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


def replica_urls(settings: Settings) -> list[str]:
    return [u.strip() for u in settings.replica_urls.split(",") if u.strip()]


def build_reads(settings: Settings, engine: Engine, factory: sessionmaker[Session], pool_size: int) -> ReadRouter:
    """The read router over REPLICA_URLS (none: every read goes to the primary)."""
    replicas = []
    for url in replica_urls(settings):
        replica_engine = make_engine(url, pool_size=pool_size, max_overflow=20, connect_args={"connect_timeout": 2})
        name = urlsplit(url.replace("+psycopg", "")).netloc.rpartition("@")[2]
        replicas.append(Replica(name=name, engine=replica_engine, session_factory=make_session_factory(replica_engine)))
    return ReadRouter(factory, engine, replicas, max_lag=settings.replica_max_lag_seconds,
                      horizon=WriteHorizon.of(engine) if replicas else None)


def sentinel_addresses(value: str) -> list[tuple[str, int]]:
    """'h1:26379,h2:26379' → [('h1', 26379), ('h2', 26379)]."""
    out = []
    for part in (p.strip() for p in value.split(",")):
        if part:
            host, _, port = part.rpartition(":")
            out.append((host or "127.0.0.1", int(port)))
    return out


def build_redis(settings: Settings) -> redis.Redis:
    """Redis: through Sentinel (the current master, found again after a failover) or REDIS_URL directly."""
    if not settings.redis_sentinels:
        return redis.Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=2)
    db = int(urlsplit(settings.redis_url).path.strip("/") or 0)
    sentinel = Sentinel(sentinel_addresses(settings.redis_sentinels),  # type: ignore[no-untyped-call]
                        socket_timeout=1, socket_connect_timeout=1)
    master = sentinel.master_for(settings.redis_master_name, db=db,  # type: ignore[no-untyped-call]
                                 socket_timeout=5, socket_connect_timeout=2)
    return cast(redis.Redis, master)


def limiter_storage(settings: Settings) -> tuple[str, dict[str, Any]]:
    """Storage URI and options of the rate limiter (Flask-Limiter): the same Redis as `build_redis`, i.e. with
    Sentinels the master they name (counters read from it too, never a lagging replica), else REDIS_URL."""
    options: dict[str, Any] = {"key_prefix": f"{settings.redis_namespace}:limits"}  # every key under the namespace
    if not settings.redis_sentinels:
        return settings.redis_url, options
    hosts = ",".join(f"{host}:{port}" for host, port in sentinel_addresses(settings.redis_sentinels))
    options.update(use_replicas=False, db=int(urlsplit(settings.redis_url).path.strip("/") or 0),
                   socket_timeout=5, socket_connect_timeout=2, sentinel_kwargs={"socket_timeout": 1})
    return f"redis+sentinel://{hosts}/{settings.redis_master_name}", options


def build_services(settings: Settings, pool_size: int = 10) -> Services:
    engine = make_engine(settings.database_url, pool_size=pool_size, max_overflow=20)
    factory = make_session_factory(engine)
    client = build_redis(settings)
    reads = build_reads(settings, engine, factory, pool_size)
    writes = (RecentWrites(client, settings.redis_namespace, settings.replica_max_lag_seconds)
              if reads.enabled else None)
    return Services(settings=settings, engine=engine, session_factory=factory, redis=client,
                    cipher=build_cipher(settings), reads=reads, writes=writes)
