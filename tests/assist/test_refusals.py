"""Bad input is refused with a code, the field and a Chinese message, and nothing is half-written:
unknown district, missing facts, deadline in the past, too many attachments, replayed or unsigned messages."""
from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from accounts.request_signing import sign_request
from assist.standin import INBOUND_PATH
from dispatch.outbox import district_key_id, http_post
from tests.assist.conftest import CHANGNING_PRIVATE, CITY_KEY_ID, CITY_PRIVATE, City, District
from tests.assist.test_round_trip import call, find, new_request

COUNT = "SELECT (SELECT count(*) FROM assist_request) + (SELECT count(*) FROM assist_outbox) " \
        "+ (SELECT count(*) FROM assist_event)"


@pytest.mark.parametrize(("change", "code", "field"), [
    ({"to_district": "310199"}, "invalid.unknown_district", "to_district"),
    ({"facts": []}, "invalid.facts_missing", "facts"),
    ({"deadline": (datetime.now(UTC) - timedelta(hours=1)).isoformat()}, "invalid.deadline_past", "deadline"),
    ({"to_district": "310105"}, "assist.same_district", "to_district"),
])
def test_bad_requests_are_refused_and_nothing_is_written(changning: District, change: dict[str, Any], code: str,
                                                         field: str) -> None:
    before = changning.scalar(COUNT)
    resp = call(changning, "POST", "/requests", body=new_request(**change))
    assert resp.status_code == 422, resp.text
    error = resp.json()["error"]
    assert (error["code"], error["field"]) == (code, field)
    assert error["message_zh"] and error["message_zh"] != "请求内容不合法"
    assert changning.scalar(COUNT) == before


def test_missing_facts_field_is_refused(changning: District) -> None:
    body = new_request()
    del body["facts"]
    resp = call(changning, "POST", "/requests", body=body)
    assert resp.status_code == 422 and resp.json()["error"]["field"] == "facts"


def _delivered(changning: District, xuhui: District, city: City) -> dict[str, Any]:
    created = call(changning, "POST", "/requests", body=new_request(personal=None))
    assert created.status_code == 201, created.text
    assert changning.send(city.url).failed == 0
    return find(xuhui, created.json()["request_no"])


def test_too_many_attachments_are_refused(changning: District, xuhui: District, city: City) -> None:
    inbox = _delivered(changning, xuhui, city)
    for action, body in [("accept", {}), ("assign", {"assignee": "二队"})]:
        assert call(xuhui, "POST", f"/requests/{inbox['id']}/{action}", body=body).status_code == 200
    files = [{"name": f"f{i}.jpg", "size": 1, "sha256": "0" * 64} for i in range(11)]
    resp = call(xuhui, "POST", f"/requests/{inbox['id']}/answer", body={"findings": "见附件", "attachments": files})
    assert resp.status_code == 422
    assert (resp.json()["error"]["code"], resp.json()["error"]["field"]) == ("invalid.too_many_attachments",
                                                                             "attachments")
    assert find(xuhui, inbox["request_no"])["state"] == "assigned"


def test_only_the_receiver_accepts_and_only_in_order(changning: District, xuhui: District, city: City) -> None:
    inbox = _delivered(changning, xuhui, city)
    outbox = find(changning, inbox["request_no"])
    wrong_side = call(changning, "POST", f"/requests/{outbox['id']}/accept", body={})
    assert wrong_side.status_code == 403 and wrong_side.json()["error"]["code"] == "assist.wrong_side"
    early = call(xuhui, "POST", f"/requests/{inbox['id']}/answer", body={"findings": "x"})
    assert early.status_code == 409 and early.json()["error"]["code"] == "assist.invalid_transition"


