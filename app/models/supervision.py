"""Supervision: the working-day calendar, settings an admin edits, extension requests and flags."""
from sqlalchemy import ForeignKey, Index, JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UTCDateTime, utcnow


class CalendarDay(db.Model):
    """A date that is not what its weekday says: a public holiday, or a make-up working day (调休)."""
    __tablename__ = "calendar_days"
    day: Mapped[str] = mapped_column(String(10), primary_key=True)     # YYYY-MM-DD, county time
    kind: Mapped[str] = mapped_column(String(10))                      # holiday | workday
    name: Mapped[str] = mapped_column(String(100), default="")


class Setting(db.Model):
    """Configuration an admin changes at run time (deadline limits, rework cap, ...)."""
    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[dict] = mapped_column(JSON)
    updated_at = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(50), default="system")


class ExtensionRequest(db.Model):
    """申请延期: a department asks for more working days on a task; the centre decides."""
    __tablename__ = "extension_requests"
    __table_args__ = (Index("ix_extensions_status", "status", "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    org_code: Mapped[str | None] = mapped_column(String(20))
    requested_by: Mapped[str] = mapped_column(String(50))
    days: Mapped[int]
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="pending")   # pending, approved, refused
    old_due_at = mapped_column(UTCDateTime)
    new_due_at = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(50))
    decided_at = mapped_column(UTCDateTime)
    opinion: Mapped[str | None] = mapped_column(Text)
    created_at = mapped_column(UTCDateTime, default=utcnow)


class Flag(db.Model):
    """A supervisor's finding on a unit: 乱呼叫 / 应呼未呼 (townships), 呼叫不响应 / 响应不作为 (departments)."""
    __tablename__ = "flags"
    __table_args__ = (Index("ix_flags_org", "org_code", "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    org_code: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(30))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    evidence: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(50))
    created_at = mapped_column(UTCDateTime, default=utcnow)
