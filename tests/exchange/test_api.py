"""GET /api/v1/exchange/kpis: figures for administrators, refusals with the field and the reason."""
from __future__ import annotations

from tests.exchange.test_upward import ingest, send


def test_the_kpis_answer_for_administrators(client, services, world, city) -> None:
    ingest(client, world, "api", 4)
    city.receiver.refuse = set()
    send(services, city, world)
    r = client.get("/api/v1/exchange/kpis", headers=world.auth("district_a"))
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["goals"] == {"success": 0.9, "timeliness": 0.8, "conformance": 0.7}
    assert body["totals"]["success"] == 1.0 and body["totals"]["conformance"] == 1.0
    assert sum(d["delivered"] for d in body["days"]) == 4 and body["stale"] is False
    assert body["waiting"]["pending"] == 0 and body["deadline_hours"] == 3.0


def test_others_and_bad_periods_are_refused(client, world) -> None:
    assert client.get("/api/v1/exchange/kpis", headers=world.auth("inst_a")).status_code == 403
    for query, field in (("since=2026-13-01", "since"), ("since=2026-11-10&until=2026-11-01", "until"),
                         ("since=2024-01-01&until=2025-06-01", "until"), ("since=1900-01-01", "since"),
                         ("days=3", "days")):
        r = client.get(f"/api/v1/exchange/kpis?{query}", headers=world.auth("city"))
        assert r.status_code == 422, (query, r.status_code)
        body = r.get_json()
        text = str(body)
        assert field in text and "message_zh" in text, (query, body)
