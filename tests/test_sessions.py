"""Sessions the server can end: a browser's ends at logout (a cookie saved before does not work
after), after inactivity and after its longest life; an API token expires, is revoked by its
logout, and an admin ends all of a user's. Without SECRET_KEY one key is kept under instance/, so
restarts and several processes accept each other's cookies."""
import hashlib
import os
import stat
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from app import create_app
from app.config import instance_secret_key
from app.extensions import db
from app.models import AuditEvent, LoginSession, User
from app.models.types import utcnow
from helpers import csrf_token, web_login

ROOT = Path(__file__).resolve().parent.parent


def cookie_of(client):
    return client.get_cookie("session").value


def client_with_cookie(app, value):
    client = app.test_client()
    client.set_cookie("session", value)
    return client


def signed_in(client):
    """Whether the client's cookie opens the inbox (else it is sent to /login)."""
    r = client.get("/")
    assert r.status_code in (200, 302), r.status_code
    return r.status_code == 200


def sessions_of(app, username, kind):
    with app.app_context():
        return db.session.execute(select(LoginSession).join(User).where(User.username == username,
                                                                        LoginSession.kind == kind)
                                  .order_by(LoginSession.id)).scalars().all()


def shift(app, row_id, **deltas):
    """Move a session's times into the past, as if that much time had gone by."""
    with app.app_context():
        row = db.session.get(LoginSession, row_id)
        values = {column: getattr(row, column) - delta for column, delta in deltas.items()}
        db.session.execute(update(LoginSession).where(LoginSession.id == row_id).values(**values))
        db.session.commit()


def last_event(app, action):
    with app.app_context():
        return db.session.execute(select(AuditEvent).where(AuditEvent.action == action)
                                  .order_by(AuditEvent.id.desc()).limit(1)).scalar_one()


def token_of(client, username):
    r = client.post("/api/v1/auth/token", json={"username": username, "password": "demo"})
    assert r.status_code == 200
    return r.json


def bearer(token):
    return {"Authorization": "Bearer " + token}


# --- browser sessions ------------------------------------------------------------------------------
def test_a_session_cookie_saved_before_logout_does_not_work_after_it(app):
    browser = web_login(app, "center")
    saved = cookie_of(browser)
    assert signed_in(client_with_cookie(app, saved))
    token = csrf_token(browser.get("/").get_data(as_text=True))
    assert browser.post("/logout", data={"csrf_token": token}).status_code == 302
    assert not signed_in(browser)
    assert not signed_in(client_with_cookie(app, saved))
    row, = sessions_of(app, "center", "web")
    assert row.revoked_at is not None and row.revoked_by == "center"
    assert last_event(app, "logout").actor == "center"


def test_logging_out_ends_that_session_only(app):
    first, second = web_login(app, "center"), web_login(app, "center")
    first.post("/logout", data={"csrf_token": csrf_token(first.get("/").get_data(as_text=True))})
    assert not signed_in(first)
    assert signed_in(second)


def test_the_cookie_names_a_session_not_the_user(app):
    browser = web_login(app, "center")
    row, = sessions_of(app, "center", "web")
    with app.app_context():
        user_id = db.session.execute(select(User.id).where(User.username == "center")).scalar_one()
    serializer = app.session_interface.get_signing_serializer(app)
    data = serializer.loads(cookie_of(browser))
    assert data["_user_id"] != str(user_id)
    assert hashlib.sha256(data["_user_id"].encode()).hexdigest() == row.secret_hash
    # a cookie made with the key but naming a user id, as before sessions were kept, signs nobody in
    forged = serializer.dumps(dict(data, _user_id=str(user_id)))
    assert not signed_in(client_with_cookie(app, forged))


def test_a_session_unused_for_longer_than_the_idle_limit_ends(app):
    browser = web_login(app, "town_a")
    row, = sessions_of(app, "town_a", "web")
    shift(app, row.id, last_seen_at=timedelta(minutes=61))            # the default limit: 60 minutes
    assert not signed_in(browser)


def test_a_session_in_use_stays_and_notes_its_last_request(app):
    app.config.update(SESSION_IDLE_MINUTES=30)
    browser = web_login(app, "town_a")
    row, = sessions_of(app, "town_a", "web")
    shift(app, row.id, last_seen_at=timedelta(minutes=29))
    assert signed_in(browser)
    seen, = sessions_of(app, "town_a", "web")
    assert utcnow() - seen.last_seen_at < timedelta(minutes=1)
    shift(app, row.id, last_seen_at=timedelta(minutes=29))            # each request restarts the idle time
    assert signed_in(browser)


