"""Who is signed in: passwords, the limit on guessing them, browser sessions and API tokens.

Every login creates a `LoginSession` row. A browser's (kind `web`) is named by the secret Flask-Login
keeps in the signed session cookie, an API client's (kind `api`) by its bearer token; the table holds
only the SHA-256 of each secret. A session is live until it is revoked (logout, an admin's
revocation), expires (`TOKEN_MAX_AGE_SECONDS` for a token, `SESSION_MAX_HOURS` for a browser) or, for
a browser, goes unused for `SESSION_IDLE_MINUTES`; a cookie or token saved earlier then stops working.

Password guessing is limited with Flask-Limiter: failed attempts (answered 401), web and API
together, are counted per username tried (`LOGIN_LIMIT_PER_USER`) and per client address
(`LOGIN_LIMIT_PER_ADDRESS`). Only failures count, so nobody's successful logins use up anyone's
allowance; a client over a limit is answered 429 with Retry-After before its password is checked."""
import hashlib
import math
import secrets
import time
from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app, request
from flask_limiter.util import get_remote_address
from limits import parse_many
from sqlalchemy import delete, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from . import audit, policy
from .database import write_transaction
from .errors import NotFound
from .extensions import db, limiter
from .models import LoginSession, User
from .models.types import utcnow

# compared against when the username is unknown, so both failures take the same time: one per method
_DUMMY_HASHES = {}
KINDS = ("web", "api")
PURGE_AFTER = timedelta(days=30)      # ended sessions are kept this long for the admin's and auditors' sight


def hash_password(password):
    return generate_password_hash(password, method=_method())


def _method():
    return current_app.config.get("PASSWORD_HASH_METHOD") or "scrypt"


def _dummy_hash():
    method = _method()
    if method not in _DUMMY_HASHES:
        _DUMMY_HASHES[method] = generate_password_hash("not-a-password", method=method)
    return _DUMMY_HASHES[method]


# --- password strength: the one rule for the command line, the admin's pages and one's own change ---
PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 128
PASSWORD_RULES = (f"至少 {PASSWORD_MIN_LENGTH} 位，含大写字母、小写字母、数字、符号中的至少三类，"
                  "不含用户名，不用常见密码")
_COMMON_PASSWORDS = {"password", "passw0rd", "password1", "password123", "p@ssw0rd", "p@ssword", "qwerty123",
                     "admin123", "admin@123", "abc12345", "abcd1234", "1qaz2wsx", "1qaz@wsx", "qwer1234",
                     "a1234567", "aa123456", "abc@1234", "huying123", "huying@123", "demo1234"}


def password_problem(password, username=None):
    """What is wrong with a new password (a Chinese sentence), or None when it may be used: at least
    8 characters of at least three kinds (upper case, lower case, digits, symbols), not the username
    nor containing it, not a well-known password."""
    if not isinstance(password, str) or not password:
        return "请填写密码"
    if len(password) < PASSWORD_MIN_LENGTH:
        return f"密码至少 {PASSWORD_MIN_LENGTH} 位"
    if len(password) > PASSWORD_MAX_LENGTH:
        return f"密码不超过 {PASSWORD_MAX_LENGTH} 位"
    if any(ord(c) < 0x20 or ord(c) == 0x7f for c in password):
        return "密码不能含控制字符"
    kinds = sum((any(c.isupper() for c in password), any(c.islower() for c in password),
                 any(c.isdigit() for c in password), any(not c.isalnum() for c in password)))
    if kinds < 3:
        return "密码应含大写字母、小写字母、数字、符号中的至少三类"
    if username and len(username) >= 3 and username.casefold() in password.casefold():
        return "密码不能含用户名"
    if password.casefold() in _COMMON_PASSWORDS:
        return "这是常见密码，容易被猜中，请换一个"
    return None


def check_password(user, password):
    """Whether `password` is the user's current one (asked before they change it)."""
    return isinstance(password, str) and len(password) <= PASSWORD_MAX_LENGTH \
        and check_password_hash(user.password_hash, password)


def authenticate(username, password):
    """The active user with these credentials, or None; a failure goes on record (a success does when
    `sign_in` opens the session)."""
    user = None
    if isinstance(username, str) and isinstance(password, str) and len(username) <= 50:
        user = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    ok = user is not None and user.active and check_password_hash(user.password_hash, password or "")
    if user is None:
        check_password_hash(_dummy_hash(), "x")
    if not ok:
        with write_transaction():
            audit.record("login_failed", str(username)[:50] if username else "-")
    return user if ok else None


# --- sessions and tokens -----------------------------------------------------------------------
def _digest(secret):
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _lifetime(kind):
    cfg = current_app.config
    return timedelta(seconds=cfg["TOKEN_MAX_AGE_SECONDS"]) if kind == "api" else \
        timedelta(hours=cfg["SESSION_MAX_HOURS"])


def sign_in(user, kind):
    """Open a session of `kind` for a user `authenticate` returned, on record; returns its secret
    (the bearer token, or what the session cookie names) and sets `user.login_session`/`login_secret`."""
    assert kind in KINDS
    secret = secrets.token_urlsafe(32)
    now = utcnow()
    with write_transaction():
        db.session.execute(delete(LoginSession).where(LoginSession.user_id == user.id,
                                                      LoginSession.expires_at < now - PURGE_AFTER))
        row = LoginSession(kind=kind, secret_hash=_digest(secret), user_id=user.id, created_at=now,
                           last_seen_at=now, expires_at=now + _lifetime(kind), ip=request.remote_addr)
        db.session.add(row)
        audit.record("login", user.username, org_code=user.org_code, detail="接口令牌" if kind == "api" else "网页")
    user.login_session, user.login_secret = row, secret
    return secret


