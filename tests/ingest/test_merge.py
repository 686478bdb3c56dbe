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