def test_a_session_ends_after_its_longest_life_however_busy(app):
    browser = web_login(app, "town_a")
    row, = sessions_of(app, "town_a", "web")
    assert row.expires_at - row.created_at == timedelta(hours=12)     # the default SESSION_MAX_HOURS
    shift(app, row.id, expires_at=timedelta(hours=12, seconds=1))
    assert not signed_in(browser)


def test_a_deactivated_users_session_and_token_stop_working(app):
    browser = web_login(app, "town_b")
    token = token_of(app.test_client(), "town_b")["token"]
    with app.app_context():
        db.session.execute(update(User).where(User.username == "town_b").values(active=False))
        db.session.commit()
    assert not signed_in(browser)
    assert app.test_client().get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_the_migrations_build_the_tables_the_models_describe(app):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    with app.app_context(), db.engine.connect() as conn:
        # the full-text index is the migration's alone: SQLite's FTS5 table (and its shadow tables), PostgreSQL's
        # tsvector columns and their GIN indexes
        index_only = {"terms", "title_terms", "ix_search_documents_terms", "ix_search_documents_title_terms"}
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": lambda name, kind, _p: not (
            (kind == "table" and name.startswith("search_terms")) or (kind in ("column", "index") and name in index_only))})
        assert compare_metadata(context, db.metadata) == []


# --- API tokens -----------------------------------------------------------------------------------------
def test_a_token_expires_after_its_configured_life(app, client):
    issued = token_of(client, "center")
    row, = sessions_of(app, "center", "api")
    assert row.expires_at - row.created_at == timedelta(hours=8)      # the default TOKEN_MAX_AGE_SECONDS
    assert abs(datetime.fromisoformat(issued["expires_at"]) - row.expires_at) < timedelta(seconds=1)
    assert client.get("/api/v1/me", headers=bearer(issued["token"])).status_code == 200
    shift(app, row.id, expires_at=timedelta(hours=8))
    r = client.get("/api/v1/me", headers=bearer(issued["token"]))
    assert r.status_code == 401 and r.json["error"] == "unauthorized"
    app.config.update(TOKEN_MAX_AGE_SECONDS=600)
    token_of(client, "center")
    newest = sessions_of(app, "center", "api")[-1]
    assert newest.expires_at - newest.created_at == timedelta(seconds=600)


def test_only_a_hash_of_a_token_is_kept(app, client):
    token = token_of(client, "center")["token"]
    row, = sessions_of(app, "center", "api")
    assert row.secret_hash == hashlib.sha256(token.encode()).hexdigest()
    with app.app_context():
        stored = db.session.execute(select(LoginSession.__table__)).all()
    assert not any(token in str(value) for r in stored for value in r)


def test_logout_revokes_the_token_it_is_called_with(app, client):
    first, second = token_of(client, "dept_zf")["token"], token_of(client, "dept_zf")["token"]
    r = client.post("/api/v1/auth/logout", headers=bearer(first))
    assert r.status_code == 204
    assert client.get("/api/v1/me", headers=bearer(first)).status_code == 401
    assert client.post("/api/v1/auth/logout", headers=bearer(first)).status_code == 401
    assert client.get("/api/v1/me", headers=bearer(second)).status_code == 200
    e = last_event(app, "logout")
    assert (e.actor, e.detail) == ("dept_zf", "接口令牌")


def test_an_admin_ends_every_session_and_token_of_a_user(app, client):
    tokens = [token_of(client, "center")["token"] for _ in range(2)]
    browser = web_login(app, "center")
    other = token_of(client, "supervisor")["token"]
    admin = token_of(client, "admin")["token"]
    r = client.post("/api/v1/users/center/revoke", headers=bearer(admin))
    assert r.status_code == 200
    assert r.json == {"username": "center", "sessions": 1, "tokens": 2}
    assert all(client.get("/api/v1/me", headers=bearer(t)).status_code == 401 for t in tokens)
    assert not signed_in(browser)
    assert client.get("/api/v1/me", headers=bearer(other)).status_code == 200
    e = last_event(app, "sessions_revoked")
    assert (e.actor, e.after) == ("admin", {"username": "center", "sessions": 1, "tokens": 2})
    assert all(row.revoked_by == "admin" for row in sessions_of(app, "center", "api"))
    assert client.get("/api/v1/me", headers=bearer(token_of(client, "center")["token"])).status_code == 200


