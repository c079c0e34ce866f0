"""`make bench`: the speed and size figures the README quotes.

1. Task completion through the HTTP API (SQLite): a real server (`flask huying serve`, waitress)
   in its own process, driven over keep-alive HTTP; median and p95 of POST /tasks/{id}/complete.
2. Inbox, case-list and stuck-case queries with 100,000 open cases: the projection tables are
   filled in bulk, then the same server answers GET /tasks, /cases and /supervision/stuck.
3. Bytes stored for a closed call (two departments, one rework): the case row and its rows in
   the other tables.
4. The audit export with 100,000 more events: they are appended to the hash chain in bulk (chained
   as the app chains them, so the chain stays intact), then the same server exports the whole trail
   as CSV, JSON Lines and XLSX (events, bytes, seconds, and how much the server process's peak
   resident memory grew: it stays flat however long the trail) and verifies the chain.
5. `flask huying check` over open calls parked at six different steps through the API.
6. Evidence: upload and download of a 10 MB file (a PDF) through the same kind of server, MB/s,
   with the default storage (a directory under instance/) and the shared one (the database, in
   chunks). `python -m bench evidence` runs this part alone.
7. Search at 100,000 calls on SQLite and, with BENCH_PG_URL, PostgreSQL (bench/search.py).
8. First visits of 督办, 考核报表 and the process diff in Chromium, empty browser cache, on loopback and on an
   emulated 4G network (bench/first_visit.py; `python -m bench first_visit` runs this part alone).
9. The duplicate check at 100,000 open grid events, SQLite and PostgreSQL (bench/duplicates.py).
Never part of `make test`; nothing here asserts a time.
"""
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
N_LIFECYCLES = int(os.environ.get("BENCH_CASES", "40"))
N_OPEN = int(os.environ.get("BENCH_OPEN_CASES", "100000"))
QUERY_REPEATS = int(os.environ.get("BENCH_QUERY_REPEATS", "60"))
N_AUDIT = int(os.environ.get("BENCH_AUDIT_EVENTS", "100000"))
N_CHECK = int(os.environ.get("BENCH_CHECK_CASES", "300"))
FILE_MB = int(os.environ.get("BENCH_FILE_MB", "10"))
FILE_REPEATS = int(os.environ.get("BENCH_FILE_REPEATS", "5"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Api:
    def __init__(self, port, username):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        status, body = self.call("POST", "/auth/token", {"username": username, "password": "demo"}, auth=False)
        assert status == 200, body
        self.token = body["token"]

    def call(self, method, path, body=None, auth=True):
        headers = {"Content-Type": "application/json"}
        if auth:
            headers["Authorization"] = "Bearer " + self.token
        self.conn.request(method, "/api/v1" + path, json.dumps(body) if body is not None else None, headers)
        r = self.conn.getresponse()
        data = r.read()
        return r.status, (json.loads(data) if data else None)

    def timed(self, method, path, body=None):
        t0 = time.perf_counter()
        status, data = self.call(method, path, body)
        return (time.perf_counter() - t0) * 1000, status, data


def start_server(db_url, port, **extra_env):
    env = dict(os.environ, **extra_env, DATABASE_URL=db_url, HUYING_DEMO="1", FLASK_APP="app:create_app",
               SECRET_KEY="bench", SCHEDULER_INTERVAL_SECONDS="3600", PYTHONPATH=str(ROOT))
    flask = [sys.executable, "-m", "flask"]
    subprocess.run(flask + ["db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
    subprocess.run(flask + ["huying", "setup"], env=env, cwd=ROOT, check=True, capture_output=True)
    proc = subprocess.Popen(flask + ["huying", "serve", "--port", str(port)], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start")


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def drive_call(users, timings, reworks=1, starts=None):
    town, center = users["town_a"], users["center"]
    ms, status, case = town.timed("POST", "/cases", {"process_id": "call_response", "data": {
        "title": "明珠东路马路市场占道经营", "urgency": "normal", "list_item": "ZF-01",
        "description": "道路贯通后形成马路市场，摊点流动，街道多次清理无效，请求县级部门联动。"}})
    assert status == 201, case
    if starts is not None:
        starts.append(ms)
    case_id = case["id"]

    def do(user, data):
        _, page = user.call("GET", f"/tasks?case_id={case_id}")
        for t in page["items"]:
            ms, status, body = user.timed("POST", f"/tasks/{t['id']}/complete", {"data": data})
            assert status == 200, body
            timings.append(ms)
    do(center, {"accepted": True})
    do(center, {"lead_department": "D01", "co_departments": ["D02"]})
    for d in ("dept_zf", "dept_zr"):
        do(users[d], {"returned": False})
    for round_ in range(reworks + 1):
        for d in ("dept_zf", "dept_zr"):
            do(users[d], {"result": "已联合执法，设立临时便民市场，实行路长制。"})
        do(center, {"approved": True})
        satisfied = round_ == reworks
        do(town, {"satisfied": satisfied, "rating": 5 if satisfied else 2, "comment": "摊点仍有回潮"})
    do(users["dept_zf"], {"rating": 5})
    return case_id


def completion_without_workflow_cache(db_path):
    """The completion figure when no step finds its workflow in memory (WORKFLOW_CACHE_SIZE=0),
    as with several app processes taking turns on the same cases."""
    port = free_port()
    proc = start_server(f"sqlite:///{db_path}", port, WORKFLOW_CACHE_SIZE="0")
    try:
        users = {n: Api(port, n) for n in ["town_a", "center", "dept_zf", "dept_zr"]}
        timings = []
        for _ in range(max(5, N_LIFECYCLES // 2)):
            drive_call(users, timings)
        return timings
    finally:
        proc.terminate()
        proc.wait(10)


def check_open_cases(db_path):
    """`flask huying check` over open calls parked at every step of the call process (driven through
    the API, so their states, inbox rows, timers and trails are real): cases, seconds, disagreements."""
    port = free_port()
    proc = start_server(f"sqlite:///{db_path}", port, HUYING_DEMO_HISTORY="0")
    try:
        users = {n: Api(port, n) for n in ["town_a", "center", "dept_zf", "dept_zr"]}
        for i in range(N_CHECK):
            park_call(users, stage=i % 6)
    finally:
        proc.terminate()
        proc.wait(10)
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{db_path}", FLASK_APP="app:create_app", PYTHONPATH=str(ROOT))
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "flask", "huying", "check"], env=env, cwd=ROOT,
                         capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    return out.stdout.strip().splitlines()[-1], seconds


def park_call(users, stage):
    """A call left at one of six steps: 受理, 研判派单, 签收 (two), 签收 (one signed), 办理反馈, 审核办结."""
    _, status, case = users["town_a"].timed("POST", "/cases", {"process_id": "call_response", "data": {
        "title": "停放在某一环节的呼叫", "urgency": "normal", "list_item": "ZF-01", "description": "bench"}})
    assert status == 201, case
    steps = [("center", {"accepted": True}), ("center", {"lead_department": "D01", "co_departments": ["D02"]}),
             ("dept_zf", {"returned": False}), ("dept_zr", {"returned": False}),
             ("dept_zf", {"result": "已处置"}), ("dept_zr", {"result": "已处置"})][:[0, 1, 2, 3, 4, 6][stage]]
    for who, data in steps:
        _, page = users[who].call("GET", f"/tasks?case_id={case['id']}")
        status, body = users[who].call("POST", f"/tasks/{page['items'][0]['id']}/complete", {"data": data})
        assert status == 200, body


def scheduler_sweep(db_path, n_due=100):
    """One sweep of the timer job over the open cases, n_due of which are due: real calls whose
    sign-for limit has just passed, among the synthetic open cases."""
    sys.path.insert(0, str(ROOT))
    from app import cases, create_app, deadlines
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}", "SECRET_KEY": "bench",
                      "SUPERVISION": {"limits": {"sign": {"normal": "PT1S"}}}})
    client = app.test_client()
    tokens = {}
    for name in ("town_a", "center"):
        tokens[name] = {"Authorization": "Bearer " + client.post(
            "/api/v1/auth/token", json={"username": name, "password": "demo"}).json["token"]}
    with app.app_context():
        deadlines.invalidate()
    for i in range(n_due):
        case = client.post("/api/v1/cases", headers=tokens["town_a"], json={"process_id": "call_response", "data": {
            "title": f"到期测试 {i}", "description": "用于测量定时扫描的到期呼叫", "urgency": "normal"}}).json
        for data in ({"accepted": True}, {"lead_department": "D01", "co_departments": ["D02"]}):
            task = client.get(f"/api/v1/tasks?case_id={case['id']}", headers=tokens["center"]).json["items"][0]
            r = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=tokens["center"], json={"data": data})
            assert r.status_code == 200, r.json
    time.sleep(1.2)
    cases._recent.clear()           # as a separate scheduler process would: every due case read from the database
    with app.app_context():
        t0 = time.perf_counter()
        fired = cases.fire_due_timers(limit=10 * n_due)
        sweep_ms = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        idle = cases.fire_due_timers(limit=10 * n_due)
        idle_ms = (time.perf_counter() - t0) * 1000
    return fired, sweep_ms, idle, idle_ms


def closed_call_bytes(db_path, case_id):
    import sqlite3
    con = sqlite3.connect(db_path)

    def row_bytes(table, where, arg):
        cols = [r[1] for r in con.execute(f"PRAGMA table_info({table})")]
        total = 0
        for row in con.execute(f"SELECT * FROM {table} WHERE {where}", (arg,)):
            total += sum(len(v) if isinstance(v, (bytes, str)) else 8 for v in row if v is not None)
        return total, len(cols)
    case, _ = row_bytes("cases", "id = ?", case_id)
    tasks, _ = row_bytes("tasks", "case_id = ?", case_id)
    parts, _ = row_bytes("case_participants", "case_id = ?", case_id)
    audit, _ = row_bytes("audit_events", "case_id = ?", case_id)
    n_tasks = con.execute("SELECT count(*) FROM tasks WHERE case_id = ?", (case_id,)).fetchone()[0]
    n_audit = con.execute("SELECT count(*) FROM audit_events WHERE case_id = ?", (case_id,)).fetchone()[0]
    return {"case": case, "tasks": tasks, "n_tasks": n_tasks, "participants": parts, "audit": audit, "n_audit": n_audit}


def timed_gets(users, queries, repeats, rounds=False):
    """Report rows (label, n, median ms, p95 ms) of GET requests repeated `repeats` times each; with
    `rounds`, each row also has the medians and the p95s of ROUNDS rounds of the repeats."""
    out = []
    for label, user, path in queries:
        samples = []
        for _ in range(repeats):
            ms, status, body = users[user].timed("GET", path)
            assert status == 200, body
            samples.append(ms)
        row = (label, len(samples), statistics.median(samples), pct(samples, 95))
        if rounds:
            k = max(1, len(samples) // ROUNDS)
            parts = [samples[i:i + k] for i in range(0, len(samples) - k + 1, k)]
            row += ([statistics.median(p) for p in parts], [pct(p, 95) for p in parts])
        out.append(row)
    return out


def fill_open_cases(db_path, n, month=None):
    """n open calls in the projection tables: cases, their ready tasks and participants; half of
    them raised in `month` (YYYY-MM, county time) when given. Returns (ready tasks, calls in the month)."""
    import sqlite3
    con = sqlite3.connect(db_path)
    version_id = con.execute("SELECT id FROM process_versions WHERE process_id='call_response'").fetchone()[0]
    towns = [f"T0{i}" for i in range(1, 9)]
    depts = [f"D{i:02d}" for i in range(1, 15)]
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    rnd = random.Random(7)
    start = con.execute("SELECT coalesce(max(id), 0) FROM cases").fetchone()[0] + 1
    cases, tasks, parts = [], [], []
    if month:
        zone = ZoneInfo("Asia/Shanghai")
        first = datetime(int(month[:4]), int(month[5:]), 1, tzinfo=zone)
        after = datetime(first.year + first.month // 12, first.month % 12 + 1, 1, tzinfo=zone)
        first, after = (d.astimezone(timezone.utc).replace(tzinfo=None) for d in (first, after))
    for i in range(n):
        cid = start + i
        town = rnd.choice(towns)
        created = now - timedelta(minutes=rnd.randint(1, 60 * 24 * 60))
        if month and i % 2 == 0:
            created = first + (after - first) * rnd.random()
        due = created + timedelta(hours=2) if rnd.random() < 0.3 else created + timedelta(days=5)
        cases.append((cid, "call_response", version_id, 1, f"呼叫事项 {cid}", "open", "normal", "town", town,
                      "{}", 1, created, created, due, now + timedelta(days=1, minutes=rnd.randint(0, 6000))))
        parts.append((cid, town, None))
        stage = rnd.random()
        if stage < 0.3:
            tasks.append((f"bench-{cid}-a", cid, "call_response", f"呼叫事项 {cid}", "accept", "受理", "center", None,
                          "center@*", "ready", created, due))
        else:
            for d in rnd.sample(depts, 2):
                parts.append((cid, d, None))
                tasks.append((f"bench-{cid}-{d}", cid, "call_response", f"呼叫事项 {cid}", "handle", "办理反馈",
                              "department", d, f"department@{d}", "ready", created, due))
    con.executemany("INSERT INTO cases (id, process_id, process_version_id, process_version, title, status, urgency,"
                    " initiator, initiator_org, data, row_version, created_at, updated_at, due_at, next_timer_at)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", cases)
    con.executemany("INSERT INTO tasks (id, case_id, process_id, case_title, element_id, name, role, org_code, queue,"
                    " status, created_at, due_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", tasks)
    con.executemany("INSERT INTO case_participants (case_id, org_code, role) VALUES (?,?,?)", parts)
    con.commit()
    con.execute("ANALYZE")
    in_month = con.execute("SELECT count(*) FROM cases WHERE created_at >= ? AND created_at < ?",
                           (first, after)).fetchone()[0] if month else None
    con.close()
    return len(tasks), in_month


def fill_audit_events(db_path, n):
    """n events appended to the audit hash chain in bulk, each hashed over the previous hash and its
    canonical content as app.audit does, the chain's head moved to the last (writers locked out)."""
    import sqlite3
    from types import SimpleNamespace
    sys.path.insert(0, str(ROOT))
    from app.audit import chain_hash
    con = sqlite3.connect(db_path, isolation_level=None, timeout=60)
    con.execute("BEGIN IMMEDIATE")
    seq, prev = con.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
    case_ids = [r[0] for r in con.execute("SELECT id FROM cases ORDER BY id LIMIT 5000")]
    kinds = [
        ("task_ready", "办理反馈", None, {"role": "department", "org": "D01"}, None),
        ("task_claimed", "办理反馈", {"assignee": None}, {"assignee": "dept_zf"}, None),
        ("task_completed", "办理反馈", {"result": None}, {"result": "已联合执法，设立临时便民市场，实行路长制。"}, None),
        ("reminder", "签收", None, None, "签收提醒：签收（综合行政执法局） 即将到期，已催办"),
    ]
    start = datetime.now(timezone.utc) - timedelta(days=60)
    rows = []
    for i in range(n):
        action, task_name, before, after, detail = kinds[i % len(kinds)]
        seq += 1
        e = SimpleNamespace(seq=seq, at=start + timedelta(seconds=i * 50), actor="dept_zf", action=action,
                            case_id=case_ids[i % len(case_ids)], task_id=f"bench-task-{i // 4}", task_name=task_name,
                            org_code="D01", ip="10.12.0.7", before=before, after=after, detail=detail)
        e.hash = chain_hash(prev, e)
        rows.append((e.at.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f"), e.actor, action, e.case_id, e.task_id,
                     task_name, e.org_code, e.ip, json.dumps(before) if before is not None else None,
                     json.dumps(after) if after is not None else None, detail, seq, prev, e.hash))
        prev = e.hash
    con.executemany("INSERT INTO audit_events (at, actor, action, case_id, task_id, task_name, org_code, ip, before,"
                    " after, detail, seq, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
    con.execute("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", (seq, prev))
    con.execute("COMMIT")
    con.close()


class PeakRss:
    """How far a process's resident memory rose above where it was, while watched: the kernel's
    high-water mark, reset first (/proc/<pid>/clear_refs), or else VmRSS sampled every 10 ms."""

    def __init__(self, pid):
        self.pid, self.samples, self.stop = pid, [], None

    def _kb(self, field):
        with open(f"/proc/{self.pid}/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))

    def __enter__(self):
        import threading
        self.start_kb = self._kb("VmRSS")
        try:
            with open(f"/proc/{self.pid}/clear_refs", "w") as f:
                f.write("5")
            self.hwm = True
        except OSError:
            self.hwm = False
            self.stop = threading.Event()

            def sample():
                while not self.stop.wait(0.01):
                    self.samples.append(self._kb("VmRSS"))
            self.thread = threading.Thread(target=sample, daemon=True)
            self.thread.start()
        return self

    def __exit__(self, *exc):
        if self.hwm:
            self.peak_kb = self._kb("VmHWM")
        else:
            self.stop.set()
            self.thread.join()
            self.peak_kb = max(self.samples + [self._kb("VmRSS")])
        self.growth_mb = max(0, self.peak_kb - self.start_kb) / 1024


def export_audit(port, token, fmt, pid):
    """(events, bytes, seconds, peak RSS growth in MB) of GET /audit/export?format=fmt, whole trail."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=900)
    with PeakRss(pid) as rss:
        t0 = time.perf_counter()
        conn.request("GET", f"/api/v1/audit/export?format={fmt}", headers={"Authorization": "Bearer " + token})
        r = conn.getresponse()
        assert r.status == 200, r.read()[:500]
        size = 0
        while True:
            chunk = r.read(256 * 1024)
            if not chunk:
                break
            size += len(chunk)
        seconds = time.perf_counter() - t0
    conn.close()
    return int(r.getheader("X-Total-Count")), size, seconds, rss.growth_mb


def _multipart(name, content, boundary="huying-bench-boundary"):
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            "Content-Type: application/pdf\r\n\r\n").encode()
    return head + content + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def evidence_throughput(tmp, storage):
    """[(label, n, median MB/s, None, note)] of uploading and downloading a FILE_MB MB PDF, each a new content."""
    port = free_port()
    setting = os.path.join(tmp, f"files-{storage}") if storage == "directory" else "database"
    proc = start_server(f"sqlite:///{os.path.join(tmp, f'evidence-{storage}.db')}", port, HUYING_DEMO_HISTORY="0",
                        HUYING_STORAGE=setting)
    up, down = [], []
    try:
        town = Api(port, "town_a")
        status, case = town.call("POST", "/cases", {"process_id": "call_response", "data": {
            "title": "证据上传测速", "description": "十兆字节的情况说明", "urgency": "normal"}})
        assert status == 201, case
        size = FILE_MB * 1024 * 1024
        for i in range(FILE_REPEATS):
            content = b"%PDF-1.4\n%" + os.urandom(size - 16) + b"\n%%EOF\n"
            body, content_type = _multipart(f"bench-{i}.pdf", content)
            t0 = time.perf_counter()
            town.conn.request("POST", f"/api/v1/cases/{case['id']}/attachments", body,
                              {"Content-Type": content_type, "Authorization": "Bearer " + town.token})
            r = town.conn.getresponse()
            answer = json.loads(r.read())
            up.append(time.perf_counter() - t0)
            assert r.status == 201, answer
            t0 = time.perf_counter()
            town.conn.request("GET", f"/api/v1/attachments/{answer['id']}",
                              headers={"Authorization": "Bearer " + town.token})
            r = town.conn.getresponse()
            got = 0
            while chunk := r.read(256 * 1024):
                got += len(chunk)
            down.append(time.perf_counter() - t0)
            assert r.status == 200 and got == len(content), (r.status, got)
    finally:
        proc.terminate()
        proc.wait(10)
    mb = FILE_MB * 1.048576
    where = "instance/ directory" if storage == "directory" else "database, SQLite"
    return [(f"upload {FILE_MB} MB, {where} (MB/s)", len(up), mb / statistics.median(up), None,
             f"median {statistics.median(up):.2f} s a file"),
            (f"download {FILE_MB} MB, {where} (MB/s)", len(down), mb / statistics.median(down), None,
             f"median {statistics.median(down):.2f} s a file")]


def print_rows(rows):
    print(f"{'measure':44} {'n':>6} {'median':>9} {'p95':>9}")
    for label, n, med, p95, *note in rows:
        p95 = f"{p95:>9.2f}" if p95 is not None else " " * 9
        print(f"{label:44} {n:>6} {med:>9.2f} {p95}" + (f"  {note[0]}" if note else ""))


def _pg_url():
    """The PostgreSQL database the bench may empty: BENCH_PG_URL, else huying_bench on the local server
    (created); None when no PostgreSQL answers (its figures are then left out, and the table says so)."""
    from bench.stack import pg_database
    url = os.environ.get("BENCH_PG_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/huying_bench"
    if os.environ.get("BENCH_PG_URL") == "":
        return None
    url = pg_database(url)
    if url:
        os.environ["BENCH_PG_URL"] = url      # for bench/search.py and bench/duplicates.py
    return url


def stack_figures(results, db_url, database):
    """The API against the engine on one database: a server of its own, interleaved rounds."""
    from bench.stack import Engine, compare
    port = free_port()
    proc = start_server(db_url, port, HUYING_DEMO_HISTORY="0")
    try:
        users = {n: Api(port, n) for n in ["town_a", "center", "dept_zf", "dept_zr"]}
        drive_call(users, [])                                   # warm both sides before measuring
        engine = Engine(db_url)
        engine.round(2)
        compare(results, database, engine, users, drive_call, ROUNDS, max(2, N_LIFECYCLES // ROUNDS), pct)
    finally:
        proc.terminate()
        proc.wait(10)


ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))


def main():
    if sys.argv[1:] == ["first_visit"]:
        from bench.first_visit import main as first_visits
        first_visits()
        return
    if sys.argv[1:] == ["evidence"]:
        tmp = tempfile.mkdtemp(prefix="huying-bench-")
        print(f"\nHuying bench, evidence — {datetime.now().isoformat(timespec='minutes')}, {os.cpu_count()} cores\n")
        print_rows(evidence_throughput(tmp, "directory") + evidence_throughput(tmp, "database"))
        return
    from bench.results import Results
    results = Results()
    tmp = tempfile.mkdtemp(prefix="huying-bench-")
    pg = _pg_url()
    results.head["databases"] = ["sqlite"] + (["postgresql"] if pg else [])
    stack_figures(results, f"sqlite:///{os.path.join(tmp, 'stack.db')}", "sqlite")
    if pg:
        stack_figures(results, pg, "postgresql")
        from bench.stack import pg_database, two_processes
        pg_database(pg)
        two_processes(results, pg, start_server, free_port, Api, drive_call)
    db_path = os.path.join(tmp, "bench.db")
    port = free_port()
    proc = start_server(f"sqlite:///{db_path}", port)
    rows = []
    try:
        names = ["town_a", "center", "dept_zf", "dept_zr", "supervisor", "dept_hb"]
        users = {n: Api(port, n) for n in names}
        timings, last = [], None
        for _ in range(N_LIFECYCLES):
            last = drive_call(users, timings)
        rows.append(("task completion, HTTP API, SQLite (ms)", len(timings),
                     statistics.median(timings), pct(timings, 95)))
        uncached = completion_without_workflow_cache(os.path.join(tmp, "nocache.db"))
        rows.append(("  same, every step deserialising (ms)", len(uncached),
                     statistics.median(uncached), pct(uncached, 95)))
        results.put("api_completion_uncached_p50_ms", statistics.median(uncached), "ms", "sqlite", n=len(uncached),
                    note="WORKFLOW_CACHE_SIZE=0: every step loads its workflow, as with several processes")
        size = closed_call_bytes(db_path, last)
        results.put("closed_case_bytes", size["case"], "B", "sqlite",
                    note=f"its {size['n_tasks']} task rows {size['tasks']} B, {size['n_audit']} audit events "
                         f"{size['audit']} B beside it")
        local = datetime.now(timezone.utc).astimezone(ZoneInfo("Asia/Shanghai"))
        last_month = f"{local.year - (local.month == 1)}-{(local.month - 2) % 12 + 1:02d}"
        rows.extend(timed_gets(users, [
            (f"report, last month ({last_month}), demo history (ms)", "supervisor", f"/reports?period={last_month}"),
            (f"report, the year {local.year}, demo history (ms)", "supervisor", f"/reports?period={local.year}"),
            ("/stats, department D01, this year (ms)", "dept_zf", "/stats"),
        ], QUERY_REPEATS // 3))
        n_tasks, in_month = fill_open_cases(db_path, N_OPEN, month=last_month)
        for key, label, who, path in (
                ("report_month_50k_ms", f"report, {last_month} with {in_month:,} calls (ms)", "supervisor",
                 f"/reports?period={last_month}"),
                ("stats_department_ms", "/stats, department D01, + open calls (ms)", "dept_zf", "/stats")):
            got = timed_gets(users, [(label, who, path)], 5, rounds=True)
            rows.append(got[0][:4])
            results.put(key, got[0][4], "ms", "sqlite", n=5,
                        note=f"{in_month:,} calls in the month, {N_OPEN:,} open calls in all")
        queries = [
            ("inbox_p95_ms", "inbox, center (ms)", "center", "/tasks?per_page=50"),
            ("inbox_department_p95_ms", "inbox, department D01 (ms)", "dept_zf", "/tasks?per_page=50"),
            ("cases_page_p95_ms", "case list, township T01 (ms)", "town_a", "/cases?per_page=50"),
            ("cases_deep_page_p95_ms", "case list, centre, page 100 (ms)", "center", "/cases?per_page=50&page=100"),
            ("stuck_p95_ms", "stuck cases, supervisor (ms)", "supervisor", "/supervision/stuck"),
            ("stuck_list_filter_p95_ms", "case list ?stuck=true, centre (ms)", "center", "/cases?stuck=true&per_page=50"),
        ]
        for key, label, who, path in queries:
            got = timed_gets(users, [(label, who, path)], QUERY_REPEATS, rounds=True)
            rows.append(got[0][:4])
            results.put(key, got[0][5], "ms", "sqlite", n=QUERY_REPEATS,
                        note=f"p95 of each round; {N_OPEN:,} open cases, {n_tasks:,} ready tasks")
        fill_audit_events(db_path, N_AUDIT)
        for fmt in ("csv", "jsonl", "xlsx"):
            rates, growths = [], []
            for _ in range(2 if fmt != "xlsx" else 1):
                events, n_bytes, seconds, growth = export_audit(port, users["supervisor"].token, fmt, proc.pid)
                rates.append(events / seconds)
                growths.append(growth)
            rows.append((f"audit export, {fmt}, whole trail (s)", events, events / max(rates), None,
                         f"{n_bytes / 1e6:.1f} MB; server peak RSS +{max(growths):.1f} MB"))
            results.put(f"export_{fmt}_events_per_s", rates, "events/s", "sqlite", n=events)
            results.put(f"export_{fmt}_memory_growth_mb", growths, "MB", "sqlite", n=events,
                        note="growth of the server process's peak resident memory during the export")
        verify_rates = []
        for _ in range(2):
            ms, status, result = users["supervisor"].timed("GET", "/audit/verify")
            assert status == 200 and result["ok"], result
            verify_rates.append(result["events_checked"] / (ms / 1000))
        rows.append(("audit chain verified, whole trail (s)", result["events_checked"], ms / 1000, None))
        results.put("verify_events_per_s", verify_rates, "events/s", "sqlite", n=result["events_checked"])
        incremental, checked = [], []
        for _ in range(5):          # each walk starts where the last ended, a sign-in (on record) between
            Api(port, "town_a").conn.close()
            ms, status, result = users["supervisor"].timed("GET", "/audit/verify?since=checkpoint")
            assert status == 200 and result["ok"] and result["incremental"], result
            incremental.append(ms)
            checked.append(result["events_checked"])
        results.put("verify_incremental_ms", incremental, "ms", "sqlite", n=len(incremental),
                    note=f"GET /audit/verify?since=checkpoint after {N_AUDIT:,} + events, "
                         f"{max(checked)} new events at most a walk")
    finally:
        proc.terminate()
        proc.wait(10)
    rows.extend(evidence_throughput(tmp, "directory") + evidence_throughput(tmp, "database"))
    fired, sweep_ms, idle, idle_ms = scheduler_sweep(db_path)
    results.put("timer_sweep_100_due_ms", sweep_ms, "ms", "sqlite", n=fired,
                note=f"{fired} due among {N_OPEN:,} open cases, read from the database as a scheduler process would")
    results.put("timer_due_ms_per_case", sweep_ms / max(fired, 1), "ms", "sqlite", n=fired)
    results.put("timer_sweep_idle_ms", idle_ms, "ms", "sqlite")
    check_line, check_seconds = check_open_cases(os.path.join(tmp, "check.db"))
    print(f"\nHuying bench — {datetime.now().isoformat(timespec='minutes')}, {os.cpu_count()} cores, "
          f"{N_OPEN:,} open cases ({n_tasks:,} ready tasks) for the queries\n")
    print_rows(rows)
    print(f"(audit rows: n = events, of which {N_AUDIT:,} appended in bulk; the median column = seconds of one request)")
    print(f"\nscheduler sweep over {N_OPEN:,} open cases with 100 due: {fired} cases fired in {sweep_ms:.0f} ms "
          f"({sweep_ms / max(fired, 1):.1f} ms a case, each with two departments' reminders and supervision orders); "
          f"the next sweep, nothing due: {idle_ms:.1f} ms")
    print(f"\nflask huying check over {N_CHECK} open calls parked at six steps: {check_line} "
          f"({check_seconds:.1f} s with the command's start)")
    print(f"\nclosed call (2 departments, 1 rework): case row {size['case']} B "
          f"(workflow state dropped on close); its {size['n_tasks']} task rows {size['tasks']} B; "
          f"participants {size['participants']} B; {size['n_audit']} audit events {size['audit']} B")
    from bench.search import print_rows as print_search, search_rows
    print(f"\nsearch, GET /cases?q= over {N_OPEN:,} calls with Chinese text (bench/search.py)"
          + ("" if pg else "; PostgreSQL skipped (no PostgreSQL)"))
    found = search_rows()
    print_search(found)
    _worst(results, "search_p95_ms", found, "of the twelve query kinds, the slowest's p95")
    from bench.duplicates import duplicate_rows
    dup = duplicate_rows()
    print_search(dup)
    _worst(results, "duplicates_p95_ms", dup, "GET /cases/{id}/similar")
    from bench.report import print_table, write_readme
    print_table(results.figures)
    if os.environ.get("BENCH_RESULTS"):       # a trial run at other sizes: its own file, the README untouched
        print(f"\nwritten: {results.write(Path(os.environ['BENCH_RESULTS']))}")
    else:
        path = results.write()
        write_readme(path)
        print(f"\nwritten: {path.relative_to(ROOT)}; README's speed section regenerated from it")
    from bench.first_visit import CHROMIUM, main as first_visits
    if os.environ.get("BENCH_FIRST_VISIT") == "0":
        print("\nfirst visits skipped (BENCH_FIRST_VISIT=0)")
    elif os.path.exists(CHROMIUM):
        first_visits()
    else:
        print(f"\nfirst visits skipped: {CHROMIUM} not found")


def _worst(results, key, rows, note):
    """The slowest p95 of a part's query rows, per database (their labels begin with it)."""
    by_db = {}
    for label, _n, _median, p95, *_ in rows:
        if p95 is None:
            continue
        database = "postgresql" if label.startswith("PostgreSQL") else "sqlite"
        by_db.setdefault(database, []).append((p95, label))
    for database, got in by_db.items():
        p95, label = max(got)
        results.put(key, p95, "ms", database, n=len(got), note=f"{note}: {label}")

if __name__ == "__main__":
    main()
