"""Layer API and monitor figures against hand-written SQL over the same rows; scope and filter errors."""
from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from layers.base import CST
from layers.incidence import class_breaks, class_of
from tests.factories.monitor import D1, D2, GRIDS, STREETS

COUNTED = "case_type IN ('confirmed', 'clinical')"


def _get(client: Any, token: str, url: str) -> Any:
    return client.get(url, headers={"Authorization": f"Bearer {token}"})


def _period(world: Any, days: int = 28) -> tuple[str, str]:
    return (world.today - timedelta(days=days - 1)).isoformat(), world.today.isoformat()


def test_catalogue_lists_every_monitor_layer(client, world):
    resp = _get(client, world.tokens["d1"], "/api/v1/layers")
    assert resp.status_code == 200
    layers = {layer["id"]: layer for layer in resp.get_json()["layers"]}
    for lid in ("incidence", "cases", "signals", "clusters", "institutions.sentinel", "institutions.fever_clinic",
                "institutions.intestinal_clinic", "institutions.lab", "institutions.vaccination_clinic"):
        assert layers[lid]["crs"] == "EPSG:4326" and layers[lid]["title"] and layers[lid]["geometry_type"]
    assert layers["cases"]["updated_at"] is not None


def test_street_choropleth_equals_hand_sql(client, world, db):
    since, until = _period(world)
    resp = _get(client, world.tokens["d1"], f"/api/v1/layers/incidence?since={since}&until={until}")
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("application/geo+json")
    fc = resp.get_json()
    assert fc["level"] == "street"
    got = {f["properties"]["code"]: f["properties"] for f in fc["features"]}
    assert set(got) == set(STREETS)
    expected = dict(db.execute(text(f"""
        SELECT r.code, count(c.id) FROM region r LEFT JOIN case_report c ON c.region_code = r.code AND {COUNTED}
               AND c.onset_date BETWEEN :a AND :b
        WHERE r.level = 'street' AND r.district_code = :d GROUP BY r.code"""),
        {"a": world.today - timedelta(days=27), "b": world.today, "d": D1}).all())
    pops = dict(db.execute(text("SELECT code, population FROM region WHERE level = 'street' AND district_code = :d"),
                           {"d": D1}).all())
    assert sum(expected.values()) > 20
    for code, n in expected.items():
        assert got[code]["cases"] == n
        assert got[code]["rate"] == pytest.approx(n * 100000 / pops[code], abs=1e-3)
        assert got[code]["class"] == class_of(got[code]["rate"], fc["breaks"])


def test_grid_choropleth_assigns_by_point_in_cell(client, world, db):
    since, until = _period(world, 60)
    fc = _get(client, world.tokens["d1"], f"/api/v1/layers/incidence?level=grid&since={since}&until={until}"
              "&disease=tmona").get_json()
    got = {f["properties"]["code"]: f["properties"]["cases"] for f in fc["features"]}
    expected = dict(db.execute(text(f"""
        SELECT g.code, count(c.id) FROM region g LEFT JOIN case_report c
               ON ST_Within(c.geom, g.geom) AND c.district_code = g.district_code AND {COUNTED}
               AND c.disease_code = 'tmona' AND c.onset_date BETWEEN :a AND :b
        WHERE g.level = 'grid' AND g.district_code = :d GROUP BY g.code"""),
        {"a": world.today - timedelta(days=59), "b": world.today, "d": D1}).all())
    assert got == expected and set(got) == set(GRIDS)


def test_city_sees_districts_and_district_user_only_own(client, world, db):
    since, until = _period(world)
    fc = _get(client, world.tokens["city"], f"/api/v1/layers/incidence?since={since}&until={until}").get_json()
    got = {f["properties"]["code"]: f["properties"]["cases"] for f in fc["features"]}
    expected = dict(db.execute(text(f"""SELECT district_code, count(*) FROM case_report WHERE {COUNTED}
        AND onset_date BETWEEN :a AND :b AND district_code IN (:d1, :d2) GROUP BY 1"""),
        {"a": world.today - timedelta(days=27), "b": world.today, "d1": D1, "d2": D2}).all())
    assert {D1: got[D1], D2: got[D2]} == expected
    own = _get(client, world.tokens["d1"], "/api/v1/layers/incidence?level=district").get_json()
    assert [f["properties"]["code"] for f in own["features"]] == [D1]
    resp = _get(client, world.tokens["d1"], f"/api/v1/layers/cases?region={D2}")
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "scope.forbidden"


