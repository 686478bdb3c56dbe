"""Application settings: environment variables, secrets from env or `<NAME>_FILE`."""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

_SECRET_NAMES = ("SECRET_KEY", "PII_KEYS", "BLIND_INDEX_KEY", "AUDIT_SIGNING_KEY", "DISTRICT_SIGNING_KEY")


def _secrets_from_files() -> dict[str, str]:
    """Read `NAME_FILE` variables so secrets can live in mounted files, not the environment."""
    found: dict[str, str] = {}
    for name in _SECRET_NAMES:
        path = os.environ.get(f"{name}_FILE")
        if path and name not in os.environ:
            found[name.lower()] = Path(path).read_text(encoding="utf-8").strip()
    return found


class Settings(BaseSettings):
    """Everything configurable; constructed once by `create_app()` or the CLI."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    database_url: str = "postgresql+psycopg://postgres@127.0.0.1:5432/onemap"
    redis_url: str = "redis://127.0.0.1:6379/0"
    # Prefix of every Redis key, stream and channel, so deployments (and test runs) never mix.
    redis_namespace: str = "onemap"
    # The district this deployment serves (GB/T 2260); the demo is Changning.
    district_code: str = "310105"
    secret_key: SecretStr = SecretStr("")
    # "kid:hex32,kid2:hex32" — the first key encrypts, all decrypt (rotation).
    pii_keys: SecretStr = SecretStr("")
    blind_index_key: SecretStr = SecretStr("")
    audit_signing_key: SecretStr = SecretStr("")
    district_signing_key: SecretStr = SecretStr("")
    city_public_key: str = ""
    city_callback_url: str = ""
    # Where district data goes up to the city platform (issue 19): the exchange batch endpoint.
    city_exchange_url: str = ""
    # The city platform's 协查 relay (base URL): messages go to <url>/assist/v1/messages, keys from
    # <url>/assist/v1/directory (issue 19, cross-region investigation requests).
    city_assist_url: str = ""
    # The city platform's registered api_client: its SM2 key verifies the city's requests and, unless
    # `city_public_key` is set, is the key exchange envelopes are sealed for.
    city_key_id: str = "city-platform"
    # An exchanged record counts as timely when delivered within this many hours of its business event.
    exchange_deadline_hours: float = Field(default=3.0, gt=0, le=72)
    city_origin: str = ""
    basemap_url: str = ""
    basemap_attribution: str = ""
    # A local MBTiles or PMTiles file served at /basemap/<z>/<x>/<y>.<ext> (wins over basemap_url).
    basemap_file: str = ""
    wall_rotate_seconds: int = Field(default=60, ge=5)
    session_idle_minutes: int = 30
    # Embed tickets the city platform gets over the signed API live at most this long (≤ 60 s), single-use.
    embed_ticket_seconds: int = Field(default=60, ge=5, le=60)
    # Longest lifetime of a personal API token (≤ 90 days) and of a kiosk device token (≤ 1 year).
    personal_token_max_days: int = Field(default=90, ge=1, le=90)
    device_token_max_days: int = Field(default=365, ge=1, le=365)
    # Seconds a layer / summary answer may be kept (keyed by the data version); 0 turns the cache off.
    answer_cache_seconds: int = Field(default=60, ge=0, le=3600)
    # Reverse-proxy hops in front of the app whose X-Forwarded-For / -Proto are trusted (0: none, direct).
    proxy_hops: int = Field(default=0, ge=0, le=5)
    # A user's repeated read of the same case data (same scope, same address) is audited once per window.
    audit_read_window_seconds: int = Field(default=300, ge=0, le=3600)
    # Largest request body accepted (bytes); larger ones get 413 before they are read (default 8 MiB).
    max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=64 * 1024, le=1024 * 1024 * 1024)
    # Read replicas (issue 21): comma-separated PostgreSQL URLs; read-heavy paths use one whose replay lag is
    # under the bound, else the primary. Empty: every read goes to the primary (DATABASE_URL).
    replica_urls: str = ""
    replica_max_lag_seconds: float = Field(default=5.0, gt=0, le=600)
    # Redis Sentinel: "host:port,host:port"; when set, Redis is the master Sentinel names `redis_master_name`
    # (REDIS_URL then gives only the database number). Empty: REDIS_URL directly.
    redis_sentinels: str = ""
    redis_master_name: str = "onemap"
    # Replicas an intake submission must reach before it is acknowledged (Redis WAIT); -1: as many as are
    # connected, at most 1 (0 when none); 0: never wait.
    redis_wait_replicas: int = Field(default=-1, ge=-1, le=5)
    testing: bool = False

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Build settings from the environment, `*_FILE` secrets, then explicit overrides."""
        values: dict[str, Any] = {**_secrets_from_files(), **overrides}  # pydantic validates each value
        return cls(**values)


def load_settings(**overrides: object) -> Settings:
    return Settings.from_env(**overrides)


class MissingSecretError(RuntimeError):
    """A required secret is absent or unusable: the process refuses to start."""


def require_secret_key(settings: Settings) -> str:
    """SECRET_KEY (session signing); never a built-in value outside tests."""
    value = settings.secret_key.get_secret_value()
    if len(value) >= 32:
        return value
    if settings.testing and not value:
        return secrets.token_hex(32)  # a per-process key: nothing fixed, nothing guessable
    raise MissingSecretError("SECRET_KEY (or SECRET_KEY_FILE) must be set to at least 32 characters; "
                             "`python -m cli.keys` prints a fresh one")


def require_blind_index_key(settings: Settings) -> bytes:
    """BLIND_INDEX_KEY as bytes (≥ 16); never an all-zero stand-in."""
    value = settings.blind_index_key.get_secret_value()
    if settings.testing and not value:
        return secrets.token_bytes(32)
    try:
        key = bytes.fromhex(value)
    except ValueError:
        raise MissingSecretError("BLIND_INDEX_KEY (or BLIND_INDEX_KEY_FILE) must be hex") from None
    if len(key) < 16:
        raise MissingSecretError("BLIND_INDEX_KEY (or BLIND_INDEX_KEY_FILE) must be set to at least 16 bytes of hex; "
                                 "`python -m cli.keys` prints a fresh one")
    return key


def check_secrets(settings: Settings) -> None:
    """Raise MissingSecretError naming the first secret a web process needs but lacks."""
    require_secret_key(settings)
    if settings.pii_keys.get_secret_value():
        require_blind_index_key(settings)
