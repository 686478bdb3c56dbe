"""Read routing (issue 21): a fresh replica for reads, the primary when none is fresh, re-run on the primary when
the replica fails, and read-your-writes. The "replica" is a second real database; its lag comes from a probe the
test sets (the WAL measure itself is exercised by `make ha` against a real streaming replica)."""
from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from config.replicas import ReadRouter, RecentWrites, Replica, WalLag
from geo.db import make_engine, make_session_factory
from tests.databases import BASE_DB_URL, create_database, drop_database


def _url(name: str) -> str:
    return make_url(BASE_DB_URL).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def two_databases() -> Iterator[tuple[str, str]]:
    names = [f"onemap_test_rr_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    for name, label in zip(names, ("primary", "replica"), strict=True):
        create_database(name)
        engine = make_engine(_url(name))
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE whoami (label text)"))
            conn.execute(text("INSERT INTO whoami VALUES (:l)"), {"l": label})
        engine.dispose()
    yield _url(names[0]), _url(names[1])
    for name in names:
        drop_database(name)


def _router(urls: tuple[str, str], lag: list[float | None], replica_url: str | None = None) -> ReadRouter:
    primary = make_engine(urls[0])
    replica_engine = make_engine(replica_url or urls[1], connect_args={"connect_timeout": 2})
    replica = Replica(name="r1", engine=replica_engine, session_factory=make_session_factory(replica_engine))
    return ReadRouter(make_session_factory(primary), primary, [replica], max_lag=5.0,
                      probe=lambda _p, _r: lag[0], probe_every=0.0)


def _who(session) -> str:  # type: ignore[no-untyped-def]
    return str(session.scalar(text("SELECT label FROM whoami")))


def test_fresh_replica_serves_reads(two_databases: tuple[str, str]) -> None:
    router = _router(two_databases, [0.2])
    assert router.read(_who) == "replica"
    with router.session() as session:
        assert _who(session) == "replica"


def test_lagging_or_unreachable_replica_leaves_reads_on_primary(two_databases: tuple[str, str]) -> None:
    lag: list[float | None] = [7.5]
    router = _router(two_databases, lag)
    assert router.read(_who) == "primary"
    lag[0] = None  # the probe could not reach it
    assert router.read(_who) == "primary"
    lag[0] = 1.0  # caught up again
    assert router.read(_who) == "replica"


def test_recent_writer_reads_primary(two_databases: tuple[str, str]) -> None:
    router = _router(two_databases, [0.0])
    assert router.read(_who, recent_writer=True) == "primary"
    assert router.read(_who, recent_writer=False) == "replica"


def test_replica_failing_mid_read_is_retried_on_primary(two_databases: tuple[str, str]) -> None:
    dead = make_url(two_databases[1]).set(port=1).render_as_string(hide_password=False)  # nothing listens there
    router = _router(two_databases, [0.0], replica_url=dead)
    assert router.read(_who) == "primary"
    assert router.fallbacks == 1
    assert router.replicas[0].lag is None  # marked down until the next probe
    with router.session() as session:  # the Dash form falls back as well
        assert _who(session) == "primary"


def test_without_replicas_everything_is_primary(two_databases: tuple[str, str]) -> None:
    primary = make_engine(two_databases[0])
    router = ReadRouter(make_session_factory(primary), primary, [])
    assert not router.enabled
    assert router.read(_who) == "primary"


def test_wal_lag_of_a_primary_is_never_fresh(two_databases: tuple[str, str]) -> None:
    """A server that replays nothing (here: a primary named as replica) has no finite lag."""
    engine = make_engine(two_databases[0])
    assert WalLag()(engine, engine) == float("inf")


def test_recent_writes_are_shared_through_redis(services) -> None:  # type: ignore[no-untyped-def]
    ns = f"{services.settings.redis_namespace}:ryw-{uuid.uuid4().hex[:6]}"
    here, there = RecentWrites(services.redis, ns, 60), RecentWrites(services.redis, ns, 60)
    here.mark("u1")
    assert here.recent("u1") and there.recent("u1")  # another process learns it from Redis
    assert not there.recent("u2")
    services.redis.delete(f"{ns}:wrote:u1")
    assert not there.recent("u1")
