"""Feed kinds through POST /api/v1/ingest/<kind>: edge validation, idempotency, scope and the live push."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from sqlalchemy import text

from ingest.events import read_events_after

CST = timezone(timedelta(hours=8))


def _today() -> date:
    return datetime.now(CST).date()


def _school(w, code, day, **over):  # type: ignore[no-untyped-def]
    rec = {"school_code": code, "day": day.isoformat(), "enrolled": 400, "absent": 12, "absent_ill": 8, "fever": 2,
           "respiratory": 3, "gastrointestinal": 2, "rash": 0, "school_name": "测试幼儿园", "school_kind": "kindergarten",
           "lon": 119.12, "lat": 31.03}
    rec.update(over)
    return rec


def test_school_absence_registers_school_upserts_and_pushes(client, fworld, services, settings):  # type: ignore[no-untyped-def]
    code = f"S{fworld.tag}A"
    day = _today() - timedelta(days=1)
    before = read_events_after(services.redis, settings.redis_namespace, "0-0", count=100000)
    r = client.post("/api/v1/ingest/school_absence", json={"records": [_school(fworld, code, day)]},
                    headers=fworld.auth("district"))
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["results"][0]["status"] == "created"
    with services.session_factory() as s:
        school = s.execute(text("SELECT region_code, district_code, kind FROM school WHERE code = :c"), {"c": code}).one()
    assert (school.region_code, school.district_code, school.kind) == (fworld.streets[0], fworld.district, "kindergarten")
    events = read_events_after(services.redis, settings.redis_namespace, before[-1][0] if before else "0-0")
    mine = [e for _, e in events if e["kind"] == "school_absence" and e["fields"]["school_code"] == code]
    assert mine and mine[0]["fields"]["ill_rate_pct"] == 2.0 and mine[0]["district_code"] == fworld.district
    # the same record again: unchanged; a corrected count: updated, one row
    again = client.post("/api/v1/ingest/school_absence", json=[_school(fworld, code, day)], headers=fworld.auth("district"))
    assert again.get_json()["results"][0]["status"] == "unchanged"
    fixed = client.post("/api/v1/ingest/school_absence", json=[_school(fworld, code, day, absent_ill=9, rash=1)],
                        headers=fworld.auth("district"))
    assert fixed.get_json()["results"][0]["status"] == "updated"
    with services.session_factory() as s:
        rows = s.execute(text("SELECT a.absent_ill FROM school_absence a JOIN school s ON s.id = a.school_id "
                              "WHERE s.code = :c"), {"c": code}).scalars().all()
    assert rows == [9]


def test_edge_validation_names_field_and_reason(client, fworld):  # type: ignore[no-untyped-def]
    day = _today()
    bad = [_school(fworld, f"S{fworld.tag}B", day, absent=500),                   # more absent than enrolled
           _school(fworld, f"S{fworld.tag}C", day, gastrointestinal=9),           # groups exceed absent_ill
           _school(fworld, f"S{fworld.tag}D", day + timedelta(days=2)),           # future
           {"school_code": f"S{fworld.tag}E", "day": day.isoformat(), "enrolled": 300, "absent": 1, "absent_ill": 0}]
    r = client.post("/api/v1/ingest/school_absence", json=bad, headers=fworld.auth("district"))
    assert r.status_code == 422
    errs = [x["errors"][0] for x in r.get_json()["results"]]
    assert [(e["field"], e["code"]) for e in errs] == [
        ("absent", "invalid.absent_exceeds_enrolled"), ("gastrointestinal", "invalid.symptoms_exceed_ill"),
        ("day", "invalid.date_in_future"), ("school_code", "ref.unknown_school")]
    assert all(e["message_zh"] and e["message_zh"] != "字段值不合法" for e in errs)


def test_sales_weather_opinion_and_scope(client, fworld, services):  # type: ignore[no-untyped-def]
    day = (_today() - timedelta(days=1)).isoformat()
    sales = [{"pharmacy_code": f"P{fworld.tag}", "pharmacy_name": "测试药房", "day": day, "drug_group": "antipyretic",
              "units": 40, "lon": 119.17, "lat": 31.02},
             {"region_code": fworld.streets[0], "day": day, "drug_group": "antidiarrhoeal", "units": 12},
             {"region_code": fworld.district, "day": day, "drug_group": "antidiarrhoeal", "units": 3},
             {"day": day, "drug_group": "antipyretic", "units": 1}]
    r = client.post("/api/v1/ingest/drug_sales", json=sales, headers=fworld.auth("district"))
    assert r.status_code == 207
    res = r.get_json()["results"]
    assert [x["status"] for x in res[:2]] == ["created", "created"]
    assert res[2]["errors"][0]["code"] == "invalid.string_pattern_mismatch"  # a district is not a street code
    assert res[3]["errors"][0]["code"] == "invalid.sales_place_missing"
    weather = [{"district_code": fworld.district, "day": day, "temp_mean": 12.5, "temp_max": 16, "temp_min": 9,
                "humidity": 70, "rainfall_mm": 1.2},
               {"district_code": fworld.district, "day": day, "temp_mean": 12.5, "temp_max": 10}]
    r = client.post("/api/v1/ingest/weather_daily", json=weather, headers=fworld.auth("district"))
    assert r.get_json()["results"][1]["errors"][0]["field"] == "temp_max"
    # a district user may not write another district's weather
    r = client.post("/api/v1/ingest/weather_daily", json=[{"district_code": fworld.district, "day": day, "temp_mean": 10}],
                    headers=fworld.auth("other"))
    assert r.get_json()["results"][0]["errors"][0]["code"] == "scope.forbidden"
    item = {"item_id": f"op-{fworld.tag}", "published_at": f"{day}T20:15:00", "source": "微博",
            "title": f"{fworld.aliases[1]}一幼儿园多名儿童{fworld.disease_name}", "keywords": "幼儿园;多名儿童"}
    r = client.post("/api/v1/ingest/opinion_item", json=[item], headers=fworld.auth("district"))
    assert r.status_code == 200, r.get_json()
    with services.session_factory() as s:
        row = s.execute(text("SELECT region_code, district_code, matched_disease_code, keywords, geom IS NOT NULL AS placed "
                             "FROM opinion_item WHERE source_id = :s"), {"s": f"opinion:op-{fworld.tag}"}).one()
    assert (row.region_code, row.district_code, row.matched_disease_code) == (fworld.streets[1], fworld.district,
                                                                              fworld.disease)
    assert row.keywords == ["幼儿园", "多名儿童"] and row.placed
    # the other district's analyst may not file an item about this district
    item2 = dict(item, item_id=f"op2-{fworld.tag}")
    r = client.post("/api/v1/ingest/opinion_item", json=[item2], headers=fworld.auth("other"))
    assert r.get_json()["results"][0]["errors"][0]["code"] == "scope.forbidden"