def test_only_an_admin_ends_another_users_sessions(app, client):
    supervisor = token_of(client, "supervisor")["token"]
    r = client.post("/api/v1/users/center/revoke", headers=bearer(supervisor))
    assert r.status_code == 403 and r.json["error"] == "forbidden"
    assert last_event(app, "permission_refused").actor == "supervisor"
    admin = token_of(client, "admin")["token"]
    r = client.post("/api/v1/users/nobody/revoke", headers=bearer(admin))
    assert r.status_code == 404 and r.json["error"] == "not_found"
    assert client.post("/api/v1/users/center/revoke").status_code == 401


def test_sessions_ended_long_ago_are_cleared_at_the_users_next_login(app, client):
    token_of(client, "leader")
    old, = sessions_of(app, "leader", "api")
    shift(app, old.id, expires_at=timedelta(days=31))
    token_of(client, "leader")
    assert [r.secret_hash for r in sessions_of(app, "leader", "api")] != [old.secret_hash]
    assert len(sessions_of(app, "leader", "api")) == 1


def test_the_openapi_document_describes_tokens_logout_and_revocation(client):
    spec = client.get("/api/v1/openapi.json").json
    token = spec["paths"]["/api/v1/auth/token"]["post"]["responses"]
    assert set(token) >= {"200", "401", "429"}
    assert "Retry-After" in token["429"]["headers"]
    assert "expires_at" in spec["components"]["schemas"]["IssuedToken"]["properties"]
    assert "204" in spec["paths"]["/api/v1/auth/logout"]["post"]["responses"]
    revoke = spec["paths"]["/api/v1/users/{username}/revoke"]["post"]["responses"]
    assert set(revoke) >= {"200", "403", "404"}
    assert set(spec["components"]["schemas"]["Revoked"]["properties"]) == {"username", "sessions", "tokens"}


# --- the key without SECRET_KEY ------------------------------------------------------------------------
def app_without_secret_key(app, key_file):
    return create_app(dict(app.config, SECRET_KEY=None, SECRET_KEY_FILE=str(key_file)))


@pytest.mark.parametrize("backend", ["sqlite"])
def test_without_secret_key_one_key_kept_under_instance_serves_every_process_and_restart(app, tmp_path):
    key_file = tmp_path / "instance" / "secret_key"
    first = app_without_secret_key(app, key_file)
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    key = key_file.read_text().strip()
    assert len(key) == 64 and first.config["SECRET_KEY"] == key
    second = app_without_secret_key(app, key_file)                   # another process on the same instance/
    browser = web_login(first, "center")
    token = token_of(first.test_client(), "center")["token"]
    assert signed_in(client_with_cookie(second, cookie_of(browser)))
    assert second.test_client().get("/api/v1/me", headers=bearer(token)).status_code == 200
    restarted = app_without_secret_key(app, key_file)
    assert restarted.config["SECRET_KEY"] == key
    assert signed_in(client_with_cookie(restarted, cookie_of(browser)))
    assert sorted(os.listdir(key_file.parent)) == ["secret_key"]


def test_processes_starting_together_agree_on_one_key(tmp_path):
    key_file = tmp_path / "instance" / "secret_key"
    script = "import sys; from app.config import instance_secret_key; print(instance_secret_key(sys.argv[1]))"
    procs = [subprocess.Popen([sys.executable, "-c", script, str(key_file)], cwd=ROOT, stdout=subprocess.PIPE,
                              text=True, env=dict(os.environ, PYTHONPATH=str(ROOT))) for _ in range(6)]
    keys = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert all(p.returncode == 0 for p in procs)
    assert keys == {key_file.read_text().strip()}
    assert sorted(os.listdir(key_file.parent)) == ["secret_key"]


def test_an_empty_key_file_is_refused_rather_than_used(tmp_path):
    key_file = tmp_path / "secret_key"
    key_file.write_text("")
    with pytest.raises(RuntimeError, match="empty"):
        instance_secret_key(str(key_file))

