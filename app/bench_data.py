"""`flask huying bench-data`: a province's volume for the bench, in minutes, on SQLite or PostgreSQL.

Closed calls are the demo history's stories (`demo_history`: each department's and township's
habits, deadlines kept and missed, reminders, supervision orders, reworks, ratings), a pool of a few
thousand of them played once, then copied: each copy moved back by whole weeks (so working days stay
working days and office hours office hours) to its place in the months asked for, with ids of its
own. Each copy is written as the engine leaves a finished call: its case row without engine state,
its completed task rows, participants, flags and audit events, the events chained onto the trail's
head in the order they happened within each batch, so `flask audit verify` holds. Open calls are
projection rows in the states the inbox, the case list and the supervisor's board read: waiting for
受理, or signed for and being handled by two departments, 30 % of them near or past their deadline.

Writes go in batches of `BATCH` calls, each one transaction with bulk inserts (rows, not objects).
Copies are not put in the search index (`flask huying reindex` would take hours at this volume;
bench/search.py measures search on data of its own)."""
import json
import random
import time
import uuid
from types import SimpleNamespace
from datetime import datetime, timedelta, timezone

import orjson
from sqlalchemy import JSON, func, select, update

from . import demo_history
from .audit import GENESIS, chain_hash
from .extensions import db
from .models import AuditEvent, AuditHead, Case, CaseParticipant, Flag, ProcessVersion, Task
from .models.types import UTCDateTime, utcnow

BATCH = 2000
POOL = 3000          # stories played; each is copied about closed / POOL times
WEEK = timedelta(days=7)


def generate(closed=0, open_=0, months=12, seed=7, progress=print):
    """Add `closed` closed calls raised over the `months` months before this one and `open_` open
    calls; `progress(text)` is told after each batch. Returns {closed, open, tasks, events, seconds}."""
    started = time.perf_counter()
    totals = {"closed": 0, "open": 0, "tasks": 0, "events": 0}
    if closed:
        _closed_calls(closed, months, seed, totals, progress)
    if open_:
        _open_calls(open_, seed, totals, progress)
    totals["seconds"] = round(time.perf_counter() - started, 1)
    return totals


