"""audit checkpoints: where the hash chain was last verified intact, for incremental verification

Revision ID: b8d4f2a6c1e3
Revises: a7c3e9f1b2d4
Create Date: 2026-12-04 14:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


revision = 'b8d4f2a6c1e3'
down_revision = 'a7c3e9f1b2d4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'audit_checkpoints',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('hash', sa.String(length=64), nullable=False),
        sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('events_checked', sa.Integer(), nullable=False),
        sa.Column('incremental', sa.Boolean(), nullable=False),
        sa.Column('actor', sa.String(length=50), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )


def downgrade():
    op.drop_table('audit_checkpoints')
