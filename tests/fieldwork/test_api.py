"""流调 intake (signed API and CSV), contacts' follow-up, milestones, 7-1-7 on the event and for the district,
and the closed-loop review — over the app, with refusals naming row and field and nothing half-written."""
from __future__ import annotations

import subprocess
import uuid
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from tests.fieldwork.conftest import World, utc

NAME, ID_NUMBER, PHONE = "欧阳测试", "11010519491231002X", "13912345678"
COUNT = ("SELECT (SELECT count(*) FROM investigation) + (SELECT count(*) FROM contact) "
         "+ (SELECT count(*) FROM exposure_place) + (SELECT count(*) FROM fieldwork_sample)")


def _scalar(world: World, sql: str, **params: Any) -> Any:
    with world.services.session_factory() as s:
        return s.execute(text(sql), params).scalar()


def _record(signal_id: int, **change: Any) -> dict[str, Any]:
    record = {"source_id": f"LD-{uuid.uuid4().hex[:10]}", "signal_id": signal_id, "investigator": "流调一组",
              "status": "in_progress", "started_at": "2026-03-06T09:00:00+08:00", "first_onset_date": "2026-03-01",
              "places": [{"name": "某幼儿园", "kind": "school", "lon": 121.3871, "lat": 31.2166, "crs": "GCJ02",
                          "start_time": "2026-03-02T08:00:00+08:00", "end_time": "2026-03-02T17:00:00+08:00"},
                         {"name": "某小区", "kind": "home", "crs": "BD09",
                          "area": [[121.39, 31.22], [121.40, 31.22], [121.40, 31.23]],
                          "start_time": "2026-03-01T00:00:00+08:00", "end_time": "2026-03-05T00:00:00+08:00"}],
              "contacts": [{"record_id": "MJ-1", "name": NAME, "id_number": ID_NUMBER, "phone": PHONE}],
              "samples": [{"sample_no": "S-1", "kind": "咽拭子", "taken_at": "2026-03-06T11:00:00+08:00"}]}
    return {**record, **change}


def _intake(client: Any, world: World, records: list[dict[str, Any]]) -> Any:
    raw, headers = world.signed("/api/v1/fieldwork/intake", {"records": records})
    return client.post("/api/v1/fieldwork/intake", data=raw, headers=headers)


@pytest.fixture(scope="module")
def event_id(world: World) -> int:
    return world.event(raised=utc("2026-03-05T02:00:00"), verified=utc("2026-03-06T01:00:00"))


def test_signed_intake_is_idempotent_and_converts_coordinates(client: Any, world: World, event_id: int) -> None:
    record = _record(event_id)
    first = _intake(client, world, [record])
    assert first.status_code == 200, first.json
    assert first.json["results"][0]["status"] == "created"
    again = _intake(client, world, [record])
    assert again.json["results"][0]["status"] == "unchanged"
    changed = _intake(client, world, [{**record, "investigator": "流调二组"}])
    assert changed.json["results"][0]["status"] == "updated"
    inv_id = first.json["results"][0]["id"]
    assert _scalar(world, "SELECT count(*) FROM contact WHERE investigation_id = :i", i=inv_id) == 1
    lon = _scalar(world, "SELECT ST_X(geom) FROM exposure_place WHERE investigation_id = :i AND kind = 'school'",
                  i=inv_id)
    assert 121.380 < lon < 121.386  # GCJ-02 121.3871 is about 0.0045° east of WGS84 here
    unsigned = client.post("/api/v1/fieldwork/intake", json={"records": [record]}, headers=world.auth("commander"))
    assert unsigned.status_code == 401


