"""HTTP intake: per-record outcomes, idempotency, versions, PII, coordinates, scope."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from geo.crs import wgs84_to_bd09, wgs84_to_gcj02
from tests.factories.intake import World, case, now_cst


@pytest.fixture(scope="module")
def world(intake_world: Any) -> Any:
    """This module's `world`: `intake_world` (tests/factories/intake.py)."""
    return intake_world


def post(client, w: World, kind: str, records, who: str = "city"):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/ingest/{kind}", json={"records": records}, headers=w.auth(who))


def test_mixed_batch_reports_each_record(client, world: World, services) -> None:  # type: ignore[no-untyped-def]
    w = world
    good1, good2 = case(w, "mix-1"), case(w, "mix-2", lon=121.37)
    bad_id = case(w, "mix-3", patient={"id_number": "110105194912310021"})
    bad_order = case(w, "mix-4", onset_date=(now_cst() + timedelta(days=3)).date().isoformat())
    bad_disease = case(w, "mix-5", disease_code="NOPE")
    outside = case(w, "mix-6", lon=124.5)  # in the sea east of Shanghai: in no district
    missing = {k: v for k, v in case(w, "mix-7").items() if k != "report_time"}
    resp = post(client, w, "case_report", [good1, bad_id, good2, bad_order, bad_disease, outside, missing, "x"])
    assert resp.status_code == 207
    body = resp.get_json()
    assert (body["accepted"], body["rejected"]) == (2, 6)
    res = body["results"]
    assert [r["status"] for r in res] == ["created", "rejected", "created"] + ["rejected"] * 5
    first = lambda i: (res[i]["errors"][0]["field"], res[i]["errors"][0]["code"])  # noqa: E731
    assert first(1) == ("patient.id_number", "invalid.id_number_checksum")
    assert first(3) == ("onset_date", "invalid.date_in_future")
    assert first(4) == ("disease_code", "ref.unknown_disease")
    assert first(5) == ("lon", "geo.outside_district")
    assert first(6) == ("report_time", "invalid.missing")
    assert first(7) == (None, "record.not_object")
    assert all(e["message_zh"] for r in res for e in r["errors"])
    assert "11010519491231002" not in resp.get_data(as_text=True)
    with services.session_factory() as s:
        stored = s.scalars(text("SELECT source_id FROM case_report WHERE source_id LIKE :p ORDER BY 1"),
                           {"p": f"{w.inst_a}:mix-%"}).all()
    assert stored == [f"{w.inst_a}:mix-1", f"{w.inst_a}:mix-2"]


def test_duplicates_and_newer_versions(client, world: World, services) -> None:  # type: ignore[no-untyped-def]
    w = world
    v1 = case(w, "ver-1")
    assert post(client, w, "case_report", [v1]).get_json()["results"][0]["status"] == "created"
    again = post(client, w, "case_report", [v1, v1]).get_json()["results"]
    assert [r["status"] for r in again] == ["unchanged", "unchanged"]
    v3 = case(w, "ver-1", version=3, outcome="recovered", disease_code=w.diseases[1])
    v2 = case(w, "ver-1", version=2, outcome="died", death_date=now_cst().date().isoformat())
    res = post(client, w, "case_report", [v3]).get_json()["results"][0]
    assert res["status"] == "updated"
    assert post(client, w, "case_report", [v2]).get_json()["results"][0]["status"] == "unchanged"  # older: ignored
    # one batch with two versions of one record: the higher wins
    v5, v4 = case(w, "ver-2", version=5, age=50), case(w, "ver-2", version=4, age=40)
    out = post(client, w, "case_report", [v5, v4]).get_json()["results"]
    assert [r["status"] for r in out] == ["created", "unchanged"]
    with services.session_factory() as s:
        rows = s.execute(text("SELECT source_id, source_version, outcome, disease_code, age FROM case_report "
                              "WHERE source_id IN (:a, :b) ORDER BY 1"),
                         {"a": f"{w.inst_a}:ver-1", "b": f"{w.inst_a}:ver-2"}).all()
    assert [tuple(r) for r in rows] == [(f"{w.inst_a}:ver-1", 3, "recovered", w.diseases[1], 34),
                                        (f"{w.inst_a}:ver-2", 5, "under_treatment", w.diseases[0], 50)]


