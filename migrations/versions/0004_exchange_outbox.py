"""exchange_outbox: business records queued for the city platform by triggers (issue 19)

Statement-level AFTER INSERT / UPDATE triggers on case_report, syndromic_count, lab_result, signal
(warning events), team and stock write one outbox row per changed record in the writing transaction
(whoever writes: intake, edits, imports, the warning runner). A transaction that sets
`onemap.exchange_capture` to 'off' (SET LOCAL; the demo seed loading history) queues nothing.
The business time of a new case report is its report time, of a lab result its result time; else
the time of the change.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# record type → (table, business time of a new row, the condition an updated row must meet to be sent again).
# Team rows change with every GPS fix: only a change of status, strength or video link is news for the city.
CAPTURED = {
    "case_report": ("case_report", "least(n.report_time, now())", "TRUE"),
    "syndromic_count": ("syndromic_count", "now()", "TRUE"),
    "lab_result": ("lab_result", "least(coalesce(n.result_time, n.sample_time), now())", "TRUE"),
    "warning_event": ("signal", "now()", "TRUE"),
    "team": ("team", "now()",
             "(o.status, o.members, o.video_online) IS DISTINCT FROM (n.status, n.members, n.video_online)"),
    "stock": ("stock", "now()", "o.quantity IS DISTINCT FROM n.quantity OR o.min_level IS DISTINCT FROM n.min_level"),
}
# Rows of a table that are exchanged at all: warning events, not the alarms under them.
ROW_FILTER = {"signal": "n.kind = 'event'"}
# The district of a row, where the table has none of its own.
DISTRICT = {"stock": "(SELECT r.district_code FROM resource_site r WHERE r.id = n.site_id)"}


def _function(record_type: str) -> str:
    table, business, changed = CAPTURED[record_type]
    district = DISTRICT.get(table, "n.district_code")
    rows = ROW_FILTER.get(table, "TRUE")
    return f"""
CREATE OR REPLACE FUNCTION exchange_capture_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('onemap.exchange_capture', true), '') = 'off' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO exchange_outbox (record_type, record_id, district_code, business_at)
        SELECT '{record_type}', n.id, {district}, {business} FROM new_rows n WHERE {rows} ORDER BY n.id;
    ELSE
        INSERT INTO exchange_outbox (record_type, record_id, district_code, business_at)
        SELECT '{record_type}', n.id, {district}, now() FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE {rows} AND ({changed}) ORDER BY n.id;
    END IF;
    RETURN NULL;
END
$$"""


def upgrade() -> None:
    op.create_table(
        "exchange_outbox",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("record_type", sa.String(length=24), nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.Column("district_code", sa.String(length=6), nullable=False),
        sa.Column("business_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("enqueued_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("status", sa.String(length=12), server_default=sa.text("'pending'"), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("first_attempt_at", sa.DateTime(timezone=True)),
        sa.Column("answered_at", sa.DateTime(timezone=True)),
        sa.Column("conformant", sa.Boolean()),
        sa.Column("outcome_code", sa.String(length=60)),
        sa.Column("last_status_code", sa.Integer()),
        sa.Column("last_error", sa.Text()),
        sa.CheckConstraint("status IN ('pending', 'delivered', 'refused', 'superseded')",
                           name="ck_exchange_outbox_status"),
    )
    op.create_index("ix_exchange_outbox_pending", "exchange_outbox", ["id"],
                    postgresql_where=sa.text("status = 'pending'"))
    op.create_index("ix_exchange_outbox_record", "exchange_outbox", ["record_type", "record_id"])
    op.create_index("ix_exchange_outbox_enqueued", "exchange_outbox", ["enqueued_at"])
    for record_type, (table, _, _) in CAPTURED.items():
        op.execute(_function(record_type))
        op.execute(f"CREATE TRIGGER exchange_capture_{table}_insert AFTER INSERT ON {table} REFERENCING NEW TABLE AS "
                   f"new_rows FOR EACH STATEMENT EXECUTE FUNCTION exchange_capture_{table}()")
        op.execute(f"CREATE TRIGGER exchange_capture_{table}_update AFTER UPDATE ON {table} REFERENCING OLD TABLE AS "
                   f"old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION exchange_capture_{table}()")


def downgrade() -> None:
    for table, _, _ in CAPTURED.values():
        for event in ("insert", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS exchange_capture_{table}_{event} ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS exchange_capture_{table}()")
    op.drop_table("exchange_outbox")
