"""process decisions: the DMN files a process version's business rule tasks evaluate

Revision ID: f3c1d2e4a5b6
Revises: d5a7c9e1f3b2
Create Date: 2026-12-02 15:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'f3c1d2e4a5b6'
down_revision = 'd5a7c9e1f3b2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('process_versions') as batch_op:
        batch_op.add_column(sa.Column('decisions', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('process_versions') as batch_op:
        batch_op.drop_column('decisions')
