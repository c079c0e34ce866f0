"""Search at 100,000 calls, on SQLite and on PostgreSQL: `python -m bench.search` alone, or as part of
`make bench`.

The calls are written in bulk as the engine leaves them (the case row, its completed 受理, 研判派单,
签收 and 办理反馈 tasks with their form data, the units taking part), with Chinese titles,
descriptions and replies made from the demo history's matters (app/demo/history.json: places,
villages, results), so the words are spread as a county's would be; a few carry a rare word.
Then `search.reindex_all` builds the index (its rate is reported) and a real server answers
GET /cases?q= as the centre and as a township. PostgreSQL runs when BENCH_PG_URL names a
database the bench may empty (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/bench). With
BENCH_SEARCH_KEEP=1 (and BENCH_SEARCH_SQLITE=<file> for SQLite) a database that already holds the
calls and a whole index from an earlier run is only queried.
Nothing here asserts a time.
"""
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
N_CASES = int(os.environ.get("BENCH_SEARCH_CASES", os.environ.get("BENCH_OPEN_CASES", "100000")))
REPEATS = int(os.environ.get("BENCH_QUERY_REPEATS", "60"))
KEEP = os.environ.get("BENCH_SEARCH_KEEP") == "1"   # reuse the calls a database holds from an earlier run
RARE = "古树名木"          # in one call of 10,000
TOWNS = [f"T0{i}" for i in range(1, 9)]
DEPTS = [f"D{i:02d}" for i in range(1, 15)]


def _texts(rnd, catalogue):
    matter = rnd.choice(catalogue["matters"])
    place = rnd.choice(matter["places"])
    if place.startswith("村"):
        place = rnd.choice(catalogue["villages"]) + place[1:]
    n = rnd.randint(2, 9)
    title = rnd.choice(matter["titles"]).format(place=place, n=n)
    description = matter["description"].format(place=place, n=n)
    reply = rnd.choice(matter["results"]).format(place=place, n=n)
    return matter, title, description, reply


def fill(app, n, seed=11):
    """n calls with their tasks and participants, written in bulk; returns the ids of a sample."""
    from sqlalchemy import func, insert, select
    from app.extensions import db
    from app.models import Case, CaseParticipant, ProcessVersion, Task
    catalogue = json.loads((ROOT / "app" / "demo" / "history.json").read_text(encoding="utf-8"))
    rnd = random.Random(seed)
    now = datetime.now(timezone.utc)
    with app.app_context():
        row = db.session.execute(select(ProcessVersion).where(ProcessVersion.process_id == "call_response")
                                 .order_by(ProcessVersion.version.desc())).scalars().first()
        start = (db.session.execute(select(func.max(Case.id))).scalar() or 0) + 1
        cases, tasks, parts = [], [], []

        def flush():
            if cases:
                db.session.execute(insert(Case), cases)
                db.session.execute(insert(Task), tasks)
                db.session.execute(insert(CaseParticipant), parts)
                db.session.commit()
            cases.clear(), tasks.clear(), parts.clear()

        for i in range(n):
            cid = start + i
            matter, title, description, reply = _texts(rnd, catalogue)
            if rnd.random() < 1e-4:
                description += f"现场有{RARE}一株，处置时须注意保护。"
            town, lead = rnd.choice(TOWNS), rnd.choice(DEPTS)
            created = now - timedelta(minutes=rnd.randint(60, 60 * 24 * 330))
            closed = rnd.random() < 0.7
            ended = created + timedelta(days=rnd.randint(1, 9))
            data = {"title": title, "description": description, "urgency": "normal", "list_item": matter["item"],
                    "location": "", "contact": "", "initiator": "town_a", "initiator_org": town,
                    "lead_department": lead, "co_departments": []}
            cases.append({"id": cid, "process_id": "call_response", "process_version_id": row.id,
                          "process_version": row.version, "title": title, "status": "closed" if closed else "open",
                          "urgency": "normal", "list_item": matter["item"], "list_version": 1,
                          "initiator": "town_a", "initiator_org": town, "data": data, "row_version": 6,
                          "created_at": created, "updated_at": ended if closed else created,
                          "closed_at": ended if closed else None})
            parts.extend([{"case_id": cid, "org_code": town, "role": None},
                          {"case_id": cid, "org_code": lead, "role": None}])
            steps = [("accept", "受理", "center", None, "call_accept.schema.json", {"accepted": True}),
                     ("dispatch", "研判派单", "center", None, "call_dispatch.schema.json",
                      {"lead_department": lead, "co_departments": [], "opinion": f"按清单事项 {matter['item']} 派单"}),
                     ("sign", "签收", "department", lead, "dept_sign.schema.json", {"returned": False}),
                     ("handle", "办理反馈", "department", lead, "dept_handle.schema.json",
                      {"result": reply, "contact_person": ""})]
            for k, (element, name, role, org, form, result) in enumerate(steps):
                done = closed or element != "handle"
                tasks.append({"id": str(uuid.UUID(int=rnd.getrandbits(128))), "case_id": cid,
                              "process_id": "call_response", "case_title": title, "element_id": element,
                              "name": name, "role": role, "org_code": org,
                              "queue": f"{role}@{org or '*'}", "form": form,
                              "status": "completed" if done else "ready", "kind": "engine",
                              "created_at": created + timedelta(hours=k),
                              "completed_at": created + timedelta(hours=k + 1) if done else None,
                              "completed_by": "center" if role == "center" else None,
                              "result": result if done else None})
            if len(cases) == 5000:
                flush()
        flush()
        return start, start + n - 1


