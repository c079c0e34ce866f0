"""Notifications: what a user is told in the app, how each user wants to be told, each unit's group
robot, and the outbox of messages to send by e-mail and to the group robots."""
from sqlalchemy import ForeignKey, Index, JSON, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UTCDateTime, utcnow


class Notification(db.Model):
    """One thing a user is told in the app (the bell and the notifications page)."""
    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_user", "user_id", "id"),
        Index("ix_notifications_unread", "user_id", "id", sqlite_where=text("read_at IS NULL"),
              postgresql_where=text("read_at IS NULL")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(30))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    task_id: Mapped[str | None] = mapped_column(String(36))
    text: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(200))     # a path of the app: the task, else the case
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    read_at = mapped_column(UTCDateTime)


class NotificationPreference(db.Model):
    """A user's choice for one kind on one channel; without a row the defaults hold (notifications.DEFAULTS)."""
    __tablename__ = "notification_preferences"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), primary_key=True)
    channel: Mapped[str] = mapped_column(String(10), primary_key=True)     # app | email
    enabled: Mapped[bool]


class UnitRobot(db.Model):
    """A unit's 企业微信 or 钉钉 group robot: its webhook, the 钉钉 signing secret, the kinds it posts."""
    __tablename__ = "unit_robots"
    org_code: Mapped[str] = mapped_column(String(20), primary_key=True)
    platform: Mapped[str] = mapped_column(String(10))          # wecom | dingtalk
    webhook_url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str | None] = mapped_column(String(200))
    kinds: Mapped[list] = mapped_column(JSON, default=list)
    enabled: Mapped[bool] = mapped_column(default=True)
    updated_at = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(50), default="system")


class OutboxMessage(db.Model):
    """A message to send, written in the transaction of the change it tells of, sent by the worker.

    status: pending (to send at next_attempt_at), sending (claimed by a worker until claimed_until),
    sent, failed (given up after notifications.MAX_ATTEMPTS attempts; an admin may retry it)."""
    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_status_id", "status", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(10))            # email | robot
    recipient: Mapped[str] = mapped_column(String(200))         # an e-mail address, or the unit's code
    kind: Mapped[str] = mapped_column(String(30))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    claimed_until = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    sent_at = mapped_column(UTCDateTime)
