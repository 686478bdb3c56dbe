"""Acceptance of 跨地区信息协查: Changning (310105) → Xuhui (310104) through the stand-in city, over real HTTP.

Created, relayed, accepted, assigned, answered, closed: both timelines agree, both sides audit, the
personal data travels sealed for Xuhui's key only and is stored encrypted on both sides.
"""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from assist.inbound import sealed_context
from security.envelope import EnvelopeError, EnvelopeHeader, open_data_key, open_item
from tests.assist.conftest import CITY_PRIVATE, City, District

PERSONAL = {"name": "张协查", "id_number": "310104199001011234", "phone": "13800000000", "address": "徐汇区某路1号"}


def new_request(**over: Any) -> dict[str, Any]:
    body = {"to_district": "310104", "subject_kind": "contact", "reason": "病例密接，居住地在徐汇",
            "facts": ["核实现住址", "核实近14天活动轨迹"], "personal": PERSONAL, "place_name": "徐家汇某小区",
            "place": {"lon": 121.437, "lat": 31.188},
            "deadline": (datetime.now(UTC) + timedelta(days=2)).isoformat()}
    return {**body, **over}


def call(d: District, method: str, path: str, who: str = "commander", body: Any = None) -> requests.Response:
    return requests.request(method, d.url + "/api/v1/assist" + path, json=body, headers=d.auth(who), timeout=30)


def find(d: District, request_no: str) -> dict[str, Any]:
    items = call(d, "GET", "/requests").json()["items"]
    (row,) = [r for r in items if r["request_no"] == request_no]
    detail: dict[str, Any] = call(d, "GET", f"/requests/{row['id']}").json()
    return detail


def timeline(detail: dict[str, Any]) -> list[tuple[str, str | None, str]]:
    return [(e["kind"], e["to_state"], e["at"]) for e in detail["events"]]


@pytest.fixture(scope="module")
def round_trip(changning: District, xuhui: District, city: City) -> dict[str, Any]:
    created = call(changning, "POST", "/requests", body=new_request())
    assert created.status_code == 201, created.text
    no = created.json()["request_no"]
    assert created.json()["state"] == "sent"
    assert changning.send(city.url).failed == 0
    inbox = find(xuhui, no)
    steps = [("accept", {"note": "已受理"}), ("assign", {"assignee": "徐汇区流调二队"}),
             ("answer", {"findings": "已核实：现住址属实，近14天无外出", "attachments": [
                 {"name": "核查记录.pdf", "size": 20480, "sha256": "ab" * 32}]})]
    for action, body in steps:
        resp = call(xuhui, "POST", f"/requests/{inbox['id']}/{action}", body=body)
        assert resp.status_code == 200, resp.text
    assert xuhui.send(city.url).failed == 0
    outbox = find(changning, no)
    assert outbox["state"] == "answered"
    closed = call(changning, "POST", f"/requests/{outbox['id']}/close", body={"note": "办结"})
    assert closed.status_code == 200, closed.text
    assert changning.send(city.url).failed == 0
    return {"no": no, "changning": find(changning, no), "xuhui": find(xuhui, no)}


def test_both_sides_end_closed_with_the_answer(round_trip: dict[str, Any]) -> None:
    for side in ("changning", "xuhui"):
        detail = round_trip[side]
        assert detail["state"] == "closed"
        assert detail["findings"] == "已核实：现住址属实，近14天无外出"
        assert detail["attachments"] == [{"name": "核查记录.pdf", "size": 20480, "sha256": "ab" * 32}]
        assert detail["assignee"] == "徐汇区流调二队"
    assert round_trip["changning"]["direction"] == "out" and round_trip["xuhui"]["direction"] == "in"


def test_timelines_agree(round_trip: dict[str, Any]) -> None:
    ours, theirs = timeline(round_trip["changning"]), timeline(round_trip["xuhui"])
    assert [k for k, _, _ in ours] == ["sent", "received", "accepted", "assigned", "answered", "closed"]
    assert ours == theirs


def test_audit_rows_on_both_sides(round_trip: dict[str, Any], changning: District, xuhui: District) -> None:
    for d in (changning, xuhui):
        actions = d.scalar("SELECT string_agg(action, ',' ORDER BY id) FROM audit_log WHERE object_id = :no",
                           no=round_trip["no"])
        for kind in ("sent", "received", "accepted", "assigned", "answered", "closed"):
            assert f"assist.{kind}" in actions.split(","), (d.code, actions)


def test_personal_data_is_shown_to_the_receiver_with_the_right(round_trip: dict[str, Any], xuhui: District) -> None:
    assert round_trip["xuhui"]["personal"] == PERSONAL
    masked = call(xuhui, "GET", f"/requests/{round_trip['xuhui']['id']}", who="analyst").json()
    assert masked["personal"] is None and masked["personal_masked"] is True


def test_personal_data_is_encrypted_at_rest_on_both_sides(round_trip: dict[str, Any], changning: District,
                                                          xuhui: District) -> None:
    for d in (changning, xuhui):
        stored = d.scalar("SELECT personal_enc FROM assist_request WHERE request_no = :no", no=round_trip["no"])
        assert stored and PERSONAL["name"].encode() not in bytes(stored)
        assert PERSONAL["id_number"].encode() not in bytes(stored)


def test_sealed_personal_data_opens_only_with_xuhuis_key(round_trip: dict[str, Any], changning: District,
                                                         xuhui: District, city: City) -> None:
    (relayed,) = [m for m in city.relay.relayed if m["request_no"] == round_trip["no"] and m["kind"] == "request"]
    assert PERSONAL["name"] not in json.dumps(relayed, ensure_ascii=False)
    header = EnvelopeHeader(**relayed["request"]["envelope"])
    sealed, ctx = relayed["request"]["personal_sealed"], sealed_context(round_trip["no"])
    assert json.loads(open_item(open_data_key(xuhui.private_key, header), sealed, ctx)) == PERSONAL
    for other in (changning.private_key, CITY_PRIVATE):
        with pytest.raises(EnvelopeError):
            open_data_key(other, header)
