"""case_daily stays equal to a recomputation from case_report whatever writes (issue 18)."""
from __future__ import annotations

import threading
import uuid
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.orm import Session

from accounts.principal import Principal
from alerting import series as sq
from alerting.config import load_config
from alerting.runner import RunReport, collect_alarms
from cli.context import CliContext
from cli.main import cli
from layers import incidence, indicators
from layers.base import LayerError, LayerFilters
from store.rollups import differences, fold_pending
from tests.conftest import reference_date

CST = timezone(timedelta(hours=8))
DISTRICT = "319901"  # a district of its own: the demo data never touches it
STREETS = ("319901001", "319901002")


def _world(db: Session) -> None:
    db.execute(text("INSERT INTO disease (code, name, name_en, klass, single_case, category) VALUES "
                    "('T01', '测一', 'test one', '乙', false, 'test'), ('T02', '测二', 'test two', '乙', false, 'test') "
                    "ON CONFLICT DO NOTHING"))
    square = "SRID=4326;MULTIPOLYGON(((121 31,121.01 31,121.01 31.01,121 31.01,121 31)))"
    db.execute(text("INSERT INTO region (code, name, level, district_code, geom, geometry_is_demo, updated_at) VALUES "
                    "(:d, '测试区', 'district', :d, :g, true, now()), (:s1, '街道一', 'street', :d, :g, true, now()), "
                    "(:s2, '街道二', 'street', :d, :g, true, now()) ON CONFLICT DO NOTHING"),
               {"d": DISTRICT, "s1": STREETS[0], "s2": STREETS[1], "g": square})


def _insert(db: Session, n: int, *, prefix: str, onset: date, disease: str = "T01", street: str | None = STREETS[0],
            case_type: str = "confirmed", report_hour: int = 23) -> None:
    """`n` case reports in one statement (report time `report_hour`:30 Beijing time, the day after onset)."""
    report = datetime(onset.year, onset.month, onset.day, report_hour, 30, tzinfo=CST) + timedelta(days=1)
    db.execute(text("""
        INSERT INTO case_report (source_id, source_version, disease_code, case_type, onset_date, diagnosis_time,
                                 report_time, region_code, district_code, outcome)
        SELECT :p || g, 1, :disease, :ct, :onset, :report, :report, :street, :d, 'under_treatment'
        FROM generate_series(1, :n) g"""),
        {"p": prefix, "disease": disease, "ct": case_type, "onset": onset, "report": report, "street": street,
         "d": DISTRICT, "n": n})


def _ours(db: Session) -> list[Any]:
    return [d for d in differences(db) if d.key["district_code"] == DISTRICT]


def _rollup(db: Session, basis: str) -> dict[tuple[Any, ...], int]:
    fold_pending(db)  # this transaction's own writes: folded at commit, or now when asked
    rows = db.execute(text("SELECT day, disease_code, region_code, case_type, n FROM case_daily "
                           "WHERE district_code = :d AND basis = :b"), {"d": DISTRICT, "b": basis})
    return {tuple(r[:4]): int(r.n) for r in rows}


def test_every_kind_of_write_keeps_the_rollup_exact(db: Session) -> None:
    _world(db)
    day = reference_date() - timedelta(days=10)
    _insert(db, 5, prefix="rw-a", onset=day)
    _insert(db, 3, prefix="rw-b", onset=day, disease="T02", street=None, report_hour=1)
    assert _rollup(db, "onset") == {(day, "T01", STREETS[0], "confirmed"): 5, (day, "T02", "", "confirmed"): 3}
    # 23:30 Beijing time is still the day after onset; 01:30 too (not the UTC day)
    assert _rollup(db, "report") == {(day + timedelta(days=1), "T01", STREETS[0], "confirmed"): 5,
                                     (day + timedelta(days=1), "T02", "", "confirmed"): 3}
    assert _ours(db) == []
    edits = [
        "UPDATE case_report SET disease_code = 'T02' WHERE source_id = 'rw-a1'",  # disease change
        "UPDATE case_report SET onset_date = onset_date - 1 WHERE source_id = 'rw-a2'",  # date change
        "UPDATE case_report SET report_time = report_time + interval '1 hour' WHERE source_id = 'rw-a3'",  # next day
        f"UPDATE case_report SET region_code = '{STREETS[1]}' WHERE source_id IN ('rw-a4', 'rw-b1')",  # street
        "UPDATE case_report SET case_type = 'suspected' WHERE source_id = 'rw-a5'",  # no longer counted as case
        "UPDATE case_report SET outcome = 'recovered' WHERE source_id LIKE 'rw-%'",  # nothing the rollup keeps
        # what only the quality counts look at: death, audit within 24 h, a complete record, timely report
        "UPDATE case_report SET outcome = 'died' WHERE source_id = 'rw-a2'",
        "UPDATE case_report SET audit_time = report_time + interval '2 hours' WHERE source_id LIKE 'rw-a%'",
        "UPDATE case_report SET occupation = '学生', age = 7, sex = 'M', geom = ST_SetSRID(ST_MakePoint(121.005, "
        "31.005), 4326) WHERE source_id IN ('rw-a3', 'rw-b1')",
        "UPDATE case_report SET diagnosis_time = report_time - interval '30 hours' WHERE source_id = 'rw-a3'",
        "UPDATE case_report SET disease_code = 'T01', region_code = NULL WHERE source_id = 'rw-b2'",
        "DELETE FROM case_report WHERE source_id = 'rw-b3'",
    ]
    for sql in edits:
        db.execute(text(sql))
        assert _ours(db) == [], sql
    db.execute(text("DELETE FROM case_report WHERE district_code = :d"), {"d": DISTRICT})
    assert _rollup(db, "onset") == {} and _rollup(db, "report") == {}  # rows that reach 0 are deleted


