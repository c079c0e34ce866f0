"""Signed-in sessions: one row per browser login or API token, so that the server can end them."""
from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .org import User
from .types import UTCDateTime, utcnow


class LoginSession(db.Model):
    """A browser session (`kind` web) or an API token (`kind` api). Only the SHA-256 of its random
    secret is kept: the secret itself lives in the signed session cookie or in the client's
    Authorization header. Live while not revoked, before `expires_at` and, for a browser, seen
    within the idle limit."""
    __tablename__ = "login_sessions"
    __table_args__ = (Index("ix_login_sessions_user_live", "user_id", "revoked_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    last_seen_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    expires_at = mapped_column(UTCDateTime, nullable=False)
    ip: Mapped[str | None] = mapped_column(String(64))
    revoked_at = mapped_column(UTCDateTime, nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(50))
    user: Mapped[User] = relationship(lazy="joined")
