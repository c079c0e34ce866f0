"""remarks (留言) and urges (催办) on a case: the comments, urges and urge_targets tables

A case's status may now also be `withdrawn` (a String column: no schema change for it).

Revision ID: 2c48e79a9c36
Revises: b3c5d7e9f1a2
Create Date: 2026-12-02 00:54:46.784366

"""
from alembic import op
import sqlalchemy as sa


revision = '2c48e79a9c36'
down_revision = 'b3c5d7e9f1a2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('urges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('urged_by', sa.String(length=50), nullable=False),
    sa.Column('urged_org', sa.String(length=20), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('working_day', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_urges_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_urges'))
    )
    with op.batch_alter_table('urges', schema=None) as batch_op:
        batch_op.create_index('ix_urges_case', ['case_id', 'id'], unique=False)

    op.create_table('comments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.String(length=36), nullable=True),
    sa.Column('author', sa.String(length=50), nullable=False),
    sa.Column('author_org', sa.String(length=20), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_comments_case_id_cases')),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_comments_task_id_tasks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_comments'))
    )
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.create_index('ix_comments_case', ['case_id', 'id'], unique=False)

    op.create_table('urge_targets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('urge_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('unit', sa.String(length=40), nullable=False),
    sa.Column('org_code', sa.String(length=20), nullable=True),
    sa.Column('role', sa.String(length=30), nullable=True),
    sa.Column('task_id', sa.String(length=36), nullable=True),
    sa.Column('working_day', sa.String(length=10), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_urge_targets_case_id_cases')),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_urge_targets_task_id_tasks')),
    sa.ForeignKeyConstraint(['urge_id'], ['urges.id'], name=op.f('fk_urge_targets_urge_id_urges')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_urge_targets')),
    sa.UniqueConstraint('case_id', 'unit', 'working_day', name='uq_urge_targets_case_unit_day')
    )
    with op.batch_alter_table('urge_targets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_urge_targets_urge_id'), ['urge_id'], unique=False)



def downgrade():
    with op.batch_alter_table('urge_targets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_urge_targets_urge_id'))

    op.drop_table('urge_targets')
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_index('ix_comments_case')

    op.drop_table('comments')
    with op.batch_alter_table('urges', schema=None) as batch_op:
        batch_op.drop_index('ix_urges_case')

    op.drop_table('urges')