def test_upsert_from_intake_and_a_bulk_insert_keep_the_rollup_exact(db: Session) -> None:
    _world(db)
    day = reference_date() - timedelta(days=3)
    _insert(db, 500, prefix="bulk-", onset=day)
    # what ingest.writers does on a newer version: INSERT … ON CONFLICT DO UPDATE (update and insert in one)
    db.execute(text("""
        INSERT INTO case_report (source_id, source_version, disease_code, case_type, onset_date, diagnosis_time,
                                 report_time, region_code, district_code, outcome)
        SELECT s, 2, 'T02', 'clinical', CAST(:onset AS date) - 1, now(), now(), :street, :d, 'under_treatment'
        FROM unnest(ARRAY['bulk-1', 'bulk-2', 'new-1']) s
        ON CONFLICT (source_id) DO UPDATE SET disease_code = excluded.disease_code, case_type = excluded.case_type,
            onset_date = excluded.onset_date, source_version = excluded.source_version
        WHERE excluded.source_version > case_report.source_version"""),
        {"onset": day, "street": STREETS[1], "d": DISTRICT})
    assert _rollup(db, "onset")[(day, "T01", STREETS[0], "confirmed")] == 498
    assert _rollup(db, "onset")[(day - timedelta(days=1), "T02", STREETS[0], "clinical")] == 2
    assert _rollup(db, "onset")[(day - timedelta(days=1), "T02", STREETS[1], "clinical")] == 1
    assert _ours(db) == []


def test_the_rollup_counts_the_quality_indicators(db: Session) -> None:
    _world(db)
    day = reference_date() - timedelta(days=5)
    _insert(db, 4, prefix="qc-", onset=day)
    db.execute(text("UPDATE case_report SET outcome = 'died', audit_time = report_time + interval '3 hours' "
                    "WHERE source_id IN ('qc-1', 'qc-2')"))
    db.execute(text("UPDATE case_report SET occupation = '教师', age = 40, sex = 'F', "
                    "geom = ST_SetSRID(ST_MakePoint(121.005, 31.005), 4326) WHERE source_id = 'qc-3'"))
    fold_pending(db)
    row = db.execute(text("SELECT n, deaths, timely, audited, complete FROM case_daily WHERE district_code = :d "
                          "AND basis = 'report'"), {"d": DISTRICT}).one()
    # diagnosis and report at the same time: every case was reported within 24 h
    assert tuple(row) == (4, 2, 4, 2, 1)
    db.execute(text("UPDATE case_daily SET audited = 3 WHERE district_code = :d AND basis = 'report'"),
               {"d": DISTRICT})
    (found,) = _ours(db)
    assert (found.count, found.stored, found.actual) == ("audited", 3, 2)
    assert str(found).endswith("rollup audited 3, case reports audited 2")


def test_truncate_empties_the_rollup(db: Session) -> None:
    _world(db)
    _insert(db, 4, prefix="tr-", onset=reference_date())
    db.execute(text("TRUNCATE case_report CASCADE"))  # investigations refer to case reports (fieldwork)
    assert db.execute(text("SELECT count(*) FROM case_daily")).scalar_one() == 0
    assert differences(db) == []


