"""case_daily counts the quality indicators too: the QC panel sums the rollup instead of scanning case reports

Beside `n`, each rollup row counts its case reports that died, were reported within 24 h of diagnosis, were
audited within 24 h of report, and have a complete record (occupation, age, sex, point) — what
layers.indicators.qc counted from case_report by report day (at 5 M case reports a district's year took 104 ms,
2026-12-02). The deltas and the fold are those of migration 0010 over the new counts; an update that changes only
what a count looks at (an outcome, an audit time) now moves the rollup too.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""
import importlib.util
import pathlib
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def _migration(name: str) -> Any:
    path = pathlib.Path(__file__).with_name(name)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_0010 = _migration("0010_case_daily_at_commit.py")
_0013 = _migration("0013_case_daily_grid_cell.py")
KEYS = _0013.KEYS
# Each count's condition on a case report `t` (as store.rollups.QUALITY_COUNTS at this revision).
QUALITY = {
    "deaths": "t.outcome = 'died'",
    "timely": "t.report_time - t.diagnosis_time <= interval '24 hours'",
    "audited": "t.audit_time IS NOT NULL AND t.audit_time - t.report_time <= interval '24 hours'",
    "complete": "nullif(t.occupation, '') IS NOT NULL AND t.age IS NOT NULL AND t.sex IS NOT NULL "
                "AND t.geom IS NOT NULL",
}
COUNTS = ("n", *QUALITY)


def _rows(table: str, sign: int) -> str:
    """The rollup keys and counts of every row of a transition table, each counting `sign`."""
    quality = ", ".join(f"CASE WHEN {condition} THEN {sign} ELSE 0 END" for condition in QUALITY.values())
    common = f"t.disease_code, coalesce(t.region_code, ''), t.grid_code, t.case_type, {sign}, {quality}"
    return (f"SELECT 'onset', t.district_code, t.onset_date, {common} FROM {table} t UNION ALL "
            f"SELECT 'report', t.district_code, (t.report_time AT TIME ZONE INTERVAL '+08:00')::date, {common} "
            f"FROM {table} t")


def upgrade() -> None:
    for table in ("case_daily", "case_daily_pending"):
        for name in QUALITY:
            op.add_column(table, sa.Column(name, sa.Integer(), nullable=False, server_default="0"))
            op.alter_column(table, name, server_default=None)
    sums = ", ".join(f"sum({c})" for c in COUNTS)
    op.execute("DELETE FROM case_daily")
    op.execute(f"INSERT INTO case_daily ({KEYS}, {', '.join(COUNTS)}) SELECT {KEYS}, {sums} "
               f"FROM ({_rows('case_report', 1)}) AS r({KEYS}, {', '.join(COUNTS)}) GROUP BY {KEYS}")
    op.execute(_0010.apply_function(KEYS, _rows, COUNTS))
    op.execute(_0010.fold_function(KEYS, COUNTS))


def downgrade() -> None:
    op.execute(_0010.apply_function(KEYS, _0013._rows))
    op.execute(_0010.fold_function(KEYS))
    for table in ("case_daily", "case_daily_pending"):
        for name in QUALITY:
            op.drop_column(table, name)
