"""Fixtures: a fresh app per test on SQLite (and on PostgreSQL when TEST_DATABASE_URL is set),
with the processes deployed and the demo organisation loaded, and API clients per demo user.

Tests marked `lifecycle` run twice more: with the app's in-process caches (parsed processes,
workflows, names) and with none, every request served as by a freshly started process — what a
restart or a second app process does to a case between two of its steps."""
import os
import shutil

import flask_migrate
import pytest
from sqlalchemy import Integer, select, text

from app import create_app, demo, processes
from app.config import TestConfig
from app.extensions import db

def _per_worker(url):
    """TEST_DATABASE_URL for this test process: under pytest-xdist each worker empties and migrates a
    database of its own (<name>_gw0, <name>_gw1 …), created beside the one named."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    base = make_url(url)
    name = f"{base.database}_{worker}"
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar():
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


PG_URL = _per_worker(os.environ.get("TEST_DATABASE_URL"))
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _make_app(uri, **extra):
    return create_app(dict({k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()},
                           SQLALCHEMY_DATABASE_URI=uri, **extra))


def _fill(app):
    with app.app_context():
        failed = [(name, errors) for name, _row, _created, errors in processes.deploy_directory() if errors]
        assert not failed, failed
        demo.load_demo()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """A migrated SQLite database with the processes and the demo data, copied for each test."""
    path = tmp_path_factory.mktemp("template") / "huying.db"
    app = _make_app(f"sqlite:///{path}")
    with app.app_context():
        flask_migrate.upgrade()
        db.engine.dispose()
    _fill(app)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_migrated():
    """The PostgreSQL test database, emptied and migrated once per session."""
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL is not set: PostgreSQL tests skipped")
    app = _make_app(PG_URL)
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        flask_migrate.upgrade()
        db.engine.dispose()
    return PG_URL


def _truncate_all(app):
    with app.app_context():
        tables = ", ".join(t.name for t in db.metadata.sorted_tables)
        with db.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(scope="session")
def pg_filled(pg_migrated):
    """The rows of every table once the processes are deployed and the demo loaded on PostgreSQL, read
    once per session: each test's database is emptied and given these rows back (`_restore`), the same
    as deploying and loading again, in a tenth of the time."""
    app = _make_app(pg_migrated)
    _truncate_all(app)
    _fill(app)
    with app.app_context():
        with db.engine.connect() as conn:
            rows = {t.name: [dict(r._mapping) for r in conn.execute(select(t).order_by(*t.primary_key.columns))]
                    for t in db.metadata.sorted_tables}
        db.session.remove()
        db.engine.dispose()
    return {name: got for name, got in rows.items() if got}


def _restore(app, rows):
    """Every table emptied, then given `rows` (pg_filled's), its id sequence moved past them."""
    with app.app_context():
        tables = db.metadata.sorted_tables
        with db.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {', '.join(t.name for t in tables)} RESTART IDENTITY CASCADE"))
            for t in tables:
                if t.name in rows:
                    conn.execute(t.insert(), rows[t.name])
                    for column in (c for c in t.primary_key.columns if isinstance(c.type, Integer)):
                        conn.execute(text(                      # NULL, harmlessly, where there is no sequence
                            f"SELECT setval(pg_get_serial_sequence(:t, :c), (SELECT max({column.name}) FROM {t.name}))"
                        ), {"t": t.name, "c": column.name})


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


def pytest_generate_tests(metafunc):
    chosen = any("process_caches" in str(m.args[0]) for m in metafunc.definition.iter_markers("parametrize"))
    if metafunc.definition.get_closest_marker("lifecycle") and "process_caches" in metafunc.fixturenames \
            and not chosen:
        metafunc.parametrize("process_caches", [True, False], ids=["warm", "fresh"])


@pytest.fixture
def process_caches():
    """Whether the app keeps what it built between requests (see the module's docstring)."""
    return True


@pytest.fixture
def database_url(backend, tmp_path, request):
    if backend == "sqlite":
        path = tmp_path / "huying.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    return request.getfixturevalue("pg_migrated")


@pytest.fixture
def app(database_url, backend, process_caches, request):
    app = _make_app(database_url, PROCESS_CACHES=process_caches)
    if backend == "postgresql":
        _restore(app, request.getfixturevalue("pg_filled"))
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


class ApiUser:
    """One demo user talking to /api/v1 with a bearer token, as an outside client would."""

    def __init__(self, client, username, password="demo"):
        self.client, self.username = client, username
        r = client.post("/api/v1/auth/token", json={"username": username, "password": password})
        assert r.status_code == 200, r.get_data(as_text=True)
        self.headers = {"Authorization": "Bearer " + r.json["token"]}

    def get(self, path, **kw):
        return self.client.get("/api/v1" + path, headers=self.headers, **kw)

    def post(self, path, json=None, **kw):
        return self.client.post("/api/v1" + path, json=json, headers=self.headers, **kw)

    def put(self, path, json=None, **kw):
        return self.client.put("/api/v1" + path, json=json, headers=self.headers, **kw)

    def inbox(self, case_id=None):
        r = self.get("/tasks?per_page=200" + (f"&case_id={case_id}" if case_id else ""))
        assert r.status_code == 200, r.json
        return r.json["items"]

    def task(self, case_id, name=None):
        """The single ready task of this user for the case (optionally by name)."""
        tasks = [t for t in self.inbox(case_id) if name is None or t["name"] == name]
        if len(tasks) != 1:    # say what the case is doing, so that a failure says why
            case = self.get(f"/cases/{case_id}").json or {}
            why = {k: case.get(k) for k in ("status", "error", "current_tasks")}
            raise AssertionError(f"{self.username}: expected one task {name or ''} in case {case_id}, got {tasks}; "
                                 f"the case: {why}")
        return tasks[0]

    def complete(self, task, data=None, expect=200):
        r = self.post(f"/tasks/{task['id']}/complete", json={"data": data or {}})
        assert r.status_code == expect, (r.status_code, r.get_data(as_text=True))
        return r.json


@pytest.fixture
def users(client):
    """users[name]: the demo user `name`, signed in once for the test."""
    class Users(dict):
        def __missing__(self, name):
            self[name] = ApiUser(client, name)
            return self[name]
    return Users()
