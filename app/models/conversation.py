"""The conversation on a case: remarks (留言) by those taking part, and the calling township's urges
(催办) of the units holding its call. Rows of their own, on record in the audit trail as well."""
from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UTCDateTime, utcnow

MAX_TEXT = 2000     # characters of a remark or an urge


class Comment(db.Model):
    """留言: a remark on a case, optionally about one of its steps."""
    __tablename__ = "comments"
    __table_args__ = (Index("ix_comments_case", "case_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    task_id: Mapped[str | None] = mapped_column(ForeignKey("tasks.id"))
    author: Mapped[str] = mapped_column(String(50))
    author_org: Mapped[str | None] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)      # as written; searched by words (issue 11, search)
    created_at = mapped_column(UTCDateTime, default=utcnow)


class Urge(db.Model):
    """催办 by the calling township: one request, with its text, addressed to the units in UrgeTarget."""
    __tablename__ = "urges"
    __table_args__ = (Index("ix_urges_case", "case_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    urged_by: Mapped[str] = mapped_column(String(50))
    urged_org: Mapped[str | None] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    working_day: Mapped[str] = mapped_column(String(10))    # YYYY-MM-DD, county time: the working day it counts for
    created_at = mapped_column(UTCDateTime, default=utcnow)


class UrgeTarget(db.Model):
    """One unit an urge reached, with the task it held: at most one per case, unit and working day."""
    __tablename__ = "urge_targets"
    __table_args__ = (UniqueConstraint("case_id", "unit", "working_day", name="uq_urge_targets_case_unit_day"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    urge_id: Mapped[int] = mapped_column(ForeignKey("urges.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    unit: Mapped[str] = mapped_column(String(40))      # the org code, or the role of a task open to the whole role
    org_code: Mapped[str | None] = mapped_column(String(20))
    role: Mapped[str | None] = mapped_column(String(30))
    task_id: Mapped[str | None] = mapped_column(ForeignKey("tasks.id"))
    working_day: Mapped[str] = mapped_column(String(10))
