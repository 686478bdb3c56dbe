"""Case items beyond the layer's 20,000-point cap: numberMatched from a COUNT, every page from SQL, any id found.

District X gets 20,005 more cases (onsets in June 2025, inserted without the rollup and exchange
triggers, removed afterwards), so the newest 20,000 leave 5 that only SQL paging and the direct
lookup by id can reach.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

from store.case_cells import cell_sql
from tests.factories.layer_world import LayerWorld

BIG = 20005
JUNE = "datetime=2025-06-01/2025-06-30"


def _get(client: Any, token: str, url: str, **headers: str) -> Any:
    return client.get(url, headers={"Authorization": f"Bearer {token}", **headers})


@pytest.fixture(scope="module")
def big(services: Any, lw: LayerWorld) -> Iterator[list[int]]:
    """The ids of X's June 2025 cases, newest first (onset, then id)."""
    d = lw.x
    with services.session_factory() as db:
        db.execute(text("SET LOCAL session_replication_role = replica"))  # no rollup / exchange triggers
        # with the triggers off the writer gives the grid cell, as intake does
        db.execute(text(f"""
            INSERT INTO case_report (source_id, source_version, disease_code, case_type, onset_date, diagnosis_time,
                report_time, audit_time, reporting_institution_id, region_code, district_code, geom, grid_code, age,
                sex, outcome)
            SELECT :m || '-BIG-' || n, 1, :m, 'confirmed', DATE '2025-06-01' + (n % 30), now(), now(), now(), :inst,
                   :r, CAST(:d AS text), p.geom, {cell_sql("CAST(:d AS text)", "p.geom")}, 30, 'F', 'recovered'
            FROM generate_series(1, :big) n, LATERAL (SELECT ST_SetSRID(ST_MakePoint(:x0 + 0.01 + (n % 97) * 0.009,
                                                                                     10.01 + (n % 89) * 0.011), 4326) AS geom) p"""),
                   {"m": d.marker, "inst": d.inst[0], "r": d.street, "d": d.code, "x0": d.x0, "big": BIG})
        ids = list(db.execute(text("""SELECT id FROM case_report WHERE district_code = :d AND source_id LIKE :like
                                      ORDER BY onset_date DESC, id DESC"""),
                              {"d": d.code, "like": f"{d.marker}-BIG-%"}).scalars())
        db.commit()
    yield ids
    with services.session_factory() as db:
        db.execute(text("SET LOCAL session_replication_role = replica"))
        db.execute(text("DELETE FROM case_report WHERE id = ANY(:ids)"), {"ids": ids})
        db.commit()


def test_every_case_is_matched_and_the_last_page_reaches_past_the_cap(client: Any, lw: LayerWorld,
                                                                      big: list[int]) -> None:
    token = lw.users["district_analyst@X"][1]
    first = _get(client, token, f"/ogc/collections/cases/items?{JUNE}&limit=10000").get_json()
    assert first["numberMatched"] == BIG and [f["id"] for f in first["features"]] == big[:10000]
    last_href = f"/ogc/collections/cases/items?{JUNE}&limit=10000&offset=20000"
    assert any(link["rel"] == "next" and "offset=20000" in link["href"] for link in
               _get(client, token, f"/ogc/collections/cases/items?{JUNE}&limit=10000&offset=10000").get_json()["links"])
    last = _get(client, token, last_href).get_json()
    assert [f["id"] for f in last["features"]] == big[20000:] and last["numberReturned"] == BIG - 20000
    assert not any(link["rel"] == "next" for link in last["links"])


def test_bbox_is_counted_in_sql(client: Any, lw: LayerWorld, big: list[int]) -> None:
    token = lw.users["district_analyst@X"][1]
    west = f"{lw.x.x0},10,{lw.x.x0 + 0.5},11"
    body = _get(client, token, f"/ogc/collections/cases/items?{JUNE}&bbox={west}&limit=10000").get_json()
    inside = [f for f in body["features"] if f["geometry"]["coordinates"][0] <= lw.x.x0 + 0.5]
    assert 0 < body["numberMatched"] < BIG and len(inside) == body["numberReturned"] == min(10000, body["numberMatched"])


def test_a_case_beyond_the_cap_is_found_by_id_and_not_by_another_district(client: Any, lw: LayerWorld,
                                                                          big: list[int]) -> None:
    oldest = big[-1]
    found = _get(client, lw.users["masked_analyst@X"][1], f"/ogc/collections/cases/items/{oldest}")
    assert found.status_code == 200, found.get_data(as_text=True)[:300]
    assert found.get_json()["id"] == oldest and found.get_json()["properties"]["onset_date"] == "2025-06-01"
    precise = _get(client, lw.users["district_analyst@X"][1], f"/ogc/collections/cases/items/{oldest}").get_json()
    assert precise["geometry"] != found.get_json()["geometry"]  # the masked analyst gets the snapped point
    assert _get(client, lw.users["district_analyst@Y"][1], f"/ogc/collections/cases/items/{oldest}").status_code == 404
    out_of_period = _get(client, lw.users["district_analyst@X"][1],
                         f"/ogc/collections/cases/items/{oldest}?datetime=2026-01-01/2026-01-31")
    assert out_of_period.status_code == 404
