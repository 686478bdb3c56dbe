"""Application settings: environment variables, secrets from env or `<NAME>_FILE`."""
from __future__ import annotations

import os
from pathlib import Path

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
    city_origin: str = ""
    basemap_url: str = ""
    basemap_attribution: str = ""
    wall_rotate_seconds: int = Field(default=60, ge=5)
    session_idle_minutes: int = 30
    # Seconds a layer / summary answer may be kept (keyed by the data version); 0 turns the cache off.
    answer_cache_seconds: int = Field(default=60, ge=0, le=3600)
    testing: bool = False

    @classmethod
    def from_env(cls, **overrides: object) -> "Settings":
        """Build settings from the environment, `*_FILE` secrets, then explicit overrides."""
        return cls(**{**_secrets_from_files(), **overrides})


def load_settings(**overrides: object) -> Settings:
    return Settings.from_env(**overrides)
