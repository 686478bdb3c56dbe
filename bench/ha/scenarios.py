"""The failover scenarios of `make ha`; each returns its figures (accepted, stored, lost, duplicated, errors,
time to recover) as one dict."""
from __future__ import annotations

import time
from collections import Counter
from typing import Any

from sqlalchemy import create_engine, text

from bench.ha.clients import ReadLoad, Screen, Sender
from bench.ha.topology import Topology
from config.runtime import Services
from ingest.events import decode_entry, events_key
from tests.factories.intake import World, case

SIGNALS = "/api/v1/signals?limit=5"


def _until(check: Any, timeout: float, step: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return False


def _stored(svc: Services, prefix: str) -> list[str]:
    with svc.session_factory() as s:
        return list(s.scalars(text("SELECT source_id FROM case_report WHERE source_id LIKE :p"), {"p": prefix + "%"}))


def _stream_events(svc: Services, since_ms: int, prefix: str) -> tuple[set[str], Counter[str]]:
    """Ids of every event on the events stream since `since_ms`, and the 'created' events per source id."""
    ids, created = set(), Counter[str]()
    for entry_id, fields in svc.redis.xrange(events_key(svc.settings.redis_namespace), min=str(since_ms)):
        ids.add(entry_id.decode() if isinstance(entry_id, bytes) else entry_id)
        event = decode_entry(fields) or {}
        sid = (event.get("fields") or {}).get("source_id", "")
        if event.get("action") == "created" and sid.startswith(prefix):
            created[sid] += 1
    return ids, created


def _fail_over(topo: Topology) -> tuple[int, float]:
    """SIGKILL the Redis master; returns the new master's port and the seconds until Sentinel named it."""
    old = topo.redis_master_port()
    killed_at = time.monotonic()
    topo.node(old).kill()
    if not _until(lambda: topo.redis_master_port() != old, 60):
        raise RuntimeError("Sentinel did not promote the replica")
    return old, killed_at


def redis_failover(topo: Topology, svc: Services, world: World, bases: list[str]) -> dict[str, Any]:
    """Redis master killed during intake at 100 records/s while screens follow the live stream."""
    tag, since_ms = f"f{world.tag}", int(time.time() * 1000)
    screens = [Screen(base, world.tokens["city"]) for base in bases for _ in range(2)]
    for screen in screens:
        screen.start()
    time.sleep(2)
    sender = Sender(svc.redis, svc.settings.redis_namespace, lambda rid: case(world, f"{tag}-{rid}"))
    sender.start()
    time.sleep(5)
    old, killed_at = _fail_over(topo)
    promoted_s = time.monotonic() - killed_at
    _until(lambda: sender.resumed_at is not None, 30)
    time.sleep(5)
    topo.node(old).replica_of = topo.redis_master_port()  # the old master comes back as a replica
    topo.node(old).start()
    sender.stop.set()
    time.sleep(1)
    prefix = f"{world.inst_a}:{tag}-"
    accepted = {f"{world.inst_a}:{tag}-{rid.split('-', 1)[1]}" for rid in sender.accepted}
    _until(lambda: len(set(_stored(svc, prefix)) & accepted) >= len(accepted), 180, 0.5)
    time.sleep(3)  # screens take the last events
    for screen in screens:
        screen.stop.set()
    stored = _stored(svc, prefix)
    stream_ids, created = _stream_events(svc, since_ms, prefix)
    missing = max(len(stream_ids - set(s.ids)) for s in screens)
    return {"scenario": "redis master SIGKILL during intake (100 records/s)", "accepted": len(accepted),
            "stored": len(set(stored) & accepted), "lost": len(accepted - set(stored)),
            "duplicated": len(stored) - len(set(stored)) + sum(n - 1 for n in created.values() if n > 1),
            "errors": 0, "recover_s": round((sender.resumed_at or killed_at) - killed_at, 2),
            "promoted_s": round(promoted_s, 2), "send_retries": sender.retries, "screens": len(screens),
            "screen_events_missed": missing, "screen_resets": sum(s.resets for s in screens),
            "events_on_stream": len(stream_ids), "records_without_created_event": len(set(stored) - set(created))}


def replica_restart(topo: Topology, token: str, bases: list[str]) -> dict[str, Any]:
    """The PostgreSQL replica stopped and started while 50 clients read."""
    load = ReadLoad(bases, token, SIGNALS, clients=50)
    threads = load.start()
    time.sleep(4)
    before = load.snapshot()
    topo.replica.stop("fast")
    time.sleep(5)
    during = load.snapshot() - before
    started_at = time.monotonic()
    topo.replica.start()
    back = _until(lambda: load.last_replica_at > started_at, 60)
    back_s = load.last_replica_at - started_at if back else float("nan")
    time.sleep(2)
    load.stop.set()
    for t in threads:
        t.join(30)
    return {"scenario": "postgres replica stopped+started under 50 readers", "requests": load.requests,
            "errors": load.errors, "reads_replica_before": before["replica"], "reads_primary_before": before["primary"],
            "reads_primary_while_down": during["primary"], "reads_replica_while_down": during["replica"],
            "recover_s": round(back_s, 2)}


def _replica_sql(topo: Topology, sql: str) -> None:
    engine = create_engine(topo.replica.url(), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(sql))
    engine.dispose()


def replica_lag(topo: Topology, svc: Services, token: str, bases: list[str]) -> dict[str, Any]:
    """Replay paused on the replica while the primary keeps writing: reads go to the primary beyond the bound."""
    load = ReadLoad(bases, token, SIGNALS, clients=10, pause=0.1)
    threads = load.start()
    with svc.engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS ha_tick (at timestamptz)"))
    _ticking(svc, 2)
    _replica_sql(topo, "SELECT pg_wal_replay_pause()")
    paused_at = time.monotonic()
    _ticking(svc, topo.max_lag + 2.5)  # lag = age of the last replayed commit: over the bound by now
    over = load.snapshot()
    _ticking(svc, 3)
    while_lagging = load.snapshot() - over
    last_replica_read_s = load.last_replica_at - paused_at
    _replica_sql(topo, "SELECT pg_wal_replay_resume()")
    resumed_at = time.monotonic()
    back = _until(lambda: load.last_replica_at > resumed_at, 30)
    load.stop.set()
    for t in threads:
        t.join(30)
    return {"scenario": f"replica replay paused (bound {topo.max_lag:g} s)", "requests": load.requests,
            "errors": load.errors, "reads_replica_while_lagging": while_lagging["replica"],
            "reads_primary_while_lagging": while_lagging["primary"],
            "last_replica_read_after_pause_s": round(last_replica_read_s, 2),
            "recover_s": round(load.last_replica_at - resumed_at, 2) if back else float("nan")}


def _ticking(svc: Services, seconds: float) -> None:
    """A small write on the primary every 0.3 s for `seconds`."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        with svc.engine.begin() as conn:
            conn.execute(text("INSERT INTO ha_tick VALUES (now())"))
        time.sleep(0.3)


def read_your_writes(topo: Topology, world: World, bases: list[str]) -> dict[str, Any]:
    """A writer reads from the primary (on any web process) for the bound; another user reads the replica."""
    import requests

    time.sleep(1.5)  # the replica is fresh
    rec = case(world, f"ryw{world.tag}")
    wrote = requests.post(f"{bases[0]}/api/v1/ingest/case_report", json={"records": [rec]},
                          headers=world.auth("district_a"), timeout=10)

    def route(who: str, base: str) -> str:
        return requests.get(base + SIGNALS, headers=world.auth(who), timeout=10).headers.get("X-Onemap-Read", "?")

    writer_now, other_now = route("district_a", bases[1]), route("city", bases[1])
    time.sleep(topo.max_lag + 1.5)
    writer_later = route("district_a", bases[1])
    ok = wrote.status_code == 200 and (writer_now, other_now, writer_later) == ("primary", "replica", "replica")
    return {"scenario": "read-your-writes", "errors": 0 if ok else 1, "write_status": wrote.status_code,
            "writer_reads_after_write": writer_now, "other_user_reads": other_now,
            "writer_reads_after_bound": writer_later}