def session_user(secret, kind):
    """The user whose live session of `kind` this secret names, with `user.login_session` set; else None.
    Its last request time is kept to within a tenth of the idle limit (at most a minute)."""
    if not isinstance(secret, str) or not secret or len(secret) > 200:
        return None
    row = db.session.execute(select(LoginSession).where(LoginSession.secret_hash == _digest(secret),
                                                        LoginSession.kind == kind)).scalar_one_or_none()
    now = utcnow()
    if row is None or row.revoked_at is not None or row.expires_at <= now or not row.user.active:
        return None
    if kind == "web":
        idle = timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])
        if now - row.last_seen_at >= idle:
            return None
        if now - row.last_seen_at >= min(idle / 10, timedelta(minutes=1)):
            _touch(row, now)
    elif now - row.last_seen_at >= timedelta(minutes=1):
        _touch(row, now)
    row.user.login_session = row
    return row.user


def _touch(row, now):
    with write_transaction():
        db.session.execute(update(LoginSession).where(LoginSession.id == row.id).values(last_seen_at=now)
                           .execution_options(synchronize_session=False))
    row.last_seen_at = now


def user_from_token(token):
    return session_user(token, "api")


def sign_out(user):
    """End the session the user is signed in with (the browser's, or the token of this API call), on record."""
    row = user.login_session
    with write_transaction():
        if row is not None:
            db.session.execute(update(LoginSession).where(LoginSession.id == row.id, LoginSession.revoked_at.is_(None))
                               .values(revoked_at=utcnow(), revoked_by=user.username))
        audit.record("logout", user.username, org_code=user.org_code,
                     detail="接口令牌" if row is not None and row.kind == "api" else "网页")


def revoke_user(actor, username):
    """End every live session and token of a user (admin only), on record: {username, sessions, tokens}."""
    policy.require(actor, "user.revoke")
    user = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise NotFound(f"没有用户 {username}")
    with write_transaction():
        counts = end_sessions(user.id, actor.username)
        audit.record("sessions_revoked", actor.username, org_code=actor.org_code,
                     after={"username": user.username, **counts})
    return {"username": user.username, **counts}


def end_sessions(user_id, by, keep=None):
    """End the live sessions and tokens of a user inside the caller's transaction, but the session
    `keep` (the one a user changing their own password is signed in with): {sessions, tokens}."""
    now = utcnow()
    counts = {}
    for kind, key in (("web", "sessions"), ("api", "tokens")):
        stmt = update(LoginSession).where(LoginSession.user_id == user_id, LoginSession.kind == kind,
                                          LoginSession.revoked_at.is_(None), LoginSession.expires_at > now)
        if keep is not None:
            stmt = stmt.where(LoginSession.id != keep.id)
        counts[key] = db.session.execute(stmt.values(revoked_at=now, revoked_by=by)
                                         .execution_options(synchronize_session=False)).rowcount
    return counts


# --- login throttling --------------------------------------------------------------------------
def _login_name():
    """The username a login attempt names: the form's, or the JSON body's (None when it names none)."""
    name = request.form.get("username")
    if name is None and request.is_json:
        try:
            body = request.get_json(silent=True)
        except RecursionError:
            body = None
        name = body.get("username") if isinstance(body, dict) else None
    return name if isinstance(name, str) else None


def _tried_username():
    """The per-user limit's key: the username tried, folded (so `Admin` and `admin` count together)."""
    name = _login_name()
    return (name.strip().casefold()[:50] or "-") if name else "-"


def _failed(response):
    return response.status_code == 401


limit_login_per_user = limiter.shared_limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_USER"], scope="login-user", key_func=_tried_username,
    methods=["POST"], deduct_when=_failed)
limit_login_per_address = limiter.shared_limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"], scope="login-address", key_func=get_remote_address,
    methods=["POST"], deduct_when=_failed)
THROTTLED_BY = {"login-user": "用户名", "login-address": "地址"}


def check_login_limits(config):
    """Refuse to start on a limit Flask-Limiter could not read (it would otherwise skip it, unlimited)."""
    for key in ("LOGIN_LIMIT_PER_USER", "LOGIN_LIMIT_PER_ADDRESS"):
        try:
            if not parse_many(config[key]):
                raise ValueError("no limit given")
        except ValueError as e:
            raise ValueError(f"{key} = {config[key]!r} is not a rate limit such as '10/minute;50/hour': {e}") from None


def throttled(error):
    """The seconds until a throttled login may be tried again; the refusal goes on record once per
    throttled username or address and window (an attacker's flood writes no flood of events)."""
    current = limiter.current_limit
    retry_after = max(1, math.ceil(current.window.reset_time - time.time())) if current else 60
    if current is not None:
        window = type(current.limit)(1, current.limit.multiples)
        if limiter.limiter.hit(window, "login-throttled", current.key):
            by = getattr(error.limit, "scope", "")
            with write_transaction():
                audit.record("login_throttled", (_login_name() or "-")[:50],
                             detail=f"登录失败过多（按{THROTTLED_BY.get(by, by)}）：{current.limit}",
                             after={"by": by, "limit": str(current.limit), "retry_after": retry_after})
    return retry_after


# --- where a login may lead ---------------------------------------------------------------------
def safe_next(target):
    """`target` when it is a path on this site (printable ASCII, no backslash, no scheme or host),
    else None: what a browser reads as another site (`//evil`, `/\\evil`, `/%09/evil` whose tab
    browsers drop) never leads there."""
    if not isinstance(target, str) or not 0 < len(target) <= 2000:
        return None
    if any(not 0x21 <= ord(c) <= 0x7e for c in target) or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target
