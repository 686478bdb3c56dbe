"""warning events: signal.kind (event | alarm), signal.event_id (an alarm's event), signal.grade

Existing rows stay events (they were in the loop already).

Revision ID: warn_0002
Revises: 0002
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "warn_0002"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("signal", sa.Column("kind", sa.String(length=8), server_default="event", nullable=False))
    op.add_column("signal", sa.Column("event_id", sa.Integer(), nullable=True))
    op.add_column("signal", sa.Column("grade", sa.String(length=8), nullable=True))
    op.create_foreign_key("fk_signal_event_id_signal", "signal", "signal", ["event_id"], ["id"], ondelete="SET NULL")
    op.create_index("ix_signal_event_id", "signal", ["event_id"])
    op.create_index("ix_signal_kind_district_end", "signal", ["kind", "district_code", "window_end"])


def downgrade() -> None:
    op.drop_index("ix_signal_kind_district_end", table_name="signal")
    op.drop_index("ix_signal_event_id", table_name="signal")
    op.drop_constraint("fk_signal_event_id_signal", "signal", type_="foreignkey")
    op.drop_column("signal", "grade")
    op.drop_column("signal", "event_id")
    op.drop_column("signal", "kind")
