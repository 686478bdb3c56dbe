"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('time', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('actor_user_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.String(length=60), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('object_type', sa.String(length=30), nullable=True),
    sa.Column('object_id', sa.String(length=80), nullable=True),
    sa.Column('district_code', sa.String(length=6), nullable=True),
    sa.Column('ip', sa.String(length=45), nullable=True),
    sa.Column('detail', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('prev_hash', sa.LargeBinary(), nullable=False),
    sa.Column('row_hash', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_audit_actor', 'audit_log', ['actor_user_id', 'time'], unique=False)
    op.create_index('ix_audit_time', 'audit_log', ['time'], unique=False)
    op.create_table('disease',
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('name_en', sa.String(length=80), nullable=False),
    sa.Column('klass', sa.String(length=4), nullable=False),
    sa.Column('single_case', sa.Boolean(), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_table('duty_roster',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('district_code', sa.String(length=6), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('duty_role', sa.String(length=30), nullable=False),
    sa.Column('org_name', sa.String(length=100), nullable=False),
    sa.Column('shift', sa.String(length=20), nullable=False),
    sa.Column('person_name_enc', sa.LargeBinary(), nullable=False),
    sa.Column('person_name_bidx', sa.LargeBinary(), nullable=False),
    sa.Column('phone_enc', sa.LargeBinary(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('district_code', 'day', 'duty_role', 'person_name_bidx', name='uq_duty')
    )
    op.create_geospatial_table('region',
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('name_en', sa.String(length=100), nullable=True),
    sa.Column('level', sa.String(length=10), nullable=False),
    sa.Column('parent_code', sa.String(length=20), nullable=True),
    sa.Column('district_code', sa.String(length=6), nullable=True),
    sa.Column('population', sa.BigInteger(), nullable=True),
    sa.Column('population_source', sa.String(length=40), nullable=True),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False,
                               from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('label_point', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False,
                                      from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('geometry_is_demo', sa.Boolean(), nullable=False),
    sa.Column('source', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['parent_code'], ['region.code'], ),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_geospatial_index('idx_region_geom', 'region', ['geom'], unique=False,
                               postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_index('idx_region_label_point', 'region', ['label_point'], unique=False,
                               postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_region_district_code'), 'region', ['district_code'], unique=False)
    op.create_index(op.f('ix_region_level'), 'region', ['level'], unique=False)
    op.create_index(op.f('ix_region_parent_code'), 'region', ['parent_code'], unique=False)
    op.create_table('weather_daily',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('source_id', sa.String(length=80), nullable=False),
    sa.Column('district_code', sa.String(length=6), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('temp_mean', sa.Float(), nullable=False),
    sa.Column('temp_max', sa.Float(), nullable=True),
    sa.Column('temp_min', sa.Float(), nullable=True),
    sa.Column('humidity', sa.Float(), nullable=True),
    sa.Column('rainfall_mm', sa.Float(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('district_code', 'day', name='uq_weather_district_day'),
    sa.UniqueConstraint('source_id')
    )
    op.create_table('audit_checkpoint',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('last_audit_id', sa.BigInteger(), nullable=False),
    sa.Column('row_hash', sa.LargeBinary(), nullable=False),
    sa.Column('signature', sa.LargeBinary(), nullable=False),
    sa.Column('key_id', sa.String(length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['last_audit_id'], ['audit_log.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_geospatial_table('institution',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('level', sa.String(length=10), nullable=True),
    sa.Column('fever_clinic', sa.Boolean(), nullable=False),
    sa.Column('intestinal_clinic', sa.Boolean(), nullable=False),
    sa.Column('sentinel_types', sa.ARRAY(sa.String(length=20)), nullable=False),
    sa.Column('is_lab', sa.Boolean(), nullable=False),
    sa.Column('vaccination_clinic', sa.Boolean(), nullable=False),
    sa.Column('region_code', sa.String(length=20), nullable=True),
    sa.Column('district_code', sa.String(length=6), nullable=False),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False,
                               from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('position_is_demo', sa.Boolean(), nullable=False),
    sa.Column('input_crs', sa.String(length=12), nullable=True),
    sa.Column('source', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['region_code'], ['region.code'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_geospatial_index('idx_institution_geom', 'institution', ['geom'], unique=False,
                               postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_institution_district_code'), 'institution', ['district_code'], unique=False)
    op.create_index('ix_institution_flags', 'institution', ['district_code', 'fever_clinic', 'intestinal_clinic'], unique=False)
    op.create_index(op.f('ix_institution_kind'), 'institution', ['kind'], unique=False)
    op.create_index(op.f('ix_institution_region_code'), 'institution', ['region_code'], unique=False)
    op.create_geospatial_table('opinion_item',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('source_id', sa.String(length=80), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=60), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('excerpt', sa.Text(), nullable=True),
    sa.Column('keywords', sa.ARRAY(sa.String(length=40)), nullable=False),
    sa.Column('place_text', sa.String(length=200), nullable=True),
    sa.Column('region_code', sa.String(length=20), nullable=True),
    sa.Column('district_code', sa.String(length=6), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False,
                               from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('matched_disease_code', sa.String(length=20), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['matched_disease_code'], ['disease.code'], ),
    sa.ForeignKeyConstraint(['region_code'], ['region.code'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source_id')
    )
    op.create_geospatial_index('idx_opinion_item_geom', 'opinion_item', ['geom'], unique=False,
                               postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_opinion_item_district_code'), 'opinion_item', ['district_code'], unique=False)
    op.create_index(op.f('ix_opinion_item_published_at'), 'opinion_item', ['published_at'], unique=False)
    op.create_geospatial_table('pharmacy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('region_code', sa.String(length=20), nullable=True),
    sa.Column('district_code', sa.String(length=6), nullable=False),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False,
                               from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('position_is_demo', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['region_code'], ['region.code'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_geospatial_index('idx_pharmacy_geom', 'pharmacy', ['geom'], unique=False,
                               postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_pharmacy_district_code'), 'pharmacy', ['district_code'], unique=False)
    op.create_table('region_alias',
    sa.Column('alias', sa.String(length=100), nullable=False),
    sa.Column('region_code', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['region_code'], ['region.code'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('alias')
    )
    op.create_index(op.f('ix_region_alias_region_code'), 'region_alias', ['region_code'], unique=False)
    op.create_geospatial_table('school',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('region_code', sa.String(length=20), nullable=True),
    sa.Column('district_code', sa.String(length=6), nullable=False),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False,
                               from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('position_is_demo', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['region_code'], ['region.code'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_geospatial_index('idx_school_geom', 'school', ['geom'], unique=False,
                               postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_school_district_code'), 'school', ['district_code'], unique=False)
    op.create_geospatial_table('case_report',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('source_id', sa.String(length=80), nullable=False),
    sa.Column('source_version', sa.Integer(), nullable=False),
    sa.Column('disease_code', sa.String(length=20), nullable=False),
    sa.Column('case_type', sa.String(length=12), nullable=False),
    sa.Column('onset_date', sa.Date(), nullable=False),
    sa.Column('diagnosis_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('report_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('audit_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reporting_institution_id', sa.Integer(), nullable=True),
    sa.Column('region_code', sa.String(length=20), nullable=True),
    sa.Column('district_code', sa.String(length=6), nullable=False),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False,
                               from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('input_crs', sa.String(length=12), nullable=True),
    sa.Column('age', sa.SmallInteger(), nullable=True),
    sa.Column('sex', sa.String(length=1), nullable=True),
    sa.Column('occupation', sa.String(length=20), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('death_date', sa.Date(), nullable=True),
    sa.Column('name_enc', sa.LargeBinary(), nullable=True),
    sa.Column('id_number_enc', sa.LargeBinary(), nullable=True),
    sa.Column('phone_enc', sa.LargeBinary(), nullable=True),
    sa.Column('address_enc', sa.LargeBinary(), nullable=True),
    sa.Column('id_number_bidx', sa.LargeBinary(), nullable=True),
    sa.Column('phone_bidx', sa.LargeBinary(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['disease_code'], ['disease.code'], ),
    sa.ForeignKeyConstraint(['region_code'], ['region.code'], ),
    sa.ForeignKeyConstraint(['reporting_institution_id'], ['institution.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source_id')
    )
    op.create_geospatial_index('idx_case_report_geom', 'case_report', ['geom'], unique=False,
                               postgresql_using='gist', postgresql_ops={})
    op.create_index('ix_case_disease_onset', 'case_report', ['disease_code', 'onset_date'], unique=False)
    op.create_index('ix_case_district_onset', 'case_report', ['district_code', 'onset_date'], unique=False)
    op.create_index('ix_case_region_onset', 'case_report', ['region_code', 'onset_date'], unique=False)
    op.create_index(op.f('ix_case_report_id_number_bidx'), 'case_report', ['id_number_bidx'], unique=False)
    op.create_index(op.f('ix_case_report_reporting_institution_id'), 'case_report', ['reporting_institution_id'], unique=False)
    op.create_index('ix_case_report_time', 'case_report', ['report_time'], unique=False)
    op.create_index('ix_case_updated', 'case_report', ['updated_at'], unique=False)
    op.create_table('drug_sales',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('source_id', sa.String(length=80), nullable=False),
    sa.Column('pharmacy_id', sa.Integer(), nullable=True),
    sa.Column('region_code', sa.String(length=20), nullable=True),
    sa.Column('district_code', sa.String(length=6), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('drug_group', sa.String(length=20), nullable=False),
    sa.Column('units', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['pharmacy_id'], ['pharmacy.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['region_code'], ['region.code'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source_id')
    )
    op.create_index('ix_drug_sales_district_day', 'drug_sales', ['district_code', 'day', 'drug_group'], unique=False)
    op.create_table('lab_result',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('source_id', sa.String(length=80), nullable=False),
    sa.Column('lab_institution_id', sa.Integer(), nullable=False),
    sa.Column('sample_id', sa.String(length=60), nullable=False),
    sa.Column('pathogen', sa.String(length=60), nullable=False),
    sa.Column('result', sa.String(length=12), nullable=False),
    sa.Column('sample_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('result_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('region_code', sa.String(length=20), nullable=True),
    sa.Column('district_code', sa.String(length=6), nullable=False),
    sa.Column('case_source_id', sa.String(length=80), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['lab_institution_id'], ['institution.id'], ),
    sa.ForeignKeyConstraint(['region_code'], ['region.code'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source_id')
    )
    op.create_index('ix_lab_district_time', 'lab_result', ['district_code', 'sample_time'], unique=False)
    op.create_index(op.f('ix_lab_result_lab_institution_id'), 'lab_result', ['lab_institution_id'], unique=False)
    op.create_table('org',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('level', sa.String(length=12), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('region_code', sa.String(length=20), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], ),
    sa.ForeignKeyConstraint(['parent_id'], ['org.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_geospatial_table('resource_site',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=True),
    sa.Column('district_code', sa.String(length=6), nullable=False),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False,
                               from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('position_is_demo', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_geospatial_index('idx_resource_site_geom', 'resource_site', ['geom'], unique=False,
                               postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_resource_site_district_code'), 'resource_site', ['district_code'], unique=False)
    op.create_table('school_absence',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('source_id', sa.String(length=80), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('district_code', sa.String(length=6), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('enrolled', sa.Integer(), nullable=False),
    sa.Column('absent', sa.Integer(), nullable=False),
    sa.Column('absent_ill', sa.Integer(), nullable=False),
    sa.Column('fever', sa.Integer(), nullable=False),
    sa.Column('respiratory', sa.Integer(), nullable=False),
    sa.Column('gastrointestinal', sa.Integer(), nullable=False),
    sa.Column('rash', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['school_id'], ['school.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('school_id', 'day', name='uq_school_day'),
    sa.UniqueConstraint('source_id')
    )
    op.create_index('ix_school_absence_district_day', 'school_absence', ['district_code', 'day'], unique=False)
    op.create_table('syndromic_count',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('source_id', sa.String(length=80), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('district_code', sa.String(length=6), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('syndrome', sa.String(length=12), nullable=False),
    sa.Column('visits', sa.Integer(), nullable=False),
    sa.Column('cases', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('institution_id', 'day', 'syndrome', name='uq_syndromic_inst_day'),
    sa.UniqueConstraint('source_id')
    )
    op.create_index('ix_syndromic_district_day', 'syndromic_count', ['district_code', 'day'], unique=False)
    op.create_geospatial_table('team',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('members', sa.Integer(), nullable=False),
    sa.Column('video_online', sa.Boolean(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=True),
    sa.Column('district_code', sa.String(length=6), nullable=False),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False,
                               from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('position_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_geospatial_index('idx_team_geom', 'team', ['geom'], unique=False,
                               postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_team_district_code'), 'team', ['district_code'], unique=False)
    op.create_table('app_user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=60), nullable=False),
    sa.Column('display_name', sa.String(length=100), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=24), nullable=False),
    sa.Column('password_hash', sa.LargeBinary(), nullable=True),
    sa.Column('password_salt', sa.LargeBinary(), nullable=True),
    sa.Column('password_iterations', sa.Integer(), nullable=False),
    sa.Column('sm2_public_key', sa.String(length=140), nullable=True),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('may_view_pii', sa.Boolean(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['org.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('username')
    )
    op.create_table('stock',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('item_code', sa.String(length=40), nullable=False),
    sa.Column('item_name', sa.String(length=100), nullable=False),
    sa.Column('category', sa.String(length=30), nullable=False),
    sa.Column('unit', sa.String(length=10), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('min_level', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['resource_site.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('site_id', 'item_code', name='uq_stock_site_item')
    )
    op.create_geospatial_table('team_position',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('source_id', sa.String(length=80), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False,
                               from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('input_crs', sa.String(length=12), nullable=True),
    sa.Column('speed_kmh', sa.Numeric(precision=6, scale=2), nullable=True),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source_id')
    )
    op.create_geospatial_index('idx_team_position_geom', 'team_position', ['geom'], unique=False,
                               postgresql_using='gist', postgresql_ops={})
    op.create_index('ix_team_position_team_time', 'team_position', ['team_id', 'time'], unique=False)
    op.create_table('api_client',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key_id', sa.String(length=60), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('sm2_public_key', sa.String(length=140), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key_id')
    )
    op.create_table('api_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('token_hash', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    op.create_index(op.f('ix_api_token_user_id'), 'api_token', ['user_id'], unique=False)
    op.create_table('setting',
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('value', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('updated_by_user_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['updated_by_user_id'], ['app_user.id'], ),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_geospatial_table('signal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dedup_key', sa.String(length=200), nullable=False),
    sa.Column('origin', sa.String(length=16), nullable=False),
    sa.Column('source_dept', sa.String(length=30), nullable=True),
    sa.Column('external_id', sa.String(length=80), nullable=True),
    sa.Column('model', sa.String(length=30), nullable=False),
    sa.Column('disease_code', sa.String(length=20), nullable=True),
    sa.Column('region_code', sa.String(length=20), nullable=True),
    sa.Column('district_code', sa.String(length=6), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('observed', sa.Float(), nullable=True),
    sa.Column('threshold', sa.Float(), nullable=True),
    sa.Column('window_start', sa.Date(), nullable=True),
    sa.Column('window_end', sa.Date(), nullable=True),
    sa.Column('params', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('evidence', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('geom', Geometry(srid=4326, dimension=2, spatial_index=False,
                               from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('assignee_user_id', sa.Integer(), nullable=True),
    sa.Column('verify_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('fire_count', sa.Integer(), nullable=False),
    sa.Column('first_fired_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('last_fired_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['assignee_user_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['disease_code'], ['disease.code'], ),
    sa.ForeignKeyConstraint(['region_code'], ['region.code'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('external_id')
    )
    op.create_geospatial_index('idx_signal_geom', 'signal', ['geom'], unique=False,
                               postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_signal_dedup_key'), 'signal', ['dedup_key'], unique=False)
    op.create_index('ix_signal_district_state', 'signal', ['district_code', 'state'], unique=False)
    op.create_geospatial_table('incident',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('signal_id', sa.Integer(), nullable=True),
    sa.Column('district_code', sa.String(length=6), nullable=False),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False,
                               from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('area', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False,
                               from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['signal_id'], ['signal.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_geospatial_index('idx_incident_area', 'incident', ['area'], unique=False,
                               postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_index('idx_incident_geom', 'incident', ['geom'], unique=False,
                               postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_incident_district_code'), 'incident', ['district_code'], unique=False)
    op.create_table('signal_event',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('signal_id', sa.Integer(), nullable=False),
    sa.Column('time', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('actor_user_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=30), nullable=False),
    sa.Column('from_state', sa.String(length=12), nullable=True),
    sa.Column('to_state', sa.String(length=12), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.ForeignKeyConstraint(['actor_user_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['signal_id'], ['signal.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_signal_event_signal_id'), 'signal_event', ['signal_id'], unique=False)
    op.create_table('signal_receipt',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('signal_id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('pushed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ack_user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['ack_user_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], ),
    sa.ForeignKeyConstraint(['signal_id'], ['signal.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_signal_receipt_institution_id'), 'signal_receipt', ['institution_id'], unique=False)
    op.create_index(op.f('ix_signal_receipt_signal_id'), 'signal_receipt', ['signal_id'], unique=False)
    op.create_geospatial_table('task',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('root_id', sa.Integer(), nullable=True),
    sa.Column('city_task_id', sa.String(length=80), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('deadline', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('progress', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('location', Geometry(srid=4326, dimension=2, spatial_index=False,
                                   from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('district_code', sa.String(length=6), nullable=False),
    sa.Column('assignee_institution_id', sa.Integer(), nullable=True),
    sa.Column('assignee_team_id', sa.Integer(), nullable=True),
    sa.Column('signal_id', sa.Integer(), nullable=True),
    sa.Column('incident_id', sa.Integer(), nullable=True),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.Column('counts', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('attachments', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('escalation_level', sa.Integer(), nullable=False),
    sa.Column('last_reminder_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['assignee_institution_id'], ['institution.id'], ),
    sa.ForeignKeyConstraint(['assignee_team_id'], ['team.id'], ),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], ),
    sa.ForeignKeyConstraint(['parent_id'], ['task.id'], ),
    sa.ForeignKeyConstraint(['root_id'], ['task.id'], ),
    sa.ForeignKeyConstraint(['signal_id'], ['signal.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('city_task_id')
    )
    op.create_geospatial_index('idx_task_location', 'task', ['location'], unique=False,
                               postgresql_using='gist', postgresql_ops={})
    op.create_index('ix_task_district_state', 'task', ['district_code', 'state'], unique=False)
    op.create_index(op.f('ix_task_parent_id'), 'task', ['parent_id'], unique=False)
    op.create_table('stock_movement',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('source_id', sa.String(length=80), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('item_code', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('delta', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=True),
    sa.Column('time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['site_id'], ['resource_site.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['task_id'], ['task.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source_id')
    )
    op.create_index('ix_stock_movement_site_time', 'stock_movement', ['site_id', 'time'], unique=False)
    op.create_geospatial_table('task_event',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('time', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('actor_user_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.String(length=100), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('from_state', sa.String(length=12), nullable=True),
    sa.Column('to_state', sa.String(length=12), nullable=True),
    sa.Column('progress', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('counts', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('location', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False,
                                   from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('attachments', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.ForeignKeyConstraint(['actor_user_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['task_id'], ['task.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_geospatial_index('idx_task_event_location', 'task_event', ['location'], unique=False,
                               postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_task_event_task_id'), 'task_event', ['task_id'], unique=False)
    op.create_table('callback_delivery',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=100), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('task_event_id', sa.BigInteger(), nullable=True),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_status_code', sa.Integer(), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['task_event_id'], ['task_event.id'], ),
    sa.ForeignKeyConstraint(['task_id'], ['task.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('idempotency_key')
    )
    op.create_index(op.f('ix_callback_delivery_task_id'), 'callback_delivery', ['task_id'], unique=False)
    op.create_index('ix_callback_pending', 'callback_delivery', ['status', 'next_attempt_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_callback_pending', table_name='callback_delivery')
    op.drop_index(op.f('ix_callback_delivery_task_id'), table_name='callback_delivery')
    op.drop_table('callback_delivery')
    op.drop_index(op.f('ix_task_event_task_id'), table_name='task_event')
    op.drop_geospatial_index('idx_task_event_location', table_name='task_event', postgresql_using='gist', column_name='location')
    op.drop_geospatial_table('task_event')
    op.drop_index('ix_stock_movement_site_time', table_name='stock_movement')
    op.drop_table('stock_movement')
    op.drop_index(op.f('ix_task_parent_id'), table_name='task')
    op.drop_index('ix_task_district_state', table_name='task')
    op.drop_geospatial_index('idx_task_location', table_name='task', postgresql_using='gist', column_name='location')
    op.drop_geospatial_table('task')
    op.drop_index(op.f('ix_signal_receipt_signal_id'), table_name='signal_receipt')
    op.drop_index(op.f('ix_signal_receipt_institution_id'), table_name='signal_receipt')
    op.drop_table('signal_receipt')
    op.drop_index(op.f('ix_signal_event_signal_id'), table_name='signal_event')
    op.drop_table('signal_event')
    op.drop_index(op.f('ix_incident_district_code'), table_name='incident')
    op.drop_geospatial_index('idx_incident_geom', table_name='incident', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_index('idx_incident_area', table_name='incident', postgresql_using='gist', column_name='area')
    op.drop_geospatial_table('incident')
    op.drop_index('ix_signal_district_state', table_name='signal')
    op.drop_index(op.f('ix_signal_dedup_key'), table_name='signal')
    op.drop_geospatial_index('idx_signal_geom', table_name='signal', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('signal')
    op.drop_table('setting')
    op.drop_index(op.f('ix_api_token_user_id'), table_name='api_token')
    op.drop_table('api_token')
    op.drop_table('api_client')
    op.drop_index('ix_team_position_team_time', table_name='team_position')
    op.drop_geospatial_index('idx_team_position_geom', table_name='team_position', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('team_position')
    op.drop_table('stock')
    op.drop_table('app_user')
    op.drop_index(op.f('ix_team_district_code'), table_name='team')
    op.drop_geospatial_index('idx_team_geom', table_name='team', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('team')
    op.drop_index('ix_syndromic_district_day', table_name='syndromic_count')
    op.drop_table('syndromic_count')
    op.drop_index('ix_school_absence_district_day', table_name='school_absence')
    op.drop_table('school_absence')
    op.drop_index(op.f('ix_resource_site_district_code'), table_name='resource_site')
    op.drop_geospatial_index('idx_resource_site_geom', table_name='resource_site', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('resource_site')
    op.drop_table('org')
    op.drop_index(op.f('ix_lab_result_lab_institution_id'), table_name='lab_result')
    op.drop_index('ix_lab_district_time', table_name='lab_result')
    op.drop_table('lab_result')
    op.drop_index('ix_drug_sales_district_day', table_name='drug_sales')
    op.drop_table('drug_sales')
    op.drop_index('ix_case_updated', table_name='case_report')
    op.drop_index('ix_case_report_time', table_name='case_report')
    op.drop_index(op.f('ix_case_report_reporting_institution_id'), table_name='case_report')
    op.drop_index(op.f('ix_case_report_id_number_bidx'), table_name='case_report')
    op.drop_index('ix_case_region_onset', table_name='case_report')
    op.drop_index('ix_case_district_onset', table_name='case_report')
    op.drop_index('ix_case_disease_onset', table_name='case_report')
    op.drop_geospatial_index('idx_case_report_geom', table_name='case_report', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('case_report')
    op.drop_index(op.f('ix_school_district_code'), table_name='school')
    op.drop_geospatial_index('idx_school_geom', table_name='school', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('school')
    op.drop_index(op.f('ix_region_alias_region_code'), table_name='region_alias')
    op.drop_table('region_alias')
    op.drop_index(op.f('ix_pharmacy_district_code'), table_name='pharmacy')
    op.drop_geospatial_index('idx_pharmacy_geom', table_name='pharmacy', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('pharmacy')
    op.drop_index(op.f('ix_opinion_item_published_at'), table_name='opinion_item')
    op.drop_index(op.f('ix_opinion_item_district_code'), table_name='opinion_item')
    op.drop_geospatial_index('idx_opinion_item_geom', table_name='opinion_item', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('opinion_item')
    op.drop_index(op.f('ix_institution_region_code'), table_name='institution')
    op.drop_index(op.f('ix_institution_kind'), table_name='institution')
    op.drop_index('ix_institution_flags', table_name='institution')
    op.drop_index(op.f('ix_institution_district_code'), table_name='institution')
    op.drop_geospatial_index('idx_institution_geom', table_name='institution', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('institution')
    op.drop_table('audit_checkpoint')
    op.drop_table('weather_daily')
    op.drop_index(op.f('ix_region_parent_code'), table_name='region')
    op.drop_index(op.f('ix_region_level'), table_name='region')
    op.drop_index(op.f('ix_region_district_code'), table_name='region')
    op.drop_geospatial_index('idx_region_label_point', table_name='region', postgresql_using='gist', column_name='label_point')
    op.drop_geospatial_index('idx_region_geom', table_name='region', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('region')
    op.drop_table('duty_roster')
    op.drop_table('disease')
    op.drop_index('ix_audit_time', table_name='audit_log')
    op.drop_index('ix_audit_actor', table_name='audit_log')
    op.drop_table('audit_log')
