"""The full stack against the engine alone, and two server processes against one.

`engine_round` runs the bench's call lifecycle (bench/__main__.py `drive_call`: two departments,
one rework, 13 completions) on `CaseRun` in memory — the same deployed BPMN, the same form data —
timing each completion as the engine's part of `cases._advance` (complete, the ready tasks with
their orgUnit expressions and timers, the escalations): no database, no state dump. `api_round`
runs the same lifecycles through a real server over HTTP. The rounds alternate, so each ratio is
of two figures taken in the same minute.

`two_processes` drives lifecycles from 4 client threads for a fixed time against one server, then
against two servers on the same PostgreSQL database (the clients alternating between them), and
checks at the end that every case it drove is closed with its 13 completions, and the audit chain
intact."""
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# the steps of bench/__main__.drive_call: (element id, form data by element); a step completes
# every ready task of its element, as the departments each complete their own
REWORK = [("handle", {"result": "已联合执法，设立临时便民市场，实行路长制。"}), ("review", {"approved": True})]


def lifecycle_steps(reworks=1):
    steps = [("accept", {"accepted": True}), ("dispatch", {"lead_department": "D01", "co_departments": ["D02"]}),
             ("sign", {"returned": False})]
    for round_ in range(reworks + 1):
        satisfied = round_ == reworks
        steps += REWORK + [("evaluate", {"satisfied": satisfied, "rating": 5 if satisfied else 2,
                                         "comment": "摊点仍有回潮"})]
    return steps + [("rate_township", {"rating": 5})]


START = {"title": "明珠东路马路市场占道经营", "urgency": "normal", "list_item": "ZF-01",
         "description": "道路贯通后形成马路市场，摊点流动，街道多次清理无效，请求县级部门联动。"}


class Engine:
    """The deployed call process in memory, in an app context over the bench's own database (read
    only: the definition, the org tree and the calendar its expressions consult)."""

    def __init__(self, db_url):
        sys.path.insert(0, str(ROOT))
        from app import create_app
        self.app = create_app({"SQLALCHEMY_DATABASE_URI": db_url, "SECRET_KEY": "bench"})

    def round(self, lifecycles):
        """([ms of each completion], [ms of each lifecycle: begin + completions])."""
        from app import processes
        from app.cases import check_form, form_schema
        from app.engine import CaseRun
        steps, out, whole = lifecycle_steps(), [], []
        with self.app.app_context():
            row = processes.latest_version("call_response")
            definition = processes.definition(row)
            props = (definition.form(definition.start.form) or {}).get("properties") or {}
            for _ in range(lifecycles):
                t_life = time.perf_counter()
                data = {k: None for k in props}
                data.update(START, initiator="town_a", initiator_org="T01", initiator_township="T01")
                run = CaseRun.start(definition)
                run.begin(data)
                ready = run.ready_tasks()
                for element, form in steps:
                    for t in [t for t in ready if t.element_id == element]:
                        # the form's data as the API passes it on (validated, every field present), untimed
                        clean = check_form(form_schema(definition, t.form, data), dict(form))
                        t0 = time.perf_counter()
                        since = time.time()
                        run.complete(t.id, clean)
                        ready = [] if run.is_completed() else run.ready_tasks()
                        run.escalations_since(since)
                        out.append((time.perf_counter() - t0) * 1000)
                assert run.is_completed(), [t.element_id for t in ready]
                whole.append((time.perf_counter() - t_life) * 1000)
        return out, whole


def api_round(users, lifecycles, drive_call):
    """([ms of each completion request], [ms of each lifecycle's requests that write: start + completions])."""
    timings, whole = [], []
    for _ in range(lifecycles):
        before = len(timings)
        starts = []
        drive_call(users, timings, starts=starts)
        whole.append(sum(starts) + sum(timings[before:]))
    return timings, whole


def p50(values):
    return statistics.median(values)


def compare(results, database, engine, users, drive_call, rounds, per_round, pct):
    """Interleaved rounds of engine and API; puts engine_completion_ms, api_completion_p50/p95_ms,
    api_vs_engine_ratio and the lifecycle's figures for `database`."""
    e_p50, a_p50, a_p95, ratio, e_life, a_life, life_ratio, all_api = [], [], [], [], [], [], [], []
    for _ in range(rounds):
        e, e_whole = engine.round(per_round)
        a, a_whole = api_round(users, per_round, drive_call)
        e_p50.append(p50(e))
        a_p50.append(p50(a))
        a_p95.append(pct(a, 95))
        ratio.append(p50(a) / p50(e))
        e_life.append(p50(e_whole))
        a_life.append(p50(a_whole))
        life_ratio.append(p50(a_whole) / p50(e_whole))
        all_api += a
    n = rounds * per_round
    results.put("engine_completion_ms", e_p50, "ms", database, n=len(all_api),
                note="CaseRun.complete + ready_tasks + escalations_since, in memory, p50 of each round")
    results.put("api_completion_p50_ms", a_p50, "ms", database, n=len(all_api),
                note="POST /tasks/{id}/complete through the real server, p50 of each round")
    results.put("api_completion_p95_ms", a_p95, "ms", database, n=len(all_api))
    results.put("api_vs_engine_ratio", ratio, "×", database, n=rounds,
                note="API p50 / engine p50, round by round")
    results.put("engine_lifecycle_ms", e_life, "ms", database, n=n)
    results.put("api_lifecycle_ms", a_life, "ms", database, n=n,
                note="POST /cases + 13 completions of one call, summed")
    results.put("api_vs_engine_lifecycle_ratio", life_ratio, "×", database, n=rounds)


