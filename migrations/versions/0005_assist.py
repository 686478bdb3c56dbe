"""assist_request, assist_event, assist_outbox: 跨地区信息协查 between districts through the city (issue 19)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08
"""
import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

STATES = "('sent', 'received', 'accepted', 'returned', 'assigned', 'answered', 'closed')"


def _request_table() -> None:
    op.create_table(
        "assist_request",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("request_no", sa.String(length=40), nullable=False, unique=True),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("from_district", sa.String(length=6), nullable=False),
        sa.Column("to_district", sa.String(length=6), nullable=False),
        sa.Column("subject_kind", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("facts", postgresql.JSONB(), nullable=False),
        sa.Column("personal_enc", sa.LargeBinary()),
        sa.Column("place_name", sa.String(length=200)),
        sa.Column("place", Geometry("POINT", srid=4326, spatial_index=False)),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("assignee", sa.String(length=100)),
        sa.Column("findings", sa.Text()),
        sa.Column("attachments", postgresql.JSONB(), nullable=False),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("last_reminder_at", sa.DateTime(timezone=True)),
        sa.Column("created_by_user_id", sa.Integer(), sa.ForeignKey("app_user.id")),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(f"state IN {STATES}", name="ck_assist_request_state"),
        sa.CheckConstraint("subject_kind IN ('person', 'contact', 'place', 'sample')",
                           name="ck_assist_request_subject"),
        sa.CheckConstraint("direction IN ('out', 'in')", name="ck_assist_request_direction"),
    )
    op.create_index("idx_assist_request_place", "assist_request", ["place"], postgresql_using="gist")
    op.create_index("ix_assist_request_box", "assist_request", ["direction", "state"])


def _event_table() -> None:
    op.create_table(
        "assist_event",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("request_id", sa.Integer(), sa.ForeignKey("assist_request.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("from_state", sa.String(length=10)),
        sa.Column("to_state", sa.String(length=10)),
        sa.Column("district_code", sa.String(length=6), nullable=False),
        sa.Column("actor_name", sa.String(length=100)),
        sa.Column("note", sa.Text()),
        sa.Column("message_id", sa.String(length=64), unique=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_assist_event_request_id", "assist_event", ["request_id"])


def _outbox_table() -> None:
    op.create_table(
        "assist_outbox",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("message_id", sa.String(length=64), nullable=False, unique=True),
        sa.Column("request_id", sa.Integer(), sa.ForeignKey("assist_request.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("payload", postgresql.JSONB(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("last_status_code", sa.Integer()),
        sa.Column("last_error", sa.Text()),
        sa.Column("delivered_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("status IN ('pending', 'delivered', 'refused')", name="ck_assist_outbox_status"),
    )
    op.create_index("ix_assist_outbox_request_id", "assist_outbox", ["request_id"])
    op.create_index("ix_assist_outbox_pending", "assist_outbox", ["status", "next_attempt_at"])


def upgrade() -> None:
    _request_table()
    _event_table()
    _outbox_table()


def downgrade() -> None:
    op.drop_table("assist_outbox")
    op.drop_table("assist_event")
    op.drop_table("assist_request")
