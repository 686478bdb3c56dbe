"""audit_pending: intake's audit rows written without the chain's lock, chained after commit (issue 18)

Every audited intake batch took the audit chain's advisory lock inside its data transaction and held it through
its commit's WAL flush, so concurrent intakes committed one at a time: at 50 single-record case reports a second
beside 20 live screens, ~40 connections waited on that lock and POST → response reached p95 5.2 s (2026-12-02).
Intake now writes its audit rows here, in the same transaction as the data (no lock); one chainer at a time moves
them into audit_log under the lock, many per commit (accounts.audit.chain_pending).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_pending",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=60), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("object_type", sa.String(length=30), nullable=True),
        sa.Column("object_id", sa.String(length=80), nullable=True),
        sa.Column("district_code", sa.String(length=6), nullable=True),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("detail", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("audit_pending")