# --- two server processes on one PostgreSQL ----------------------------------------------------
def two_processes(results, pg_url, start_server, free_port, Api, drive_call, seconds=None, clients=4):
    seconds = seconds or float(os.environ.get("BENCH_TWO_PROCESS_SECONDS", "25"))
    ports = [free_port(), free_port()]
    procs = [start_server(pg_url, ports[0], HUYING_DEMO_HISTORY="0")]
    procs.append(start_server(pg_url, ports[1], HUYING_DEMO_HISTORY="0"))
    try:
        rates = {}
        for label, use in (("one", ports[:1]), ("two", ports), ("one again", ports[:1]), ("two again", ports)):
            rates[label], driven = _drive_for(use, seconds, clients, Api, drive_call)
            problems = _check_closed(Api(ports[0], "supervisor"), driven)
            if problems:
                raise SystemExit(f"two processes: {len(problems)} cases not closed as driven: {problems[:5]}")
        one = [rates["one"], rates["one again"]]
        two = [rates["two"], rates["two again"]]
        results.put("lifecycles_per_s_one_process", one, "lifecycles/s", "postgresql",
                    note=f"{clients} clients, {seconds:.0f} s each")
        results.put("lifecycles_per_s_two_processes", two, "lifecycles/s", "postgresql",
                    note=f"{clients} clients alternating between two servers, {seconds:.0f} s each")
        results.put("two_process_speedup", [b / a for a, b in zip(one, two)], "×", "postgresql", n=2,
                    note="every case driven checked closed with its 13 completions at the end; audit chain verified")
        status, verdict = Api(ports[0], "supervisor").call("GET", "/audit/verify")
        assert status == 200 and verdict["ok"], verdict
    finally:
        for p in procs:
            p.terminate()
            p.wait(10)


def _drive_for(ports, seconds, clients, Api, drive_call):
    """(lifecycles/s, [case ids]) of `clients` threads driving whole calls for `seconds`; each client
    signs in on every server first (untimed) and switches server at every step it looks up."""
    done, errors, lock = [], [], threading.Lock()
    sessions = [[{n: Api(p, n) for n in ("town_a", "center", "dept_zf", "dept_zr")} for p in ports]
                for _ in range(clients)]
    ready = threading.Barrier(clients + 1)
    deadline = []

    class Switch:
        def __init__(self, mine, i):
            self.mine, self.turn = mine, i

        def __getitem__(self, name):
            self.turn += 1
            return self.mine[self.turn % len(self.mine)][name]

    def client(i):
        users = Switch(sessions[i], i)
        ready.wait()
        try:
            while time.perf_counter() < deadline[0]:
                case_id = drive_call(users, [])
                with lock:
                    done.append(case_id)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    t0 = time.perf_counter()
    deadline.append(t0 + seconds)
    ready.wait()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    if errors:
        raise SystemExit(f"two processes: a client failed: {errors[0]}")
    return len(done) / elapsed, done


def _check_closed(api, case_ids):
    problems = []
    for cid in case_ids:
        status, case = api.call("GET", f"/cases/{cid}")
        if status != 200 or case.get("status") != "closed":
            problems.append((cid, status, case.get("status") if isinstance(case, dict) else None))
            continue
        status, trail = api.call("GET", f"/cases/{cid}/audit")
        completed = [e for e in trail if e.get("action") == "task_completed"] if status == 200 else []
        if len(completed) != 13:
            problems.append((cid, "completions", len(completed)))
    return problems


def pg_database(url):
    """Empty the bench's PostgreSQL database (created when missing); None when PostgreSQL is not reachable."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    u = make_url(url)
    try:
        admin = create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{u.database}"'))
        admin.dispose()
    except Exception as e:  # noqa: BLE001 - no PostgreSQL here: the bench says so and goes on
        print(f"PostgreSQL not reachable at {u.render_as_string(hide_password=True)}: {type(e).__name__}")
        return None
    return url


def run_quiet(cmd, env):
    return subprocess.run(cmd, env=env, cwd=ROOT, check=True, capture_output=True)
