"""warning runs reuse their alarms while their inputs are unchanged (issue 18)

warn_input_change: one row per writing statement and district it touches, kept by statement-level triggers
(as case_daily's, migration 0003) on the tables the warning models read: case_report and syndromic_count
(the districts of the old and new rows), region, disease and institution (district '*', any change). Rows
are only ever appended, so the count and newest id of a district's rows change with every committed write
to its inputs, whoever writes (intake, edits, deletes, imports, COPY). Nothing reads the rows but
`alerting.run_reuse`.
warn_run_result: the alarms of the last completed run of a scope (a district, or '*' the city) and day,
with the fingerprint of its inputs.

Revision ID: warn_0003
Revises: 0009
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "warn_0003"
down_revision = "0009"
branch_labels = None
depends_on = None

DISTRICT_TABLES = ("case_report", "syndromic_count")
GLOBAL_TABLES = ("region", "disease", "institution")

FUNCTIONS = """
CREATE OR REPLACE FUNCTION warn_input_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO warn_input_change (district_code)
        SELECT DISTINCT coalesce(district_code, '*') FROM new_rows ORDER BY 1;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO warn_input_change (district_code)
        SELECT DISTINCT coalesce(district_code, '*') FROM old_rows ORDER BY 1;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO warn_input_change (district_code)
        SELECT DISTINCT d FROM (SELECT coalesce(district_code, '*') AS d FROM new_rows
                                UNION ALL SELECT coalesce(district_code, '*') FROM old_rows) t ORDER BY 1;
    ELSE
        INSERT INTO warn_input_change (district_code) VALUES ('*');
    END IF;
    RETURN NULL;
END
$$;
CREATE OR REPLACE FUNCTION warn_input_changed_anywhere() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO warn_input_change (district_code) VALUES ('*');
    RETURN NULL;
END
$$;
"""


def upgrade() -> None:
    op.create_table(
        "warn_input_change",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("district_code", sa.String(length=6), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    )
    op.create_index("ix_warn_input_change_district", "warn_input_change", ["district_code", "id"])
    op.create_table(
        "warn_run_result",
        sa.Column("scope", sa.String(length=6), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("scope", "as_of"),
    )
    op.execute(FUNCTIONS)
    for table in DISTRICT_TABLES:
        for event, refs in (("INSERT", "NEW TABLE AS new_rows"),
                            ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
                            ("DELETE", "OLD TABLE AS old_rows")):
            op.execute(f"CREATE TRIGGER warn_input_{event.lower()} AFTER {event} ON {table} "
                       f"REFERENCING {refs} FOR EACH STATEMENT EXECUTE FUNCTION warn_input_changed()")
        op.execute(f"CREATE TRIGGER warn_input_truncate AFTER TRUNCATE ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION warn_input_changed()")
    for table in GLOBAL_TABLES:
        op.execute(f"CREATE TRIGGER warn_input_any AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION warn_input_changed_anywhere()")


def downgrade() -> None:
    for table in DISTRICT_TABLES:
        for event in ("insert", "update", "delete", "truncate"):
            op.execute(f"DROP TRIGGER IF EXISTS warn_input_{event} ON {table}")
    for table in GLOBAL_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS warn_input_any ON {table}")
    op.execute("DROP FUNCTION IF EXISTS warn_input_changed()")
    op.execute("DROP FUNCTION IF EXISTS warn_input_changed_anywhere()")
    op.drop_table("warn_run_result")
    op.drop_index("ix_warn_input_change_district", table_name="warn_input_change")
    op.drop_table("warn_input_change")
