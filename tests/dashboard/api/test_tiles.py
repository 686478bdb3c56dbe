"""Vector tiles (issue 18): a tile holds what the caller's GeoJSON layer holds there, never more, never finer."""
from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import mapbox_vector_tile
import pytest
from sqlalchemy import text

from tests.factories.audit import chain_pending
from tests.factories.monitor import D1, D2, STREETS  # `world`: the monitor world (tests/dashboard/conftest.py)
from tests.factories.users import make_user

TILE = (8, 199, 120)  # holds the whole of test district D1 (lon 100–101, lat 10–11); D2 lies in (8, 200, 120)


def _url(layer: str, tile: tuple[int, int, int], query: str = "") -> str:
    z, x, y = tile
    return f"/api/v1/tiles/{layer}/{z}/{x}/{y}.mvt" + (f"?{query}" if query else "")


def _get(client: Any, token: str, url: str, **headers: str) -> Any:
    return client.get(url, headers={"Authorization": f"Bearer {token}", **headers})


def _lonlat(tile: tuple[int, int, int], gx: float, gy: float, extent: int = 4096) -> tuple[float, float]:
    """Tile grid coordinates (y up, as mapbox_vector_tile decodes by default) → WGS84."""
    z, x, y = tile
    n = 2 ** z
    fx, fy = (x + gx / extent) / n, (y + 1 - gy / extent) / n
    return fx * 360 - 180, math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * fy))))


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    n = 2 ** z
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return z, int((lon + 180) / 360 * n), int(y)


def _features(resp: Any, layer: str) -> list[dict[str, Any]]:
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.headers["Content-Type"] == "application/vnd.mapbox-vector-tile"
    decoded = mapbox_vector_tile.decode(resp.get_data())
    return list(decoded.get(layer, {}).get("features", []))


def _period(w: Any) -> str:
    return f"since={(w.today - timedelta(days=59)).isoformat()}&until={w.today.isoformat()}"


@pytest.fixture(scope="module")
def users(services) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"precise": make_user(services, "district_analyst", D1, may_view_pii=True)[1],
            "masked": make_user(services, "district_commander", D1)[1],
            "other": make_user(services, "district_analyst", D2, may_view_pii=True)[1]}


def _points(feats: list[dict[str, Any]], tile: tuple[int, int, int]) -> dict[int, tuple[float, float]]:
    return {int(f["id"]): _lonlat(tile, *f["geometry"]["coordinates"]) for f in feats}


@pytest.mark.parametrize("who", ["precise", "masked"])
@pytest.mark.parametrize("extra", ["", "&limit=25", "&disease=tmonb&limit=7"])
def test_case_tile_holds_the_geojson_layers_points_and_properties(client, world, users, who, extra) -> None:  # noqa: F811
    query = _period(world) + extra  # a limit keeps the newest cases of the whole filter, in the tile as in the layer
    geo = _get(client, users[who], f"/api/v1/layers/cases?{query}").get_json()["features"]
    feats = _features(_get(client, users[who], _url("cases", TILE, query)), "cases")
    assert len(geo) > 50 if not extra else len(geo) == int(extra.rsplit("=", 1)[1])
    assert {f["id"] for f in geo} == {int(f["id"]) for f in feats}
    by_id = {f["id"]: f for f in geo}
    unit = 360 / 2 ** TILE[0] / 4096  # one tile grid unit in degrees of longitude
    for f in feats:
        want = by_id[int(f["id"])]
        assert f["properties"] == {k: v for k, v in want["properties"].items() if k != "id"}
        lon, lat = _lonlat(TILE, *f["geometry"]["coordinates"])
        assert lon == pytest.approx(want["geometry"]["coordinates"][0], abs=unit)
        assert lat == pytest.approx(want["geometry"]["coordinates"][1], abs=unit)


