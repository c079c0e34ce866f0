"""cases by process and creation time: the reports read one period's calls

Revision ID: 5e7a1c9d2b40
Revises: 26f41b2d3c44
Create Date: 2026-11-27 01:50:00

"""
from alembic import op


revision = '5e7a1c9d2b40'
down_revision = '26f41b2d3c44'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_process_created', ['process_id', 'created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_process_created')
