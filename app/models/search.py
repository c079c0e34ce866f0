"""The search projection: one document per case, rewritten in the transaction of every change to it.

`texts` keeps the words as people wrote them ([field, label, text]), for the highlighted snippets.
The index itself is the database's own (see app/search.py and its migration): an FTS5 table
`search_terms` on SQLite, a GIN-indexed tsvector column `search_documents.terms` on PostgreSQL,
both over CJK bigrams computed here, so that neither engine's tokenizer decides what matches.
"""
from sqlalchemy import ForeignKey, JSON
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UTCDateTime, utcnow


class SearchDocument(db.Model):
    __tablename__ = "search_documents"
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True, autoincrement=False)
    texts: Mapped[list] = mapped_column(JSON, default=list)
    indexed_at = mapped_column(UTCDateTime, default=utcnow)
