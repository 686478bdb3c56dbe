"""A throwaway database per test package, and everything whose instance belongs to one database.

A fixture of package scope belongs to the package whose conftest defines it (pytest's rule). The root
conftest imports the fixtures below, so every test has them; a directory whose conftest imports them again
(`from tests.databases import *`) gets a database of its own, shared by its sub-directories that do not.
tests/README.md lists those directories and why each has its own database.
"""
from __future__ import annotations

import os
import secrets
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from config import Settings
from config.runtime import Services, build_services
from tests.factories import dispatch as dispatch_factory
from tests.factories import feeds as feeds_factory
from tests.factories import intake as intake_factory
from tests.factories import monitor as monitor_factory
from tests.factories import scope as scope_factory
from tests.factories.users import login as _login
from tests.factories.users import make_user

__all__ = ["settings", "services", "app", "principal_token", "login", "demo_data", "live_url",
           "intake_world", "dispatch_world", "scope_world", "monitor_world", "fworld"]

BASE_DB_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
# With replica and Sentinel settings (issue 21, `make test-ha`): a streaming replica of the TEST_DATABASE_URL
# cluster (each test database is read there under the same name) and the Sentinels in front of TEST_REDIS_URL.
REPLICA_URL = os.environ.get("TEST_REPLICA_URL", "")
REDIS_SENTINELS = os.environ.get("TEST_REDIS_SENTINELS", "")
REDIS_MASTER_NAME = os.environ.get("TEST_REDIS_MASTER_NAME", "onemap")


def _admin_engine():  # type: ignore[no-untyped-def]
    return create_engine(make_url(BASE_DB_URL).set(database="postgres"), isolation_level="AUTOCOMMIT")


def make_test_settings(database: str, **overrides: object) -> Settings:
    values: dict[str, object] = dict(
        database_url=str(make_url(BASE_DB_URL).set(database=database).render_as_string(hide_password=False)),
        redis_url=REDIS_URL,
        redis_namespace=f"test-{database}",
        secret_key=secrets.token_hex(32),
        pii_keys=f"k1:{secrets.token_hex(16)}",
        blind_index_key=secrets.token_hex(32),
        testing=True,
    )
    values.update(ha_settings(str(values.get("database_url", ""))))
    values.update(overrides)
    # Every field explicitly: tests never pick up the developer's or CI's environment (var/secrets.env).
    defaults = {name: field.default for name, field in Settings.model_fields.items()}
    return Settings(**{**defaults, **values})  # type: ignore[arg-type]


def ha_settings(database_url: str) -> dict[str, object]:
    """The replica and Sentinel settings of a test database on the TEST_DATABASE_URL cluster (none without
    TEST_REPLICA_URL / TEST_REDIS_SENTINELS; no replica for a database on another cluster, e.g. a chaos test's own)."""
    out: dict[str, object] = {}
    url, base = make_url(database_url), make_url(BASE_DB_URL)
    if REPLICA_URL and (url.host, url.port) == (base.host, base.port):
        replica = make_url(REPLICA_URL).set(database=url.database)
        out["replica_urls"] = replica.render_as_string(hide_password=False)
    if REDIS_SENTINELS:
        out.update(redis_sentinels=REDIS_SENTINELS, redis_master_name=REDIS_MASTER_NAME)
    return out


def ha_env(settings: Settings) -> dict[str, str]:
    """The replica and Sentinel settings as the environment of an `onemap` subprocess (empty: none)."""
    return {"REPLICA_URLS": settings.replica_urls, "REPLICA_MAX_LAG_SECONDS": str(settings.replica_max_lag_seconds),
            "REDIS_SENTINELS": settings.redis_sentinels, "REDIS_MASTER_NAME": settings.redis_master_name}


def create_database(name: str) -> None:
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def drop_database(name: str) -> None:
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def migrate(settings: Settings, revision: str = "heads") -> None:
    from alembic import command

    from cli.db import alembic_config

    command.upgrade(alembic_config(settings.database_url), revision)


@pytest.fixture(scope="package")
def settings() -> Iterator[Settings]:
    """A migrated throwaway database for this test package, dropped afterwards."""
    name = f"onemap_test_{uuid.uuid4().hex[:10]}"
    create_database(name)
    s = make_test_settings(name)
    migrate(s)
    yield s
    try:
        _assert_rollups_exact(s)
    finally:
        drop_database(name)


def _assert_rollups_exact(settings: Settings) -> None:
    """Whatever the package's tests wrote, the daily case rollup still equals its recomputation (issue 18)."""
    from sqlalchemy.orm import Session

    from store.rollups import differences

    engine = create_engine(settings.database_url)
    try:
        with Session(engine) as session:
            if session.execute(text("SELECT to_regclass('case_daily')")).scalar() is None:
                return  # migrated below the rollup by this package's tests
            diffs = differences(session, limit=5)
    finally:
        engine.dispose()
    assert not diffs, "case_daily differs from case_report after this package: " + "; ".join(map(str, diffs))


@pytest.fixture(scope="package")
def services(settings: Settings) -> Iterator[Services]:
    svc = build_services(settings, pool_size=5)
    yield svc
    for key in svc.redis.scan_iter(f"{settings.redis_namespace}:*"):
        svc.redis.delete(key)
    svc.engine.dispose()


@pytest.fixture(scope="package")
def app(settings: Settings, services: Services):  # type: ignore[no-untyped-def]
    from dashboard import create_app

    application = create_app(settings)
    return application


# ---- accounts for tests (security issue #3): users of any role, bearer tokens, browser login ----


@pytest.fixture(scope="package")
def principal_token(services: Services) -> Callable[..., Any]:
    """Factory `make(role, region_code="310105", institution_id=None, **kw) -> (AppUser, bearer_token)`."""
    return lambda role, region_code="310105", institution_id=None, **kw: make_user(
        services, role, region_code, institution_id, **kw)


@pytest.fixture(scope="package")
def login() -> Callable[..., str]:
    """`login(client, user) -> csrf_token`: a logged-in browser session; send the token as X-CSRFToken on POSTs."""
    return _login


@pytest.fixture(scope="package")
def demo_data(settings: Settings, services: Services, tmp_path_factory):  # type: ignore[no-untyped-def]
    """The full demo data set seeded once into this package's database (about a minute)."""
    from demo.seed import seed_demo
    from geo.db import session_scope
    from tests.conftest import reference_date

    end = reference_date()
    with session_scope(services.session_factory) as session:
        report = seed_demo(session, cipher=services.cipher, end=end, keys_dir=tmp_path_factory.mktemp("keys"))
    return report


@pytest.fixture(scope="package")
def live_url(app: Any) -> Iterator[str]:
    """The app served on a free localhost port (threaded), for callers over real HTTP (stand-in city, browsers)."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


# ---- the committed worlds of tests/factories: one per database that asks for it ----


@pytest.fixture(scope="package")
def intake_world(services: Services) -> intake_factory.World:
    return intake_factory.build_world(services)


@pytest.fixture(scope="package")
def dispatch_world(services: Services) -> dispatch_factory.World:
    return dispatch_factory.build_world(services)


@pytest.fixture(scope="package")
def scope_world(services: Services) -> scope_factory.World:
    return scope_factory.build_world(services)


@pytest.fixture(scope="package")
def monitor_world(services: Services, principal_token: Callable[..., Any]) -> monitor_factory.MonitorWorld:
    return monitor_factory.build_world(services, principal_token)


@pytest.fixture(scope="package")
def fworld(services: Services) -> feeds_factory.FeedWorld:
    return feeds_factory.build_world(services)
