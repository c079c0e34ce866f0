"""cases by creation time: a search for a month reads the calls made in it, newest first; on
PostgreSQL each case's participations in its search terms, so a township's search narrows to its
calls inside the GIN index

Revision ID: c4d6e8f0a1b3
Revises: 2c48e79a9c36
Create Date: 2026-12-02 02:20:00

"""
from alembic import op


revision = 'c4d6e8f0a1b3'
down_revision = '2c48e79a9c36'
branch_labels = None
depends_on = None


KEYS = """
    SELECT case_id, array_to_tsvector(array_agg(DISTINCT CASE WHEN org_code IS NOT NULL THEN '@o:' || org_code
                                                          ELSE '@r:' || role END)) AS keys
    FROM case_participants WHERE org_code IS NOT NULL OR role IS NOT NULL GROUP BY case_id
"""


def upgrade():
    op.create_index('ix_cases_created', 'cases', ['created_at', 'id'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        # the terms kept in the row (compressed), the texts moved out to TOAST instead: a match is read
        # without a TOAST lookup (a row of all three is over the 2 kB at which PostgreSQL moves the
        # largest, the terms, out)
        op.execute("ALTER TABLE search_documents ALTER COLUMN terms SET STORAGE MAIN, "
                   "ALTER COLUMN title_terms SET STORAGE MAIN")
        # what search.reindex now writes (scope.participation_key); it rewrites every row, now stored so
        op.execute(f"UPDATE search_documents d SET terms = coalesce(d.terms, ''::tsvector) || k.keys "
                   f"FROM ({KEYS}) k WHERE k.case_id = d.case_id")


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("ALTER TABLE search_documents ALTER COLUMN terms SET STORAGE EXTENDED, "
                   "ALTER COLUMN title_terms SET STORAGE EXTENDED")
        op.execute("UPDATE search_documents d SET terms = ts_delete(d.terms, k.keys) FROM (SELECT case_id, "
                   "array_agg(DISTINCT CASE WHEN org_code IS NOT NULL THEN '@o:' || org_code ELSE '@r:' || role END) "
                   "AS keys FROM case_participants WHERE org_code IS NOT NULL OR role IS NOT NULL GROUP BY case_id) k "
                   "WHERE k.case_id = d.case_id")
    op.drop_index('ix_cases_created', table_name='cases')
