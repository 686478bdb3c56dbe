"""The 流调 map layers (issue 20, phase 2): exposure places by window, contacts by street, the hotspot overlay.

Acceptance: the hotspot overlay finds a planted coincidence of cases, an exposure place and contacts, and
nothing when the same data are scrambled (contacts weeks later, or the place in another cell).
"""
from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import h3
import pytest
from sqlalchemy.orm import Session

from layers.base import LayerFilters
from layers.contact_streets import contact_streets_geojson
from layers.exposure_places import exposure_places_geojson
from layers.hotspot_core import Sighting, find_hotspots
from layers.hotspots import hotspots_geojson
from layers.registry import get_layer
from tests.factories import fieldwork_map as fm

JANUARY = LayerFilters(since=date(2026, 1, 1), until=date(2026, 1, 31))


def _props(fc: Any) -> list[dict[str, Any]]:
    return [f["properties"] for f in fc["features"]]


def test_the_planted_coincidence_is_a_hotspot(db: Session) -> None:
    world = fm.planted(db)
    spots = _props(hotspots_geojson(db, fm.principal(), JANUARY))
    assert len(spots) == 1
    spot = spots[0]
    assert spot["cell"] == h3.latlng_to_cell(fm.HERE[1], fm.HERE[0], 8)
    assert (spot["cases"], spot["places"], spot["contacts"], spot["kinds"]) == (3, 1, 4, 3)
    assert spot["first"] == "2026-01-09" and spot["last"] == "2026-01-12"
    assert spot["street"] == fm.WEST and spot["street_name"] == "西街道"
    assert len(world["contacts"]) == 4


def test_nothing_when_the_contacts_are_weeks_later(db: Session) -> None:
    fm.planted(db, contact_shift=21)
    assert hotspots_geojson(db, fm.principal(), JANUARY)["features"] == []
    two_kinds = _props(hotspots_geojson(db, fm.principal(), JANUARY, min_kinds=2))
    assert {(p["cases"], p["places"], p["contacts"]) for p in two_kinds} == {(3, 1, 0)}  # the min is configurable


def test_nothing_when_the_place_is_in_another_cell(db: Session) -> None:
    fm.planted(db, place_at=fm.FAR)
    assert hotspots_geojson(db, fm.principal(), JANUARY)["features"] == []


def test_hotspots_are_scoped(db: Session) -> None:
    fm.planted(db)
    for who in (fm.principal(region=fm.OTHER), fm.principal("institution_user", institution_id=1)):
        assert hotspots_geojson(db, who, JANUARY)["features"] == []
    city = fm.principal("city_admin", region="310000")
    assert len(hotspots_geojson(db, city, JANUARY)["features"]) == 1
    masked = _props(hotspots_geojson(db, fm.principal(pii=False), JANUARY))
    assert set(masked[0]) == {"cell", "kinds", "score", "cases", "places", "contacts", "first", "last", "street",
                              "street_name"}


def test_chaining_in_time_is_by_the_window() -> None:
    day = date(2026, 3, 1)
    seen = [Sighting("case", "c1", day, day), Sighting("place", "c1", day + timedelta(days=7), day + timedelta(days=8)),
            Sighting("contact", "c1", day + timedelta(days=15), day + timedelta(days=15))]
    assert [g.kinds for g in find_hotspots(seen)] == [3]  # 7 days after the case, 7 after the place
    assert find_hotspots(seen, window_days=6) == []
    moved = [*seen[:2], Sighting("contact", "c2", day, day)]
    assert find_hotspots(moved) == []


def test_exposure_places_by_window_and_scope(db: Session) -> None:
    world = fm.planted(db)
    inv = world["investigation"]
    late = fm.place(db, inv, fm.FAR, datetime(2026, 2, 3, 1, tzinfo=UTC), name="某菜场")
    home = fm.place(db, inv, (110.3123, 20.4567), datetime(2026, 1, 8, 1, tzinfo=UTC), name="某小区5号楼", kind="home")
    fc = exposure_places_geojson(db, fm.principal(), LayerFilters(since=date(2026, 1, 9), until=date(2026, 1, 9)))
    props = {p["id"]: p for p in _props(fc)}
    assert set(props) == {world["place"].id}
    shop = props[world["place"].id]
    assert (shop["name"], shop["kind_zh"]) == ("某超市", "公共场所")
    assert shop["start"] == "2026-01-09T10:00:00+08:00" and shop["end"] == "2026-01-09T16:00:00+08:00"
    feb = exposure_places_geojson(db, fm.principal(), LayerFilters(since=date(2026, 2, 1), until=date(2026, 2, 28)))
    assert [p["id"] for p in _props(feb)] == [late.id]
    assert exposure_places_geojson(db, fm.principal(region=fm.OTHER), JANUARY)["features"] == []
    east = exposure_places_geojson(db, fm.principal(), LayerFilters(since=date(2026, 1, 1), until=date(2026, 2, 28),
                                                                     region=fm.EAST))
    assert [p["id"] for p in _props(east)] == [late.id]
    masked = {f["id"]: f for f in exposure_places_geojson(db, fm.principal(pii=False), JANUARY)["features"]}
    assert masked[home.id]["properties"]["name"] == "住所" and "某小区" not in json.dumps(masked, ensure_ascii=False)
    assert masked[home.id]["geometry"]["coordinates"] != [110.3123, 20.4567]


def test_contacts_by_street_are_counts_only(db: Session) -> None:
    world = fm.planted(db)
    inv = world["investigation"]
    fm.contact(db, inv, fm.FAR, date(2026, 1, 10), street=fm.EAST, state="observing", n=10)
    fm.contact(db, inv, fm.FAR, date(2026, 1, 10), street=fm.EAST, state="became_case", n=11)
    fm.contact(db, inv, None, date(2026, 1, 10), street=None, n=12)  # no street: not on the map
    for who in (fm.principal(), fm.principal(pii=False)):
        fc = contact_streets_geojson(db, who, JANUARY)
        by_street = {p["street"]: p for p in _props(fc)}
        assert set(by_street) == {fm.WEST, fm.EAST}
        west, east = by_street[fm.WEST], by_street[fm.EAST]
        assert (west["total"], west["to_trace"], west["traced"], west["observing"]) == (4, 4, 0, 0)
        assert (east["total"], east["to_trace"], east["observing"], east["became_case"]) == (2, 0, 1, 1)
        assert west["street_name"] == "西街道"
        text = json.dumps(fc, ensure_ascii=False)
        assert "M1" not in text and "secret" not in text and "20.3" not in text  # no record id, identity or point
    assert contact_streets_geojson(db, fm.principal(region=fm.OTHER), JANUARY)["features"] == []
    march = LayerFilters(since=date(2026, 3, 1), until=date(2026, 3, 31))
    assert contact_streets_geojson(db, fm.principal(), march)["features"] == []


@pytest.mark.parametrize("layer_id", ["fieldwork.places", "fieldwork.contacts", "fieldwork.hotspots"])
def test_registered_on_the_command_map(db: Session, layer_id: str) -> None:
    fm.planted(db)
    layer = get_layer(layer_id)
    assert layer is not None and layer.group == "command"
    assert layer.run(db, fm.principal(), JANUARY)["features"]
    assert layer.run(db, fm.principal("institution_user", institution_id=1), JANUARY)["features"] == []