@pytest.mark.parametrize(("change", "field", "code"), [
    ({"contacts": [{"record_id": "MJ-9", "id_number": "110105194912310021"}]}, "contacts.0.id_number",
     "invalid.id_number_checksum"),
    ({"signal_id": 99999}, "signal_id", "fieldwork.event_not_found"),
    ({"started_at": "2099-01-01T00:00:00+08:00"}, "started_at", "invalid.time_in_future"),
    ({"places": [{"name": "x", "start_time": "2026-03-02T08:00:00", "end_time": "2026-03-01T08:00:00",
                  "lon": 121.4, "lat": 31.2}]}, "places.0", "invalid.time_order"),
    ({"source_id": None}, "source_id", "source_id.missing"),
])
def test_bad_records_are_refused_naming_the_field_and_the_good_ones_kept(
        client: Any, world: World, event_id: int, change: dict[str, Any], field: str, code: str) -> None:
    before = _scalar(world, COUNT)
    good = _record(event_id)
    resp = _intake(client, world, [good, {**_record(event_id), **change}])
    assert resp.status_code == 207, resp.json
    ok, bad = resp.json["results"]
    assert ok["status"] == "created" and bad["status"] == "rejected" and bad["index"] == 1
    error = bad["errors"][0]
    assert error["field"].startswith(field) and error["code"] == code and error["message_zh"]
    assert NAME not in resp.get_data(as_text=True)
    assert _scalar(world, COUNT) == before + 1 + 1 + 2 + 1  # only the good record: itself, contact, places, sample


def test_contacts_are_masked_and_clear_reading_is_audited(client: Any, world: World) -> None:
    sid = world.event(raised=utc("2026-03-05T02:00:00"))
    assert _intake(client, world, [_record(sid)]).status_code == 200
    masked = client.get(f"/api/v1/fieldwork/events/{sid}", headers=world.auth("analyst"))
    assert masked.status_code == 200
    body = masked.get_data(as_text=True)
    assert NAME not in body and ID_NUMBER not in body and PHONE not in body
    contact = masked.json["investigations"][0]["contacts"][0]
    assert contact["masked"] and contact["phone"] == "139****5678"
    refused = client.get(f"/api/v1/fieldwork/events/{sid}?clear=true", headers=world.auth("analyst"))
    assert refused.status_code == 403 and refused.json["error"]["code"] == "fieldwork.pii_forbidden"
    audits = "SELECT count(*) FROM audit_log WHERE action = 'pii.view' AND object_type = 'investigation.contacts'"
    before = _scalar(world, audits)
    clear = client.get(f"/api/v1/fieldwork/events/{sid}?clear=true&purpose=追踪", headers=world.auth("commander"))
    assert clear.status_code == 200 and clear.json["investigations"][0]["contacts"][0]["name"] == NAME
    assert _scalar(world, audits) == before + 1
    assert client.get(f"/api/v1/fieldwork/events/{sid}", headers=world.auth("xuhui")).status_code == 404


def test_pg_dump_holds_no_contact_identity_in_clear(settings: Any, client: Any, world: World, event_id: int) -> None:
    assert _intake(client, world, [_record(event_id)]).status_code == 200
    url = make_url(settings.database_url)
    dump = subprocess.run(["pg_dump", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U",
                           url.username or "postgres", "--data-only", "-t", "contact", "-t", "investigation",
                           url.database or ""], capture_output=True, check=True, text=True).stdout
    assert "MJ-1" in dump
    for value in (NAME, ID_NUMBER, PHONE):
        assert value not in dump


def _investigation(client: Any, world: World) -> int:
    sid = world.event(raised=utc("2026-03-05T02:00:00"))
    resp = client.post("/api/v1/fieldwork/investigations", json=_record(sid, source_id=None, contacts=[]),
                       headers=world.auth("analyst"))
    assert resp.status_code == 201, resp.json
    return int(resp.json["id"])


CSV_OK = "record_id,degree,name,id_number,phone\nC-1,close,张三,11010519491231002X,13800001111\nC-2,secondary,李四,,\n"


