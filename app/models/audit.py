"""The audit trail: one append-only row per state change, written in the change's transaction."""
from sqlalchemy import ForeignKey, Index, JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UTCDateTime, utcnow


class AuditEvent(db.Model):
    __tablename__ = "audit_events"
    # the auditors' page browses by case, time, actor, action and unit, newest first (keyset on id)
    __table_args__ = (Index("ix_audit_case_id", "case_id", "id"), Index("ix_audit_at", "at"),
                      Index("ix_audit_actor", "actor", "id"), Index("ix_audit_action", "action", "id"),
                      Index("ix_audit_org", "org_code", "id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    at = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(50))
    action: Mapped[str] = mapped_column(String(50))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    task_id: Mapped[str | None] = mapped_column(String(36))
    task_name: Mapped[str | None] = mapped_column(String(200))
    org_code: Mapped[str | None] = mapped_column(String(20))
    ip: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    detail: Mapped[str | None] = mapped_column(Text)
    # the hash chain (全程留痕, tamper-evident): each event's hash covers its content and the previous hash
    seq: Mapped[int | None] = mapped_column(unique=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))


class AuditHead(db.Model):
    """The end of the hash chain: the last sequence number and hash (one row, locked by each writer)."""
    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(default=0)
    hash: Mapped[str] = mapped_column(String(64))


class AuditCheckpoint(db.Model):
    """A point up to which the hash chain was verified intact: the event's sequence number and hash.
    An incremental verification starts from the newest one (`audit.verify(since_checkpoint=True)`)."""
    __tablename__ = "audit_checkpoints"
    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column()
    hash: Mapped[str] = mapped_column(String(64))
    verified_at = mapped_column(UTCDateTime, default=utcnow)
    events_checked: Mapped[int] = mapped_column()
    incremental: Mapped[bool] = mapped_column(default=False)
    actor: Mapped[str | None] = mapped_column(String(50))
