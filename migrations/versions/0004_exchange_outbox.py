"""exchange_outbox: case reports queued for the city platform by triggers on case_report (issue 19)

Statement-level AFTER INSERT / UPDATE triggers write one outbox row per changed case report in the
writing transaction (whoever writes: intake, edits, imports). A transaction that sets
`onemap.exchange_capture` to 'off' (SET LOCAL; the demo seed loading history) queues nothing.
The business time of a new report is its report time; of an update, the time of the change.

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

FUNCTION = """
CREATE OR REPLACE FUNCTION exchange_capture_case() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('onemap.exchange_capture', true), '') = 'off' THEN
        RETURN NULL;
    END IF;
    INSERT INTO exchange_outbox (record_type, record_id, district_code, business_at)
    SELECT 'case_report', n.id, n.district_code,
           CASE WHEN TG_OP = 'INSERT' THEN least(n.report_time, now()) ELSE now() END
    FROM new_rows n ORDER BY n.id;
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
    op.execute(FUNCTION)
    for event in ("INSERT", "UPDATE"):
        op.execute(f"CREATE TRIGGER exchange_capture_case_{event.lower()} AFTER {event} ON case_report "
                   f"REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION exchange_capture_case()")


def downgrade() -> None:
    for event in ("insert", "update"):
        op.execute(f"DROP TRIGGER IF EXISTS exchange_capture_case_{event} ON case_report")
    op.execute("DROP FUNCTION IF EXISTS exchange_capture_case()")
    op.drop_table("exchange_outbox")
