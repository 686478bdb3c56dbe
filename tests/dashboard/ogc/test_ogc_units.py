"""layers.ogc_query / layers.ogc without a server: datetime's open ends, bbox forms, feature ids, bbox on polygons."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest

from geo.dates import frozen_now
from layers.base import MAX_PERIOD_DAYS
from layers.ogc import FeatureIndex, feature_id, items_page
from layers.ogc_query import OgcQueryError, parse_bbox, parse_datetime, parse_items_query

NOON = datetime(2027, 7, 15, 12, tzinfo=timezone(timedelta(hours=8)))


def test_datetime_open_ends() -> None:
    with frozen_now(NOON):
        assert parse_datetime("2027-07-01/..") == (date(2027, 7, 1), date(2027, 7, 15))  # open end: today
        assert parse_datetime("2027-07-01/") == (date(2027, 7, 1), date(2027, 7, 15))
        assert parse_datetime("../2027-07-01") == (date(2027, 7, 1) - timedelta(days=MAX_PERIOD_DAYS), date(2027, 7, 1))
        assert parse_datetime("../..") == (date(2027, 7, 15) - timedelta(days=MAX_PERIOD_DAYS), date(2027, 7, 15))
        # an instant with a time: its day in Beijing time
        assert parse_datetime("2027-07-01T20:00:00Z") == (date(2027, 7, 2), date(2027, 7, 2))
        assert parse_datetime("2027-07-01T08:00:00/2027-07-03T00:00:00+08:00") == (date(2027, 7, 1), date(2027, 7, 3))
        query = parse_items_query({"datetime": "2027-07-01/.."}, dated=True)
        assert (query.filters.since, query.filters.until) == (date(2027, 7, 1), date(2027, 7, 15))
        # an undated layer checks datetime but has no period to set
        assert parse_items_query({"datetime": "2027-07-01/.."}, dated=False).filters.since is None
        with pytest.raises(OgcQueryError):
            parse_items_query({"datetime": "2027-07-01/x"}, dated=False)


def test_datetime_beyond_a_year_ahead_is_out_of_range() -> None:
    with frozen_now(NOON), pytest.raises(Exception) as err:
        parse_datetime("2029-01-01")
    assert getattr(err.value, "code", None) == "invalid.date_range"


def test_bbox_forms() -> None:
    assert parse_bbox("100,10,101,11") == (100, 10, 101, 11)
    assert parse_bbox("100,10,0,101,11,50") == (100, 10, 101, 11)  # with heights
    assert parse_bbox("170,-10,-170,10") == (170, -10, -170, 10)  # across the antimeridian
    for bad in ("100,10,101", "1,2,3,4,5", "nan,10,101,11", "100,10,inf,11", "", "100,10,101,91"):
        with pytest.raises(OgcQueryError):
            parse_bbox(bad)


def _square(x0: float, y0: float, size: float) -> dict[str, object]:
    ring = [[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size], [x0, y0]]
    return {"type": "Polygon", "coordinates": [ring]}


def test_index_ids_and_bbox() -> None:
    triangle = {"type": "Polygon", "coordinates": [[[0, 0], [10, 0], [0, 10], [0, 0]]]}
    fc: dict[str, Any] = {"type": "FeatureCollection", "legend": [1], "features": [
        {"type": "Feature", "id": 7, "geometry": {"type": "Point", "coordinates": [179.5, 1]}, "properties": {}},
        {"type": "Feature", "geometry": triangle, "properties": {"name": "三角"}},
        {"type": "Feature", "id": "s", "geometry": _square(-179.9, 0, 0.5), "properties": {}},
        {"type": "Feature", "id": "none", "geometry": None, "properties": {}},
    ]}
    index = FeatureIndex.of(fc)
    digest = feature_id(fc["features"][1])
    assert digest.startswith("h:") and digest == feature_id(fc["features"][1])  # stable
    assert index.get(digest) is not None and index.get("7") is not None and index.get("8") is None
    assert index.matching(None) == [0, 1, 2, 3]
    assert index.matching((8, 8, 9, 9)) == []  # inside the triangle's bounds, outside the triangle
    assert index.matching((1, 1, 2, 2)) == [1]
    assert index.matching((179, 0, -179, 2)) == [0, 2]  # across the antimeridian
    query = parse_items_query({"limit": "2", "offset": "1"}, dated=False)
    page = items_page(index, index.matching(None), query, "http://h/ogc/collections/x/items",
                      {"limit": "2", "offset": "1"}, "2027-01-01T00:00:00Z")
    assert page["legend"] == [1] and page["numberMatched"] == 4 and page["numberReturned"] == 2
    rels = {link["rel"]: link["href"] for link in page["links"]}
    assert rels["next"] == "http://h/ogc/collections/x/items?limit=2&offset=3"
    assert rels["prev"] == "http://h/ogc/collections/x/items?limit=2"
    assert rels["collection"] == "http://h/ogc/collections/x"
