"""messages and external tasks: what open cases wait for by name, and the external tasks of integration workers

Revision ID: f1a3c5e7b9d2
Revises: f3c1d2e4a5b6
Create Date: 2026-12-02 16:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


revision = 'f1a3c5e7b9d2'
down_revision = "f3c1d2e4a5b6"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('case_waits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('element_id', sa.String(length=100), nullable=True),
    sa.Column('since', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_waits_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_waits'))
    )
    with op.batch_alter_table('case_waits', schema=None) as batch_op:
        batch_op.create_index('ix_case_waits_kind_name', ['kind', 'name', 'case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_waits_case_id'), ['case_id'], unique=False)

    op.create_table('external_tasks',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('process_id', sa.String(length=100), nullable=False),
    sa.Column('element_id', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('topic', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('variables', sa.JSON(), nullable=False),
    sa.Column('worker_id', sa.String(length=200), nullable=True),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('available_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('retries', sa.Integer(), nullable=True),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_external_tasks_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_external_tasks'))
    )
    with op.batch_alter_table('external_tasks', schema=None) as batch_op:
        batch_op.create_index('ix_external_tasks_fetch', ['status', 'topic', 'created_at'], unique=False)
        batch_op.create_index('ix_external_tasks_locked', ['status', 'locked_until'], unique=False)
        batch_op.create_index(batch_op.f('ix_external_tasks_case_id'), ['case_id'], unique=False)


def downgrade():
    op.drop_table('external_tasks')
    op.drop_table('case_waits')
