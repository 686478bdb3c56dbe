"""/ogc refusals (401, 400 naming the parameter, 404), scope, audit of case reads, and paging from one computation."""
from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest
from sqlalchemy import text

from layers import registry
from tests.factories.audit import chain_pending
from tests.factories.layer_world import LayerWorld

JAN = "datetime=2026-01-01/2026-01-31"


def _get(client: Any, token: str | None, url: str) -> Any:
    return client.get(url, headers={"Authorization": f"Bearer {token}"} if token else {})


@pytest.mark.parametrize("path", ["/ogc", "/ogc/", "/ogc/conformance", "/ogc/api", "/ogc/collections",
                                  "/ogc/collections/cases", "/ogc/collections/cases/items",
                                  "/ogc/collections/cases/items/1"])
def test_unauthenticated_is_401_json(client: Any, path: str) -> None:
    resp = client.get(path)
    assert resp.status_code == 401, (path, resp.status_code)
    assert resp.get_json()["error"]["code"] == "auth.required"
    assert "Content-Security-Policy" in resp.headers and resp.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("query, field, code", [
    ("bbox=100,10,101", "bbox", "ogc.bbox_invalid"),
    ("bbox=100,10,101,abc", "bbox", "ogc.bbox_invalid"),
    ("bbox=100,11,101,10", "bbox", "ogc.bbox_invalid"),
    ("bbox=100,10,200,11", "bbox", "ogc.bbox_invalid"),
    ("limit=0", "limit", "ogc.limit_invalid"),
    ("limit=10001", "limit", "ogc.limit_invalid"),
    ("limit=-5", "limit", "ogc.limit_invalid"),
    ("offset=x", "offset", "ogc.offset_invalid"),
    ("datetime=2026-13-01", "datetime", "ogc.datetime_invalid"),
    ("datetime=yesterday", "datetime", "ogc.datetime_invalid"),
    ("datetime=2026-01-01/2026-01-02/2026-01-03", "datetime", "ogc.datetime_invalid"),
    ("datetime=1800-01-01", "datetime", "invalid.date_range"),
    ("datetime=0001-01-01T00:00:00-23:59", "datetime", "invalid.date_range"),
    ("datetime=2020-01-01/2026-01-31", "datetime", "ogc.datetime_too_long"),  # longer than 3 years
    ("datetime=../2020-01-01/", "datetime", "ogc.datetime_invalid"),
    ("bbox=100,10,0,101", "bbox", "ogc.bbox_invalid"),
    ("bbox=100,10,101,11,0,1", "bbox", "ogc.bbox_invalid"),  # 6 numbers in the wrong order
    ("region=abc", "region", "ogc.region_invalid"),
    ("disease=a%20b", "disease", "ogc.disease_invalid"),
    ("level=x", "level", "ogc.level_invalid"),
    ("datetime=2026-01-31/2026-01-01", "datetime", "ogc.datetime_invalid"),
    ("crs=EPSG:3857", "crs", "ogc.crs_unsupported"),
    ("f=html", "f", "ogc.format_unsupported"),
    ("frobnicate=1", "frobnicate", "ogc.parameter_unknown"),
    ("district_code=abc", "district_code", "filter.invalid"),
])
def test_bad_parameters_are_400_naming_the_field(client: Any, lw: LayerWorld, query: str, field: str,
                                                 code: str) -> None:
    resp = _get(client, lw.users["district_analyst@X"][1], f"/ogc/collections/cases/items?{query}")
    assert resp.status_code == 400, (query, resp.status_code, resp.get_data(as_text=True)[:300])
    err = resp.get_json()["error"]
    assert (err["field"], err["code"]) == (field, code), err
    assert err["message"] and err["message_zh"] and field in err["message"] and field in err["message_zh"]
    # our own words in both languages: no pydantic wording, no English sentence inside message_zh
    assert not re.search(r"Value error|Input should|[A-Za-z]+ [a-z]+ [a-z]+", err["message_zh"]), err
    assert "Value error" not in err["message"] and "Input should" not in err["message"], err
    if query.startswith("bbox=") and query.count(",") != 3:
        assert "6" in err["message"] and "6" in err["message_zh"]  # the 3D form is named


@pytest.mark.parametrize("path, field", [("/ogc/collections/nope", "collectionId"),
                                         ("/ogc/collections/nope/items", "collectionId"),
                                         ("/ogc/collections/cases/items/999999999999", "featureId")])
def test_unknown_collection_or_feature_is_404(client: Any, lw: LayerWorld, path: str, field: str) -> None:
    resp = _get(client, lw.users["district_analyst@X"][1], path)
    assert resp.status_code == 404
    assert resp.get_json()["error"]["field"] == field


def test_unknown_ogc_path_is_404_json(client: Any, lw: LayerWorld) -> None:
    resp = _get(client, lw.users["district_analyst@X"][1], "/ogc/nope/deeper")
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "http.404"


def test_content_types(client: Any, lw: LayerWorld) -> None:
    token = lw.users["district_analyst@X"][1]
    assert _get(client, token, "/ogc?f=json").mimetype == "application/json"
    assert _get(client, token, "/ogc/collections").mimetype == "application/json"
    assert _get(client, token, f"/ogc/collections/teams/items?f=json&{JAN}").mimetype == "application/geo+json"


