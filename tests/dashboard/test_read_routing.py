"""The web side of read routing (issue 21): with a replica configured, reads of the read-heavy paths go to it
(X-Onemap-Read), a user who just wrote reads from the primary on every process, others stay on the replica.
The "replica" here is the package's own database behind a second engine, its lag set by the test."""
from __future__ import annotations

import pytest

from tests.factories.intake import case

SIGNALS = "/api/v1/signals?limit=5"


@pytest.fixture(scope="module")
def routed_app(settings, services):  # type: ignore[no-untyped-def]
    from dashboard import create_app

    app = create_app(settings.model_copy(update={"replica_urls": settings.database_url}))
    reads = app.extensions["onemap"].reads
    reads.probe, reads.probe_every = (lambda _p, _r: 0.0), 0.0  # a replica that is always fresh
    return app


def _route(client, headers) -> str:  # type: ignore[no-untyped-def]
    resp = client.get(SIGNALS, headers=headers)
    assert resp.status_code == 200
    return resp.headers["X-Onemap-Read"]


def test_reads_go_to_a_fresh_replica_and_a_writer_reads_its_writes(routed_app, intake_world) -> None:  # type: ignore[no-untyped-def]
    client = routed_app.test_client()
    writer, other = intake_world.auth("district_a"), intake_world.auth("city")
    assert _route(client, writer) == "replica"
    wrote = client.post("/api/v1/ingest/case_report", json={"records": [case(intake_world, "ryw-1")]}, headers=writer)
    assert wrote.status_code == 200
    assert _route(client, writer) == "primary"  # read-your-writes
    assert _route(routed_app.test_client(), writer) == "primary"  # from any client or process (Redis)
    assert _route(client, other) == "replica"


def test_lagging_replica_sends_reads_to_primary(routed_app, intake_world) -> None:  # type: ignore[no-untyped-def]
    reads = routed_app.extensions["onemap"].reads
    reads.probe = lambda _p, _r: 60.0
    try:
        assert _route(routed_app.test_client(), intake_world.auth("city")) == "primary"
    finally:
        reads.probe = lambda _p, _r: 0.0


def test_layers_and_summary_answer_through_the_router(routed_app, intake_world) -> None:  # type: ignore[no-untyped-def]
    client = routed_app.test_client()
    for path in ("/api/v1/layers", "/api/v1/monitor/summary", "/api/v1/command/summary"):
        resp = client.get(path, headers=intake_world.auth("district_a" if "command" in path else "city"))
        assert resp.status_code in (200, 403), (path, resp.status_code)


def test_no_replica_settings_no_routing_header(settings, intake_world) -> None:  # type: ignore[no-untyped-def]
    from dashboard import create_app

    single = create_app(settings.model_copy(update={"replica_urls": ""}))  # pinned: the single-node setup
    resp = single.test_client().get(SIGNALS, headers=intake_world.auth("city"))
    assert resp.status_code == 200
    assert "X-Onemap-Read" not in resp.headers