@pytest.mark.parametrize("who", ["precise", "masked"])
def test_a_tile_cut_from_the_middle_holds_the_limited_layers_points_in_it(client, world, users, who) -> None:  # noqa: F811
    query = _period(world) + "&limit=40"
    geo = _get(client, users[who], f"/api/v1/layers/cases?{query}").get_json()["features"]
    tile = _tile_of(100.4, 10.5, 10)
    west, north = _lonlat(tile, 0, 4096)
    east, south = _lonlat(tile, 4096, 0)

    def inside(f: dict[str, Any], pad: float) -> bool:
        lon, lat = f["geometry"]["coordinates"]
        return west - pad < lon < east + pad and south - pad < lat < north + pad

    ids = {int(f["id"]) for f in _features(_get(client, users[who], _url("cases", tile, query)), "cases")}
    pad = (east - west) * 64 / 4096  # the tile's buffer
    assert {f["id"] for f in geo if inside(f, -pad / 64)} <= ids <= {f["id"] for f in geo if inside(f, pad)}
    assert 0 < len(ids) < len(geo)


def test_masked_role_gets_the_snapped_cell_centre_even_at_deep_zoom(client, world, users, db) -> None:  # noqa: F811
    query = _period(world)
    geo = _get(client, users["masked"], f"/api/v1/layers/cases?{query}").get_json()["features"]
    case = geo[0]
    lon, lat = case["geometry"]["coordinates"]
    raw = db.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM case_report WHERE id = :i"), {"i": case["id"]}).one()
    assert (round(raw[0], 6), round(raw[1], 6)) != (lon, lat)  # the layer itself snaps for this role
    for who, want in (("masked", (lon, lat)), ("precise", (raw[0], raw[1]))):
        tile = _tile_of(want[0], want[1], 20)
        pts = _points(_features(_get(client, users[who], _url("cases", tile, query)), "cases"), tile)
        assert pts[case["id"]] == pytest.approx(want, abs=2e-6)  # a z20 grid unit is ~0.1 µ°; 6 decimals win
    tile = _tile_of(raw[0], raw[1], 20)
    masked = _points(_features(_get(client, users["masked"], _url("cases", tile, query)), "cases"), tile)
    if case["id"] in masked:  # the cell centre may lie in the same z20 tile as the recorded point
        assert masked[case["id"]] == pytest.approx((lon, lat), abs=2e-6)


def test_another_districts_analyst_gets_none_of_its_points_and_403_when_asking(client, world, users,  # noqa: F811
                                                                                services) -> None:
    query = _period(world)
    assert _features(_get(client, users["other"], _url("cases", TILE, query)), "cases") == []
    own = _features(_get(client, users["other"], _url("cases", (8, 200, 120), query)), "cases")
    assert own and {f["properties"]["district_code"] for f in own} == {D2}
    with services.session_factory() as s:
        before = s.execute(text("SELECT coalesce(max(id), 0) FROM audit_log")).scalar_one()
    resp = _get(client, users["other"], _url("cases", TILE, f"{query}&region={D1}"))
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "scope.forbidden"
    with services.session_factory() as s:
        denied = s.execute(text("SELECT object_id FROM audit_log WHERE id > :b AND action = 'scope.denied'"),
                           {"b": before}).scalars().all()
    assert denied == [_url("cases", TILE)]


