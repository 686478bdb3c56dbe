"""contact.region_code, contact.geom: where a contact lives or was met, for the command map (issue 20, phase 2)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-16
"""
import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("contact", sa.Column("region_code", sa.String(length=12)))
    op.add_column("contact", sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=False)))
    op.add_column("contact", sa.Column("input_crs", sa.String(length=10)))
    op.create_index("ix_contact_region_code", "contact", ["region_code"])
    op.create_index("idx_contact_geom", "contact", ["geom"], postgresql_using="gist")


def downgrade() -> None:
    op.drop_index("idx_contact_geom", table_name="contact")
    op.drop_index("ix_contact_region_code", table_name="contact")
    for column in ("input_crs", "geom", "region_code"):
        op.drop_column("contact", column)
