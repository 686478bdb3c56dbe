"""Decision support and coverage equal brute-force / geopandas computations on a synthetic district."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from pyproj import Geod
from shapely.geometry import Point
from shapely.ops import unary_union
from sqlalchemy import select

from command import decision
from layers.coverage import coverage
from store.accounts import Setting
from store.response import Team
from tests.factories.command import BOUNDS, DISTRICT, Synthetic

GEOD = Geod(ellps="WGS84")


def _geodesic(a: Point, b: Point) -> float:
    return GEOD.inv(a.x, a.y, b.x, b.y)[2]


def _statuses(db, synthetic: Synthetic) -> dict[int, str]:  # type: ignore[no-untyped-def]
    return dict(db.execute(select(Team.id, Team.status).where(Team.id.in_(synthetic.teams))).all())


def _query_points(n: int, seed: int = 3) -> list[Point]:
    rng = np.random.default_rng(seed)
    w, s, e, n_ = BOUNDS
    return [Point(rng.uniform(w, e), rng.uniform(s, n_)) for _ in range(n)]


@pytest.mark.parametrize("k", [1, 3, 7])
def test_nearest_standby_teams_equal_brute_force(db, synthetic: Synthetic, k: int) -> None:
    travel = decision.TravelParams(speed_kmh=36, detour=1.3)
    status = _statuses(db, synthetic)  # other tests may have dispatched some teams
    for q in _query_points(10):
        got = decision.nearest_teams(db, lon=q.x, lat=q.y, k=k, district_code=DISTRICT, travel=travel)
        brute = sorted((_geodesic(q, p), tid) for tid, (_, _, p) in synthetic.teams.items() if status[tid] == "standby")
        assert [t.id for t in got] == [tid for _, tid in brute[:k]]
        for team, (dist, _) in zip(got, brute, strict=False):
            assert team.status == "standby"
            assert team.distance_m == pytest.approx(dist, rel=1e-6, abs=0.01)
            assert team.eta_min == pytest.approx(dist * 1.3 / 600.0, rel=1e-6)


def test_team_type_filter_and_other_district(db, synthetic: Synthetic) -> None:
    q = _query_points(1, seed=11)[0]
    got = decision.nearest_teams(db, lon=q.x, lat=q.y, k=50, district_code=DISTRICT, types=("epi",))
    status = _statuses(db, synthetic)
    expected = {tid for tid, (_, kind, _) in synthetic.teams.items() if status[tid] == "standby" and kind == "epi"}
    assert {t.id for t in got} == expected
    assert decision.nearest_teams(db, lon=q.x, lat=q.y, k=5, district_code="319999") == []


def _leaves_frame(synthetic: Synthetic) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"code": [c for c, _, _ in synthetic.leaves], "pop": [p for _, p, _ in synthetic.leaves]},
                            geometry=[g for _, _, g in synthetic.leaves], crs=4326)


def test_buffer_population_equals_geopandas(db, synthetic: Synthetic) -> None:
    leaves = _leaves_frame(synthetic)
    utm = leaves.estimate_utm_crs()
    metric = leaves.to_crs(utm)
    radii = [300.0, 1000.0, 2500.0, 8000.0]
    checked = 0
    for q in _query_points(6, seed=5):
        got = {b["radius_m"]: b for b in decision.buffer_population(db, lon=q.x, lat=q.y, radii_m=radii)}
        centre = gpd.GeoSeries([q], crs=4326).to_crs(utm).iloc[0]
        for r in radii:
            circle = centre.buffer(r, quad_segs=16)
            share = metric.geometry.intersection(circle).area / metric.geometry.area
            expected = float((metric["pop"] * share).sum())
            assert got[r]["population"] == pytest.approx(expected, rel=2e-3, abs=2)
            assert got[r]["area_km2"] == pytest.approx(circle.area / 1e6, rel=2e-3)
            checked += expected > 0
    assert checked > 10  # the comparison was not vacuous


def test_sites_within_reach_and_stock(db, synthetic: Synthetic) -> None:
    q = _query_points(1, seed=9)[0]
    sites = decision.sites_within(db, lon=q.x, lat=q.y, reach_m=6000, district_code=DISTRICT)
    expected = sorted((_geodesic(q, p), sid) for sid, p in synthetic.sites.items() if _geodesic(q, p) <= 6000)
    assert [s.id for s in sites] == [sid for _, sid in expected]
    for s in sites:
        n95 = next(i for i in s.items if i["item_code"] == "N95")
        assert n95["below_min"] == (n95["quantity"] < 1500)


def test_nearest_fever_clinics(db, synthetic: Synthetic) -> None:
    q = Point(87.62, 43.80)
    got = decision.nearest_fever_clinics(db, lon=q.x, lat=q.y, k=2)
    expected = sorted((_geodesic(q, p), iid) for iid, p in synthetic.clinics)[:2]
    assert [c["id"] for c in got] == [iid for _, iid in expected]


def test_travel_params_come_from_settings_unless_given(db) -> None:
    assert decision.travel_params(db) == decision.TravelParams()
    db.add_all([Setting(key=decision.SPEED_KEY, value=45), Setting(key=decision.DETOUR_KEY, value="bad")])
    db.flush()
    assert decision.travel_params(db) == decision.TravelParams(speed_kmh=45, detour=decision.DEFAULT_DETOUR)
    assert decision.travel_params(db, speed_kmh=20, detour=2).speed_kmh == 20


@pytest.mark.parametrize("radius", [800.0, 2500.0])
def test_coverage_outside_population_equals_geopandas(db, synthetic: Synthetic, radius: float) -> None:
    leaves = _leaves_frame(synthetic)
    utm = leaves.estimate_utm_crs()
    metric = leaves.to_crs(utm)
    clinics = gpd.GeoSeries([p for _, p in synthetic.clinics], crs=4326).to_crs(utm)
    served = unary_union([c.buffer(radius, quad_segs=16) for c in clinics])
    metric["outside"] = metric["pop"] * metric.geometry.difference(served).area / metric.geometry.area
    metric["street"] = [synthetic.street_of[c] for c in metric["code"]]
    expected = metric.groupby("street")[["pop", "outside"]].sum()
    got = coverage(db, district_code=DISTRICT, radius_m=radius)
    assert {s["code"] for s in got["streets"]} == set(expected.index)
    for s in got["streets"]:
        assert s["population"] == pytest.approx(expected.loc[s["code"], "pop"], abs=1)
        assert s["outside"] == pytest.approx(expected.loc[s["code"], "outside"], rel=3e-3, abs=3)
    assert got["clinics"] == 3 and got["service_area"]["type"] in ("Polygon", "MultiPolygon")
    assert 0 < got["outside"] < got["population"]