def test_csv_import_is_all_or_nothing_and_names_row_and_field(client: Any, world: World) -> None:
    inv = _investigation(client, world)
    url = f"/api/v1/fieldwork/investigations/{inv}/contacts.csv"
    bad = CSV_OK + "C-3,close,王五,110105194912310021,\n"
    resp = client.post(url, data=bad.encode(), headers={**world.auth("analyst"), "Content-Type": "text/csv"})
    assert resp.status_code == 422, resp.json
    assert (resp.json["error"]["field"], resp.json["error"]["code"]) == ("id_number", "invalid.id_number_checksum")
    assert "第 3 行" in resp.json["error"]["message_zh"]
    assert _scalar(world, "SELECT count(*) FROM contact WHERE investigation_id = :i", i=inv) == 0
    ok = client.post(url, data=CSV_OK.encode(), headers={**world.auth("analyst"), "Content-Type": "text/csv"})
    assert ok.status_code == 201 and ok.json["added"] == 2
    again = client.post(url, data=CSV_OK.encode(), headers={**world.auth("analyst"), "Content-Type": "text/csv"})
    assert again.status_code == 409 and again.json["error"]["field"] == "record_id"
    assert _scalar(world, "SELECT count(*) FROM contact WHERE investigation_id = :i", i=inv) == 2


def test_contact_follow_up_moves_in_order(client: Any, world: World) -> None:
    inv = _investigation(client, world)
    added = client.post(f"/api/v1/fieldwork/investigations/{inv}/contacts",
                        json={"contacts": [{"record_id": "F-1", "name": "赵六"}]}, headers=world.auth("analyst"))
    cid = added.json["contact_ids"][0]
    url = f"/api/v1/fieldwork/contacts/{cid}/state"
    early = client.post(url, json={"to": "released"}, headers=world.auth("analyst"))
    assert early.status_code == 409 and early.json["error"]["code"] == "fieldwork.contact_invalid_transition"
    for to in ("traced", "observing", "released"):
        step = client.post(url, json={"to": to, "at": "2026-03-07T10:00:00+08:00"}, headers=world.auth("analyst"))
        assert step.status_code == 200, step.json
    assert step.json["state"] == "released" and step.json["released_on"] == "2026-03-07"
    assert _scalar(world, "SELECT count(*) FROM audit_log WHERE action = 'fieldwork.contact_state' "
                          "AND object_id = :c", c=str(cid)) == 3


def _milestones(client: Any, world: World, sid: int, last: str) -> None:
    for kind in ("investigation_started", "samples_taken", "contacts_listed", "contacts_traced",
                 "control_measures"):
        resp = client.post(f"/api/v1/fieldwork/events/{sid}/milestones",
                           json={"kind": kind, "done_at": "2026-03-08T10:00:00+08:00"}, headers=world.auth("analyst"))
        assert resp.status_code == 200, resp.json
    client.post(f"/api/v1/fieldwork/events/{sid}/milestones", json={"kind": "communication", "done_at": last},
                headers=world.auth("analyst"))


def test_event_7_1_7_equals_the_hand_computation(client: Any, world: World) -> None:
    # onset 03-01 (the earlier of the evidence cases), raised 03-05 10:00 CST,
    # verified 03-06 09:00 CST, last milestone 03-14 → 6 days (met), 1 (met), 8 (missed).
    sid = world.event(raised=utc("2026-03-05T02:00:00"), verified=utc("2026-03-06T01:00:00"),
                      cases=[{"id": 10**12, "onset_date": "2026-03-02"}, {"id": 10**12 + 1, "onset_date": "2026-03-01"}])
    _milestones(client, world, sid, "2026-03-14T10:00:00+08:00")
    steps = client.get(f"/api/v1/fieldwork/events/{sid}", headers=world.auth("analyst")).json["timeliness"]["steps"]
    assert [(s["days"], s["met"]) for s in steps] == [(4, True), (1, True), (8, False)]


