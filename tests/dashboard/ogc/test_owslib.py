"""QGIS-style access with a token (issue 18): OWSLib's OGC API – Features client against the live /ogc.

District X's analyst lists the collections (every layer), reads case items with bbox, datetime and limit,
and follows the next links to the end; nothing of district Y comes back.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from owslib.ogcapi import REQUEST_HEADERS  # type: ignore[import-untyped]
from owslib.ogcapi.features import Features  # type: ignore[import-untyped]

from layers.registry import all_layers
from tests.factories.layer_world import LayerWorld

JAN = "2026-01-01/2026-01-31"


@pytest.fixture
def analyst(lw: LayerWorld) -> str:
    return lw.users["district_analyst@X"][1]


@pytest.fixture
def ogc(live_url: str, analyst: str) -> Iterator[Features]:
    yield Features(f"{live_url}/ogc", headers={"Authorization": f"Bearer {analyst}"})
    REQUEST_HEADERS.pop("Authorization", None)  # OWSLib keeps the headers module-wide


def _onset_ids(lw: LayerWorld) -> dict[str, str]:
    """X's case ids (as text) → onset day: the n-th case of the world has onset 2026-01-(10 + n)."""
    return {str(cid): f"2026-01-{10 + n}" for n, cid in enumerate(lw.x.case_points)}


def test_landing_conformance_and_api_definition(ogc: Features) -> None:
    assert {link["rel"] for link in ogc.links} >= {"self", "service-desc", "conformance", "data"}
    conforms = ogc.conformance()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conforms
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in conforms
    api = ogc.api()
    limit = next(p for p in api["paths"]["/collections/{collectionId}/items"]["get"]["parameters"]
                 if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 10000 and limit["schema"]["default"] == 100


def test_every_layer_is_a_feature_collection(ogc: Features, lw: LayerWorld) -> None:
    assert sorted(ogc.feature_collections()) == sorted(all_layers())
    cases = ogc.collection("cases")
    assert cases["itemType"] == "feature" and cases["title"] == "病例点位"
    assert cases["extent"]["spatial"]["bbox"] == [[lw.x.x0, 10.0, lw.x.x0 + 1, 11.0]]  # the analyst's district
    assert "temporal" in cases["extent"] and "temporal" not in ogc.collection("teams").get("extent", {})


def test_items_with_datetime_and_paging(ogc: Features, lw: LayerWorld, analyst: str) -> None:
    first = ogc.collection_items("cases", datetime_=JAN, limit=4)
    assert first["type"] == "FeatureCollection"
    assert first["numberMatched"] == 6 and first["numberReturned"] == 4
    seen = [f["id"] for f in first["features"]]
    page = first
    while (nxt := next((link["href"] for link in page["links"] if link["rel"] == "next"), None)) is not None:
        resp = requests.get(nxt, headers={"Authorization": f"Bearer {analyst}"}, timeout=30)
        assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("application/geo+json")
        page = resp.json()
        seen += [f["id"] for f in page["features"]]
    assert sorted(str(i) for i in seen) == sorted(_onset_ids(lw))  # every case once, in layer order
    assert page["numberReturned"] == 2 and any(link["rel"] == "prev" for link in page["links"])


def test_items_datetime_instant_and_open_start(ogc: Features, lw: LayerWorld) -> None:
    onsets = _onset_ids(lw)
    day = ogc.collection_items("cases", datetime_="2026-01-12")
    assert [str(f["id"]) for f in day["features"]] == [i for i, d in onsets.items() if d == "2026-01-12"]
    early = ogc.collection_items("cases", datetime_="../2026-01-11T23:59:59+08:00")
    assert sorted(str(f["id"]) for f in early["features"]) == sorted(i for i, d in onsets.items() if d <= "2026-01-11")


def test_items_bbox(ogc: Features, lw: LayerWorld) -> None:
    x0 = lw.x.x0
    box = [x0, 10.0, x0 + 0.08, 10.09]
    inside = sorted(str(cid) for cid, (lon, lat) in lw.x.case_points.items()
                    if box[0] <= lon <= box[2] and box[1] <= lat <= box[3])
    assert 0 < len(inside) < len(lw.x.case_points)
    got = ogc.collection_items("cases", datetime_=JAN, bbox=box)
    assert sorted(str(f["id"]) for f in got["features"]) == inside and got["numberMatched"] == len(inside)
    # polygons: X's street and grid cells intersect a box in the district's corner; Y's district does not
    streets = ogc.collection_items("incidence", datetime_=JAN, level="grid", bbox=[x0 + 0.01, 10.01, x0 + 0.02, 10.02])
    assert [f["id"] for f in streets["features"]] == [lw.x.grid]


def test_one_feature_by_id_and_nothing_of_the_other_district(ogc: Features, lw: LayerWorld) -> None:
    cid = str(next(iter(lw.x.case_points)))
    item: dict[str, Any] = ogc.collection_item("cases", cid)
    assert str(item["id"]) == cid and item["geometry"]["type"] == "Point"
    for layer_id in sorted(all_layers()):
        body = str(ogc.collection_items(layer_id, datetime_=JAN, limit=10000))
        assert lw.y.marker not in body, layer_id
