"""A database that cannot answer is a 503 (JSON with Retry-After for the API and /healthz, a Chinese
page for the browser), and the same app serves again by itself once the database is back.

On PostgreSQL the app talks to the real database through a TCP relay of this test, which the test
cuts (every connection dropped, new ones closed at once) and restores; on SQLite the database file
goes missing, or another process holds the write lock past the busy timeout."""
import os
import socket
import sqlite3
import threading

import pytest
from sqlalchemy import event
from sqlalchemy.engine import make_url

from app.extensions import db
from conftest import PG_URL, _fill, _make_app, _truncate_all
from helpers import CALL, web_login

UNAVAILABLE = "数据库暂时无法访问"


class Relay:
    """127.0.0.1:<port> relayed to PostgreSQL's port, byte for byte, until cut()."""

    def __init__(self, target):
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = True
        self.sockets, self.lock = set(), threading.Lock()
        self.accepting = threading.Thread(target=self._accept, daemon=True)
        self.accepting.start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return          # closed
            if not self.up:
                client.close()  # the database is "down": the connection ends before a byte is answered
                continue
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.sockets |= {client, upstream}
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                self._drop(s)

    def _drop(self, s):
        with self.lock:
            self.sockets.discard(s)
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()

    def cut(self):
        self.up = False
        with self.lock:
            open_sockets = list(self.sockets)
        for s in open_sockets:
            self._drop(s)

    def restore(self):
        self.up = True

    def close(self):
        self.cut()
        self.listener.shutdown(socket.SHUT_RDWR)   # wakes the blocked accept(), which close() alone does not
        self.listener.close()
        self.accepting.join()


@pytest.fixture
def relayed_app(pg_migrated):
    """The app on the test's PostgreSQL database, reached only through a Relay."""
    url = make_url(pg_migrated)
    relay = Relay((url.host or "127.0.0.1", url.port or 5432))
    app = _make_app(url.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False))
    _truncate_all(app)
    _fill(app)
    yield app, relay
    relay.close()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _token(client, username="town_a"):
    r = client.post("/api/v1/auth/token", json={"username": username, "password": "demo"})
    assert r.status_code == 200, r.get_data(as_text=True)
    return {"Authorization": "Bearer " + r.json["token"]}


def _assert_api_unavailable(r):
    assert r.status_code == 503, (r.status_code, r.get_data(as_text=True)[:300])
    assert r.json == {"error": "service_unavailable", "message": r.json["message"]} and UNAVAILABLE in r.json["message"]
    assert int(r.headers["Retry-After"]) > 0


def _serves(app, client, headers, browser):
    assert client.get("/healthz").json == {"status": "ok"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert browser.get("/").status_code == 200


@pytest.mark.postgres
def test_postgresql_outage_answers_503_everywhere_and_recovers_by_itself(relayed_app):
    app, relay = relayed_app
    client = app.test_client()
    headers = _token(client)
    browser = web_login(app, "town_a")
    _serves(app, client, headers, browser)

    relay.cut()
    health = client.get("/healthz")
    assert health.status_code == 503 and health.json["status"] == "unavailable"
    assert int(health.headers["Retry-After"]) > 0
    for _ in range(3):          # every request of an outage, not only the first that finds the pool dead
        _assert_api_unavailable(client.get("/api/v1/me", headers=headers))
    _assert_api_unavailable(client.get("/api/v1/tasks", headers=headers))
    _assert_api_unavailable(client.post("/api/v1/cases", json={"process_id": "call_response", "data": CALL},
                                        headers=headers))
    _assert_api_unavailable(client.post("/api/v1/auth/token", json={"username": "town_a", "password": "demo"}))
    for page in ("/", "/cases", "/list"):
        r = browser.get(page)
        assert r.status_code == 503 and r.mimetype == "text/html", (page, r.status_code)
        assert UNAVAILABLE in r.get_data(as_text=True) and "503" in r.get_data(as_text=True)

    relay.restore()
    _serves(app, client, headers, browser)
    r = client.post("/api/v1/cases", json={"process_id": "call_response", "data": CALL}, headers=headers)
    assert r.status_code == 201, r.get_data(as_text=True)
    assert client.get(f"/api/v1/cases/{r.json['id']}", headers=headers).json["title"] == CALL["title"]

    relay.cut()                 # and a second outage is found out and recovered from alike
    _assert_api_unavailable(client.get("/api/v1/me", headers=headers))
    relay.restore()
    assert client.get("/api/v1/me", headers=headers).json["username"] == "town_a"


def _sqlite_path(app):
    return make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_missing_sqlite_database_is_a_503_until_it_is_back(app):
    client = app.test_client()
    headers = _token(client)
    path = _sqlite_path(app)
    with app.app_context():
        db.engine.dispose()     # the file is opened afresh from here on
    os.rename(path, path + ".away")
    os.mkdir(path)              # what stands there now cannot be opened as a database
    try:
        assert client.get("/healthz").status_code == 503
        _assert_api_unavailable(client.get("/api/v1/me", headers=headers))
    finally:
        os.rmdir(path)
        os.rename(path + ".away", path)
    assert client.get("/healthz").json == {"status": "ok"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_write_locked_out_past_the_busy_timeout_is_a_503_and_then_goes_through(app):
    """Another process holds SQLite's write lock longer than the app waits: the write is answered 503
    with Retry-After (reads go on in WAL mode), and goes through once the lock is released."""
    client = app.test_client()
    headers = _token(client)
    with app.app_context():
        @event.listens_for(db.engine, "connect")
        def _short_busy_timeout(dbapi_conn, _record):     # after the app's own pragmas: wait 0.2 s, not 30
            dbapi_conn.execute("PRAGMA busy_timeout=200")
        db.engine.dispose()
    other = sqlite3.connect(_sqlite_path(app), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        _assert_api_unavailable(client.post("/api/v1/cases", json={"process_id": "call_response", "data": CALL},
                                            headers=headers))
        assert client.get("/api/v1/me", headers=headers).status_code == 200
        assert client.get("/healthz").status_code == 200
    finally:
        other.execute("ROLLBACK")
        other.close()
    r = client.post("/api/v1/cases", json={"process_id": "call_response", "data": CALL}, headers=headers)
    assert r.status_code == 201, r.get_data(as_text=True)
    assert client.get("/api/v1/cases", headers=headers).json["total"] == 1