def test_institution_user_sees_only_own_cases(client, world, db):
    since, until = _period(world)
    fc = _get(client, world.tokens["inst"], f"/api/v1/layers/cases?since={since}&until={until}").get_json()
    n = db.execute(text(f"""SELECT count(*) FROM case_report WHERE {COUNTED} AND reporting_institution_id = :i
                           AND onset_date BETWEEN :a AND :b"""),
                   {"i": world.institution_ids[0], "a": world.today - timedelta(days=27), "b": world.today}).scalar()
    assert len(fc["features"]) == n > 0
    assert "name_enc" not in fc["features"][0]["properties"]


def _reported(db: Any, first: Any, last: Any) -> int:
    return db.execute(text(f"""SELECT count(*) FROM case_report WHERE {COUNTED} AND district_code = :d
        AND (report_time AT TIME ZONE 'Asia/Shanghai')::date BETWEEN :a AND :b"""),
        {"d": D1, "a": first, "b": last}).scalar()


def _reported_last_year(db: Any, first: Any, last: Any, at: datetime) -> int:
    """Like `_reported`, the last day only up to `at`'s time of day when `last` is `at`'s day one year on."""
    part = at - datetime.combine(at.date(), time(0), CST)
    end = datetime.combine(last, time(0), CST) + (part if last.replace(year=last.year + 1) == at.date()
                                                  else timedelta(days=1))
    return db.execute(text(f"""SELECT count(*) FROM case_report WHERE {COUNTED} AND district_code = :d
        AND report_time >= :a AND report_time < :b"""),
        {"d": D1, "a": datetime.combine(first, time(0), CST), "b": end}).scalar()


def test_kpis_and_qc_equal_hand_sql(client, world, db):
    since, until = _period(world)
    before = datetime.now(CST)
    body = _get(client, world.tokens["d1"], f"/api/v1/monitor/summary?since={since}&until={until}").get_json()
    after = datetime.now(CST)
    k, q = body["kpis"], body["qc"]
    t = world.today
    for key, days in (("today", 1), ("days7", 7), ("days28", 28)):
        first = t - timedelta(days=days - 1)
        assert k[key]["cases"] == _reported(db, first, t)
        a, b = first.replace(year=first.year - 1), t.replace(year=t.year - 1)
        # a day in progress compares with last year's same day up to the same time (taken between before/after)
        assert _reported_last_year(db, a, b, before) <= k[key]["last_year"] <= _reported_last_year(db, a, b, after)
    assert k["signals"] == {"new": 1, "verifying": 1, "suspected": 0, "confirmed": 0, "responding": 0}
    row = db.execute(text(f"""
        SELECT count(*) n, sum((outcome = 'died')::int) deaths,
               sum((extract(epoch FROM report_time - diagnosis_time) <= 86400)::int) timely,
               sum((audit_time IS NOT NULL AND extract(epoch FROM audit_time - report_time) <= 86400)::int) audited,
               sum((occupation IS NOT NULL AND age IS NOT NULL AND sex IS NOT NULL AND geom IS NOT NULL)::int) complete
        FROM case_report WHERE {COUNTED} AND district_code = :d
             AND report_time >= :a AND report_time < :b"""),
        {"d": D1, "a": datetime.combine(t - timedelta(days=27), time(0), CST),
         "b": datetime.combine(t + timedelta(days=1), time(0), CST)}).one()
    assert q["cases"] == row.n > 0
    assert q["values"]["incidence"] == round(row.n * 100000 / 100000, 2)
    assert q["values"]["cfr"] == round(row.deaths * 100 / row.n, 1)
    assert q["values"]["report_timeliness"] == round(row.timely * 100 / row.n, 1)
    assert q["values"]["audit_timeliness"] == round(row.audited * 100 / row.n, 1)
    assert q["values"]["completeness"] == round(row.complete * 100 / row.n, 1)
    assert sum(sum(tr["counts"]) for tr in body["epicurve"]["traces"]) == body["epicurve"]["total"]