def test_closed_loop_needs_summary_then_evaluation_then_a_second_role(client: Any, world: World) -> None:
    sid = world.event(raised=utc("2026-03-05T02:00:00"), verified=utc("2026-03-05T08:00:00"),
                      cases=[{"id": 10**12 + 2, "onset_date": "2026-03-03"}])
    _milestones(client, world, sid, "2026-03-09T10:00:00+08:00")
    base = f"/api/v1/fieldwork/events/{sid}"
    early = client.post(f"{base}/evaluation", json={"effectiveness": "好", "lessons": "无"},
                        headers=world.auth("analyst"))
    assert early.status_code == 409 and early.json["error"]["code"] == "fieldwork.review_not_closed"
    blank = client.post(f"{base}/close", json={"summary": "  "}, headers=world.auth("commander"))
    assert blank.status_code == 422 and blank.json["error"]["field"] == "summary"
    by_analyst = client.post(f"{base}/close", json={"summary": "已处置"}, headers=world.auth("analyst"))
    assert by_analyst.status_code == 403
    closed = client.post(f"{base}/close", json={"summary": "无续发病例，已结案"}, headers=world.auth("commander"))
    assert closed.status_code == 200 and closed.json["state"] == "closed", closed.json
    assert _scalar(world, "SELECT state FROM signal WHERE id = :s", s=sid) == "closed"
    evaluated = client.post(f"{base}/evaluation", json={"effectiveness": "及时", "lessons": "加强晨检"},
                            headers=world.auth("analyst"))
    assert evaluated.status_code == 200
    figures = evaluated.json["timeliness"]["steps"]
    assert [(s["days"], s["met"]) for s in figures] == [(2, True), (0, True), (4, True)]
    same_role = client.post(f"{base}/review", json={"verdict": "approved"}, headers=world.auth("institution"))
    assert same_role.status_code == 403 and same_role.json["error"]["code"] == "fieldwork.review_same_role"
    reviewed = client.post(f"{base}/review", json={"verdict": "approved"}, headers=world.auth("commander"))
    assert reviewed.status_code == 200 and reviewed.json["state"] == "reviewed"
    steps = _scalar(world, "SELECT count(*) FROM audit_log WHERE action LIKE 'fieldwork.review_%' AND object_id = :s",
                    s=str(sid))
    assert steps == 3


def test_district_aggregate(client: Any, world: World) -> None:
    resp = client.get("/api/v1/fieldwork/timeliness?from=2026-03-05&to=2026-03-05", headers=world.auth("analyst"))
    assert resp.status_code == 200, resp.json
    body = resp.json
    assert body["events"] == len(body["per_event"]) >= 1
    detection = next(s for s in body["steps"] if s["step"] == "detection")
    decided = [e for e in body["per_event"] if e["steps"][0]["met"] is not None]
    assert detection["measured"] == len(decided)
    assert detection["met"] == sum(1 for e in decided if e["steps"][0]["met"])
    bad = client.get("/api/v1/fieldwork/timeliness?from=2026-13-01", headers=world.auth("analyst"))
    assert bad.status_code == 422


def test_closing_an_event_from_the_signal_list_records_its_summary(client: Any, world: World) -> None:
    sid = world.event(raised=utc("2026-03-06T02:00:00"), verified=utc("2026-03-06T08:00:00"))
    closed = client.post(f"/api/v1/signals/{sid}/transition", json={"to": "closed", "reason": "疫点消毒完成，无续发病例"},
                         headers=world.auth("commander"))
    assert closed.status_code == 200 and closed.json["state"] == "closed", closed.json
    assert _scalar(world, "SELECT summary FROM event_review WHERE signal_id = :s", s=sid) == "疫点消毒完成，无续发病例"
    evaluated = client.post(f"/api/v1/fieldwork/events/{sid}/evaluation", json={"effectiveness": "及时", "lessons": "无"},
                            headers=world.auth("analyst"))
    assert evaluated.status_code == 200, evaluated.json
