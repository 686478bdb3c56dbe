"""Case intake through the staging table and one merge: version rules, per-record outcomes, refusals by the database.

Every test runs on both sources of the merge: unnest arrays (small batches) and the staging table (large ones)."""
from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from accounts.pii_view import decrypt_identity
from ingest import merge
from ingest.writers import write_batch
from tests.factories.intake import World, case
from tests.factories.places import square


@pytest.fixture(autouse=True, params=["unnest", "staged"])
def source(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "staged":
        monkeypatch.setattr(merge, "SMALL_BATCH", 0)
    return str(request.param)


def _write(db: Session, services: Any, records: list[dict[str, Any]]) -> list[tuple[str, int | None]]:
    result, _ = write_batch(db, kind="case_report", records=records, cipher=services.cipher)
    return [(r.status, r.id) for r in result.results]


def test_versions_decide_per_record(db: Session, services: Any, world: World) -> None:
    first = _write(db, services, [case(world, "m-1", version=2), case(world, "m-2")])
    assert [s for s, _ in first] == ["created", "created"]
    again = _write(db, services, [case(world, "m-1", version=1), case(world, "m-1", version=2, age=50),
                                  case(world, "m-2", version=3, age=60), case(world, "m-3")])
    assert [s for s, _ in again] == ["unchanged", "unchanged", "updated", "created"]
    assert again[2][1] == first[1][1]
    rows = db.execute(text("SELECT source_id, age FROM case_report WHERE source_id LIKE :p"),
                      {"p": f"{world.inst_a}:m-%"}).all()
    ages = {r.source_id: r.age for r in rows}
    assert ages == {f"{world.inst_a}:m-1": 34, f"{world.inst_a}:m-2": 60, f"{world.inst_a}:m-3": 34}


def test_identity_is_stored_encrypted(db: Session, services: Any, world: World) -> None:
    (status, case_id), = _write(db, services, [case(world, "m-pii")])
    assert status == "created"
    row = db.execute(text("SELECT name_enc, id_number_enc, phone_enc, address_enc FROM case_report WHERE id = :i"),
                     {"i": case_id}).one()
    identity = decrypt_identity(services.cipher, row)  # type: ignore[arg-type]
    assert identity.id_number == "11010519491231002X" and identity.name == "张小明"


def test_database_refusal_rejects_only_the_culprit(db: Session, services: Any, world: World, source: str) -> None:
    """The batch merge fails, the records are retried one by one: the staging table is reused and emptied."""
    db.execute(text("ALTER TABLE case_report ADD CONSTRAINT test_no_age_77 CHECK (age IS DISTINCT FROM 77)"))
    outcomes = _write(db, services, [case(world, "m-a"), case(world, "m-b", age=77), case(world, "m-c")])
    assert [s for s, _ in outcomes] == ["created", "rejected", "created"]
    stored = db.scalar(text("SELECT count(*) FROM case_report WHERE source_id LIKE :p"), {"p": f"{world.inst_a}:m-%"})
    assert stored == 2
    if source == "staged":
        assert db.scalar(text("SELECT count(*) FROM case_stage")) == 0


def test_each_case_gets_its_grid_cell_as_the_database_would_look_it_up(db: Session, services: Any,
                                                                       world: World) -> None:
    """Intake looks up the cells of the batch in its merge; the row trigger's lookup (case_grid_cell) agrees."""
    cells = {f"{world.district_a}g1": square(121.30, 31.20, 121.33, 31.26),
             f"{world.district_a}g2": square(121.33, 31.20, 121.36, 31.26)}
    for code, geom in cells.items():
        db.execute(text("INSERT INTO region (code, name, level, parent_code, district_code, geom, geometry_is_demo, "
                        "updated_at) VALUES (:c, :c, 'grid', :s, :d, ST_GeomFromEWKT(:g), true, now())"),
                   {"c": code, "s": world.streets_a[0], "d": world.district_a, "g": geom})
    g1, g2 = cells
    points = {"g-in": (121.32, g1), "g-edge": (121.33, g1), "g-beyond": (121.38, g2), "g-b": (121.45, "")}
    _write(db, services, [case(world, rid, lon=lon, lat=31.23) for rid, (lon, _) in points.items()]
           + [case(world, "g-none", lon=None, lat=None)])
    _write(db, services, [case(world, "g-in", version=2, lon=121.34, lat=31.23)])  # moved into g2
    expected = {**{rid: cell for rid, (_, cell) in points.items()}, "g-in": g2, "g-none": ""}
    rows = db.execute(text("SELECT source_id, grid_code, coalesce(case_grid_cell(district_code, geom), '') AS looked_up "
                           "FROM case_report WHERE source_id LIKE :p"), {"p": f"{world.inst_a}:g-%"}).all()
    assert {r.source_id.split(":")[1]: r.grid_code for r in rows} == expected
    assert all(r.grid_code == r.looked_up for r in rows)
