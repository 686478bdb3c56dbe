"""The grid (H3 cell) level of the incidence layer counts every case of its area once (layers/incidence.py).

A district of its own (rolled back with `db`) whose two cells leave a sliver of the district uncovered, as the
demo's clipped H3 cells did around a narrow part of Changning: cases inside each cell, one on the cells' shared
edge, one in the sliver and one geocoded just across the district's border. Per cell, the district's and the
street's grid-level sums equal their district-level and street-level totals.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import text

from accounts.principal import Principal
from layers.base import LayerFilters
from layers.incidence import incidence_layer
from store.rollups import fold_pending
from tests.factories.places import square

DISTRICT, STREET = "319971", "319971001"
CELLS = {"h3:8f0000000319971": (104.0, 104.5), "h3:8f0000000319972": (104.5, 104.98)}  # 104.98–105 uncovered
# (lon, where): inside a cell, on the shared edge, in the uncovered sliver, just outside the district
POINTS = ((104.2, "cell 1"), (104.3, "cell 1"), (104.7, "cell 2"), (104.5, "shared edge"), (104.99, "sliver"),
          (105.0004, "across the border"))
DAY = date(2026, 1, 12)


def _region(db: Any, code: str, level: str, parent: str | None, x0: float, x1: float) -> None:
    db.execute(text("""INSERT INTO region (code, name, level, parent_code, district_code, population, geom,
                       label_point, geometry_is_demo) VALUES (:c, :n, :l, :p, :d, 100000, ST_GeomFromEWKT(:g),
                       ST_PointOnSurface(ST_GeomFromEWKT(:g)), true)"""),
               {"c": code, "n": f"网格测试{code[-3:]}", "l": level, "p": parent, "d": DISTRICT,
                "g": square(x0, 10.0, x1, 11.0)})


def _world(db: Any) -> None:
    db.execute(text("""INSERT INTO disease (code, name, name_en, klass, single_case, category)
                       VALUES ('tgrid', '网格测试病', 'grid test', '乙', false, 'test')"""))
    _region(db, DISTRICT, "district", None, 104.0, 105.0)
    _region(db, STREET, "street", DISTRICT, 104.0, 105.0)
    for code, (x0, x1) in CELLS.items():
        _region(db, code, "grid", STREET, x0, x1)
    for n, (lon, _) in enumerate(POINTS):
        db.execute(text("""
            INSERT INTO case_report (source_id, source_version, disease_code, case_type, onset_date, diagnosis_time,
                report_time, region_code, district_code, geom, outcome)
            VALUES (:s, 1, 'tgrid', 'confirmed', :day, :t, :t, :r, :d, ST_SetSRID(ST_MakePoint(:lon, 10.5), 4326),
                    'recovered')"""),
            {"s": f"TGRID:{n}", "day": DAY, "t": "2026-01-12T08:00:00+00:00", "r": STREET, "d": DISTRICT,
             "lon": lon})
    fold_pending(db)  # the layer reads the daily rollup, folded at commit: this test reads before it commits


def _total(db: Any, region: str, level: str) -> tuple[int, dict[str, int]]:
    principal = Principal(0, "grid-test", "district_analyst", 0, DISTRICT)
    fc = incidence_layer(db, principal, LayerFilters(since=DAY, until=DAY, region=region, level=level))
    return fc["totals"]["cases"], {f["properties"]["code"]: f["properties"]["cases"] for f in fc["features"]}


def test_grid_level_sums_to_the_district_and_street_totals(db) -> None:  # type: ignore[no-untyped-def]
    _world(db)
    district_total, _ = _total(db, DISTRICT, "district")
    street_total, _ = _total(db, DISTRICT, "street")
    assert district_total == street_total == len(POINTS)
    for area in (DISTRICT, STREET):
        grid_total, cells = _total(db, area, "grid")
        assert grid_total == district_total, (area, cells)
        assert set(cells) == set(CELLS)
        # the cases inside a cell are that cell's; each of the others went to exactly one cell (its nearest)
        assert cells["h3:8f0000000319971"] >= 2 and cells["h3:8f0000000319972"] >= 2


def test_a_case_on_a_shared_edge_goes_to_one_cell(db) -> None:  # type: ignore[no-untyped-def]
    _world(db)
    _, cells = _total(db, DISTRICT, "grid")
    # 2 inside cell 1 and the edge case (nearest: both at distance 0, the first code wins); cell 2 takes its own,
    # the sliver's and the one across the border (nearest)
    assert cells == {"h3:8f0000000319971": 3, "h3:8f0000000319972": 3}