def _insert_grid(s: Session, prefix: str, days: list[date]) -> None:
    """One statement: 2 cases of each disease on each day (like one intake batch)."""
    s.execute(text("""
        INSERT INTO case_report (source_id, source_version, disease_code, case_type, onset_date, diagnosis_time,
                                 report_time, region_code, district_code, outcome)
        SELECT :p || row_number() OVER (), 1, dis, 'confirmed', day, now(), now(), :street, :d, 'under_treatment'
        FROM unnest(CAST(:days AS date[])) day, unnest(ARRAY['T01', 'T02']) dis, generate_series(1, 2) g"""),
        {"p": prefix, "days": days, "street": STREETS[0], "d": DISTRICT})


def test_concurrent_writers_on_the_same_keys(services: Any) -> None:
    """Two connections write cases of the same days and diseases at once: no deadlock, no lost count."""
    tag = uuid.uuid4().hex[:6]
    with Session(services.engine) as s:
        _world(s)
        s.commit()
    days = [reference_date() - timedelta(days=k) for k in range(6)]
    barrier, errors = threading.Barrier(2), []

    def writer(i: int) -> None:
        try:
            with Session(services.engine) as s:
                barrier.wait(timeout=30)
                for r in range(5):
                    _insert_grid(s, f"cc-{tag}-{i}-{r}-", days if i == 0 else days[::-1])
                    s.commit()
                s.execute(text("UPDATE case_report SET onset_date = onset_date - 1 "
                               "WHERE source_id LIKE :p AND disease_code = 'T02'"), {"p": f"cc-{tag}-{i}-%"})
                s.commit()
                s.execute(text("DELETE FROM case_report WHERE source_id LIKE :p"), {"p": f"cc-{tag}-{i}-0-%"})
                s.commit()
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(2)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert errors == []
        with Session(services.engine) as s:
            assert _ours(s) == []
            onset = _rollup(s, "onset")
            assert sum(onset.values()) == 2 * 4 * 24  # 2 writers × 4 batches left × 24 cases
            assert onset[(days[0], "T01", STREETS[0], "confirmed")] == 2 * 4 * 2
    finally:
        with Session(services.engine) as s:
            s.execute(text("DELETE FROM case_report WHERE source_id LIKE :p"), {"p": f"cc-{tag}-%"})
            s.commit()


def test_an_open_writer_does_not_hold_up_another_on_the_same_keys(services: Any) -> None:
    """The rollup rows are locked only at commit: a second writer of the same keys neither waits for the first
    one's transaction nor loses a count (before migration 0010 it waited until the first committed)."""
    tag, day = uuid.uuid4().hex[:6], reference_date() - timedelta(days=3)
    with Session(services.engine) as s:
        _world(s)
        s.commit()
    try:
        with Session(services.engine) as first, Session(services.engine) as second:
            _insert(first, 2, prefix=f"ow-{tag}-a", onset=day)  # left open while the second writes
            second.execute(text("SET LOCAL lock_timeout = '2s'"))
            _insert(second, 3, prefix=f"ow-{tag}-b", onset=day)
            second.commit()
            first.commit()
        with Session(services.engine) as s:
            assert _ours(s) == []
            assert s.execute(text("SELECT count(*) FROM case_daily_pending")).scalar_one() == 0
    finally:
        with Session(services.engine) as s:
            s.execute(text("DELETE FROM case_report WHERE source_id LIKE :p"), {"p": f"ow-{tag}-%"})
            s.commit()


def test_check_command_after_the_demo_seed_and_after_tampering(demo_data: Any, settings: Any, services: Any) -> None:
    runner = CliRunner()
    ok = runner.invoke(cli, ["rollups", "check"], obj=CliContext(settings=settings))
    assert ok.exit_code == 0, ok.output
    assert ok.output.strip().endswith("0 differences")
    with Session(services.engine) as s:
        key = s.execute(text("SELECT basis, district_code, day, disease_code, region_code, case_type FROM case_daily "
                             "ORDER BY n DESC LIMIT 1")).one()
        where = "basis = :b AND district_code = :dc AND day = :day AND disease_code = :dis AND region_code = :r " \
                "AND case_type = :ct"
        params = dict(zip(("b", "dc", "day", "dis", "r", "ct"), key, strict=True))
        s.execute(text(f"UPDATE case_daily SET n = n + 2 WHERE {where}"), params)
        s.commit()
    try:
        bad = runner.invoke(cli, ["rollups", "check"], obj=CliContext(settings=settings))
        assert bad.exit_code == 1
        assert "1 differences" in bad.output and f"day={key.day}" in bad.output
    finally:
        with Session(services.engine) as s:
            s.execute(text(f"UPDATE case_daily SET n = n - 2 WHERE {where}"), params)
            s.commit()


