"""case_daily by grid cell: the grid choropleth sums the daily rollup as the district and street ones do (issue 18)

The rollup's keys gain the grid cell kept with each case report (case_report.grid_code, migration 0012; '' no
cell), after the street. Cases of districts without cells keep one row per street as before; a district with
cells has one row per cell and street its cases fall in. Pending deltas carry the cell too; the triggers and the
fold are those of migration 0010 over the new keys.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""
import importlib.util
import pathlib
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
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
KEYS = "basis, district_code, day, disease_code, region_code, grid_code, case_type"
_OLD_KEYS = _0010.KEYS


def _rows(table: str, sign: int) -> str:
    """The rollup keys of every row of a transition table, each counting `sign`."""
    common = f"t.disease_code, coalesce(t.region_code, ''), t.grid_code, t.case_type, {sign}"
    return (f"SELECT 'onset', t.district_code, t.onset_date, {common} FROM {table} t UNION ALL "
            f"SELECT 'report', t.district_code, (t.report_time AT TIME ZONE INTERVAL '+08:00')::date, {common} "
            f"FROM {table} t")


def upgrade() -> None:
    for table in ("case_daily", "case_daily_pending"):
        op.add_column(table, sa.Column("grid_code", sa.String(length=20), nullable=False, server_default=""))
        op.alter_column(table, "grid_code", server_default=None)
    op.execute("DELETE FROM case_daily")
    op.execute("ALTER TABLE case_daily DROP CONSTRAINT case_daily_pkey")
    op.execute(f"ALTER TABLE case_daily ADD CONSTRAINT case_daily_pkey PRIMARY KEY ({KEYS})")
    op.execute(f"INSERT INTO case_daily ({KEYS}, n) SELECT {KEYS}, count(*) "
               f"FROM ({_rows('case_report', 1)}) AS r({KEYS}, n) GROUP BY {KEYS}")
    op.execute(_0010.apply_function(KEYS, _rows))
    op.execute(_0010.fold_function(KEYS))


def downgrade() -> None:
    op.execute(_0010.APPLY)
    op.execute(_0010.FOLD)
    op.execute(f"CREATE TEMP TABLE case_daily_old AS SELECT {_OLD_KEYS}, sum(n)::int AS n FROM case_daily "
               f"GROUP BY {_OLD_KEYS}")
    op.execute("DELETE FROM case_daily")
    op.execute("ALTER TABLE case_daily DROP CONSTRAINT case_daily_pkey")
    op.drop_column("case_daily_pending", "grid_code")
    op.drop_column("case_daily", "grid_code")
    op.execute(f"ALTER TABLE case_daily ADD CONSTRAINT case_daily_pkey PRIMARY KEY ({_OLD_KEYS})")
    op.execute(f"INSERT INTO case_daily ({_OLD_KEYS}, n) SELECT {_OLD_KEYS}, n FROM case_daily_old")
    op.execute("DROP TABLE case_daily_old")
