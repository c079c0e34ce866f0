"""cases by creation time: a search for a month reads the calls made in it, newest first

Revision ID: c4d6e8f0a1b3
Revises: b3c5d7e9f1a2
Create Date: 2026-12-02 02:20:00

"""
from alembic import op


revision = 'c4d6e8f0a1b3'
down_revision = 'b3c5d7e9f1a2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_cases_created', 'cases', ['created_at', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_cases_created', table_name='cases')