def test_signals_layers_and_evidence(client, world):
    token = world.tokens["d1"]
    points = _get(client, token, "/api/v1/layers/signals").get_json()
    ids = {f["id"] for f in points["features"]}
    assert world.signal_ids["point"] in ids and world.signal_ids["cluster"] in ids
    assert world.signal_ids["closed"] not in ids
    clusters = _get(client, token, "/api/v1/layers/clusters").get_json()
    assert [f["id"] for f in clusters["features"]] == [world.signal_ids["cluster"]]
    assert clusters["features"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    ev = _get(client, token, f"/api/v1/monitor/signals/{world.signal_ids['point']}").get_json()
    assert [r["observed"] for r in ev["series"]][-1] == 9 and ev["series"][0]["threshold"] == 5.0
    assert _get(client, world.tokens["city"], "/api/v1/monitor/signals/999999").status_code == 404


@pytest.mark.parametrize("query, field", [
    ("since=2026-02-30", "since"), ("bbox=1,2,3", "bbox"), ("bbox=10,5,9,6", "bbox"), ("level=county", "level"),
    ("region=abc", "region"), ("disease=a;drop", "disease"), ("colour=red", "colour"), ("limit=0", "limit"),
])
def test_bad_filters_are_422_with_field(client, world, query, field):
    resp = _get(client, world.tokens["d1"], f"/api/v1/layers/cases?{query}")
    assert resp.status_code == 422, resp.get_json()
    err = resp.get_json()["error"]
    assert err["field"] == field and err["code"].startswith("filter.") and err["message_zh"]


def test_period_order_and_unknowns(client, world):
    resp = _get(client, world.tokens["d1"], "/api/v1/layers/incidence?since=2025-02-01&until=2025-01-01")
    assert resp.status_code == 422
    assert _get(client, world.tokens["d1"], "/api/v1/layers/nope").get_json()["error"]["code"] == "layer.not_found"
    assert _get(client, world.tokens["d1"], "/api/v1/layers/cases?region=319901999").status_code == 404
    assert client.get("/api/v1/layers").status_code == 401


def test_bbox_limits_points(client, world):
    since, until = _period(world, 60)
    allpts = _get(client, world.tokens["d1"], f"/api/v1/layers/cases?since={since}&until={until}").get_json()
    west = _get(client, world.tokens["d1"],
                f"/api/v1/layers/cases?since={since}&until={until}&bbox=100,10,100.5,11").get_json()
    assert 0 < len(west["features"]) < len(allpts["features"])
    assert all(f["geometry"]["coordinates"][0] <= 100.5 for f in west["features"])


def test_class_breaks_are_monotonic_and_cover_max():
    values = [0, 0, 1.5, 2, 2, 3, 10, 11, 50, 51, 52, 200]
    breaks = class_breaks(values, k=5)
    assert breaks == sorted(breaks) and breaks[-1] == 200 and len(breaks) == 5
    assert class_of(0, breaks) == -1 and class_of(200, breaks) == 4 and class_of(1.5, breaks) == 0
    assert class_breaks([0, 0]) == [] and class_breaks([3, 3, 4]) == [3.0, 4.0]


def test_briefing_uses_only_local_assets(client, world, login):
    from tests.factories.users import make_user

    user, _ = make_user(client.application.extensions["onemap"], "district_analyst", D1)
    login(client, user)
    resp = client.get(f"/reports/briefing?date={world.today}&period=week")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "测试一区" in page and "周报" in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in page
    assert "<script>" not in page  # the map script is a same-origin file (strict CSP)
    script = page.split('<script src="')[1].split('"')[0]
    js = client.get(script)
    assert js.status_code == 200 and "L.map" in js.get_data(as_text=True)
    assert client.get("/reports/vendor/leaflet.js").mimetype == "text/javascript"
    assert client.get("/reports/briefing?date=2026-13-01").status_code == 422
