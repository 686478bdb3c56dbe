"""/basemap/<z>/<x>/<y>.<ext> from a generated MBTiles and PMTiles file: tiles, bad input, login, attribution, maps."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from geo.tiles import TileFileError, open_tiles, plain_text
from tests.dashboard.basemap.conftest import TileFiles

KNOWN = (12, 3432, 1672)  # a z12 tile over Changning


@pytest.fixture(scope="module")
def analyst(app, principal_token) -> tuple[Any, str]:  # type: ignore[no-untyped-def]
    return principal_token("district_analyst")


@pytest.fixture
def logged_in(app, analyst, login) -> Any:  # type: ignore[no-untyped-def]
    client = app.test_client()
    login(client, analyst[0])
    return client


@pytest.fixture(scope="module")
def pm_app(settings, tile_files: TileFiles) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    from dashboard import create_app

    application = create_app(settings.model_copy(update={"basemap_file": str(tile_files.pmtiles),
                                                         "basemap_attribution": "长宁区测绘院"}))
    yield application
    application.extensions["onemap"].engine.dispose()


def test_the_known_tile_is_in_the_file(tile_files: TileFiles) -> None:
    assert KNOWN in tile_files.tiles


def test_mbtiles_tile_is_served_with_the_tms_row_flipped(logged_in, tile_files: TileFiles) -> None:  # type: ignore[no-untyped-def]
    z, x, y = KNOWN
    resp = logged_in.get(f"/basemap/{z}/{x}/{y}.png")
    assert resp.status_code == 200
    assert resp.data == tile_files.tiles[KNOWN]
    assert resp.mimetype == "image/png"
    assert resp.headers["Cache-Control"] == "private, max-age=86400"
    flipped = (1 << z) - 1 - y  # the stored TMS row number is not an XYZ tile of ours
    assert logged_in.get(f"/basemap/{z}/{x}/{flipped}.png").status_code == 404


def test_every_tile_of_both_files_round_trips(tile_files: TileFiles) -> None:
    for path in (tile_files.mbtiles, tile_files.pmtiles):
        source = open_tiles(path)
        assert source.info.ext == "png" and (source.info.min_zoom, source.info.max_zoom) == (10, 12)
        assert source.info.bounds == (121.0, 30.9, 121.8, 31.5)
        assert all(source.tile(*key) == blob for key, blob in tile_files.tiles.items()), path.name


def test_pmtiles_tile_is_served(pm_app, analyst, login, tile_files: TileFiles) -> None:  # type: ignore[no-untyped-def]
    client = pm_app.test_client()
    login(client, analyst[0])
    z, x, y = KNOWN
    resp = client.get(f"/basemap/{z}/{x}/{y}.png")
    assert resp.status_code == 200 and resp.data == tile_files.tiles[KNOWN]
    assert client.get("/basemap/12/0/0.png").status_code == 404


def test_bearer_token_reads_tiles_and_no_login_gets_401(app, analyst) -> None:  # type: ignore[no-untyped-def]
    client = app.test_client()
    z, x, y = KNOWN
    anonymous = client.get(f"/basemap/{z}/{x}/{y}.png")
    assert anonymous.status_code == 401  # not a redirect to the login page
    assert anonymous.get_json()["error"]["code"] == "auth.required"
    assert client.get(f"/basemap/{z}/{x}/{y}.png", headers={"Authorization": f"Bearer {analyst[1]}"}).status_code == 200


@pytest.mark.parametrize("path", ["/basemap/12/0/0.png", "/basemap/5/26/13.png", "/basemap/12/3432/1672.jpg",
                                  "/basemap/12/3432/1672.pbf"])
def test_missing_tiles_are_404(logged_in, path: str) -> None:  # type: ignore[no-untyped-def]
    resp = logged_in.get(path)
    assert resp.status_code == 404
    assert resp.get_json()["error"]["code"] == "basemap.tile_not_found"


@pytest.mark.parametrize(("path", "field"), [
    ("/basemap/25/0/0.png", "z"), ("/basemap/10/1024/0.png", "x"), ("/basemap/10/0/1024.png", "y"),
    ("/basemap/a/0/0.png", "z"), ("/basemap/10/-1/0.png", "x"), ("/basemap/10/0/1e3.png", "y"),
    ("/basemap/99999999999999999999/0/0.png", "z"), ("/basemap/10/0/0.gif", "ext"), ("/basemap/0/0/0.", "path"),
    ("/basemap/1/2", "path"), ("/basemap/1/2/3/4.png", "path"),
])
def test_bad_coordinates_are_400_naming_the_field(logged_in, path: str, field: str) -> None:  # type: ignore[no-untyped-def]
    resp = logged_in.get(path)
    assert resp.status_code == 400, resp.data
    error = resp.get_json()["error"]
    assert (error["code"], error["field"]) == ("basemap.bad_tile", field)
    assert error["message_zh"]


def test_attribution_from_the_file_is_plain_escaped_text(app) -> None:  # type: ignore[no-untyped-def]
    from dashboard.basemap import current_basemap

    with app.test_request_context("/monitor"):
        basemap = current_basemap()
    assert basemap is not None
    assert basemap.url == "/basemap/{z}/{x}/{y}.png"
    assert basemap.attribution == "© 长宁区规划资源局 测试底图"  # tags and the script's content dropped
    props = basemap.leaflet_props()
    assert (props["minNativeZoom"], props["maxNativeZoom"]) == (10, 12)
    assert props["bounds"] == [[30.9, 121.0], [31.5, 121.8]]


def test_basemap_attribution_setting_wins_and_is_escaped(pm_app) -> None:  # type: ignore[no-untyped-def]
    from dashboard.basemap import current_basemap

    with pm_app.test_request_context("/monitor"):
        assert current_basemap().attribution == "长宁区测绘院"  # type: ignore[union-attr]
    assert plain_text("<b>A &amp; B</b>") == "A & B"


def test_unusable_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not tiles", encoding="utf-8")
    (tmp_path / "empty.pmtiles").write_bytes(b"")
    for name in ("notes.txt", "missing.mbtiles", "empty.pmtiles"):
        with pytest.raises(TileFileError):
            open_tiles(tmp_path / name)


def test_every_map_uses_the_file(app) -> None:  # type: ignore[no-untyped-def]
    """Monitor (and its wall), command (and its wall), the signal evidence mini-map and the briefing's folium map."""
    import dash_leaflet as dl

    from dashboard import reports
    from dashboard.pages import command_layout, signals

    def tile_urls(component: Any) -> list[str]:
        found = [component.url] if isinstance(component, dl.TileLayer) else []
        children = getattr(component, "children", None)
        for child in children if isinstance(children, list) else [children] if children is not None else []:
            found += tile_urls(child)
        return found

    url = "/basemap/{z}/{x}/{y}.png"
    with app.test_request_context("/command"):
        assert tile_urls(command_layout.command_map(False, "310105")) == [url]
        assert tile_urls(command_layout.command_map(True, "310105")) == [url]
        area = {"geometry": {"type": "Point", "coordinates": [121.4, 31.2]}, "title": "测试"}
        assert tile_urls(signals._map(area)) == [url]
        square = {"type": "Polygon", "coordinates": [[[121.4, 31.2], [121.5, 31.2], [121.5, 31.3], [121.4, 31.2]]]}
        choro = {"type": "FeatureCollection", "level": "street", "features": [{"type": "Feature", "geometry": square,
                 "properties": {"name": "测试街道", "cases": 3, "rate": 1.5, "color": "#fee", "label": [121.45, 31.25]}}]}
        html = reports._map(choro, {"type": "FeatureCollection", "features": []}).get_root().render()
    assert url in html and "maxNativeZoom" in html


def test_monitor_map_uses_the_file(app, principal_token) -> None:  # type: ignore[no-untyped-def]
    import inspect

    from dashboard.pages import monitor_layout

    source = inspect.getsource(monitor_layout.monitor_map)  # building the monitor map needs the demo's layers: see the browser test
    assert "current_basemap()" in source and "basemap_url" not in source