def reindex(app):
    from app import search
    with app.app_context():
        t0 = time.perf_counter()
        n = search.reindex_all(batch=1000)
        return n, time.perf_counter() - t0


def _pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def _filled(app):
    """(first, last) ids of the bulk calls a kept database already holds, or None."""
    from sqlalchemy import func, select
    from app import search
    from app.extensions import db
    from app.models import Case
    with app.app_context():
        first, last, n = db.session.execute(select(func.min(Case.id), func.max(Case.id), func.count())
                                            .where(Case.initiator == "town_a", Case.list_version == 1)).one()
        return (first, last) if n >= N_CASES and not search.check(deep=False) else None


def run(db_url, label):
    """Rows (label, n, median ms, p95 ms, note) for one database."""
    from bench.__main__ import Api, free_port, start_server
    sys.path.insert(0, str(ROOT))
    from app import create_app
    port = free_port()
    proc = start_server(db_url, port, HUYING_DEMO_HISTORY="0")
    rows = []
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": db_url, "SECRET_KEY": "bench"})
        kept = _filled(app) if KEEP else None
        if kept:
            first, last = kept
        else:
            first, last = fill(app, N_CASES)
            n, seconds = reindex(app)
            rows.append((f"{label}: search index built, {n:,} cases (s)", n, seconds, None,
                         f"{n / seconds:,.0f} cases/s"))
        users = {name: Api(port, name) for name in ("center", "town_a")}
        number = (first + last) // 2
        queries = [("rare word 古树名木", RARE), ("common word 居民", "居民"), ("two words 油烟 整改", "油烟 整改"),
                   ("township name 泰前街道", "泰前街道"), (f"case number #{number}", f"#{number}"),
                   ("a month, 3月", "3月")]
        for who in ("center", "town_a"):
            for name, q in queries:
                samples, total, capped = [], None, False
                for _ in range(REPEATS):
                    ms, status, body = users[who].timed("GET", f"/cases?per_page=50&q={quote(q)}")
                    assert status == 200, body
                    samples.append(ms)
                    total, capped = body["total"], body.get("total_capped", False)
                rows.append((f"{label}: {'centre' if who == 'center' else 'township T01'}, {name} (ms)", len(samples),
                             statistics.median(samples), _pct(samples, 95), f"{total:,}{'+' if capped else ''} found"))
    finally:
        proc.terminate()
        proc.wait(10)
    return rows


def empty_pg(url):
    from sqlalchemy import create_engine, text
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def search_rows():
    rows = []
    path = os.environ.get("BENCH_SEARCH_SQLITE") or os.path.join(tempfile.mkdtemp(prefix="huying-bench-search-"),
                                                                 "search.db")
    rows.extend(run(f"sqlite:///{path}", "SQLite"))
    pg = os.environ.get("BENCH_PG_URL")
    if pg:
        if not KEEP:
            empty_pg(pg)
        rows.extend(run(pg, "PostgreSQL"))
    return rows


def print_rows(rows):
    print(f"{'measure':62} {'n':>7} {'median':>9} {'p95':>9}")
    for label, n, med, p95, note in rows:
        p95 = f"{p95:>9.2f}" if p95 is not None else " " * 9
        print(f"{label:62} {n:>7} {med:>9.2f} {p95}  {note}")


if __name__ == "__main__":
    print_rows(search_rows())
    if not os.environ.get("BENCH_PG_URL"):
        print("(PostgreSQL skipped: set BENCH_PG_URL to a database the bench may empty)")
