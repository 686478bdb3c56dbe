"""`make test-ha`: the whole existing test suite WITH replica and Sentinel settings (issue 21).

Starts the HA topology of bench/ha/topology.py under var/ha-tests/ on free ports (no web processes, no workers:
the tests start their own): a PostgreSQL primary and a streaming replica, a Redis master and replica behind three
Sentinels. The tests create their databases on that primary (TEST_DATABASE_URL) and read each from the replica
under the same name (TEST_REPLICA_URL); their Redis is the master the Sentinels name (TEST_REDIS_URL,
TEST_REDIS_SENTINELS, TEST_REDIS_MASTER_NAME), see tests/databases.py. Runs `pytest -q` with the given
arguments (default: the whole suite), then stops everything it started, whatever happened.

Usage: python -m bench.ha.test_suite [pytest arguments]
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

from bench.ha.topology import MASTER_NAME, ROOT, Topology

HOME = ROOT / "var" / "ha-tests"


def test_env(topo: Topology) -> dict[str, str]:
    """What tests/databases.py reads to give every test database, app and subprocess the HA settings."""
    return {**os.environ, "TEST_DATABASE_URL": topo.primary.url("postgres"),
            "TEST_REPLICA_URL": topo.replica.url("postgres"),
            "TEST_REDIS_URL": f"redis://127.0.0.1:{topo.ports.redis_master}/0",
            "TEST_REDIS_SENTINELS": topo.sentinels, "TEST_REDIS_MASTER_NAME": MASTER_NAME}


def _commit() -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                         check=False)
    return out.stdout.strip() or "?"


def main(argv: list[str]) -> int:
    topo = Topology.at(HOME)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    code = 1
    try:
        topo.start_data()
        env = test_env(topo)
        print(f"test-ha: PostgreSQL primary :{topo.ports.pg_primary} + replica :{topo.ports.pg_replica}, "
              f"Redis master :{topo.ports.redis_master} + replica :{topo.ports.redis_replica}, "
              f"Sentinels {topo.sentinels}", flush=True)
        code = subprocess.run([sys.executable, "-m", "pytest", "-q", *argv], cwd=ROOT,
                              env=env, check=False).returncode
    finally:
        topo.stop()
        shutil.rmtree(HOME, ignore_errors=True)
    minutes = (time.monotonic() - started) / 60
    print(f"test-ha: pytest exit {code} after {minutes:.1f} min "
          f"({datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {_commit()}, with replica + Sentinel settings)")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
