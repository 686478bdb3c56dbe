"""Layers that write their answer's JSON in the database give the bytes the answer cache wrote from their dicts."""
from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from sqlalchemy import text

from accounts.scope import ScopeError
from accounts.tokens import principal_for_user
from dashboard.answer_cache import dumps
from geo.geojson import collection_json, feature_collection
from layers.base import LayerFilters
from layers.json_sql import number_sql, value_sql
from layers.registry import get_layer
from tests.factories.layer_world import SINCE, UNTIL, LayerWorld, build_layer_world

WHO = ("district_analyst@X", "masked_analyst@X", "institution_user@X", "wall_kiosk@Y", "city_admin", "city_api")


@pytest.fixture(scope="module")
def lw(services) -> LayerWorld:  # type: ignore[no-untyped-def]
    return build_layer_world(services)


def _principal(services: Any, lw: LayerWorld, who: str) -> Any:
    with services.session_factory() as db:
        return principal_for_user(db, db.merge(lw.users[who][0]))


def _filters(lw: LayerWorld) -> list[LayerFilters]:
    period = {"since": SINCE, "until": UNTIL}
    return [LayerFilters(**period), LayerFilters(**period, limit=1), LayerFilters(until=date(2025, 1, 1)),
            LayerFilters(**period, disease=("nope",)), LayerFilters(**period, level="grid"),
            LayerFilters(**period, level="district"), LayerFilters(**period, region=lw.x.street),
            LayerFilters(**period, bbox=(99.0, 9.0, 101.0, 11.0))]


@pytest.mark.parametrize("layer_id", ["cases", "incidence"])
@pytest.mark.parametrize("who", WHO)
def test_layer_json_is_the_dumped_layer(services, lw: LayerWorld, who: str, layer_id: str) -> None:  # type: ignore[no-untyped-def]
    layer = get_layer(layer_id)
    assert layer is not None and layer.query_json is not None
    principal = _principal(services, lw, who)
    for filters in _filters(lw):
        with services.session_factory() as db:
            try:
                expected = dumps(layer.run(db, principal, filters))
            except ScopeError:
                continue
            assert layer.run_json(db, principal, filters) == expected, filters


def test_collection_json_is_the_dumped_collection() -> None:
    features = [{"type": "Feature", "geometry": None, "properties": {"名": "上海\n\"x\""}, "id": 1}]
    members: dict[str, Any] = {"truncated": False, "since": "2026-01-01", "legend": [{"upper": 1.5}]}
    fragment = ",".join(json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in features)
    assert collection_json(fragment, **members) == dumps(feature_collection(features, **members))  # type: ignore[arg-type]
    assert collection_json("") == dumps(feature_collection([]))


NUMBERS = ("121.4739", "31.2", "121", "-5", "0", "0.000001", "0.0000123", "0.0001", "-0.0000004", "179.999999",
           "1e-06", "12345678.123456")
STRINGS = ("上海", "a\"b\\c", "tab\there\nnew\r\x01\x1f\x7f", "\u2028", "", None)


def test_sql_writers_match_the_encoder(services) -> None:  # type: ignore[no-untyped-def]
    with services.engine.connect() as conn:
        for n in NUMBERS:
            got = conn.execute(text(f"SELECT {number_sql('round(CAST(:n AS float8)::numeric, 6)')}"), {"n": n}).scalar()
            shown = conn.execute(text("SELECT round(CAST(:n AS float8)::numeric, 6)::text"), {"n": n}).scalar()
            assert got == json.dumps(float(shown)), n
        for s in STRINGS:
            got = conn.execute(text(f"SELECT {value_sql('CAST(:s AS text)')}"), {"s": s}).scalar()
            assert got == json.dumps(s, ensure_ascii=False), repr(s)
        day = conn.execute(text(f"SELECT {value_sql('DATE :d')}".replace(":d", "'2026-01-31'"))).scalar()
        assert day == '"2026-01-31"'
