"""The fault suite's rollup check can fail: corrupted case_daily rows are reported as differences (issue 18).

Everything here happens in one transaction that is rolled back, so the package database stays exact.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.orm import sessionmaker

from ingest.writers import write_batch
from store.rollups import fold_pending
from tests.factories.intake import World, build_world, case
from tests.system.chaos.conftest import rollup_differences
from tests.system.chaos.support import Ledger


@pytest.fixture
def conn(services: Any) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    connection = services.engine.connect()
    trans = connection.begin()
    yield connection
    trans.rollback()
    connection.close()


def test_corrupted_rollup_rows_are_reported(services: Any, conn: Connection) -> None:
    world: World = build_world(services)
    factory = sessionmaker(bind=conn, join_transaction_mode="create_savepoint")
    with factory() as session:  # two case reports stored the way intake stores them
        write_batch(session, kind="case_report", records=[case(world, f"rc-{i}") for i in range(2)],
                    cipher=services.cipher)
        fold_pending(session)  # what the real commit does; the test's outer transaction never commits
        session.commit()  # releases the savepoint: the rows stay in the test's transaction
    clean = Ledger(scenario="clean")
    assert rollup_differences(factory, clean) == 0
    # a row off by one (the world's disease is its own; the district a point falls in depends on other worlds)
    conn.execute(text("UPDATE case_daily SET n = n + 1 WHERE disease_code = :dis AND basis = 'onset'"),
                 {"dis": world.diseases[0]})
    conn.execute(text("INSERT INTO case_daily (basis, district_code, day, disease_code, region_code, grid_code, "
                      "case_type, n, deaths, timely, audited, complete) "
                      "VALUES ('report', :d, DATE '2000-01-01', :dis, '', '', 'confirmed', 3, 0, 0, 0, 0)"),
                 {"d": world.district_a, "dis": world.diseases[0]})  # a row without any case report
    corrupted = Ledger(scenario="corrupted")
    assert rollup_differences(factory, corrupted) == 2
    assert corrupted.notes["rollup_differences"] == 2
    examples = "; ".join(corrupted.notes["rollup_examples"])
    assert "basis=onset" in examples and "rollup 3, case reports 2" in examples
    assert "day=2000-01-01" in examples and "rollup 3, case reports 0" in examples
