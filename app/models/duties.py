"""The responsibility list (属地管理事项责任清单): immutable published versions of its items."""
from sqlalchemy import ForeignKey, JSON, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, utcnow


class ListVersion(db.Model):
    __tablename__ = "list_versions"
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(unique=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str | None] = mapped_column(Text)
    effective_date: Mapped[str | None] = mapped_column(String(10))
    published_at = mapped_column(UTCDateTime, default=utcnow)
    published_by: Mapped[str] = mapped_column(String(50), default="system")
    items = relationship("ListItem", order_by="ListItem.code", lazy="select")

    @property
    def effective_on(self):
        """The day the version takes effect: its own date, else the county's day it was published."""
        if self.effective_date or self.published_at is None:
            return self.effective_date
        from ..timefmt import local_zone
        return self.published_at.astimezone(local_zone()).date().isoformat()


class ListItem(db.Model):
    __tablename__ = "list_items"
    __table_args__ = (UniqueConstraint("list_version_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    list_version_id: Mapped[int] = mapped_column(ForeignKey("list_versions.id"), index=True)
    code: Mapped[str] = mapped_column(String(20))
    domain: Mapped[str] = mapped_column(String(50))
    name: Mapped[str] = mapped_column(String(200))
    primary_org: Mapped[str] = mapped_column(String(20))
    primary_duty: Mapped[str | None] = mapped_column(Text)
    supporting: Mapped[list] = mapped_column(JSON, default=list)
    supporting_duty: Mapped[str | None] = mapped_column(Text)
    legal_basis: Mapped[str | None] = mapped_column(Text)
    instructions: Mapped[str | None] = mapped_column(Text)
    limits: Mapped[dict] = mapped_column(JSON, default=dict)

    def to_dict(self):
        return {"code": self.code, "domain": self.domain, "name": self.name,
                "primary_org": self.primary_org, "supporting": list(self.supporting or []),
                "primary_duty": self.primary_duty, "supporting_duty": self.supporting_duty,
                "legal_basis": self.legal_basis, "instructions": self.instructions,
                "limits": self.limits or {}}


class AccountabilityReview(db.Model):
    """依单监管问责: an incident on a list item, the record the system found, and the decision."""
    __tablename__ = "accountability_reviews"
    id: Mapped[int] = mapped_column(primary_key=True)
    item_code: Mapped[str] = mapped_column(String(20))
    township: Mapped[str] = mapped_column(String(20))
    incident_date: Mapped[str] = mapped_column(String(10))
    description: Mapped[str] = mapped_column(Text)
    report: Mapped[dict] = mapped_column(JSON)          # what the system showed when the decision was taken
    proposal: Mapped[str] = mapped_column(String(20))   # exempt | review
    decision: Mapped[str] = mapped_column(String(20))   # exempt | accountable
    reason: Mapped[str] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(String(50))
    decided_at = mapped_column(UTCDateTime, default=utcnow)
