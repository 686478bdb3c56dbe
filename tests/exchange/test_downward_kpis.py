"""Downward exchange KPIs from the ledger equal a hand count of scripted landings (reference data and warnings)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from exchange import kpis
from tests.exchange.test_downward import changed, disease, district, land, new_district, statuses, street
from tests.factories.intake import now_cst

DEADLINE = timedelta(hours=3)


def _script(standin: Any) -> str:
    """Land the scripted records; the hand count below is of exactly these."""
    d, tag = new_district(), new_district()
    status, body = land(standin, "regions", district(d), street(d + "001"), {**street(d + "002"), "code": "3100"},
                        street(new_district() + "001"))
    assert statuses(body) == ["created", "created", "rejected", "rejected"], body
    status, body = land(standin, "diseases", disease(f"KA{tag}", 2), disease(f"KB{tag}", changed_at=changed(300)),
                        {**disease(f"KC{tag}"), "class": "丁"})
    assert statuses(body) == ["created", "created", "rejected"], body
    status, body = land(standin, "diseases", disease(f"KA{tag}", 2), disease(f"KA{tag}", 1))
    assert statuses(body) == ["duplicate", "stale"], body
    warning = {"signal_id": f"CITY-KPI-{tag}", "district_code": d, "title": "市级预警：测试",
               "issued_at": (now_cst() - timedelta(minutes=10)).isoformat()}
    assert [standin.call("POST", "/api/v1/signals", warning)[0] for _ in range(2)] == [201, 200]
    return d


def _by_type(rows: list[kpis.DayFigures]) -> dict[str, tuple[int, ...]]:
    """(answered, delivered, refused, timely, conformant, judged, pending, superseded) per record type."""
    out: dict[str, tuple[int, ...]] = {}
    for r in rows:  # summed over days: a run across midnight splits nothing that matters here
        figures = (r.answered, r.delivered, r.refused, r.timely, r.conformant, r.judged, r.pending, r.superseded)
        out[r.record_type] = tuple(a + b for a, b in zip(out.get(r.record_type, (0,) * 8), figures, strict=True))
    return out


def test_down_kpis_equal_the_hand_count(client, services, world, standin) -> None:
    _script(standin)
    now = datetime.now(UTC)
    with services.session_factory() as s:
        down = kpis.daily(s, since=now - timedelta(days=1), until=now + timedelta(minutes=1), deadline=DEADLINE,
                          direction="down")
    assert {r.direction for r in down} == {"down"}
    # Hand count. Regions: 2 landed, 1 schema-invalid code, 1 whose district is not held (conformant).
    # Diseases: KA created, KB created 5 h after its change (late), KC schema-invalid; KA again (duplicate,
    # delivered, timely) and KA's older version (stale: superseded, not answered). Warnings: created, duplicate.
    assert _by_type(down) == {"region": (4, 2, 2, 2, 3, 4, 0, 0), "disease": (4, 3, 1, 2, 3, 4, 0, 1),
                              "warning": (2, 2, 0, 2, 2, 2, 0, 0)}

    r = client.get("/api/v1/exchange/kpis", headers=world.auth("city"))
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["directions"]["down"] == {"success": 0.7, "timeliness": round(6 / 7, 4), "conformance": 0.8}
    # The fused warning event is queued for the city (pending, unanswered): no upward rate yet.
    assert body["directions"]["up"] == {"success": None, "timeliness": None, "conformance": None}
    assert body["totals"] == body["directions"]["down"]
    assert {d["record_type"] for d in body["days"] if d["direction"] == "down"} == {"region", "disease", "warning"}
