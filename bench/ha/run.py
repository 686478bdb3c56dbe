"""`make ha`: start the local HA topology (bench/ha/topology.py), run the failover scenarios, print their figures,
stop everything. Exits 1 when a scenario lost, duplicated or failed anything.

Usage: python -m bench.ha.run [--keep]   (--keep leaves the topology running for a look; stop it with Ctrl-C)
"""
from __future__ import annotations

import json
import math
import secrets
import signal
import sys
import time
from typing import Any

from sqlalchemy import create_engine, text

from bench.ha import scenarios
from bench.ha.topology import DATABASE, MASTER_NAME, Topology
from config.runtime import Services, build_services
from config.settings import Settings
from tests.databases import migrate
from tests.factories.intake import World, build_world

CHECKED = ("lost", "duplicated", "errors", "reads_replica_while_lagging", "screen_events_missed",
           "records_without_created_event")


def _secrets() -> dict[str, str]:
    return {"SECRET_KEY": secrets.token_hex(32), "PII_KEYS": f"k1:{secrets.token_hex(16)}",
            "BLIND_INDEX_KEY": secrets.token_hex(32)}


def migrated_database(topo: Topology, keys: dict[str, str]) -> Settings:
    """The database created and migrated on the primary (the replica follows); settings to reach it."""
    admin = create_engine(topo.primary.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{DATABASE}"'))
    admin.dispose()
    settings = Settings(database_url=topo.primary.url(), replica_urls=topo.replica.url(),
                        replica_max_lag_seconds=topo.max_lag, redis_url=f"redis://127.0.0.1:{topo.ports.redis_master}/0",
                        redis_sentinels=topo.sentinels, redis_master_name=MASTER_NAME,
                        redis_namespace="ha", secret_key=keys["SECRET_KEY"], pii_keys=keys["PII_KEYS"],
                        blind_index_key=keys["BLIND_INDEX_KEY"])
    migrate(settings)
    return settings


def prepare(topo: Topology, keys: dict[str, str]) -> tuple[Services, World]:
    """The migrated database and a small world with tokens."""
    svc = build_services(migrated_database(topo, keys), pool_size=4)
    return svc, build_world(svc)


def run_all(topo: Topology) -> list[dict[str, Any]]:
    keys = _secrets()
    topo.start_data()
    svc, world = prepare(topo, keys)
    topo.start_apps(keys)
    bases = topo.bases
    city = world.tokens["city"]
    return [scenarios.read_your_writes(topo, world, bases),
            scenarios.replica_lag(topo, svc, city, bases),
            scenarios.replica_restart(topo, city, bases),
            scenarios.redis_failover(topo, svc, world, bases)]


def failures(results: list[dict[str, Any]]) -> list[str]:
    bad = [f"{r['scenario']}: {k}={r[k]}" for r in results for k in CHECKED if r.get(k, 0) != 0]
    bad += [f"{r['scenario']}: no recovery" for r in results if math.isnan(r.get("recover_s", 0.0))]
    return bad


def show(results: list[dict[str, Any]]) -> None:
    print("\n== make ha: failover figures")
    for r in results:
        figures = {k: v for k, v in r.items() if k != "scenario"}
        print(f"{r['scenario']}: " + " ".join(f"{k}={v}" for k, v in figures.items()))
    print(json.dumps(results, ensure_ascii=False))


def main(argv: list[str]) -> int:
    topo = Topology()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        results = run_all(topo)
        show(results)
        if "--keep" in argv:
            print("topology left running; Ctrl-C stops it")
            while True:
                time.sleep(3600)
    finally:
        topo.stop()
    bad = failures(results)
    for line in bad:
        print(f"FAILED {line}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
