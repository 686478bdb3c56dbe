"""SIGKILL one of two stream workers mid-stream: every queued record is stored exactly once."""
from __future__ import annotations

import re
import signal
import time
import uuid

import pytest

from config.runtime import build_services
from ingest.bus import intake_stats, submit_many
from tests.factories.intake import build_world, case
from tests.system.chaos.conftest import created_event_ids, rollup_differences, scale, stored_source_ids
from tests.system.chaos.support import Ledger, start_worker, stop


@pytest.mark.slow
def test_sigkill_worker_mid_stream(settings, ledger: Ledger, tmp_path) -> None:  # type: ignore[no-untyped-def]
    s = settings.model_copy(update={"redis_namespace": f"{settings.redis_namespace}:kill-{uuid.uuid4().hex[:6]}"})
    svc = build_services(s, pool_size=2)
    world = build_world(svc)
    n, tag = scale(2_000, 8_000), uuid.uuid4().hex[:6]
    prefix = f"{world.inst_a}:k{tag}-"
    ids = submit_many(svc.redis, s.redis_namespace, "case_report",
                      [case(world, f"k{tag}-{i}", lon=121.301 + (i % 97) / 1000) for i in range(n)])
    assert len(ids) == n
    victim = start_worker(s, "--batch", "200", "--min-idle-ms", "1500", log_path=str(tmp_path / "victim.log"))
    survivor = start_worker(s, "--batch", "200", "--min-idle-ms", "1500", log_path=str(tmp_path / "survivor.log"))
    try:
        deadline = time.monotonic() + 120
        while len(stored_source_ids(svc.session_factory, prefix)) < n // 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        victim.send_signal(signal.SIGKILL)  # mid-batch: its pending entries must be reclaimed, not lost
        victim.wait(10)
        killed_at = len(stored_source_ids(svc.session_factory, prefix))
        while time.monotonic() < deadline:
            st = intake_stats(svc.redis, s.redis_namespace)
            if st["queued"] == 0 and st["pending"] == 0:
                break
            time.sleep(0.2)
    finally:
        stop(survivor)
        stop(victim)
    stats = intake_stats(svc.redis, s.redis_namespace)
    reclaimed = re.findall(r"reclaimed=(\d+)", (tmp_path / "survivor.log").read_text())
    ledger.notes.update(killed_after=killed_at, reclaimed=int(reclaimed[-1]) if reclaimed else None,
                        dead_letters=stats["dead"])
    ledger.settle([f"{world.inst_a}:k{tag}-{i}" for i in range(n)], stored_source_ids(svc.session_factory, prefix),
                  created_event_ids(svc.redis, s.redis_namespace, prefix))
    rollups = rollup_differences(svc.session_factory, ledger)
    svc.engine.dispose()
    assert 0 < killed_at < n, "the kill did not land mid-stream"
    assert (ledger.lost, ledger.duplicated, stats["dead"], stats["queued"], rollups) == (0, 0, 0, 0, 0)
    assert ledger.stored == n
