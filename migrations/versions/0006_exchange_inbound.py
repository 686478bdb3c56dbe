"""exchange_inbound: the ledger of city → district data exchange (issue 19, the downward landing)

One row per record the city sent down (reference data through POST /api/v1/reference/<kind>, city-wide
warnings through POST /api/v1/signals), written in the transaction that lands it: what it was (type, key,
version), when the city changed it (business_at) and when it arrived (received_at), and its outcome
('created', 'updated', 'duplicate', 'stale' or 'rejected'; `outcome_code` says why a record was refused)
and whether it passed the schema check (conformant). The downward exchange KPIs are computed from it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exchange_inbound",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("direction", sa.String(length=4), server_default=sa.text("'down'"), nullable=False),
        sa.Column("record_type", sa.String(length=24), nullable=False),
        sa.Column("record_key", sa.String(length=80)),
        sa.Column("version", sa.BigInteger()),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("business_at", sa.DateTime(timezone=True)),
        sa.Column("outcome", sa.String(length=12), nullable=False),
        sa.Column("outcome_code", sa.String(length=60)),
        sa.Column("conformant", sa.Boolean(), nullable=False),
        sa.CheckConstraint("direction IN ('down')", name="ck_exchange_inbound_direction"),
        sa.CheckConstraint("outcome IN ('created', 'updated', 'duplicate', 'stale', 'rejected')",
                           name="ck_exchange_inbound_outcome"),
    )
    op.create_index("ix_exchange_inbound_record", "exchange_inbound", ["record_type", "record_key"])
    op.create_index("ix_exchange_inbound_received", "exchange_inbound", ["received_at"])


def downgrade() -> None:
    op.drop_table("exchange_inbound")