class Recorder:
    """A Poster that remembers what it sent (to replay it)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, dict[str, str]]] = []

    def __call__(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int, str]:
        self.sent.append((url, body, dict(headers)))
        return http_post(url, body, headers, timeout)


def test_replayed_messages_are_refused(changning: District, xuhui: District, city: City) -> None:
    to_city, to_xuhui = Recorder(), Recorder()
    city.relay.post = to_xuhui
    try:
        no = call(changning, "POST", "/requests", body=new_request(personal=None)).json()["request_no"]
        assert changning.send(city.url, post=to_city).failed == 0
    finally:
        city.relay.post = http_post
    before = xuhui.scalar(COUNT)
    sent = [m for m in (*to_city.sent, *to_xuhui.sent) if no.encode() in m[1]]
    assert len(sent) == 2
    for url, body, headers in sent:
        status, answer = http_post(url, body, headers, 10)
        assert status == 401 and "sig.replayed" in answer, (url, status, answer)
    assert xuhui.scalar(COUNT) == before


def _message(**over: Any) -> dict[str, Any]:
    msg = {"message_id": uuid.uuid4().hex, "kind": "request", "request_no": "XC-310105-20261201-9999",
           "from_district": "310105", "to_district": "310104", "origin": "310105",
           "at": datetime.now(UTC).isoformat(), "actor": "长宁区 测试",
           "request": {"subject_kind": "place", "reason": "核查场所", "facts": ["营业情况"],
                       "deadline": (datetime.now(UTC) + timedelta(days=1)).isoformat()}}
    return {**msg, **over}


def _signed(private: str, key_id: str, path: str, msg: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(msg).encode()
    headers = sign_request(private_key_hex=private, key_id=key_id, method="POST", path=path, body=raw)
    return raw, {**headers, "Content-Type": "application/json"}


def test_unsigned_messages_are_refused(xuhui: District, city: City) -> None:
    before = xuhui.scalar(COUNT)
    for url in (xuhui.url + INBOUND_PATH, city.url + "/assist/v1/messages"):
        resp = requests.post(url, json=_message(), timeout=10)
        assert resp.status_code == 401, (url, resp.text)
        assert "sig.missing" in resp.text
    assert xuhui.scalar(COUNT) == before


def test_a_district_cannot_speak_for_another(city: City) -> None:
    raw, headers = _signed(CHANGNING_PRIVATE, district_key_id("310105"), "/assist/v1/messages",
                           _message(kind="state", origin="310104", state="accepted", request=None))
    resp = requests.post(city.url + "/assist/v1/messages", data=raw, headers=headers, timeout=10)
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "relay.sender_mismatch"


def test_city_refuses_unconnected_district_and_the_sender_records_it(changning: District, city: City) -> None:
    created = call(changning, "POST", "/requests", body=new_request(to_district="310101"))
    assert created.status_code == 201
    stats = changning.send(city.url)
    assert stats.refused >= 1
    detail = find(changning, created.json()["request_no"])
    assert detail["state"] == "sent" and detail["events"][-1]["kind"] == "undelivered"
    assert "relay.unknown_district" in detail["events"][-1]["note"]


def test_incomplete_inbound_message_writes_nothing(xuhui: District) -> None:
    before = xuhui.scalar(COUNT)
    bad = _message()
    bad["request"]["facts"] = []
    raw, headers = _signed(CITY_PRIVATE, CITY_KEY_ID, INBOUND_PATH, bad)
    resp = requests.post(xuhui.url + INBOUND_PATH, data=raw, headers=headers, timeout=10)
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "invalid.facts_missing"
    sealed = _message(request={**_message()["request"], "envelope": {"algorithm": "SM2-SM4-GCM", "recipient": "x",
                                                                     "wrapped_key": "AAAA"},
                               "personal_sealed": "AAAA"})
    raw, headers = _signed(CITY_PRIVATE, CITY_KEY_ID, INBOUND_PATH, sealed)
    resp = requests.post(xuhui.url + INBOUND_PATH, data=raw, headers=headers, timeout=10)
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "assist.sealed_unreadable"
    assert xuhui.scalar(COUNT) == before
