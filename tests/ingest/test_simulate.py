"""The simulator's feed is valid for the intake writers and plausible (points inside, speeds 20–40 km/h)."""
from __future__ import annotations

import random

from shapely.geometry import Point

from geo.crs import to_wgs84
from ingest.simulate import Simulator, disease_weight, load_world
from ingest.writers import store_batch
from tests.factories.intake import World


def test_simulated_records_are_all_accepted_and_plausible(services, world: World) -> None:  # type: ignore[no-untyped-def]
    with services.session_factory() as s:
        sim_world = load_world(s, world.district_a)
    assert [c for c, _, _ in sim_world.streets] == world.streets_a and len(sim_world.teams) == 1
    sim = Simulator(sim_world, rng=random.Random(7))
    produced: dict[str, int] = {}
    fixes = []
    for _ in range(6):
        for kind, records in sim.records(60).items():
            produced[kind] = produced.get(kind, 0) + len(records)
            result = store_batch(services, kind=kind, records=records)
            assert result.rejected == 0, [r.errors for r in result.results if r.errors]
            if kind == "team_position":
                fixes += records
            if kind == "case_report":
                assert all(sim_world.district.contains(Point(r["lon"], r["lat"])) for r in records)
    assert set(produced) == {"team_position", "case_report", "syndromic_count", "stock_change"}
    for fix in fixes:
        lon, lat = to_wgs84(fix["lon"], fix["lat"], fix["crs"])
        assert sim_world.district.contains(Point(float(lon), float(lat)))
        assert 20 <= fix["speed_kmh"] <= 40


def test_seasonal_weights() -> None:
    assert disease_weight("流行性感冒", False, 1) == 4 * disease_weight("流行性感冒", False, 7)
    assert disease_weight("手足口病", False, 6) > disease_weight("手足口病", False, 12)
    assert disease_weight("鼠疫", True, 6) < 0.1