# --- closed calls: the demo history's stories, copied ------------------------------------------
def _closed_calls(n, months, seed, totals, progress):
    county = demo_history._County(seed, utcnow())
    window = county.months(months)
    first, last = window[0][0], window[-1][1]
    # the stories: raised in the last three of the months (so a copy is only ever moved back)
    recent = window[-min(3, months):]
    stories = []
    per_month = max(1, min(POOL, n) // len(recent))
    for start, end in recent:
        for created in sorted(county.call_times(start, end, per_month)):
            call = demo_history._Call(county, created).play()
            if call.end < county.cutoff:
                stories.append(_Story(call, county))
    if not stories:
        raise ValueError("no story to copy: ask for at least one month")
    rng = random.Random(seed)
    span_weeks = max(0, (last - first).days // 7 - 13)
    # each copy's story and how many weeks back it goes, the oldest copies first
    plan = sorted(((rng.randrange(len(stories)), rng.randint(0, span_weeks)) for _ in range(n)),
                  key=lambda p: stories[p[0]].created - p[1] * WEEK)
    next_id = (db.session.execute(select(func.max(Case.id))).scalar() or 0) + 1
    for at in range(0, n, BATCH):
        batch = plan[at:at + BATCH]
        rows = _copies(stories, batch, next_id, rng)
        next_id += len(batch)
        _write(rows)
        totals["closed"] += len(batch)
        totals["tasks"] += len(rows["tasks"])
        totals["events"] += len(rows["events"])
        progress(f"已办结呼叫 {totals['closed']:,} / {n:,}（任务 {totals['tasks']:,}，留痕 {totals['events']:,}）")


def _columns(table):
    """{column: the value it takes when an object leaves it None} of a table: its scalar default."""
    out = {}
    for c in table.columns:
        default = c.default.arg if c.default is not None and c.default.is_scalar else None
        out[c.name] = default
    return out


CASE_COLUMNS, TASK_COLUMNS, FLAG_COLUMNS = (_columns(t.__table__) for t in (Case, Task, Flag))


def _row(obj, columns):
    """An object not yet flushed as a row of its table, the defaults the flush would give filled in."""
    row = {}
    for c, default in columns.items():
        v = getattr(obj, c, None)
        row[c] = default if v is None else v
    return row


class _Story:
    """A played call as rows, read once: each copy copies them."""

    def __init__(self, call, county):
        self.case = _utc(dict(_row(call.case, CASE_COLUMNS), row_version=call.row_version, state=None))
        self.tasks = [_utc(_row(t, TASK_COLUMNS)) for t in call.tasks]
        self.parts = list(call.participants)
        self.flags = [_utc(_row(f, FLAG_COLUMNS)) for f in call.flags]
        for f in self.flags:
            del f["id"]                  # the database numbers them
        self.events = []
        for e in call.events:
            task = e.get("task")
            self.events.append({"at": e["at"].astimezone(timezone.utc), "actor": e["actor"], "action": e["action"],
                                "case_id": None, "task_id": task.id if task is not None else None,
                                "task_name": task.name if task is not None else None, "org_code": e.get("org_code"),
                                "ip": county.ip.get(e["actor"]), "before": e.get("before"), "after": e.get("after"),
                                "detail": e.get("detail")})
        self.created = call.created


def _utc(row):
    """A row with its times in UTC (the county's are converted once per story, not once per copy)."""
    for k, v in row.items():
        if isinstance(v, datetime):
            row[k] = v.astimezone(timezone.utc)
    return row


CASE_TIMES = ("created_at", "updated_at", "closed_at", "due_at")
TASK_TIMES = ("created_at", "warn_at", "due_at", "reminded_at", "completed_at")


def _copies(stories, batch, next_id, rng):
    cases, tasks, parts, flags, events = [], [], [], [], []
    for offset, (index, weeks) in enumerate(batch):
        story, case_id, shift = stories[index], next_id + offset, weeks * WEEK
        ref = f"#{case_id}"
        case = dict(story.case, id=case_id)
        for c in CASE_TIMES:
            if case[c] is not None:
                case[c] -= shift
        cases.append(case)
        ids = {t["id"]: str(uuid.UUID(int=rng.getrandbits(128), version=4)) for t in story.tasks}
        for t in story.tasks:
            row = dict(t, id=ids[t["id"]], case_id=case_id, subject_task_id=ids.get(t["subject_task_id"]))
            for c in TASK_TIMES:
                if row[c] is not None:
                    row[c] -= shift
            tasks.append(row)
        parts.extend({"case_id": case_id, "org_code": o, "role": r} for o, r in story.parts)
        for f in story.flags:
            flags.append(dict(f, case_id=case_id, created_at=f["created_at"] - shift,
                              evidence=f["evidence"].replace(demo_history.CASE_REF, ref)))
        for e in story.events:
            e = dict(e, at=e["at"] - shift, case_id=case_id, task_id=ids.get(e["task_id"]))
            after = e["after"]
            if after and "evidence" in after:
                e["after"] = dict(after, evidence=after["evidence"].replace(demo_history.CASE_REF, ref))
            events.append(e)
    events.sort(key=lambda e: e["at"])
    return {"cases": cases, "tasks": tasks, "parts": parts, "flags": flags, "events": events}


def _write(rows):
    """One batch in one transaction: its rows inserted, its events chained onto the locked head."""
    session = db.session
    try:
        head = session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar_one_or_none()
        if head is None:
            head = AuditHead(id=1, seq=0, hash=GENESIS)
            session.add(head)
            session.flush()
        conn = session.connection()
        for table, key in ((Case.__table__, "cases"), (Task.__table__, "tasks"),
                           (CaseParticipant.__table__, "parts"), (Flag.__table__, "flags")):
            if rows.get(key):
                _insert(conn, table, rows[key])
        seq, prev = head.seq, head.hash
        for e in rows["events"]:
            seq += 1
            e["seq"], e["prev_hash"] = seq, prev
            e["hash"] = prev = chain_hash(prev, SimpleNamespace(**e))
        if rows["events"]:
            _insert(conn, AuditEvent.__table__, rows["events"])
            conn.execute(update(AuditHead.__table__).where(AuditHead.__table__.c.id == 1).values(seq=seq, hash=prev))
        session.commit()
    except BaseException:
        session.rollback()
        raise
    session.expunge_all()


def _insert(conn, table, rows):
    """rows (dicts with the same keys) into `table` by the driver's executemany, each value as the
    column's type would bind it (times in UTC, as SQLite's text or PostgreSQL's timestamptz; JSON as
    its text): SQLAlchemy's own binding of every value took three quarters of the time."""
    keys = list(rows[0])
    sqlite = conn.dialect.name == "sqlite"
    convert = []
    for k in keys:
        column = table.c[k]
        if isinstance(column.type, UTCDateTime):
            convert.append(_sqlite_time if sqlite else None)
        elif isinstance(column.type, JSON):
            convert.append(_json)
        else:
            convert.append(None)
    marks = ", ".join("?" if sqlite else "%s" for _ in keys)
    sql = f"INSERT INTO {table.name} ({', '.join(keys)}) VALUES ({marks})"
    values = [tuple(v if f is None or v is None else f(v) for f, v in zip(convert, (r[k] for k in keys)))
              for r in rows]
    conn.exec_driver_sql(sql, values)


def _sqlite_time(at):
    """SQLite's stored text of a time (in UTC, as `_Story` keeps them), as UTCDateTime writes it."""
    return at.isoformat(" ", "microseconds")[:26]


def _json(value):
    try:
        return orjson.dumps(value).decode()
    except (orjson.JSONEncodeError, TypeError):
        return json.dumps(value, ensure_ascii=False)


# --- open calls: the projection rows the inbox, the lists and the board read ---------------------
def _open_calls(n, seed, totals, progress):
    version = db.session.execute(select(ProcessVersion).where(ProcessVersion.process_id == "call_response")
                                 .order_by(ProcessVersion.version.desc()).limit(1)).scalar_one()
    county = demo_history._County(seed, utcnow())
    towns, depts = county.townships, sorted(county.dept)
    rng, now = random.Random(seed + 1), utcnow()
    next_id = (db.session.execute(select(func.max(Case.id))).scalar() or 0) + 1
    for at in range(0, n, BATCH):
        cases, tasks, parts, events = [], [], [], []
        for cid in range(next_id + at, next_id + min(n, at + BATCH)):
            town = rng.choice(towns)
            created = now - timedelta(minutes=rng.randint(5, 60 * 24 * 60))
            due = created + (timedelta(hours=2) if rng.random() < 0.3 else timedelta(days=5))
            title = f"呼叫事项 {cid}（{county.names.get(town, town)}）"
            cases.append({"id": cid, "process_id": "call_response", "process_version_id": version.id,
                          "process_version": version.version, "title": title, "status": "open", "urgency": "normal",
                          "initiator": county.user("township", town), "initiator_org": town, "data": {},
                          "row_version": 1, "created_at": created, "updated_at": created, "due_at": due,
                          "next_timer_at": now + timedelta(days=1, minutes=rng.randint(0, 6000)),
                          "township_code": town})
            parts.append({"case_id": cid, "org_code": town, "role": None})
            events.append(_open_event(county, created, "case_started", cid, town, None, None))
            if rng.random() < 0.3:
                steps = [("accept", "受理", "center", None)]
            else:
                steps = [("handle", "办理反馈", "department", d) for d in rng.sample(depts, 2)]
            for element, name, role, org in steps:
                if org:
                    parts.append({"case_id": cid, "org_code": org, "role": None})
                task_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
                tasks.append({"id": task_id, "case_id": cid, "process_id": "call_response", "case_title": title,
                              "element_id": element, "name": name, "role": role, "org_code": org,
                              "queue": f"{role}@{org or '*'}", "status": "ready", "kind": "engine",
                              "created_at": created, "due_at": due})
                events.append(_open_event(county, created, "task_ready", cid, org, task_id, name,
                                          after={"role": role, "org": org}))
        events.sort(key=lambda e: e["at"])
        _write({"cases": cases, "tasks": tasks, "parts": parts, "events": events})
        totals["open"] += len(cases)
        totals["tasks"] += len(tasks)
        totals["events"] += len(events)
        progress(f"在办呼叫 {totals['open']:,} / {n:,}")


def _open_event(county, at, action, case_id, org, task_id, task_name, after=None):
    actor = "system" if action == "task_ready" else county.user("township", org)
    return {"at": at, "actor": actor, "action": action, "case_id": case_id, "task_id": task_id,
            "task_name": task_name, "org_code": org, "ip": county.ip.get(actor), "before": None, "after": after,
            "detail": None}

