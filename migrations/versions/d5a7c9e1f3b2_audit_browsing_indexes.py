"""the audit page browses events by actor, action and unit, newest first: one index for each, with
the id for the keyset

Revision ID: d5a7c9e1f3b2
Revises: c4d6e8f0a1b3
Create Date: 2026-12-02 07:00:00

"""
from alembic import op


revision = 'd5a7c9e1f3b2'
down_revision = 'c4d6e8f0a1b3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_audit_actor', 'audit_events', ['actor', 'id'], unique=False)
    op.create_index('ix_audit_action', 'audit_events', ['action', 'id'], unique=False)
    op.create_index('ix_audit_org', 'audit_events', ['org_code', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_audit_org', table_name='audit_events')
    op.drop_index('ix_audit_action', table_name='audit_events')
    op.drop_index('ix_audit_actor', table_name='audit_events')