def _raw_case_wide(session: Session, **query: Any) -> pd.DataFrame:
    """What `_rollup_case_wide` answers, counted from the case reports themselves (series and scan read through it)."""
    return sq._pivot(sq._raw_case_counts(session, **query), ["region_code", "disease_code"], query["start"],
                     query["end"])


@pytest.mark.parametrize("days_back", [0, 3, 40])
def test_series_from_the_rollup_equal_the_case_scan(demo_data: Any, db: Session, days_back: int,
                                                    monkeypatch: Any) -> None:
    """The warning series read from case_daily (less late reports) are the series the case scan gives, as of any day."""
    end = reference_date() - timedelta(days=days_back)
    start = end - timedelta(days=400)
    rollup = sq._rollup_case_wide
    late = db.execute(text("SELECT count(*) FROM case_report WHERE onset_date BETWEEN :s AND :e AND report_time >= :t"),
                      {"s": start, "e": end, "t": sq.end_of_day(end)}).scalar_one()
    assert days_back == 0 or late > 0  # the past days do see reports that came later
    for level in ("street", "district"):
        for district in ("310105", None):
            for diseases in (None, ["influenza", "hfmd"]):
                args: dict[str, Any] = dict(level=level, start=start, end=end, district_code=district,
                                            disease_codes=diseases)
                monkeypatch.setattr(sq, "_rollup_case_wide", rollup)
                from_rollup = sq.case_counts(db, **args)
                monkeypatch.setattr(sq, "_rollup_case_wide", _raw_case_wide)
                pd.testing.assert_frame_equal(from_rollup, sq.case_counts(db, **args))
        assert not from_rollup.empty


def test_runner_alarms_identical_to_the_case_scan(demo_data: Any, db: Session, monkeypatch: Any) -> None:
    """Every model's alarms on the demo are the same whether the series come from the rollup or the raw rows."""
    as_of = reference_date()
    cfg = load_config(db)

    def alarms() -> list[tuple[Any, ...]]:
        found = collect_alarms(db, as_of=as_of, district_code="310105", cfg=cfg,
                               report=RunReport(as_of=as_of, district_code="310105"))
        return sorted((a.model, a.region_code, a.disease_code or "", a.as_of, a.observed, a.threshold, a.title)
                      for a in found)

    from_rollup = alarms()
    monkeypatch.setattr(sq, "_rollup_case_wide", _raw_case_wide)
    assert from_rollup and from_rollup == alarms()


CITY = Principal(1, "c", "city_admin", 1, "310000")
CHANGNING = Principal(2, "d", "district_analyst", 2, "310105")


def _monitor_answers(db: Session, principal: Principal, filters: LayerFilters) -> dict[str, Any]:
    out: dict[str, Any] = {"epicurve": indicators.epicurve(db, principal, filters),
                           "top": indicators.top_diseases(db, principal, filters),
                           "kpis": indicators.kpis(db, principal, filters), "qc": indicators.qc(db, principal, filters)}
    for level in ("district", "street"):
        try:
            out[level] = incidence.incidence_rows(db, principal, filters.model_copy(update={"level": level}))[2]
        except LayerError:  # e.g. no districts inside a street
            continue
    return out


def test_choropleth_kpis_and_epicurve_from_the_rollup_equal_the_case_scan(demo_data: Any, db: Session,
                                                                         monkeypatch: Any) -> None:
    end = reference_date()
    street = db.execute(text("SELECT region_code FROM case_report WHERE district_code = '310105' "
                             "AND region_code IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")).scalar_one()
    cases = [(CITY, LayerFilters(since=end - timedelta(days=364), until=end)),
             (CITY, LayerFilters(until=end - timedelta(days=30), disease=("influenza", "hfmd"))),
             (CHANGNING, LayerFilters(until=end)),
             (CHANGNING, LayerFilters(since=end - timedelta(days=90), until=end - timedelta(days=2), region=street))]
    # today's KPIs count last year's same day up to the time of day: one clock reading for both passes
    elapsed: dict[date, Any] = {}
    real_elapsed = indicators.elapsed_if_today
    monkeypatch.setattr(indicators, "elapsed_if_today", lambda day: elapsed.setdefault(day, real_elapsed(day)))
    from_rollup = [_monitor_answers(db, p, f) for p, f in cases]
    assert any(a["epicurve"]["total"] for a in from_rollup)
    monkeypatch.setattr(indicators, "rollup_where", lambda *a, **k: None)
    monkeypatch.setattr(incidence, "rollup_where", lambda *a, **k: None)
    assert from_rollup == [_monitor_answers(db, p, f) for p, f in cases]


