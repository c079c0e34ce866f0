"""Write transactions that hold up under concurrency, on SQLite and PostgreSQL alike.

Every state change runs in `write_transaction()`: on SQLite it begins with BEGIN IMMEDIATE, so
the database's write lock is taken before anything is read and two writers never interleave; on
PostgreSQL the case row is locked with SELECT ... FOR UPDATE (see `lock_case`). The case's
`row_version` column is checked on every update as well.
"""
import contextlib
import contextvars

from sqlalchemy import event, select

from .extensions import db

_immediate = contextvars.ContextVar("huying_write_tx", default=False)


def configure_engine(engine):
    """Pragmas and transaction control for SQLite; nothing to do for PostgreSQL."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None   # SQLAlchemy emits BEGIN itself (below)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _immediate.get() else "BEGIN")


@contextlib.contextmanager
def write_transaction():
    """One transaction for one state change; commits on success, rolls back on any error.

    Whatever the request read before is expired: inside the transaction every row is read again,
    after the lock, so a view's earlier read of a task is never trusted under it."""
    session = db.session()
    if session.in_transaction():
        session.commit()       # end the read transaction the request began
    session.expire_all()
    token = _immediate.set(True)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        _immediate.reset(token)


def lock_case(case_id, skip_locked=False):
    """The case row, locked for this transaction and read afresh.

    With skip_locked, None when another transaction holds it (PostgreSQL's SKIP LOCKED: two
    schedulers sweeping at once each take different cases)."""
    from .models import Case
    stmt = (select(Case).where(Case.id == case_id).with_for_update(skip_locked=skip_locked)
            .execution_options(populate_existing=True))
    return db.session.execute(stmt).scalar_one_or_none()