def test_district_user_cannot_read_another_district(client: Any, lw: LayerWorld) -> None:
    token = lw.users["district_analyst@Y"][1]
    refused = _get(client, token, f"/ogc/collections/cases/items?{JAN}&district_code={lw.x.code}")
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "scope.forbidden"
    own = _get(client, token, f"/ogc/collections/cases/items?{JAN}&bbox=99,9,104,12")
    assert own.status_code == 200
    ids = {str(f["id"]) for f in own.get_json()["features"]}
    assert ids == {str(i) for i in lw.y.case_points} and lw.x.marker not in own.get_data(as_text=True)
    x_case = next(iter(lw.x.case_points))
    assert _get(client, token, f"/ogc/collections/cases/items/{x_case}").status_code == 404
    extent = _get(client, token, "/ogc/collections/cases").get_json()["extent"]["spatial"]["bbox"]
    assert extent == [[lw.y.x0, 10.0, lw.y.x0 + 1, 11.0]]


def test_case_reads_are_audited(client: Any, services: Any, lw: LayerWorld) -> None:
    chain_pending(services)  # earlier tests' reads are chained before `before`
    with services.engine.connect() as conn:
        before = conn.execute(text("SELECT coalesce(max(id), 0) FROM audit_log")).scalar_one()
    token = lw.users["district_analyst@X"][1]
    assert _get(client, token, f"/ogc/collections/cases/items?{JAN}&bbox=100,10,100.5,10.5").status_code == 200
    assert _get(client, token, f"/ogc/collections/teams/items?{JAN}").status_code == 200  # not case data
    chain_pending(services)
    with services.engine.connect() as conn:
        rows = conn.execute(text("SELECT object_id, detail FROM audit_log WHERE id > :b AND action = 'case.read'"),
                            {"b": before}).all()
    assert [r.object_id for r in rows] == ["cases"]
    assert rows[0].detail["filters"]["bbox"] == [100, 10, 100.5, 10.5] and rows[0].detail["via"] == "ogc"


def _walk(client: Any, token: str, url: str | None) -> list[dict[str, Any]]:
    """Every page from `url` on, following the next links."""
    pages = []
    while url:
        resp = _get(client, token, url)
        assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
        pages.append(resp.get_json())
        url = next((link["href"] for link in pages[-1]["links"] if link["rel"] == "next"), None)
    return pages


def _counted(monkeypatch: pytest.MonkeyPatch, layer_id: str) -> list[int]:
    layer = registry.get_layer(layer_id)
    assert layer is not None
    calls: list[int] = []

    def counted(*args: Any) -> Any:
        calls.append(1)
        return layer.query(*args)

    monkeypatch.setitem(registry._LAYERS, layer_id, dataclasses.replace(layer, query=counted))
    return calls


def test_pages_cut_from_one_computation(client: Any, lw: LayerWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    """Walking a layer's pages computes it once (then the answer cache and the parsed index serve it)."""
    calls = _counted(monkeypatch, "signals")
    pages = _walk(client, lw.users["district_commander@X"][1], f"/ogc/collections/signals/items?{JAN}&limit=1")
    assert len(pages) == pages[0]["numberMatched"] >= 2 and len(calls) == 1


def test_case_pages_are_asked_of_the_database(client: Any, lw: LayerWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    """Case items never compute the capped layer: each page and numberMatched come from SQL, newest first."""
    calls = _counted(monkeypatch, "cases")
    pages = _walk(client, lw.users["district_commander@X"][1],
                  "/ogc/collections/cases/items?datetime=2026-01-02/2026-01-30&limit=4")
    ids = [f["id"] for page in pages for f in page["features"]]
    assert [p["numberMatched"] for p in pages] == [6, 6] and [p["numberReturned"] for p in pages] == [4, 2]
    assert sorted(map(str, ids)) == sorted(map(str, lw.x.case_points)) and len(calls) == 0
    onsets = [f["properties"]["onset_date"] for page in pages for f in page["features"]]
    assert onsets == sorted(onsets, reverse=True) and pages[0]["since"] == "2026-01-02"


def test_a_3d_bbox_selects_what_its_footprint_does(client: Any, lw: LayerWorld) -> None:
    token = lw.users["district_analyst@X"][1]
    flat = _get(client, token, f"/ogc/collections/cases/items?{JAN}&bbox=100,10,100.1,10.1").get_json()
    solid = _get(client, token, f"/ogc/collections/cases/items?{JAN}&bbox=100,10,-50,100.1,10.1,9000").get_json()
    assert flat["numberMatched"] >= 1 and solid["features"] == flat["features"]


@pytest.mark.parametrize("path", [f"/ogc/collections/cases/items?{JAN}&limit=2",
                                  f"/ogc/collections/teams/items?{JAN}&limit=2"])
def test_items_revalidate_by_etag(client: Any, lw: LayerWorld, path: str) -> None:
    token = lw.users["district_analyst@X"][1]
    first = _get(client, token, path)
    assert first.status_code == 200 and first.headers["ETag"]
    assert first.headers["Cache-Control"] == "private, no-cache"
    again = client.get(path, headers={"Authorization": f"Bearer {token}", "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.headers["ETag"] == first.headers["ETag"] and not again.data
    other_page = _get(client, token, path + "&offset=1")
    assert other_page.status_code == 200 and other_page.headers["ETag"] != first.headers["ETag"]
    fid = first.get_json()["features"][0]["id"]
    one = _get(client, token, f"{path.split('/items')[0]}/items/{fid}?{JAN}")
    assert one.status_code == 200 and one.headers["ETag"] and one.headers["Cache-Control"] == "private, no-cache"
    refused = _get(client, token, f"{path}&frobnicate=1")
    assert refused.status_code == 400 and refused.headers["Cache-Control"] == "no-store"