def test_pii_is_encrypted_with_blind_index(client, world: World, services) -> None:  # type: ignore[no-untyped-def]
    w = world
    resp = post(client, w, "case_report", [case(w, "pii-1")])
    assert resp.status_code == 200 and "张小明" not in resp.get_data(as_text=True)
    with services.session_factory() as s:
        row = s.execute(text("SELECT name_enc, id_number_enc, phone_enc, address_enc, id_number_bidx, phone_bidx "
                             "FROM case_report WHERE source_id = :s"), {"s": f"{w.inst_a}:pii-1"}).one()
    assert "张小明".encode() not in row.name_enc and b"13812345678" not in row.phone_enc
    cipher = services.cipher
    assert cipher.decrypt(row.name_enc, "case_report.name") == "张小明"
    assert cipher.decrypt(row.address_enc, "case_report.address") == "上海市长宁区某路1号"
    # The same blind index the case search uses (accounts.pii_view), so ingested cases can be found.
    from accounts.pii_view import id_number_matches

    assert row.id_number_bidx == cipher.blind_index("11010519491231002x", "id_number")
    with services.session_factory() as s:
        from sqlalchemy import select

        from store.cases import CaseReport

        found = s.scalars(select(CaseReport.source_id).where(id_number_matches(cipher, "11010519491231002X"))).all()
    assert f"{w.inst_a}:pii-1" in found


def test_crs_conversion_and_region_assignment(client, world: World, services) -> None:  # type: ignore[no-untyped-def]
    w = world
    glon, glat = wgs84_to_gcj02(121.37, 31.23)
    blon, blat = wgs84_to_bd09(121.33, 31.21)
    recs = [case(w, "crs-g", lon=float(glon), lat=float(glat), crs="gcj-02"),
            case(w, "crs-b", lon=float(blon), lat=float(blat), crs="BD09"),
            case(w, "crs-r", lon=None, lat=None, region_code=w.streets_a[1]),
            case(w, "crs-x", crs="mercator"),
            case(w, "crs-y", lon=None, lat=None, region_code=w.street_b)]
    res = post(client, w, "case_report", recs).get_json()["results"]
    assert [r["status"] for r in res] == ["created", "created", "created", "rejected", "rejected"]
    assert res[3]["errors"][0]["code"] == "invalid.crs_unknown"
    assert res[4]["errors"][0]["code"] == "geo.region_outside_district"
    with services.session_factory() as s:
        rows = {r.source_id.split(":")[1]: r for r in s.execute(text(
            "SELECT source_id, ST_X(geom) x, ST_Y(geom) y, input_crs, region_code, district_code FROM case_report "
            "WHERE source_id LIKE :p"), {"p": f"{w.inst_a}:crs-%"})}
    g, b, r = rows["crs-g"], rows["crs-b"], rows["crs-r"]
    assert abs(g.x - 121.37) < 1e-7 and abs(g.y - 31.23) < 1e-7 and g.input_crs == "GCJ02"
    assert g.region_code == w.streets_a[1] and g.district_code == w.district_a
    assert abs(b.x - 121.33) < 1e-6 and b.input_crs == "BD09" and b.region_code == w.streets_a[0]
    assert r.x is None and r.region_code == w.streets_a[1]


def test_scope_of_institution_and_district_users(client, world: World) -> None:  # type: ignore[no-untyped-def]
    w = world
    mine, other = case(w, "scope-1"), case(w, "scope-2", institution_code=w.inst_a2, lon=121.37)
    res = post(client, w, "case_report", [mine, other], who="inst_a").get_json()["results"]
    assert [r["status"] for r in res] == ["created", "rejected"]
    assert res[1]["errors"][0] == {**res[1]["errors"][0], "field": "institution_code", "code": "scope.forbidden"}
    # A district-A hospital reports a patient living in district B: the case is district B's.
    resident_b = post(client, w, "case_report", [case(w, "scope-4", lon=121.45)], who="inst_a").get_json()
    assert resident_b["results"][0]["status"] == "created"
    with client.application.extensions["onemap"].session_factory() as s:
        assert s.scalar(text("SELECT district_code FROM case_report WHERE source_id LIKE '%scope-4'")) == w.district_b
    b_case = case(w, "scope-3", institution_code=w.inst_b, lon=121.45)
    assert post(client, w, "case_report", [b_case], who="district_a").status_code == 422
    assert post(client, w, "case_report", [b_case], who="district_b").status_code == 200
    assert client.post("/api/v1/ingest/case_report", json={"records": [mine]}).status_code == 401


