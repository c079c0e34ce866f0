"""Passwords and API tokens."""
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from . import audit
from .database import write_transaction
from .extensions import db
from .models import User

# compared against when the username is unknown, so both failures take the same time
_DUMMY_HASH = generate_password_hash("not-a-password")


def hash_password(password):
    return generate_password_hash(password)


def authenticate(username, password):
    """The active user with these credentials, or None; both outcomes go on record."""
    user = None
    if isinstance(username, str) and isinstance(password, str) and len(username) <= 50:
        user = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    ok = user is not None and user.active and check_password_hash(user.password_hash, password or "")
    if user is None:
        check_password_hash(_DUMMY_HASH, "x")
    with write_transaction():
        if ok:
            audit.record("login", user.username, org_code=user.org_code)
        else:
            audit.record("login_failed", str(username)[:50] if username else "-")
    return user if ok else None


def sign_out(user):
    """A browser session ends on record (an API token simply expires)."""
    with write_transaction():
        audit.record("logout", user.username, org_code=user.org_code)


def _serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="huying-api-token")


def issue_token(user):
    return _serializer().dumps({"uid": user.id})


def user_from_token(token):
    try:
        payload = _serializer().loads(token, max_age=current_app.config["TOKEN_MAX_AGE_SECONDS"])
    except (BadSignature, SignatureExpired):
        return None
    user = db.session.get(User, payload.get("uid")) if isinstance(payload, dict) else None
    return user if user is not None and user.active else None
