"""A warning run reuses the last run's alarms only while none of its inputs changed (alerting.run_reuse).

Every kind of write to an input — a new, edited or deleted case report, a syndromic count, a region, a
disease, an institution, the settings, another day — makes the next run compute again; a write to another
district or a rolled-back write does not. A reused run raises exactly what a computed run raises.
Nothing is committed (changes are undone by savepoints), so the demo data stays as it was.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from alerting.config import load_config
from alerting.run_reuse import fingerprint
from alerting.runner import RunReport, run_all
from store.accounts import Setting
from store.cases import CaseReport

DISTRICT = "310105"
MODELS = ("single_case", "count_threshold", "moving_percentile", "ears", "cusum")


def _end(services: Any) -> date:
    with services.session_factory() as db:
        return date.fromisoformat(db.get(Setting, "demo.seeded").value["end"])


def _run(db: Session, end: date, **kw: Any) -> RunReport:
    return run_all(db, as_of=end, district_code=DISTRICT, models=MODELS, **kw)


@pytest.fixture(scope="module")
def end(demo_data: Any, services: Any) -> date:
    return _end(services)


def _stored(db: Session, end: date) -> None:
    """A completed run of the demo's last day, kept in this (rolled-back) transaction: the tests commit nothing,
    so the package's other tests find the demo as seeded."""
    assert not _run(db, end).reused


def _copy_case(db: Session, district: str, region: str | None) -> None:
    """A new case report: a copy of one of the district's (another source id, optionally another place)."""
    cols = [c.name for c in CaseReport.__table__.columns if c.name not in ("id", "source_id", "district_code",
                                                                           "region_code")]
    names = ", ".join(cols)
    db.execute(text(f"INSERT INTO case_report (source_id, district_code, region_code, {names}) "
                    f"SELECT source_id || '-reuse', :d, :r, {names} FROM case_report "
                    f"WHERE district_code = '310105' ORDER BY id DESC LIMIT 1"), {"d": district, "r": region})


def _first(table: str) -> str:
    return f"(SELECT min(id) FROM {table} WHERE district_code = '310105')"


CHANGES: dict[str, Callable[[Session], Any]] = {
    "new case": lambda db: _copy_case(db, DISTRICT, None),
    "edited case": lambda db: db.execute(text(
        f"UPDATE case_report SET report_time = report_time - interval '1 minute' WHERE id = {_first('case_report')}")),
    "deleted case": lambda db: db.execute(text(
        "DELETE FROM case_report WHERE id = (SELECT max(id) FROM case_report WHERE district_code = '310105')")),
    "syndromic count": lambda db: db.execute(text(
        f"UPDATE syndromic_count SET cases = cases + 1 WHERE id = {_first('syndromic_count')}")),
    "region": lambda db: db.execute(text("UPDATE region SET name = name || '·' WHERE code = '310105'")),
    "disease": lambda db: db.execute(text("UPDATE disease SET name = name || '·' WHERE code = 'diarrhoea'")),
    "institution": lambda db: db.execute(text(
        "UPDATE institution SET name = name || '·' WHERE id = (SELECT min(id) FROM institution)")),
}


def test_same_inputs_reuse_the_alarms_and_raise_the_same(end: date, services: Any) -> None:
    with services.session_factory() as db:
        _stored(db, end)
        with db.begin_nested() as nested:
            reused = _run(db, end)
            nested.rollback()
        computed = _run(db, end, reuse=False)
        db.rollback()
    assert reused.reused and not computed.reused
    assert reused.signal_ids == computed.signal_ids and reused.signal_ids
    assert (reused.created, reused.refired, reused.unchanged) == (computed.created, computed.refired,
                                                                 computed.unchanged)
    assert reused.alarms == computed.alarms and reused.series == computed.series
    assert reused.model_seconds.keys() & {"series", "scan", "moving_percentile"} == set()


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_changed_input_is_computed_again(change: str, end: date, services: Any) -> None:
    with services.session_factory() as db:
        _stored(db, end)
        with db.begin_nested() as nested:
            CHANGES[change](db)
            report = _run(db, end)
            nested.rollback()  # the change and its run undone: the stored run of the unchanged data stays
        again = _run(db, end)
        db.rollback()
    assert not report.reused, change
    assert again.reused


def test_settings_and_day_are_inputs(end: date, services: Any) -> None:
    with services.session_factory() as db:
        _stored(db, end)
        cfg = load_config(db)
        with db.begin_nested() as nested:
            other = _run(db, end, config=cfg.model_copy(update={"lookback_days": cfg.lookback_days + 1}))
            nested.rollback()
        earlier = _run(db, end - timedelta(days=1))
        db.rollback()
    assert not other.reused and not earlier.reused


def test_another_districts_change_counts_for_the_city_not_for_the_district(end: date, services: Any) -> None:
    with services.session_factory() as db:
        _stored(db, end)
        cfg = load_config(db)
        city, own = (fingerprint(db, district_code=d, as_of=end, cfg=cfg, models=MODELS) for d in (None, DISTRICT))
        _copy_case(db, "310101", None)
        assert fingerprint(db, district_code=None, as_of=end, cfg=cfg, models=MODELS) != city
        assert fingerprint(db, district_code=DISTRICT, as_of=end, cfg=cfg, models=MODELS) == own
        assert _run(db, end).reused
        db.rollback()


def test_pruning_keeps_each_districts_newest_change(services: Any) -> None:
    """Old input changes are dropped but each district's newest, so no district's fingerprint can come back."""
    from alerting.run_reuse import prune_changes

    with services.session_factory() as db:
        for district, age in (("999991", 30), ("999991", 20), ("999991", 0), ("999992", 30), ("999992", 20)):
            db.execute(text("INSERT INTO warn_input_change (district_code, changed_at) "
                            "VALUES (:d, now() - make_interval(days => :age))"), {"d": district, "age": age})
        prune_changes(db)
        left = db.execute(text("SELECT district_code, (now() - changed_at) > interval '10 days' FROM "
                               "warn_input_change WHERE district_code IN ('999991', '999992') ORDER BY id")).all()
        db.rollback()
    assert [tuple(r) for r in left] == [("999991", False), ("999992", True)]


def test_a_stored_run_that_no_longer_loads_is_computed_again(end: date, services: Any) -> None:
    """A run stored by an engine whose alarms had other fields does not fail the warning run: it is recomputed."""
    with services.session_factory() as db:
        _stored(db, end)
        db.execute(text("UPDATE warn_run_result SET result = :r WHERE scope = :s AND as_of = :d"),
                   {"r": '{"alarms": [{"renamed_field": 1}], "report": {}}', "s": DISTRICT, "d": end})
        report = _run(db, end)
        again = _run(db, end)
        db.rollback()
    assert not report.reused and report.signal_ids
    assert again.reused


def test_a_run_without_models_keeps_the_stored_run_of_the_models(end: date, services: Any) -> None:
    """`feeds warn` runs with no model (feed alarms only): it neither reuses nor replaces the models' stored run."""
    with services.session_factory() as db:
        _stored(db, end)
        feeds_only = run_all(db, as_of=end, district_code=DISTRICT, models=())
        again = _run(db, end)
        db.rollback()
    assert not feeds_only.reused and again.reused
