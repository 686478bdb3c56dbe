"""Real PostGIS and Redis for the tests: a throwaway database and Redis namespace per test package.

The package-scoped fixtures (settings, services, app, principal_token, login, demo_data, live_url and the
factories' worlds) live in tests/databases.py; a directory whose conftest imports them again gets a database
of its own (tests/README.md). Rows for tests come from tests/factories/.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, timezone

import pytest
from sqlalchemy.orm import Session

from config.runtime import Services
from dispatch.outbox import CallbackTarget, district_key_id
from dispatch.standin import CityStandin
from tests.databases import *  # noqa: F403  (the package-scoped fixtures, for tests outside any own-database package)
from tests.databases import create_database, drop_database, make_test_settings, migrate  # noqa: F401  (re-exported)
from tests.factories.dispatch import DISTRICT as DISPATCH_DISTRICT
from tests.factories.dispatch import World as DispatchWorld


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


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def standin(dispatch_world: DispatchWorld, live_url: str) -> Iterator[CityStandin]:
    """The stand-in city platform, calling this package's app over HTTP (the dispatch world's city key)."""
    w = dispatch_world
    city = CityStandin(city_private_key_hex=w.city_private, city_key_id=w.city_key_id,
                       district_public_key_hex=w.district_public, district_key_id=district_key_id(DISPATCH_DISTRICT),
                       district_base_url=live_url).start()
    yield city
    city.stop()


@pytest.fixture
def target(dispatch_world: DispatchWorld, standin: CityStandin) -> CallbackTarget:
    """Where the district's outbox delivers: the stand-in's callback URL, signed with the district key."""
    return CallbackTarget(url=standin.callback_url, private_key_hex=dispatch_world.district_private,
                          key_id=district_key_id(DISPATCH_DISTRICT), timeout=5)


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
