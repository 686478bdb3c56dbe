"""Downward landing (issue 19): the city sends reference data, signed; the district lands it by version.

The stand-in city calls this package's app over HTTP (the root `standin` fixture: the dispatch world's
SM2 city client). Every refusal names its field and reason in Chinese and leaves nothing behind.
"""
from __future__ import annotations

import itertools
import json
import random
from datetime import timedelta
from typing import Any

from sqlalchemy import text

from accounts.request_signing import sign_request
from tests.factories.intake import now_cst

_CODES = itertools.count(random.randrange(100, 900, 100))  # noqa: S311  (distinct test codes, not security)


def new_district() -> str:
    """A district code no other test of this database uses (319xxx does not exist in GB/T 2260)."""
    return f"319{next(_CODES) % 1000:03d}"


def changed(minutes_ago: float = 5) -> str:
    return (now_cst() - timedelta(minutes=minutes_ago)).isoformat()


def polygon(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def district(code: str, version: int = 1, **over: Any) -> dict[str, Any]:
    rec = {"code": code, "name": f"测试区{code[-3:]}", "level": "district", "parent_code": "310000",
           "population": 500000, "geometry": polygon(121.30, 31.10, 121.40, 31.20), "version": version,
           "changed_at": changed()}
    return {**rec, **over}


def street(code: str, version: int = 1, **over: Any) -> dict[str, Any]:
    rec = {"code": code, "name": f"测试街道{code[-3:]}", "level": "street", "parent_code": code[:6],
           "geometry": polygon(121.30, 31.10, 121.35, 31.20), "version": version, "changed_at": changed()}
    return {**rec, **over}


def institution(code: str, district_code: str, version: int = 1, **over: Any) -> dict[str, Any]:
    rec = {"code": code, "name": "测试社区卫生服务中心", "type": "chc", "district_code": district_code,
           "lon": 121.33, "lat": 31.15, "fever_clinic": True, "sentinel_types": ["ili"], "version": version,
           "changed_at": changed()}
    return {**rec, **over}


def disease(code: str, version: int = 1, **over: Any) -> dict[str, Any]:
    rec = {"code": code, "name": "测试病", "class": "乙", "category": "respiratory", "version": version,
           "changed_at": changed()}
    return {**rec, **over}


def land(standin: Any, kind: str, *records: Any) -> tuple[int, dict[str, Any]]:
    status, body = standin.call("POST", f"/api/v1/reference/{kind}", {"records": list(records)})
    return int(status), dict(body)


def statuses(body: dict[str, Any]) -> list[str]:
    return [r["status"] for r in body["results"]]


def scalar(services: Any, sql: str, **params: Any) -> Any:
    with services.session_factory() as s:
        return s.execute(text(sql), params).scalar()


def test_each_kind_lands(standin, services) -> None:
    d = new_district()
    status, body = land(standin, "regions", district(d), street(d + "001"))
    assert status == 200 and statuses(body) == ["created", "created"], body
    assert body["results"][1] == {"index": 1, "status": "created", "key": d + "001", "version": 1, "errors": []}
    status, body = land(standin, "institutions", institution(f"I{d}", d))
    assert status == 200 and statuses(body) == ["created"], body
    status, body = land(standin, "diseases", disease(f"DX{d}"))
    assert status == 200 and statuses(body) == ["created"], body

    assert scalar(services, "SELECT district_code || level || parent_code FROM region WHERE code = :c",
                  c=d + "001") == f"{d}street{d}"
    assert scalar(services, "SELECT ST_Covers(geom, label_point) FROM region WHERE code = :c", c=d) is True
    assert scalar(services, """SELECT kind || district_code || fever_clinic::text || ST_AsText(geom)
                               FROM institution WHERE code = :c""", c=f"I{d}") == f"chc{d}truePOINT(121.33 31.15)"
    assert scalar(services, "SELECT klass || name_en FROM disease WHERE code = :c", c=f"DX{d}") == "乙测试病"
    assert scalar(services, "SELECT count(*) FROM exchange_inbound WHERE outcome = 'created' AND conformant") == 4


def test_repeat_is_duplicate_older_is_stale_newer_updates(standin, services) -> None:
    code = f"DV{new_district()}"
    assert statuses(land(standin, "diseases", disease(code, 2))[1]) == ["created"]
    status, body = land(standin, "diseases", disease(code, 2, name="改过的名字"), disease(code, 1, name="旧名"))
    assert status == 200 and statuses(body) == ["duplicate", "stale"], body
    assert scalar(services, "SELECT name FROM disease WHERE code = :c", c=code) == "测试病"
    status, body = land(standin, "diseases", disease(code, 3, name="新名", single_case=True), disease(code, 3))
    assert statuses(body) == ["updated", "duplicate"], body
    assert scalar(services, "SELECT name || single_case::text FROM disease WHERE code = :c", c=code) == "新名true"


def test_a_region_without_geometry_keeps_its_geometry(standin, services) -> None:
    d = new_district()
    land(standin, "regions", district(d))
    before = scalar(services, "SELECT ST_AsEWKT(geom) FROM region WHERE code = :c", c=d)
    rec = district(d, 2, name="改名区", population=None)
    del rec["geometry"]
    status, body = land(standin, "regions", rec)
    assert status == 200 and statuses(body) == ["updated"], body
    assert scalar(services, "SELECT ST_AsEWKT(geom) FROM region WHERE code = :c", c=d) == before
    assert scalar(services, "SELECT name || population FROM region WHERE code = :c", c=d) == "改名区500000"


def _errors(body: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(r["errors"][0]["field"], r["errors"][0]["code"]) for r in body["results"] if r["status"] == "rejected"]


def test_bad_regions_are_refused_naming_the_field_and_nothing_is_written(standin, services) -> None:
    d, unknown = new_district(), new_district()
    no_geometry = district(d)
    del no_geometry["geometry"]
    status, body = land(standin, "regions",
                        street(unknown + "001"),  # its district is not held
                        no_geometry,  # a new region needs its geometry
                        district(d, level="street"),  # 6 digits are no street
                        {**district(d), "code": "12345"}, district(d, parent_code="310100"),
                        district(d, geometry=polygon(0, 0, 1, 1)), district(d, changed_at="2999-01-01T00:00:00+08:00"),
                        "not a record", district(new_district()))
    assert status == 207, body
    assert statuses(body) == ["rejected"] * 8 + ["created"]
    assert _errors(body) == [("parent_code", "ref.unknown_parent"), ("geometry", "ref.geometry_required"),
                             ("level", "invalid.level_mismatch"), ("code", "invalid.string_pattern_mismatch"),
                             ("parent_code", "invalid.parent_mismatch"), ("geometry", "invalid.geometry_invalid"),
                             ("changed_at", "invalid.time_in_future"), (None, "record.not_object")]
    for result in body["results"][:8]:
        error = result["errors"][0]
        assert error["message"] and error["message_zh"] and not error["message_zh"].isascii(), error
    assert scalar(services, "SELECT count(*) FROM region WHERE code IN (:a, :b)", a=d, b=unknown + "001") == 0
    ledger = scalar(services, """SELECT string_agg(outcome || ':' || conformant, ',' ORDER BY id)
                                 FROM exchange_inbound""")
    assert ledger == ",".join(["rejected:true"] * 2 + ["rejected:false"] * 6 + ["created:true"])


def test_bad_institutions_and_diseases_are_refused(standin, services) -> None:
    d = new_district()
    land(standin, "regions", district(d), street(d + "001"))
    status, body = land(standin, "institutions",
                        institution(f"IO{d}", d, lon=121.45),  # outside the district's square
                        institution(f"IR{d}", d, region_code="310105001"),  # a street of another district
                        institution(f"IU{d}", new_district()),  # a district not held
                        institution(f"IT{d}", d, type="spa"))
    assert status == 422 and body["accepted"] == 0, body
    assert _errors(body) == [("lon", "geo.outside_district"), ("region_code", "invalid.region_outside_district"),
                             ("district_code", "ref.unknown_district"), ("type", "invalid.literal_error")]
    assert scalar(services, "SELECT count(*) FROM institution WHERE code LIKE :c", c=f"I_{d}") == 0
    status, body = land(standin, "diseases", {**disease(f"DB{d}"), "class": "丁"}, disease(f"DB{d}", version=0))
    assert status == 422 and _errors(body) == [("class", "invalid.literal_error"),
                                               ("version", "invalid.greater_than_equal")], body
    assert scalar(services, "SELECT count(*) FROM disease WHERE code = :c", c=f"DB{d}") == 0


def test_unknown_kinds_and_malformed_batches(standin) -> None:
    assert standin.call("POST", "/api/v1/reference/teams", {"records": [{}]})[0] == 404
    body: dict[str, Any]
    for body in ({"records": []}, {"records": {}}, {"records": [{}] * 1001}, {"rows": [{}]}):
        status, answer = standin.call("POST", "/api/v1/reference/diseases", body)
        assert status == 422 and answer["error"]["field"] and answer["error"]["message_zh"], answer


def _signed(standin: Any, body: bytes, path: str = "/api/v1/reference/diseases") -> dict[str, str]:
    headers = sign_request(private_key_hex=standin.city_private_key_hex, key_id=standin.city_key_id, method="POST",
                           path=path, body=body)
    return {**headers, "Content-Type": "application/json"}


def test_unsigned_tampered_and_replayed_requests_are_refused(client, standin, dispatch_world, services) -> None:
    code = f"DS{new_district()}"
    body = json.dumps({"records": [disease(code)]}, ensure_ascii=False).encode()
    path = "/api/v1/reference/diseases"
    assert client.post(path, data=body, content_type="application/json").status_code == 401
    bearer = {"Authorization": f"Bearer {dispatch_world.tokens['city_admin']}"}
    assert client.post(path, data=body, content_type="application/json", headers=bearer).status_code == 401
    tampered = body.replace(b'"version": 1', b'"version": 9')
    assert client.post(path, data=tampered, headers=_signed(standin, body)).status_code == 401
    assert scalar(services, "SELECT count(*) FROM disease WHERE code = :c", c=code) == 0
    headers = _signed(standin, body)
    assert client.post(path, data=body, headers=headers).status_code == 200
    replay = client.post(path, data=body, headers=headers)
    assert replay.status_code == 401 and replay.get_json()["error"]["message_zh"], replay.get_json()
    assert scalar(services, "SELECT count(*) FROM exchange_inbound WHERE record_key = :c", c=code) == 1


def test_at_most_one_landing_of_a_version_under_concurrency(standin, services) -> None:
    """Two requests carrying the same new version: one lands it, the other answers duplicate (locks, not luck)."""
    from concurrent.futures import ThreadPoolExecutor

    code = f"DC{new_district()}"
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: land(standin, "diseases", disease(code)), range(2)))
    assert sorted(statuses(a[1])[0] for a in answers) == ["created", "duplicate"], answers
    assert scalar(services, "SELECT count(*) FROM exchange_inbound WHERE record_key = :c AND outcome = 'created'",
                  c=code) == 1


def test_a_landing_that_changed_something_expires_cached_answers(standin, services) -> None:
    from ingest.events import generation_key

    def generation() -> int:
        return int(services.redis.get(generation_key(services.settings.redis_namespace)) or 0)

    code = f"DG{new_district()}"
    before = generation()
    land(standin, "diseases", disease(code))
    after_created = generation()
    assert after_created > before  # the institution, region and disease lists cached before it are stale now
    land(standin, "diseases", disease(code))  # a duplicate changes nothing
    assert generation() == after_created
