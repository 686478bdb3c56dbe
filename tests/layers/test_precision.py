"""Case locations: precise only for roles with the personal-data right; snapped to a 200 m grid otherwise."""
from __future__ import annotations

import math
from typing import Any

import pytest
from sqlalchemy import text

from accounts.sessions import SessionStore
from accounts.tokens import create_token, principal_for_user
from layers.base import LayerFilters, resolve_area
from layers.heat import _points
from layers.precision import CELL_M, snapped_sql
from store.accounts import AppUser
from tests.factories.layer_world import PERIOD, LayerWorld, build_layer_world


@pytest.fixture(scope="module")
def lw(services) -> LayerWorld:  # type: ignore[no-untyped-def]
    return build_layer_world(services)


def _points_of(client: Any, headers: dict[str, str]) -> dict[int, tuple[float, float]]:
    resp = client.get(f"/api/v1/layers/cases?{PERIOD}", headers=headers)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    return {f["id"]: tuple(f["geometry"]["coordinates"]) for f in resp.get_json()["features"]}


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    kx = 111_320 * math.cos(math.radians((a[1] + b[1]) / 2))
    return math.hypot((a[0] - b[0]) * kx, (a[1] - b[1]) * 111_320)


def _assert_snapped(services: Any, got: dict[int, tuple[float, float]], precise: dict[int, tuple[float, float]]) -> None:
    assert got and set(got) <= set(precise)
    with services.engine.connect() as conn:
        for cid, point in got.items():
            assert point != precise[cid], f"case {cid}: precise location sent"
            assert _metres(point, precise[cid]) <= CELL_M, f"case {cid}: snapped too far"
            again = conn.execute(text(f"SELECT ST_X(p), ST_Y(p) FROM (SELECT {snapped_sql('ST_SetSRID(ST_MakePoint(:x, :y), 4326)')} p) q"),
                                 {"x": point[0], "y": point[1]}).one()
            assert _metres(point, (again[0], again[1])) < 1.0, f"case {cid}: not a grid cell centre"


def test_analyst_with_the_right_gets_the_precise_point(client, lw: LayerWorld) -> None:  # type: ignore[no-untyped-def]
    got = _points_of(client, {"Authorization": f"Bearer {lw.users['district_analyst@X'][1]}"})
    assert got == {cid: p for cid, p in lw.x.case_points.items()}
    got = _points_of(client, {"Authorization": f"Bearer {lw.users['city_admin'][1]}"})
    assert {cid: got[cid] for cid in lw.x.case_points} == lw.x.case_points


@pytest.mark.parametrize("who", ["district_commander@X", "masked_analyst@X", "wall_kiosk@X", "institution_user@X",
                                 "city_api"])
def test_masked_roles_get_grid_cells(client, services, lw: LayerWorld, who: str) -> None:  # type: ignore[no-untyped-def]
    got = _points_of(client, {"Authorization": f"Bearer {lw.users[who][1]}"})
    _assert_snapped(services, {k: v for k, v in got.items() if k in lw.x.case_points}, lw.x.case_points)


def test_view_only_session_of_an_analyst_gets_grid_cells(app, services, lw: LayerWorld) -> None:  # type: ignore[no-untyped-def]
    """A kiosk (device-token) session never carries the personal-data right, even when its user has it.
    (Embed sessions belong to the city platform's city_api account, which never has it either.)"""
    with services.session_factory() as db:
        user = db.get(AppUser, lw.users["district_analyst@X"][0].id)
        principal = principal_for_user(db, user)
        row, _ = create_token(db, user_id=user.id, name="wall", kind="device")
        db.commit()
        token_id = row.id
    assert principal.can_unmask_pii
    ws = SessionStore(services.redis, services.settings.redis_namespace, 30).create(
        principal, method="device", token_id=token_id)
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["sid"], sess["device"], sess["csrf"] = ws.sid, True, "t" * 32
    _assert_snapped(services, _points_of(client, {}), lw.x.case_points)


def test_heat_input_is_snapped_for_masked_roles(services, lw: LayerWorld) -> None:  # type: ignore[no-untyped-def]
    filters = LayerFilters(since="2026-01-01", until="2026-01-31")
    with services.session_factory() as db:
        masked = principal_for_user(db, db.get(AppUser, lw.users["district_commander@X"][0].id))
        analyst = principal_for_user(db, db.get(AppUser, lw.users["district_analyst@X"][0].id))
        area = resolve_area(db, masked, None)
        coarse = {tuple(round(v, 6) for v in p) for p in _points(db, masked, area, filters).tolist()}
        fine = {tuple(round(v, 6) for v in p) for p in _points(db, analyst, area, filters).tolist()}
    assert fine == set(lw.x.case_points.values())
    assert coarse and not (coarse & fine)