def test_envelope_errors_are_clear(client, world: World) -> None:  # type: ignore[no-untyped-def]
    w = world
    h = w.auth("city")
    assert client.post("/api/v1/ingest/nope", json=[{}], headers=h).get_json()["error"]["code"] == "ingest.unknown_kind"
    r = client.post("/api/v1/ingest/case_report", data="{oops", headers={**h, "Content-Type": "application/json"})
    assert (r.status_code, r.get_json()["error"]["code"]) == (400, "invalid.json")
    r = client.post("/api/v1/ingest/case_report", json={"records": {}}, headers=h)
    assert (r.status_code, r.get_json()["error"]["field"]) == (422, "records")
    r = client.post("/api/v1/ingest/case_report", json=[{}] * 1001, headers=h)
    assert (r.status_code, r.get_json()["error"]["code"]) == (413, "batch.too_large")


def test_other_kinds(client, world: World, services) -> None:  # type: ignore[no-untyped-def]
    w = world
    t = now_cst() - timedelta(minutes=5)
    syn = {"institution_code": w.inst_a, "record_id": "syn-1", "day": t.date().isoformat(), "syndrome": "ili",
           "visits": 100, "cases": 7}
    assert post(client, w, "syndromic_count", [syn]).get_json()["results"][0]["status"] == "created"
    assert post(client, w, "syndromic_count", [syn]).get_json()["results"][0]["status"] == "unchanged"
    res = post(client, w, "syndromic_count", [{**syn, "visits": 120, "cases": 9}, {**syn, "cases": 200}])
    assert [r["status"] for r in res.get_json()["results"]] == ["updated", "rejected"]
    lab = {"institution_code": w.inst_a, "record_id": "lab-1", "sample_id": "S1", "pathogen": "FluA",
           "result": "pending", "sample_time": (t - timedelta(hours=5)).isoformat()}
    done = {**lab, "result": "positive", "result_time": t.isoformat()}
    assert [r["status"] for r in post(client, w, "lab_result", [lab, done]).get_json()["results"]] == \
        ["unchanged", "created"]
    assert post(client, w, "lab_result", [lab]).get_json()["results"][0]["status"] == "unchanged"  # no regression
    fix = {"team_code": w.team_a, "record_id": "fix-1", "time": t.isoformat(), "lon": 121.31, "lat": 31.21,
           "speed_kmh": 30, "status": "dispatched"}
    late = {**fix, "record_id": "fix-0", "time": (t - timedelta(minutes=1)).isoformat(), "lon": 121.39}
    res = post(client, w, "team_position", [fix, late, {**fix, "record_id": "fix-x", "lon": 121.45}]).get_json()
    assert [r["status"] for r in res["results"]] == ["created", "created", "rejected"]
    out = {"site_code": w.site_a, "record_id": "mv-1", "item_code": "MASK", "kind": "out", "quantity": 30,
           "time": t.isoformat()}
    too_much = {**out, "record_id": "mv-2", "quantity": 1000}
    new_item = {**out, "record_id": "mv-3", "item_code": "SUIT", "kind": "in", "quantity": 10, "item_name": "防护服",
                "category": "ppe", "unit": "套"}
    res = post(client, w, "stock_change", [out, out, too_much, new_item]).get_json()["results"]
    assert [r["status"] for r in res] == ["unchanged", "created", "rejected", "created"]  # the last copy wins
    assert res[2]["errors"][0]["code"] == "stock.insufficient"
    assert post(client, w, "stock_change", [out]).get_json()["results"][0]["status"] == "unchanged"
    with services.session_factory() as s:
        assert s.execute(text("SELECT visits, cases FROM syndromic_count WHERE source_id = :s"),
                         {"s": f"{w.inst_a}:syn-1"}).one() == (120, 9)
        assert s.scalar(text("SELECT result FROM lab_result WHERE source_id = :s"), {"s": f"{w.inst_a}:lab-1"}) == \
            "positive"
        team = s.execute(text("SELECT ST_X(geom) x, status FROM team WHERE code = :c"), {"c": w.team_a}).one()
        assert (round(team.x, 5), team.status) == (121.31, "dispatched")
        assert s.scalar(text("SELECT count(*) FROM team_position tp JOIN team t ON t.id = tp.team_id "
                             "WHERE t.code = :c"), {"c": w.team_a}) == 2
        stock = dict(s.execute(text("SELECT item_code, quantity FROM stock st JOIN resource_site r ON r.id = st.site_id "
                                    "WHERE r.code = :c"), {"c": w.site_a}).all())
    assert {k: float(v) for k, v in stock.items()} == {"MASK": 70.0, "SUIT": 10.0}
