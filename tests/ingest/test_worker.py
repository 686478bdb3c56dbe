"""The stream path: the worker stores through the same writers, acks after commit, dead-letters what cannot be."""
from __future__ import annotations

import dataclasses
import threading
import uuid

import pytest
from sqlalchemy import text

import ingest.worker as worker_mod
from ingest.bus import dead_key, intake_key, intake_stats, submit, submit_many
from ingest.worker import IntakeWorker, read_dead_letters
from tests.factories.intake import World, case


@pytest.fixture
def sub_services(services):  # type: ignore[no-untyped-def]
    """Services on a namespace of this test alone (still under the session's namespace)."""
    ns = f"{services.settings.redis_namespace}:{uuid.uuid4().hex[:6]}"
    yield dataclasses.replace(services, settings=services.settings.model_copy(update={"redis_namespace": ns}))
    for key in services.redis.scan_iter(f"{ns}:*"):
        services.redis.delete(key)


def test_worker_stores_acks_and_dead_letters(sub_services, world: World) -> None:  # type: ignore[no-untyped-def]
    svc, w = sub_services, world
    ns = svc.settings.redis_namespace
    submit_many(svc.redis, ns, "case_report", [case(w, f"st-{i}") for i in range(30)] + [case(w, "st-0")])
    submit(svc.redis, ns, "case_report", case(w, "st-bad", lon=124.5))  # in no district: refused for good
    svc.redis.xadd(intake_key(ns), {"kind": "weather", "data": "{}"})
    svc.redis.xadd(intake_key(ns), {"kind": "case_report", "data": "{not json"})
    stats = IntakeWorker(svc, "t1", batch_size=8).run(until_idle=True)
    assert (stats.stored, stats.dead) == (31, 3)
    with svc.session_factory() as s:
        n = s.scalar(text("SELECT count(*) FROM case_report WHERE source_id LIKE :p"), {"p": f"{w.inst_a}:st-%"})
    assert n == 30
    assert intake_stats(svc.redis, ns) | {"lag": 0} == {"queued": 0, "pending": 0, "lag": 0, "consumers": 1,
                                                        "dead": 3}
    dead = read_dead_letters(svc)
    codes = sorted(d["errors"][0]["code"] for d in dead)
    assert codes == ["geo.outside_district", "stream.bad_json", "stream.unknown_kind"], dead
    raw = svc.redis.xrange(dead_key(ns))
    assert not any(b"13812345678" in f[b"data"] for _, f in raw)  # dead letters hold personal data encrypted
    assert any("13812345678" in d["data"] for d in dead)


def test_failing_record_goes_dead_after_n_deliveries(sub_services, world: World, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    svc, w = sub_services, world
    ns = svc.settings.redis_namespace
    real = worker_mod.store_batch

    def flaky(services, *, kind, records, principal=None):  # type: ignore[no-untyped-def]
        if any(r.get("record_id") == "poison" for r in records):
            raise RuntimeError("writer crashed")
        return real(services, kind=kind, records=records, principal=principal)

    monkeypatch.setattr(worker_mod, "store_batch", flaky)
    submit_many(svc.redis, ns, "case_report", [case(w, "pz-1"), case(w, "poison"), case(w, "pz-2")])
    assert not svc.redis.exists(dead_key(ns))
    worker = IntakeWorker(svc, "t2", min_idle_ms=100, max_deliveries=3, claim_every_s=0.05)
    done = threading.Event()
    thread = threading.Thread(target=lambda: (worker.run(until_idle=True), done.set()))
    thread.start()
    assert done.wait(30), "worker did not drain"
    assert (worker.stats.stored, worker.stats.dead) == (2, 1)
    dead = read_dead_letters(svc)[0]
    assert dead["errors"][0]["code"] == "delivery.exhausted"
    assert dead["errors"][0]["deliveries"] == 4 and "writer crashed" in dead["errors"][0]["message"]
    with svc.session_factory() as s:
        ids = s.scalars(text("SELECT source_id FROM case_report WHERE source_id LIKE :p ORDER BY 1"),
                        {"p": f"{w.inst_a}:pz-%"}).all()
    assert ids == [f"{w.inst_a}:pz-1", f"{w.inst_a}:pz-2"]


def test_reclaims_entries_of_a_dead_consumer(sub_services, world: World) -> None:  # type: ignore[no-untyped-def]
    svc, w = sub_services, world
    ns = svc.settings.redis_namespace
    from ingest.bus import GROUP, ensure_group

    ensure_group(svc.redis, ns)
    submit_many(svc.redis, ns, "case_report", [case(w, f"rc-{i}") for i in range(5)])
    svc.redis.xreadgroup(GROUP, "crashed", {intake_key(ns): ">"}, count=5)  # delivered, never acked
    stats = IntakeWorker(svc, "rescuer", min_idle_ms=100, claim_every_s=0.0).run(until_idle=True)
    assert (stats.reclaimed, stats.stored) == (5, 5)
    assert intake_stats(svc.redis, ns)["pending"] == 0
