"""Real PostGIS and Redis for the tests: a throwaway database and Redis namespace per test package.

Each package (tests/ingest, tests/monitor, …) gets its own database, so one suite's synthetic
districts and institutions never leak into another suite's spatial lookups or counts.
"""
from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, timezone

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from config import Settings
from config.runtime import Services, build_services

BASE_DB_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


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
    values.update(overrides)
    # Every field explicitly: tests never pick up the developer's or CI's environment (var/secrets.env).
    defaults = {name: field.default for name, field in Settings.model_fields.items()}
    return Settings(**{**defaults, **values})  # type: ignore[arg-type]


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
    drop_database(name)


@pytest.fixture(scope="package")
def services(settings: Settings) -> Iterator[Services]:
    svc = build_services(settings, pool_size=5)
    yield svc
    for key in svc.redis.scan_iter(f"{settings.redis_namespace}:*"):
        svc.redis.delete(key)
    svc.engine.dispose()


@pytest.fixture
def db(services: Services) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test."""
    conn = services.engine.connect()
    trans = conn.begin()
    session = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
    yield session
    session.close()
    trans.rollback()
    conn.close()


@pytest.fixture(scope="package")
def app(settings: Settings, services: Services):  # type: ignore[no-untyped-def]
    from dashboard import create_app

    application = create_app(settings)
    return application


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


# ---- accounts for tests (security issue #3): users of any role, bearer tokens, browser login ----


@pytest.fixture(scope="package")
def principal_token(services: Services):  # type: ignore[no-untyped-def]
    """Factory `make(role, region_code="310105", institution_id=None, **kw) -> (AppUser, bearer_token)`."""
    from tests.security.support import make_user

    return lambda role, region_code="310105", institution_id=None, **kw: make_user(
        services, role, region_code, institution_id, **kw)


@pytest.fixture(scope="package")
def login():  # type: ignore[no-untyped-def]
    """`login(client, user) -> csrf_token`: a logged-in browser session; send the token as X-CSRFToken on POSTs."""
    from tests.security.support import login as _login

    return _login




def reference_date() -> date:
    """The demo's last day: `ONEMAP_REFERENCE_DATE` (ISO) when set, else today in China Standard Time.

    The pages read the wall clock ("today", the duty roster), so the default follows it; `make test` also runs
    the date-sensitive tests (seed, warning runner, backtest) for fixed dates across the year (tests/reference_dates.txt).
    """
    fixed = os.environ.get("ONEMAP_REFERENCE_DATE")
    if fixed:
        return date.fromisoformat(fixed)
    return datetime.now(timezone(timedelta(hours=8))).date()


@pytest.fixture(scope="session", autouse=True)
def _clock_at_reference_date() -> Iterator[None]:
    """With `ONEMAP_REFERENCE_DATE` set, the date-range checks' "now" is noon of that day in Beijing.

    The demo's world then ends on that day for the API too (as_of, since, until are checked against it).
    """
    if not os.environ.get("ONEMAP_REFERENCE_DATE"):
        yield
        return
    from geo.dates import frozen_now

    with frozen_now(datetime.combine(reference_date(), time(12), tzinfo=timezone(timedelta(hours=8)))):
        yield


@pytest.fixture(scope="package")
def demo_data(settings: Settings, services: Services, tmp_path_factory):  # type: ignore[no-untyped-def]
    """The full demo data set seeded once into this package's database (about a minute)."""
    from demo.seed import seed_demo
    from geo.db import session_scope

    end = reference_date()
    with session_scope(services.session_factory) as session:
        report = seed_demo(session, cipher=services.cipher, end=end, keys_dir=tmp_path_factory.mktemp("keys"))
    return report