# ---- the grid cell kept with each case (case_report.grid_code, migration 0012) ----

CELL_A, CELL_B, CELL_C = "319901001001", "319901001002", "319901001003"


def _cell(db: Session, code: str, x0: float, x1: float) -> None:
    square = f"SRID=4326;MULTIPOLYGON((({x0} 31,{x1} 31,{x1} 31.01,{x0} 31.01,{x0} 31)))"
    db.execute(text("INSERT INTO region (code, name, level, parent_code, district_code, geom, geometry_is_demo, "
                    "updated_at) VALUES (:c, :c, 'grid', :s, :d, :g, true, now())"),
               {"c": code, "s": STREETS[0], "d": DISTRICT, "g": square})


def _cells(db: Session, prefix: str) -> dict[str, str]:
    return dict(db.execute(text("SELECT source_id, grid_code FROM case_report WHERE source_id LIKE :p || '%' "
                                "ORDER BY source_id"), {"p": prefix}).all())


def test_each_case_keeps_its_grid_cell_through_writes_and_cell_changes(db: Session) -> None:
    _world(db)
    _cell(db, CELL_A, 121.000, 121.005)
    _cell(db, CELL_B, 121.005, 121.010)
    p = f"grid-{uuid.uuid4().hex[:6]}-"
    _insert(db, 3, prefix=p, onset=date(2026, 3, 1))
    db.execute(text("UPDATE case_report SET geom = ST_SetSRID(ST_MakePoint(:x, 31.005), 4326) "
                    "WHERE source_id = :p || :n"), [{"p": p, "n": "1", "x": 121.002}, {"p": p, "n": "2", "x": 121.005},
                                                    {"p": p, "n": "3", "x": 121.030}])
    # inside A; on the edge A and B share (the first by code); outside both (the nearest, B)
    assert _cells(db, p) == {p + "1": CELL_A, p + "2": CELL_A, p + "3": CELL_B}
    _cell(db, CELL_C, 121.025, 121.035)  # a new cell takes the point that lay outside
    assert _cells(db, p)[p + "3"] == CELL_C
    db.execute(text("UPDATE region SET geom = ST_Translate(geom, 0.1, 0) WHERE code = :c"), {"c": CELL_A})
    assert _cells(db, p)[p + "1"] == CELL_B  # A moved away: B is the nearest now
    db.execute(text("DELETE FROM region WHERE level = 'grid' AND district_code = :d"), {"d": DISTRICT})
    assert set(_cells(db, p).values()) == {""}  # no cells left in the district
    assert _ours(db) == []


def test_the_check_finds_a_wrong_grid_cell(db: Session) -> None:
    _world(db)
    _cell(db, CELL_A, 121.000, 121.005)
    p = f"gridbad-{uuid.uuid4().hex[:6]}-"
    _insert(db, 1, prefix=p, onset=date(2026, 3, 1))
    db.execute(text("UPDATE case_report SET geom = ST_SetSRID(ST_MakePoint(121.002, 31.005), 4326), "
                    "grid_code = NULL WHERE source_id = :s"), {"s": p + "1"})
    assert _ours(db) == []  # the trigger set it all the same
    db.execute(text("UPDATE case_report SET grid_code = 'elsewhere' WHERE source_id = :s"), {"s": p + "1"})
    (found,) = _ours(db)
    assert (found.stored, found.actual) == ("elsewhere", CELL_A) and "grid cell elsewhere" in str(found)


@pytest.mark.parametrize("principal, region", [(CHANGNING, None), (CITY, "310105")])
def test_grid_choropleth_from_the_kept_cells_equals_the_lookup(demo_data: Any, db: Session, monkeypatch: Any,
                                                               principal: Principal, region: str | None) -> None:
    end = reference_date()
    filters = [LayerFilters(level="grid", region=region, until=end),
               LayerFilters(level="grid", region=region, since=end - timedelta(days=364), until=end,
                            disease=("influenza", "hfmd"))]
    kept = [incidence.incidence_rows(db, principal, f)[2] for f in filters]
    assert any(r["cases"] for rows in kept for r in rows)
    monkeypatch.setattr(incidence, "kept_cell_applies", lambda *a: False)
    assert kept == [incidence.incidence_rows(db, principal, f)[2] for f in filters]
