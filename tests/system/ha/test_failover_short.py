"""The short failover test of issue 21 (the long form: `make ha`, bench/ha/run.py).

A small topology of our own (bench/ha/topology.py, under var/ha-short-*/ on free ports): a PostgreSQL primary and a
streaming replica, a Redis master and replica behind three Sentinels. The Redis master is SIGKILLed during stream
intake at 40 records/s: every acknowledged record is stored once, none lost. Then replay is paused on the replica
while the primary keeps writing: reads go to the primary. The shared PostgreSQL (5432) and Redis (6379) are
never used; everything started here is stopped and its directory removed, whatever the outcome.
"""
from __future__ import annotations

import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from bench.ha.clients import Sender
from bench.ha.scenarios import SIGNALS, _fail_over, _stored, _ticking, _until
from bench.ha.topology import MASTER_NAME, PG_BIN, ROOT, Topology
from config.runtime import Services, build_services
from config.settings import Settings
from ingest.worker import IntakeWorker
from tests.databases import make_test_settings, migrate
from tests.factories.intake import World, build_world, case

MAX_LAG = 1.0  # the replica's lag bound here (seconds): short, so the paused replica is stale soon


@dataclass
class Ha:
    topo: Topology
    settings: Settings
    svc: Services
    world: World


def _can_run() -> str | None:
    if shutil.which("redis-server") is None:
        return "redis-server missing"
    if not os.path.exists(f"{PG_BIN}/pg_basebackup"):
        return "PostgreSQL 15 binaries missing"
    return None


def _settings(topo: Topology) -> Settings:
    admin = create_engine(topo.primary.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text('CREATE DATABASE "short"'))
    admin.dispose()
    return make_test_settings("short", database_url=topo.primary.url("short"), replica_urls=topo.replica.url("short"),
                              replica_max_lag_seconds=MAX_LAG, redis_url=f"redis://127.0.0.1:{topo.ports.redis_master}/0",
                              redis_sentinels=topo.sentinels, redis_master_name=MASTER_NAME, redis_namespace="short",
                              answer_cache_seconds=0)


@pytest.fixture
def ha() -> Iterator[Ha]:
    reason = _can_run()
    if reason:
        pytest.skip(reason)
    topo = Topology.at(ROOT / "var" / f"ha-short-{uuid.uuid4().hex[:8]}", max_lag=MAX_LAG)
    svc: Services | None = None
    try:
        topo.start_data()
        settings = _settings(topo)
        migrate(settings)
        svc = build_services(settings, pool_size=3)
        world = build_world(svc)
        topo.wait_sentinels()
        yield Ha(topo, settings, svc, world)
    finally:
        if svc is not None:
            svc.engine.dispose()
            for replica in svc.reads.replicas if svc.reads else []:
                replica.engine.dispose()
        topo.stop()
        shutil.rmtree(topo.home, ignore_errors=True)


def _route(client: Any, world: World) -> str:
    resp = client.get(SIGNALS, headers=world.auth("city"))
    assert resp.status_code == 200
    return str(resp.headers.get("X-Onemap-Read", "none"))


@pytest.mark.slow
def test_redis_master_killed_during_intake_then_replica_paused(ha: Ha) -> None:
    from dashboard import create_app

    svc, world, ns = ha.svc, ha.world, ha.settings.redis_namespace
    stop = threading.Event()
    worker = IntakeWorker(svc, "short-1", batch_size=100, min_idle_ms=1500, claim_every_s=1.0)
    worker_thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    worker_thread.start()
    tag = f"s{world.tag}"
    sender = Sender(svc.redis, ns, lambda rid: case(world, f"{tag}-{rid}"), rate=40.0, batch=4)
    try:
        sender.start()
        time.sleep(3)
        old, _ = _fail_over(ha.topo)  # SIGKILL; returns once Sentinel named the replica master
        assert _until(lambda: sender.resumed_at is not None or sender.retries == 0, 20)
        time.sleep(3)  # intake goes on against the new master
        sender.stop.set()
        time.sleep(0.5)
        prefix = f"{world.inst_a}:{tag}-"
        accepted = {f"{prefix}{rid.split('-', 1)[1]}" for rid in sender.accepted}
        _until(lambda: accepted <= set(_stored(svc, prefix)), 30, 0.3)
        stored = _stored(svc, prefix)
    finally:
        stop.set()
        worker_thread.join(10)
    assert ha.topo.redis_master_port() != old
    assert len(accepted) >= 150, f"only {len(accepted)} records accepted"
    assert accepted - set(stored) == set(), "lost"
    assert len(stored) == len(set(stored)), "duplicated"
    assert set(stored) == accepted  # accepted == stored

    client = create_app(ha.settings).test_client()
    assert _until(lambda: _route(client, world) == "replica", 15), "the fresh replica takes reads"
    replica = create_engine(ha.topo.replica.url("short"), isolation_level="AUTOCOMMIT")
    try:
        with svc.engine.begin() as conn:
            conn.execute(text("CREATE TABLE IF NOT EXISTS ha_tick (at timestamptz)"))
        with replica.connect() as conn:
            conn.execute(text("SELECT pg_wal_replay_pause()"))
        _ticking(svc, MAX_LAG + 1.5)  # the primary writes on; the paused replica falls behind the bound
        assert _until(lambda: (_ticking(svc, 0.3), _route(client, world))[1] == "primary", 10)
        routes = [(_ticking(svc, 0.3), _route(client, world))[1] for _ in range(5)]
        assert routes == ["primary"] * 5, routes
    finally:
        with replica.connect() as conn:
            conn.execute(text("SELECT pg_wal_replay_resume()"))
        replica.dispose()
