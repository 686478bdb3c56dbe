"""contact.became_case_id: the case report a contact became, for the transmission chain (issue 20, phase 3)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-18
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("contact", sa.Column("became_case_id", sa.BigInteger()))
    op.create_foreign_key("fk_contact_became_case_id", "contact", "case_report", ["became_case_id"], ["id"],
                          ondelete="SET NULL")
    op.create_index("ix_contact_became_case_id", "contact", ["became_case_id"])


def downgrade() -> None:
    op.drop_index("ix_contact_became_case_id", table_name="contact")
    op.drop_constraint("fk_contact_became_case_id", "contact", type_="foreignkey")
    op.drop_column("contact", "became_case_id")
