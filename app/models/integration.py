"""What cases wait for from outside: messages and signals (a projection of the engine's waiting
events) and external tasks that integration workers fetch, lock and complete (CONTRACT §7)."""
from sqlalchemy import ForeignKey, Index, JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UTCDateTime, utcnow

EXTERNAL_STATUSES = ("open", "completed", "cancelled", "incident")


class CaseWait(db.Model):
    """A message or signal an open case waits for, by name (rewritten after every step)."""
    __tablename__ = "case_waits"
    __table_args__ = (Index("ix_case_waits_kind_name", "kind", "name", "case_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))           # message | signal
    name: Mapped[str] = mapped_column(String(200))
    element_id: Mapped[str | None] = mapped_column(String(100))
    since = mapped_column(UTCDateTime, default=utcnow)


class ExternalTask(db.Model):
    """A service task with a topic, from the moment it is ready: free, locked by a worker until
    `locked_until`, completed, cancelled (the case went on without it) or an incident (no retries
    left; the case is errored until a supervisor retries it). Never in anyone's inbox."""
    __tablename__ = "external_tasks"
    __table_args__ = (Index("ix_external_tasks_fetch", "status", "topic", "created_at"),
                      Index("ix_external_tasks_locked", "status", "locked_until"))
    id: Mapped[str] = mapped_column(String(36), primary_key=True)    # the engine's task id
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(100))
    element_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    topic: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="open")
    variables: Mapped[dict] = mapped_column(JSON, default=dict)     # the case's variables when it became ready
    worker_id: Mapped[str | None] = mapped_column(String(200))
    locked_until = mapped_column(UTCDateTime)
    available_at = mapped_column(UTCDateTime)          # after a failure with retries left: free again from here
    retries: Mapped[int | None]
    error_message: Mapped[str | None] = mapped_column(Text)
    created_at = mapped_column(UTCDateTime, default=utcnow)
    updated_at = mapped_column(UTCDateTime, default=utcnow)
    completed_at = mapped_column(UTCDateTime)
