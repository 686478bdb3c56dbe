"""investigation, exposure_place, contact, fieldwork_sample, response_milestone, event_review:
流调, 7-1-7 milestones and the closed-loop review of warning events (issue 20)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-15
"""
import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

MILESTONES = ("investigation_started", "samples_taken", "contacts_listed", "contacts_traced", "control_measures",
              "communication")


def _check(column: str, values: tuple[str, ...], name: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(f"{column} IN {values}", name=name)


def _tz(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _investigation() -> None:
    op.create_table(
        "investigation",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source_id", sa.String(length=80), unique=True),
        sa.Column("signal_id", sa.Integer(), sa.ForeignKey("signal.id", ondelete="CASCADE")),
        sa.Column("case_id", sa.BigInteger(), sa.ForeignKey("case_report.id", ondelete="SET NULL")),
        sa.Column("district_code", sa.String(length=6), nullable=False),
        sa.Column("investigator", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        _tz("started_at", False),
        _tz("completed_at"),
        sa.Column("first_onset_date", sa.Date()),
        sa.Column("summary", sa.Text()),
        sa.Column("content_hash", sa.String(length=64)),
        sa.Column("created_by_user_id", sa.Integer(), sa.ForeignKey("app_user.id")),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        _check("status", ("planned", "in_progress", "completed"), "ck_investigation_status"),
        sa.CheckConstraint("signal_id IS NOT NULL OR case_id IS NOT NULL", name="ck_investigation_subject"),
    )
    for column in ("signal_id", "case_id", "district_code"):
        op.create_index(f"ix_investigation_{column}", "investigation", [column])


def _places() -> None:
    op.create_table(
        "exposure_place",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("investigation_id", sa.Integer(), sa.ForeignKey("investigation.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("geom", Geometry("GEOMETRY", srid=4326, spatial_index=False)),
        sa.Column("input_crs", sa.String(length=10)),
        _tz("start_time", False),
        _tz("end_time", False),
        sa.Column("note", sa.Text()),
        _check("kind", ("home", "work", "school", "public", "medical", "transport", "other"),
               "ck_exposure_place_kind"),
    )
    op.create_index("ix_exposure_place_investigation_id", "exposure_place", ["investigation_id"])
    op.create_index("idx_exposure_place_geom", "exposure_place", ["geom"], postgresql_using="gist")


def _contacts() -> None:
    op.create_table(
        "contact",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("investigation_id", sa.Integer(), sa.ForeignKey("investigation.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("record_id", sa.String(length=40), nullable=False),
        sa.Column("degree", sa.String(length=10), nullable=False),
        *(sa.Column(c, sa.LargeBinary()) for c in ("name_enc", "id_number_enc", "phone_enc", "id_number_bidx",
                                                    "phone_bidx")),
        sa.Column("last_exposure_date", sa.Date()),
        sa.Column("state", sa.String(length=12), nullable=False),
        _tz("listed_at", False),
        _tz("traced_at"),
        sa.Column("observation_start", sa.Date()),
        sa.Column("released_on", sa.Date()),
        _tz("became_case_at"),
        sa.Column("note", sa.Text()),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        _check("degree", ("close", "secondary"), "ck_contact_degree"),
        _check("state", ("pending", "traced", "observing", "released", "became_case"), "ck_contact_state"),
        sa.UniqueConstraint("investigation_id", "record_id", name="uq_contact_record"),
    )
    for column in ("investigation_id", "id_number_bidx", "phone_bidx"):
        op.create_index(f"ix_contact_{column}", "contact", [column])


def _samples() -> None:
    op.create_table(
        "fieldwork_sample",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("investigation_id", sa.Integer(), sa.ForeignKey("investigation.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("sample_no", sa.String(length=60), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("subject", sa.String(length=100)),
        _tz("taken_at", False),
        sa.Column("result", sa.String(length=14), nullable=False),
        _tz("result_at"),
        _check("result", ("pending", "positive", "negative", "indeterminate"), "ck_fieldwork_sample_result"),
        sa.UniqueConstraint("investigation_id", "sample_no", name="uq_fieldwork_sample_no"),
    )
    op.create_index("ix_fieldwork_sample_investigation_id", "fieldwork_sample", ["investigation_id"])


def _milestones() -> None:
    op.create_table(
        "response_milestone",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("signal_id", sa.Integer(), sa.ForeignKey("signal.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        _tz("done_at", False),
        sa.Column("note", sa.Text()),
        sa.Column("actor_user_id", sa.Integer(), sa.ForeignKey("app_user.id")),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        _check("kind", MILESTONES, "ck_response_milestone_kind"),
        sa.UniqueConstraint("signal_id", "kind", name="uq_response_milestone"),
    )
    op.create_index("ix_response_milestone_signal_id", "response_milestone", ["signal_id"])


def _review() -> None:
    user = sa.ForeignKey("app_user.id")
    op.create_table(
        "event_review",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("signal_id", sa.Integer(), sa.ForeignKey("signal.id", ondelete="CASCADE"), nullable=False,
                  unique=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("closed_by_user_id", sa.Integer(), user),
        _tz("closed_at", False),
        sa.Column("timeliness", postgresql.JSONB()),
        sa.Column("effectiveness", sa.Text()),
        sa.Column("lessons", sa.Text()),
        sa.Column("evaluated_by_user_id", sa.Integer(), sa.ForeignKey("app_user.id")),
        sa.Column("evaluator_role", sa.String(length=30)),
        _tz("evaluated_at"),
        sa.Column("review_note", sa.Text()),
        sa.Column("reviewed_by_user_id", sa.Integer(), sa.ForeignKey("app_user.id")),
        _tz("reviewed_at"),
        _check("state", ("closed", "evaluated", "reviewed", "returned"), "ck_event_review_state"),
    )


def upgrade() -> None:
    _investigation()
    _places()
    _contacts()
    _samples()
    _milestones()
    _review()


def downgrade() -> None:
    for table in ("event_review", "response_milestone", "fieldwork_sample", "contact", "exposure_place",
                  "investigation"):
        op.drop_table(table)
