"""Every exchanged type reaches the city: syndromic counts, lab results, stock, team status, warning events."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import text

from tests.exchange.test_upward import send
from tests.factories.intake import World, now_cst


def post(client: Any, w: World, kind: str, records: list[dict[str, Any]]) -> None:
    r = client.post(f"/api/v1/ingest/{kind}", headers=w.auth("inst_a"), json={"records": records})
    assert r.status_code == 200 and all(x["status"] != "refused" for x in r.get_json()["results"]), r.get_json()


def held(city: Any, record_type: str) -> list[dict[str, Any]]:
    return [h.record for (t, _), h in city.receiver.held.items() if t == record_type]


def test_each_type_arrives_with_its_fields(client, services, world, city) -> None:
    t = now_cst() - timedelta(hours=1)
    post(client, world, "syndromic_count", [{"institution_code": world.inst_a, "record_id": "sy1",
                                             "day": t.date().isoformat(), "syndrome": "fever", "visits": 40,
                                             "cases": 6}])
    post(client, world, "lab_result", [{"institution_code": world.inst_a, "record_id": "lab1", "sample_id": "S-1",
                                        "pathogen": "甲型流感病毒", "result": "positive",
                                        "sample_time": (t - timedelta(hours=5)).isoformat(),
                                        "result_time": t.isoformat()}])
    post(client, world, "stock_change", [{"site_code": world.site_a, "record_id": "st1", "item_code": "MASK",
                                          "kind": "out", "quantity": 30, "time": t.isoformat()}])
    # A GPS fix alone is not news; a change of status is.
    post(client, world, "team_position", [{"team_code": world.team_a, "record_id": "gps1", "time": t.isoformat(),
                                           "lon": 121.33, "lat": 31.22}])
    post(client, world, "team_position", [{"team_code": world.team_a, "record_id": "gps2",
                                           "time": (t + timedelta(minutes=1)).isoformat(), "lon": 121.331,
                                           "lat": 31.221, "status": "dispatched"}])
    with services.session_factory() as s, s.begin():
        s.execute(text("""INSERT INTO signal (dedup_key, origin, model, kind, grade, disease_code, district_code, state,
                                              title, params, evidence, fire_count)
                          VALUES ('x:exchange', 'model', 'ears_c3', 'event', 'yellow', :d, :dc, 'new', '测试预警事件',
                                  '{}', '{}', 1),
                                 ('x:exchange:alarm', 'model', 'ears_c3', 'alarm', NULL, :d, :dc, 'new', '报警', '{}',
                                  '{}', 1)"""),
                  {"d": world.diseases[0], "dc": world.district_a})
    with services.session_factory() as s:
        queued = dict(s.execute(text("SELECT record_type, count(*) FROM exchange_outbox GROUP BY 1")).all())
    assert queued == {"syndromic_count": 1, "lab_result": 1, "stock": 1, "team": 1, "warning_event": 1}
    stats = send(services, city, world)
    assert stats.refused == 0 and stats.failed == 0, stats

    (synd,) = held(city, "syndromic_count")
    assert (synd["institution_code"], synd["syndrome"], synd["visits"], synd["cases"]) == (world.inst_a, "fever", 40, 6)
    (lab,) = held(city, "lab_result")
    assert (lab["lab_institution_code"], lab["result"], lab["pathogen"]) == (world.inst_a, "positive", "甲型流感病毒")
    (stock,) = held(city, "stock")
    assert (stock["site_code"], stock["item_code"], stock["quantity"]) == (world.site_a, "MASK", 70.0)
    (team,) = held(city, "team")
    assert (team["code"], team["status"]) == (world.team_a, "dispatched")
    (event,) = held(city, "warning_event")  # the alarm under it stays in the district
    assert (event["title"], event["grade"], event["state"]) == ("测试预警事件", "yellow", "new")
