"""case_daily: daily case counts kept by triggers on case_report (issue 18)

One row per (basis, district, day, disease, street, case type) with the number of case reports:
basis 'onset' counts by onset date, 'report' by report day in China Standard Time (UTC+8).
Statement-level AFTER INSERT / UPDATE / DELETE triggers with transition tables apply the net change
of every statement in the writing transaction, whoever writes (intake, edits, deletes, imports, COPY
of the seed); AFTER TRUNCATE empties the rollup. Deltas are upserted in key order (no deadlocks between
concurrent writers) and rows that reach 0 are deleted. Street '' stands for a case without a street.
Syndromic counts need no rollup: syndromic_count already is one row per institution, day and syndrome.

Revision ID: 0003
Revises: warn_0002
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "warn_0002"
branch_labels = None
depends_on = None

KEYS = "basis, district_code, day, disease_code, region_code, case_type"


def _rows(table: str, sign: int) -> str:
    """The rollup keys of every row of a transition table, each counting `sign`."""
    common = f"t.disease_code, coalesce(t.region_code, ''), t.case_type, {sign}"
    return (f"SELECT 'onset', t.district_code, t.onset_date, {common} FROM {table} t UNION ALL "
            f"SELECT 'report', t.district_code, (t.report_time AT TIME ZONE INTERVAL '+08:00')::date, {common} "
            f"FROM {table} t")


def _apply(rows: str, *, may_reach_zero: bool = True) -> str:
    """Upsert the net deltas of `rows` in key order, then delete the touched rows that reached 0
    (found through the partial index of zero rows, which is empty between statements)."""
    delta = (f"SELECT {KEYS}, sum(n)::int AS n FROM ({rows}) AS r({KEYS}, n) "
             f"GROUP BY {KEYS} HAVING sum(n) <> 0")
    upsert = f"""
        INSERT INTO case_daily ({KEYS}, n)
        SELECT {KEYS}, n FROM ({delta}) d ORDER BY {KEYS}
        ON CONFLICT ({KEYS}) DO UPDATE SET n = case_daily.n + excluded.n;"""
    if not may_reach_zero:
        return upsert
    return upsert + f"""
        DELETE FROM case_daily c USING ({delta}) d
        WHERE c.n = 0 AND (c.basis, c.district_code, c.day, c.disease_code, c.region_code, c.case_type)
              = (d.basis, d.district_code, d.day, d.disease_code, d.region_code, d.case_type);"""


FUNCTION = f"""
CREATE OR REPLACE FUNCTION case_daily_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_apply(_rows("new_rows", 1), may_reach_zero=False)}
    ELSIF TG_OP = 'DELETE' THEN
        {_apply(_rows("old_rows", -1))}
    ELSIF TG_OP = 'UPDATE' THEN
        {_apply(_rows("new_rows", 1) + " UNION ALL " + _rows("old_rows", -1))}
    ELSIF TG_OP = 'TRUNCATE' THEN
        TRUNCATE case_daily;
    END IF;
    RETURN NULL;
END
$$"""

BACKFILL = f"""
INSERT INTO case_daily ({KEYS}, n)
SELECT {KEYS}, count(*) FROM ({_rows("case_report", 1)}) AS r({KEYS}, n) GROUP BY {KEYS}"""


def upgrade() -> None:
    op.create_table(
        "case_daily",
        sa.Column("basis", sa.String(length=6), nullable=False),
        sa.Column("district_code", sa.String(length=6), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("disease_code", sa.String(length=20), nullable=False),
        sa.Column("region_code", sa.String(length=20), nullable=False),
        sa.Column("case_type", sa.String(length=12), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("basis", "district_code", "day", "disease_code", "region_code", "case_type"),
        sa.CheckConstraint("basis IN ('onset', 'report')", name="ck_case_daily_basis"),
    )
    op.create_index("ix_case_daily_basis_day", "case_daily", ["basis", "day"])
    op.create_index("ix_case_daily_zero", "case_daily", ["basis"], postgresql_where=sa.text("n = 0"))
    op.execute(FUNCTION)
    for event, refs in (("INSERT", "NEW TABLE AS new_rows"), ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
                        ("DELETE", "OLD TABLE AS old_rows")):
        op.execute(f"CREATE TRIGGER case_daily_{event.lower()} AFTER {event} ON case_report "
                   f"REFERENCING {refs} FOR EACH STATEMENT EXECUTE FUNCTION case_daily_apply()")
    op.execute("CREATE TRIGGER case_daily_truncate AFTER TRUNCATE ON case_report "
               "FOR EACH STATEMENT EXECUTE FUNCTION case_daily_apply()")
    op.execute(BACKFILL)


def downgrade() -> None:
    for event in ("insert", "update", "delete", "truncate"):
        op.execute(f"DROP TRIGGER IF EXISTS case_daily_{event} ON case_report")
    op.execute("DROP FUNCTION IF EXISTS case_daily_apply()")
    op.drop_index("ix_case_daily_zero", table_name="case_daily")
    op.drop_index("ix_case_daily_basis_day", table_name="case_daily")
    op.drop_table("case_daily")
