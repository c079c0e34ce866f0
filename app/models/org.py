"""The county organisation: org units (townships, departments, offices) and their users."""
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy import ForeignKey, JSON, String

from ..extensions import db
from .types import UTCDateTime, utcnow


class OrgUnit(db.Model):
    __tablename__ = "org_units"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(30), index=True)   # township, department, center, ...
    active: Mapped[bool] = mapped_column(default=True)
    # a grid, platform or stationed agency belongs to a township (its code); a stationed agency also
    # to its home county department (派驻机构: the township manages it, the department owns it)
    parent_code: Mapped[str | None] = mapped_column(String(20), index=True)
    home_code: Mapped[str | None] = mapped_column(String(20), index=True)
    platform_kind: Mapped[str | None] = mapped_column(String(20))    # a platform's: roles.PLATFORM_KINDS
    outline: Mapped[dict | None] = mapped_column(JSON)               # a township's or grid's GeoJSON geometry

    def to_dict(self):
        return {"code": self.code, "name": self.name}


class User(UserMixin, db.Model):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    email: Mapped[str | None] = mapped_column(String(200))     # where e-mail notifications go
    password_hash: Mapped[str] = mapped_column(String(255))
    roles: Mapped[list] = mapped_column(JSON, default=list)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at = mapped_column(UTCDateTime, default=utcnow)
    org: Mapped[OrgUnit | None] = relationship(lazy="joined")
    # the LoginSession this request is signed in with, and right after a login its secret (app.auth)
    login_session = None
    login_secret = None

    def get_id(self):
        """What Flask-Login keeps in the signed session cookie: the browser session's secret, never the
        user id, so that a session ended on the server ends its cookie too."""
        return self.login_secret

    @property
    def is_active(self):
        return self.active

    @property
    def org_code(self):
        return self.org.code if self.org else None

    def has_role(self, *roles):
        return any(r in self.roles for r in roles)
