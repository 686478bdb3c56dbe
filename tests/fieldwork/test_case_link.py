"""Contact → case link: the move to 转为病例 names the case report it became (checked: exists, same district),
intake may carry it, and the event's transmission chain draws case → contact → case (issue 20, phase 3)."""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text

from tests.fieldwork.conftest import World, utc


def _case(world: World, district: str = "310105", onset: str = "2026-03-03") -> int:
    with world.services.session_factory() as s, s.begin():
        s.execute(text("""INSERT INTO disease (code, name, name_en, klass, single_case, category)
                          VALUES ('tfw', '流调测试病', 'fieldwork test', '乙', false, 'test') ON CONFLICT DO NOTHING"""))
        return int(s.execute(text("""
            INSERT INTO case_report (source_id, source_version, disease_code, case_type, onset_date, diagnosis_time,
                report_time, district_code, outcome)
            VALUES (:s, 1, 'tfw', 'confirmed', :o, now(), now(), :d, 'under_treatment') RETURNING id"""),
            {"s": f"tfw:{uuid.uuid4().hex[:10]}", "o": onset, "d": district}).scalar_one())


def _contact(client: Any, world: World, sid: int, case_id: int | None = None) -> tuple[int, int]:
    body = {"signal_id": sid, "investigator": "流调一组", "started_at": "2026-03-06T09:00:00+08:00",
            **({"case_source_id": _source(world, case_id)} if case_id else {})}
    inv = client.post("/api/v1/fieldwork/investigations", json=body, headers=world.auth("analyst"))
    assert inv.status_code == 201, inv.json
    added = client.post(f"/api/v1/fieldwork/investigations/{inv.json['id']}/contacts",
                        json={"contacts": [{"record_id": "K-1", "name": "钱七", "state": "traced",
                                            "traced_at": "2026-03-07T09:00:00+08:00"}]},
                        headers=world.auth("analyst"))
    assert added.status_code == 201, added.json
    return int(inv.json["id"]), int(added.json["contact_ids"][0])


def _source(world: World, case_id: int) -> str:
    with world.services.session_factory() as s:
        return str(s.execute(text("SELECT source_id FROM case_report WHERE id = :i"), {"i": case_id}).scalar_one())


def _move(client: Any, world: World, cid: int, **body: Any) -> Any:
    return client.post(f"/api/v1/fieldwork/contacts/{cid}/state",
                       json={"to": "became_case", "at": "2026-03-09T10:00:00+08:00", **body},
                       headers=world.auth("analyst"))


def test_became_case_names_a_case_of_the_district(client: Any, world: World) -> None:
    sid = world.event(raised=utc("2026-03-05T02:00:00"))
    _, cid = _contact(client, world, sid)
    elsewhere, mine = _case(world, "310104"), _case(world)
    for bad in (10**12, elsewhere):
        refused = _move(client, world, cid, case_id=bad)
        assert refused.status_code == 422, refused.json
        error = refused.json["error"]
        assert (error["code"], error["field"]) == ("fieldwork.case_unknown", "case_id")
        assert "病例" in error["message_zh"]
    wrong_step = client.post(f"/api/v1/fieldwork/contacts/{cid}/state", json={"to": "observing", "case_id": mine},
                             headers=world.auth("analyst"))
    assert wrong_step.status_code == 422 and wrong_step.json["error"]["field"] == "case_id"
    not_a_number = _move(client, world, cid, case_id="abc")
    assert not_a_number.status_code == 422 and not_a_number.json["error"]["field"] == "case_id"
    moved = _move(client, world, cid, case_id=mine, note="观察期间发热，核酸阳性")
    assert moved.status_code == 200, moved.json
    assert (moved.json["state"], moved.json["became_case_id"]) == ("became_case", mine)
    detail = client.get(f"/api/v1/fieldwork/events/{sid}", headers=world.auth("analyst")).json
    assert detail["investigations"][0]["contacts"][0]["became_case_id"] == mine


def test_intake_carries_the_case_of_a_contact_already_become_case(client: Any, world: World) -> None:
    sid, mine, elsewhere = world.event(raised=utc("2026-03-05T02:00:00")), _case(world), _case(world, "310104")
    contact = {"record_id": "I-1", "name": "孙八", "state": "became_case", "traced_at": "2026-03-07T09:00:00+08:00"}
    record = {"source_id": f"LD-{uuid.uuid4().hex[:10]}", "signal_id": sid, "investigator": "流调一组",
              "started_at": "2026-03-06T09:00:00+08:00"}
    raw, headers = world.signed("/api/v1/fieldwork/intake", {"records": [
        {**record, "contacts": [{**contact, "case_id": mine}]},
        {**record, "source_id": f"LD-{uuid.uuid4().hex[:10]}", "contacts": [{**contact, "case_id": elsewhere}]},
        {**record, "source_id": f"LD-{uuid.uuid4().hex[:10]}",
         "contacts": [{**contact, "state": "traced", "case_id": mine}]}]})
    resp = client.post("/api/v1/fieldwork/intake", data=raw, headers=headers)
    assert resp.status_code == 207, resp.json
    ok, other, not_case = resp.json["results"]
    assert ok["status"] == "created"
    assert (other["errors"][0]["code"], other["errors"][0]["field"]) == ("fieldwork.case_unknown",
                                                                          "contacts.0.case_id")
    assert not_case["errors"][0]["field"] == "contacts.0.case_id"
    with world.services.session_factory() as s:
        linked = s.execute(text("SELECT became_case_id FROM contact WHERE investigation_id = :i"),
                           {"i": ok["id"]}).scalar_one()
    assert linked == mine


def test_the_chain_of_an_event_runs_case_contact_case(client: Any, world: World) -> None:
    index, secondary = _case(world, onset="2026-03-02"), _case(world, onset="2026-03-08")
    sid = world.event(raised=utc("2026-03-05T02:00:00"), cases=[{"id": index, "onset_date": "2026-03-02"}])
    _, cid = _contact(client, world, sid, case_id=index)
    assert _move(client, world, cid, case_id=secondary).status_code == 200
    chain = client.get(f"/api/v1/fieldwork/events/{sid}/chain", headers=world.auth("analyst"))
    assert chain.status_code == 200, chain.json
    edges = {(e["source"], e["target"], e["kind"]) for e in chain.json["edges"]}
    assert {(f"case-{index}", f"contact-{cid}", "exposure"),
            (f"contact-{cid}", f"case-{secondary}", "became_case")} <= edges
    labels = {n["id"]: n["label"] for n in chain.json["nodes"]}
    assert labels[f"contact-{cid}"] == "密接1" and "钱七" not in str(chain.json)
    assert chain.json["counts"] == {"index_cases": 1, "contacts": 1, "secondary_cases": 1}
    forbidden = client.get(f"/api/v1/fieldwork/events/{sid}/chain?clear=true", headers=world.auth("analyst"))
    assert forbidden.status_code == 403 and forbidden.json["error"]["code"] == "fieldwork.pii_forbidden"
    clear = client.get(f"/api/v1/fieldwork/events/{sid}/chain?clear=true&purpose=流调", headers=world.auth("commander"))
    assert clear.status_code == 200 and {n["label"] for n in clear.json["nodes"]} >= {"钱七"}
    other = client.get(f"/api/v1/fieldwork/events/{sid}/chain", headers=world.auth("xuhui"))
    assert other.status_code == 404
