"""SIGKILL a worker in the middle of 10,000 streamed records; after a restart each is stored exactly once."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
from sqlalchemy import text

from ingest.bus import intake_stats, submit_many
from tests.databases import ha_env
from tests.factories.intake import World, case
from tests.paths import REPO_ROOT

N = 10_000


def worker_env(settings, namespace: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {**os.environ, "DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url,
            "REDIS_NAMESPACE": namespace, "PII_KEYS": settings.pii_keys.get_secret_value(),
            "BLIND_INDEX_KEY": settings.blind_index_key.get_secret_value(), **ha_env(settings)}


def start_worker(env: dict[str, str], *args: str) -> subprocess.Popen:  # type: ignore[type-arg]
    onemap = os.path.join(os.path.dirname(sys.executable), "onemap")
    return subprocess.Popen([onemap, "worker", "--batch", "250", *args], env=env,
                            cwd=REPO_ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.mark.slow
def test_sigkill_mid_stream_then_restart_stores_each_once(settings, services, world: World) -> None:  # type: ignore[no-untyped-def]
    w, ns = world, f"{settings.redis_namespace}:{uuid.uuid4().hex[:6]}"
    tag = uuid.uuid4().hex[:6]
    records = [case(w, f"k{tag}-{i}", lon=121.301 + (i % 97) / 1000) for i in range(N)]
    submit_many(services.redis, ns, "case_report", records)
    env = worker_env(settings, ns)

    def stored() -> int:
        with services.session_factory() as s:
            return s.scalar(text("SELECT count(*) FROM case_report WHERE source_id LIKE :p"),
                            {"p": f"{w.inst_a}:k{tag}-%"})

    first = start_worker(env)
    deadline = time.monotonic() + 60
    while stored() < 2500 and time.monotonic() < deadline:
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    at_kill = stored()
    pending_at_kill = intake_stats(services.redis, ns)["pending"]
    print(f"\nkilled after {at_kill} stored; {pending_at_kill} entries pending on the dead consumer")
    assert 0 < at_kill < N, "the kill must land mid-stream"

    second = start_worker(env, "--min-idle-ms", "500", "--until-idle")
    out, _ = second.communicate(timeout=120)
    assert second.returncode == 0, out
    assert stored() == N
    assert intake_stats(services.redis, ns) | {"lag": 0} == {"queued": 0, "pending": 0, "lag": 0,
                                                            "consumers": 2, "dead": 0}
    for key in services.redis.scan_iter(f"{ns}:*"):
        services.redis.delete(key)


def test_sigterm_finishes_the_batch_and_exits(settings, services, world: World) -> None:  # type: ignore[no-untyped-def]
    ns = f"{settings.redis_namespace}:{uuid.uuid4().hex[:6]}"
    proc = start_worker(worker_env(settings, ns))
    assert "consuming" in proc.stdout.readline()  # handlers are installed before this line is printed
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=15)
    assert proc.returncode == 0 and "stopped: stored=0" in out
