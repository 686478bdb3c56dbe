"""Xuhui's users never see Changning's other data: only what was addressed to Xuhui reaches Xuhui, and a
Xuhui user (even one registered on Changning's platform) sees nothing of Changning's requests."""
from __future__ import annotations

import requests

from tests.assist.conftest import City, District
from tests.assist.test_round_trip import call, new_request


def test_xuhui_gets_only_what_is_addressed_to_it(changning: District, xuhui: District, city: City) -> None:
    other = call(changning, "POST", "/requests", body=new_request(to_district="310112", reason="闵行的协查"))
    assert other.status_code == 201
    changning.send(city.url)
    assert xuhui.scalar("SELECT count(*) FROM assist_request WHERE reason = '闵行的协查'") == 0
    assert xuhui.scalar("SELECT count(*) FROM assist_request WHERE to_district <> '310104'") == 0
    assert not [m for m in city.relay.relayed if m["request_no"] == other.json()["request_no"]]


def test_a_xuhui_user_on_changnings_platform_sees_nothing(changning: District) -> None:
    mine = call(changning, "POST", "/requests", body=new_request())
    assert mine.status_code == 201
    rid = mine.json()["id"]
    listing = call(changning, "GET", "/requests", who="xuhui_user_here").json()
    assert listing == {"total": 0, "items": []}
    assert call(changning, "GET", f"/requests/{rid}", who="xuhui_user_here").status_code == 404
    assert call(changning, "POST", f"/requests/{rid}/close", who="xuhui_user_here", body={}).status_code == 404


def test_xuhuis_tokens_do_not_open_changnings_api(changning: District, xuhui: District) -> None:
    resp = requests.get(changning.url + "/api/v1/assist/requests", headers=xuhui.auth("commander"), timeout=10)
    assert resp.status_code == 401
