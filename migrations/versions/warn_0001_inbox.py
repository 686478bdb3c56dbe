"""inbox items for signals (new, escalated, assigned)

Revision ID: warn_0001
Revises: 0001
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = "warn_0001"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbox_item",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("district_code", sa.String(length=6), nullable=False),
        sa.Column("recipient_user_id", sa.Integer(), nullable=True),
        sa.Column("recipient_role", sa.String(length=24), nullable=True),
        sa.Column("recipient_institution_id", sa.Integer(), nullable=True),
        sa.Column("signal_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("read_by_user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["recipient_user_id"], ["app_user.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["recipient_institution_id"], ["institution.id"]),
        sa.ForeignKeyConstraint(["signal_id"], ["signal.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_inbox_item_signal_id", "inbox_item", ["signal_id"])
    op.create_index("ix_inbox_user", "inbox_item", ["recipient_user_id", "created_at"])
    op.create_index("ix_inbox_role", "inbox_item", ["district_code", "recipient_role", "created_at"])
    op.create_index("ix_inbox_institution", "inbox_item", ["recipient_institution_id", "created_at"])


def downgrade() -> None:
    op.drop_table("inbox_item")
