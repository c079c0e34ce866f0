"""search: one document per case, with its full-text index (FTS5 on SQLite, GIN tsvector on PostgreSQL)

Revision ID: b3c5d7e9f1a2
Revises: b3e91f0c7a21
Create Date: 2026-12-02 01:10:00

The documents of cases that exist already are written by `flask huying reindex` (make run's
`flask huying setup` runs it when the index is short of cases).
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


revision = 'b3c5d7e9f1a2'
down_revision = 'b3e91f0c7a21'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('search_documents',
    sa.Column('case_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('texts', sa.JSON(), nullable=False),
    sa.Column('indexed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_search_documents_case_id_cases')),
    sa.PrimaryKeyConstraint('case_id', name=op.f('pk_search_documents'))
    )
    with op.batch_alter_table('case_participants', schema=None) as batch_op:
        batch_op.create_index('ix_participants_case_org_role', ['case_id', 'org_code', 'role'], unique=False)
    if op.get_bind().dialect.name == 'sqlite':
        # the terms are cut by app/search.py; unicode61 only splits them at the spaces between them
        op.execute("CREATE VIRTUAL TABLE search_terms USING fts5(number, title, body, meta, "
                   "tokenize = 'unicode61 remove_diacritics 0')")
    else:
        # terms: the whole document; title_terms: its number and title alone, the first rank of a broad search
        op.add_column('search_documents', sa.Column('terms', postgresql.TSVECTOR(), nullable=True))
        op.add_column('search_documents', sa.Column('title_terms', postgresql.TSVECTOR(), nullable=True))
        op.create_index('ix_search_documents_terms', 'search_documents', ['terms'], postgresql_using='gin')
        op.create_index('ix_search_documents_title_terms', 'search_documents', ['title_terms'], postgresql_using='gin')


def downgrade():
    with op.batch_alter_table('case_participants', schema=None) as batch_op:
        batch_op.drop_index('ix_participants_case_org_role')
    if op.get_bind().dialect.name == 'sqlite':
        op.execute("DROP TABLE search_terms")
    op.drop_table('search_documents')
