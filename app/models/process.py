"""Deployed process versions: the BPMN and its forms, stored once per version, immutable."""
from sqlalchemy import JSON, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UTCDateTime, utcnow


class ProcessVersion(db.Model):
    __tablename__ = "process_versions"
    __table_args__ = (UniqueConstraint("process_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    bpmn: Mapped[str] = mapped_column(Text, deferred=True)
    forms: Mapped[dict] = mapped_column(JSON, default=dict, deferred=True)   # filename -> JSON Schema
    decisions: Mapped[dict | None] = mapped_column(JSON, deferred=True)     # .dmn filename -> its XML text
    checksum: Mapped[str] = mapped_column(String(64), index=True)
    start_role: Mapped[str | None] = mapped_column(String(200))   # the roles that may start it, comma-separated
    deployed_at = mapped_column(UTCDateTime, default=utcnow)
    deployed_by: Mapped[str] = mapped_column(String(50))
