"""A 协查 request addressed to the city itself (市疾控): held by the city, sealed for the city's key, answered by it."""
from __future__ import annotations

import json

from assist.inbound import sealed_context
from security.envelope import EnvelopeHeader, open_data_key, open_item
from tests.assist.conftest import CITY_PRIVATE, City, District
from tests.assist.test_round_trip import PERSONAL, call, find, new_request


def test_the_city_receives_opens_and_answers(changning: District, city: City) -> None:
    created = call(changning, "POST", "/requests", body=new_request(to_district="310000"))
    assert created.status_code == 201, created.text
    no = created.json()["request_no"]
    assert changning.send(city.url).failed == 0
    assert find(changning, no)["state"] == "received"

    (message,) = city.relay.city_inbox[no]
    request = message["request"]
    key = open_data_key(CITY_PRIVATE, EnvelopeHeader(**request["envelope"]))
    opened = json.loads(open_item(key, request["personal_sealed"], sealed_context(no)))
    assert opened["name"] == PERSONAL["name"]

    assert city.relay.reply(no, kind="state", state="accepted", note="市疾控已受理")[0] == 200
    assert city.relay.reply(no, kind="state", state="assigned", assignee="市疾控 流调组")[0] == 200
    findings = {"findings": "已核实：该人员近14天未离开本市", "attachments": []}
    assert city.relay.reply(no, kind="answer", answer=findings)[0] == 200
    detail = find(changning, no)
    assert detail["state"] == "answered" and detail["findings"] == findings["findings"]
    assert [e["to_state"] for e in detail["events"]][-3:] == ["accepted", "assigned", "answered"]

    assert call(changning, "POST", f"/requests/{detail['id']}/close", body={"note": "已完成"}).status_code == 200
    assert changning.send(city.url).failed == 0
    assert [m["kind"] for m in city.relay.city_inbox[no]] == ["request", "state"]