def test_incidence_tile_has_the_choropleths_polygons_and_counts(client, world, users) -> None:  # noqa: F811
    query = _period(world)
    geo = _get(client, users["masked"], f"/api/v1/layers/incidence?{query}").get_json()["features"]
    feats = _features(_get(client, users["masked"], _url("incidence", TILE, query)), "incidence")
    got = {f["properties"]["code"]: f["properties"] for f in feats}
    assert set(got) == set(STREETS)
    for f in geo:
        p, t = f["properties"], got[f["properties"]["code"]]
        assert (t["name"], t["level"], t["cases"], t["population"]) == (p["name"], "street", p["cases"], p["population"])
        assert t["rate"] == pytest.approx(p["rate"], abs=1e-3)
        assert f["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert sum(t["cases"] for t in got.values()) > 50


def test_empty_tile_far_away_is_an_empty_200(client, world, users) -> None:  # noqa: F811
    assert _features(_get(client, users["precise"], _url("cases", (8, 0, 0))), "cases") == []


@pytest.mark.parametrize(("tile", "field"), [((23, 0, 0), "z"), ((3, 8, 0), "x"), ((3, 0, 8), "y"),
                                             ((0, 1, 0), "x"), ((-1, 0, 0), "z"), ((3, -1, 0), "x"),
                                             ((3, 0, -2), "y")])
def test_tile_outside_the_pyramid_is_422_naming_the_field(client, users, tile, field) -> None:  # type: ignore[no-untyped-def]
    resp = _get(client, users["precise"], _url("cases", tile))
    assert resp.status_code == 422 and resp.is_json, resp.get_data(as_text=True)[:200]
    err = resp.get_json()["error"]
    assert (err["code"], err["field"]) == ("tile.out_of_range", field) and err["message_zh"]


@pytest.mark.parametrize(("path", "field"), [("1.5/0/0", "z"), ("3/x/0", "x"), ("3/0/%2B1", "y")])
def test_tile_coordinate_that_is_not_a_number_is_422_naming_it(client, users, path, field) -> None:  # type: ignore[no-untyped-def]
    resp = _get(client, users["precise"], f"/api/v1/tiles/cases/{path}.mvt")
    assert resp.status_code == 422 and resp.is_json, resp.get_data(as_text=True)[:200]
    err = resp.get_json()["error"]
    assert (err["code"], err["field"]) == ("tile.not_integer", field) and err["message_zh"]


def test_unknown_layer_is_404_and_bad_filter_422(client, users) -> None:  # type: ignore[no-untyped-def]
    resp = _get(client, users["precise"], _url("signals", TILE))
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "tile.layer_not_found"
    resp = _get(client, users["precise"], _url("cases", TILE, "colour=red"))
    assert resp.status_code == 422 and resp.get_json()["error"]["field"] == "colour"
    assert client.get(_url("cases", TILE)).status_code == 401


def test_etag_gives_304_and_case_tiles_are_audited_once_per_filters(client, world, users, services) -> None:  # noqa: F811
    query = f"{_period(world)}&disease=tmona"
    chain_pending(services)  # earlier tests' reads are chained before `before`
    with services.session_factory() as s:
        before = s.execute(text("SELECT coalesce(max(id), 0) FROM audit_log")).scalar_one()
    first = _get(client, users["precise"], _url("cases", TILE, query))
    assert first.status_code == 200 and first.headers["ETag"]
    assert first.headers["Cache-Control"] == "private, no-cache"  # stored, revalidated every time
    again = _get(client, users["precise"], _url("cases", TILE, query), **{"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.headers["ETag"] == first.headers["ETag"]
    for tile in ((9, 398, 240), (9, 399, 241), (7, 99, 60)):  # more tiles of the same view
        assert _get(client, users["precise"], _url("cases", tile, query)).status_code == 200
    chain_pending(services)
    with services.session_factory() as s:
        rows = s.execute(text("SELECT object_type, object_id, detail FROM audit_log WHERE id > :b "
                              "AND action = 'case.read'"), {"b": before}).all()
    assert [(r.object_type, r.object_id) for r in rows] == [("tiles", "cases")]
    assert rows[0].detail["filters"]["disease"] == ["tmona"]


def test_the_tile_route_is_documented(client) -> None:  # type: ignore[no-untyped-def]
    doc = client.get("/api/v1/openapi.json").get_json()
    op = doc["paths"]["/api/v1/tiles/{layer_id}/{z}/{x}/{y}.mvt"]["get"]
    assert "application/vnd.mapbox-vector-tile" in op["responses"]["200"]["content"]
    assert {p["name"] for p in op["parameters"]} >= {"layer_id", "z", "x", "y", "disease", "since", "until"}
