"""grids, platforms and stationed agencies in the org; where and what a case is about

Revision ID: a7c3e9f1b2d4
Revises: f1a3c5e7b9d2
Create Date: 2026-12-02 19:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


revision = 'a7c3e9f1b2d4'
down_revision = 'f1a3c5e7b9d2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('org_units', schema=None) as batch_op:
        batch_op.add_column(sa.Column('parent_code', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('home_code', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('platform_kind', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('outline', sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f('ix_org_units_parent_code'), ['parent_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_org_units_home_code'), ['home_code'], unique=False)
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('category', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('township_code', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('grid_code', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('lat', sa.Double(), nullable=True))
        batch_op.add_column(sa.Column('lng', sa.Double(), nullable=True))
        batch_op.add_column(sa.Column('merged_into', sa.Integer(), nullable=True))
        batch_op.create_index('ix_cases_category_place', ['category', 'lat', 'lng'], unique=False)
        batch_op.create_index('ix_cases_township_created', ['township_code', 'created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_township_created')
        batch_op.drop_index('ix_cases_category_place')
        for col in ('merged_into', 'lng', 'lat', 'grid_code', 'township_code', 'category'):
            batch_op.drop_column(col)
    with op.batch_alter_table('org_units', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_org_units_home_code'))
        batch_op.drop_index(batch_op.f('ix_org_units_parent_code'))
        for col in ('outline', 'platform_kind', 'home_code', 'parent_code'):
            batch_op.drop_column(col)
