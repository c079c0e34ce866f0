"""Every path of every shipped process goes on after the server restarts (SIGTERM or kill -9) and
when consecutive steps of a case land on different server processes — real `flask huying serve`
processes on one database, SQLite and PostgreSQL."""
import signal
import threading

import pytest

from app.extensions import db
from helpers import CALL, wait_for
from servers import RemoteUsers, Server

SINKING = {"duty": "违法建设的日常巡查和制止", "item_code": "ZR-01", "townships": ["T01", "T02"],
           "legal_basis": "《城乡规划法》", "reason": "乡镇（街道）就近发现、及时制止",
           "funding": "每年每街道工作经费3万元", "staff": 1}
CHANGE = {"change_type": "modify", "item_code": "ZF-01", "reason": "马路市场治理以市场监管为主更有效",
          "basis": "县政府常务会议纪要", "item": {"domain": "综合执法", "name": "马路市场、占道经营的治理",
                                            "primary_org": "D05", "supporting": ["D01"]}}


# --- the paths, as steps: each step is one user's action on the path's case ---------------------
def start(who, process_id, data):
    def step(users, ctx):
        r = users[who].post("/cases", json={"process_id": process_id, "data": data})
        assert r.status_code == 201, r.text
        ctx["case"] = r.json["id"]
    step.label = f"{who} 发起 {process_id}"
    return step


def do(who, name, data=None):
    def step(users, ctx):
        result = users[who].complete(users[who].task(ctx["case"], name), data)
        assert result["case"]["status"] != "errored", result["case"]["error"]
    step.label = f"{who} {name or '办理'}"
    return step


def both_at_once(first, second):
    """Two departments act at the same moment, each on another server process."""
    def step(users, ctx):
        failures = []
        barrier = threading.Barrier(2)

        def run(s):
            barrier.wait()
            try:
                s(users, ctx)
            except AssertionError as e:
                failures.append(e)
        users[first.who], users[second.who]     # sign in before the race
        threads = [threading.Thread(target=run, args=(s,)) for s in (first, second)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not failures, failures
    step.label = f"{first.label} ∥ {second.label}"
    return step


def do_as(who, name, data=None):
    s = do(who, name, data)
    s.who = who
    return s


def ask_extension(who, days=2):
    def step(users, ctx):
        task = users[who].task(ctx["case"], "办理反馈")
        r = users[who].post(f"/tasks/{task['id']}/extension", json={"days": days, "reason": "需协调省级部门会商"})
        assert r.status_code == 201, r.text
        ctx["extension"], ctx["due_before"] = r.json["id"], task["due_at"]
    step.label = f"{who} 申请延期"
    return step


def decide_extension(who="center"):
    def step(users, ctx):
        r = users[who].post(f"/extensions/{ctx['extension']}/decide", json={"approved": True, "opinion": "同意"})
        assert r.status_code == 200 and r.json["status"] == "approved", r.text
        assert users["dept_zf"].task(ctx["case"], "办理反馈")["due_at"] != ctx["due_before"]
    step.label = f"{who} 批准延期"
    return step


ACCEPT = {"accepted": True}
SIGNED = {"returned": False}
APPROVED = {"approved": True, "opinion": "同意"}
SATISFIED = {"satisfied": True, "rating": 5, "comment": "已解决"}
UNSATISFIED = {"satisfied": False, "rating": 2, "comment": "摊点仍有回潮"}


def handled(d):
    return {"result": f"{d} 已联合执法，设立临时便民市场"}


def dispatch(lead, *co):
    return {"lead_department": lead, "co_departments": list(co)}


def closing(township="town_a", lead="dept_zf"):
    return [do("center", "审核办结", {"approved": True}), do(township, "评价", SATISFIED),
            do(lead, "一呼一评", {"rating": 4})]


PATHS = {
    "two departments": ([start("town_a", "call_response", CALL), do("center", "受理", ACCEPT),
                         do("center", "研判派单", dispatch("D01", "D02")),
                         both_at_once(do_as("dept_zf", "签收", SIGNED), do_as("dept_zr", "签收", SIGNED)),
                         both_at_once(do_as("dept_zf", "办理反馈", handled("D01")),
                                      do_as("dept_zr", "办理反馈", handled("D02")))] + closing(), "closed"),
    "more information": ([start("town_a", "call_response", CALL),
                          do("center", "受理", {"accepted": False, "more_info_requested": True,
                                               "reason": "请补充现场照片和摊点数量"}),
                          do("town_a", "补充材料", {"supplement": "摊点约40个，早晚高峰最严重"}),
                          do("center", "受理", ACCEPT), do("center", "研判派单", dispatch("D01")),
                          do("dept_zf", "签收", SIGNED), do("dept_zf", "办理反馈", handled("D01"))] + closing(),
                         "closed"),
    "rejected": ([start("town_b", "call_response", CALL),
                  do("center", "受理", {"accepted": False, "reason": "属乡镇自身职责，不予受理"})], "rejected"),
    "return and re-dispatch": ([start("town_a", "call_response", CALL), do("center", "受理", ACCEPT),
                                do("center", "研判派单", dispatch("D01", "D03")), do("dept_zf", "签收", SIGNED),
                                do("dept_hb", "签收", {"returned": True, "reason": "不属生态环境职责，依据清单ZF-01"}),
                                do("center", "改派", dispatch("D01", "D02")), do("dept_zr", "签收", SIGNED),
                                do("dept_zf", "办理反馈", handled("D01")), do("dept_zr", "办理反馈", handled("D02"))]
                               + closing(), "closed"),
    "two reworks": ([start("town_a", "call_response", CALL), do("center", "受理", ACCEPT),
                     do("center", "研判派单", dispatch("D01", "D02")), do("dept_zf", "签收", SIGNED),
                     do("dept_zr", "签收", SIGNED)]
                    + [s for _ in range(2) for s in (
                        do("dept_zf", "办理反馈", handled("D01")), do("dept_zr", "办理反馈", handled("D02")),
                        do("center", "审核办结", {"approved": True}), do("town_a", "评价", UNSATISFIED))]
                    + [do("dept_zf", "办理反馈", handled("D01")), do("dept_zr", "办理反馈", handled("D02"))]
                    + closing(), "closed"),
    "review sends back": ([start("town_a", "call_response", CALL), do("center", "受理", ACCEPT),
                           do("center", "研判派单", dispatch("D01")), do("dept_zf", "签收", SIGNED),
                           do("dept_zf", "办理反馈", handled("D01")),
                           do("center", "审核办结", {"approved": False, "opinion": "请补充整治前后照片"}),
                           do("dept_zf", "办理反馈", handled("D01"))] + closing(), "closed"),
    "extension": ([start("town_a", "call_response", dict(CALL, list_item=None)), do("center", "受理", ACCEPT),
                   do("center", "研判派单", dispatch("D01")), do("dept_zf", "签收", SIGNED), ask_extension("dept_zf"),
                   decide_extension(), do("dept_zf", "办理反馈", handled("D01"))] + closing(), "closed"),
    "duty sinking": ([start("dept_zr", "duty_sinking", SINKING), do("town_a", None, {"consent": True}),
                      do("town_b", None, {"consent": True}), do("staffing", "编办审核", APPROVED),
                      do("legal", "合法性审查", APPROVED), do("leader", "县委县政府审批", APPROVED)], "closed"),
    "duty sinking refused": ([start("dept_zr", "duty_sinking", SINKING), do("town_a", None, {"consent": True}),
                              do("town_b", None, {"consent": False, "reason": "无执法力量，无法承接"})], "refused"),
    "list change": ([start("town_a", "list_change", CHANGE), do("staffing", "编办审核", {"approved": True}),
                     do("dept_zf", "提出意见", {"agree": True}),
                     do("dept_sj", "提出意见", {"agree": False, "opinion": "需增加编制"}),
                     do("legal", None, {"approved": True}), do("leader", None, {"approved": True})], "closed"),
}


def _status(users, case_id):
    r = users["supervisor"].get(f"/cases/{case_id}")
    assert r.status_code == 200, r.text
    return r.json


def _run_in_lockstep(users, between_rounds=None):
    """Step i of every path, then step i+1 of every path, ...; `between_rounds(i)` after each round."""
    contexts = {name: {} for name in PATHS}
    rounds = max(len(steps) for steps, _ in PATHS.values())
    for i in range(rounds):
        for name, (steps, _status_) in PATHS.items():
            if i < len(steps):
                try:
                    steps[i](users, contexts[name])
                except AssertionError as e:
                    raise AssertionError(f"{name}, step {i + 1} ({steps[i].label}): {e}") from None
        if between_rounds is not None and i < rounds - 1:
            between_rounds(i)
    for name, (_steps, status) in PATHS.items():
        case = _status(users, contexts[name]["case"])
        assert (case["status"], case["current_tasks"]) == (status, []), (name, case["status"], case["error"])
    return contexts


@pytest.fixture
def prepared_database(app, database_url):
    """The test database with the processes and the demo, and nobody else connected to it."""
    with app.app_context():
        db.engine.dispose()
    return database_url


def _stop_all(servers):
    for s in servers:
        s.stop(signal.SIGKILL)


def test_every_path_goes_on_with_each_step_on_another_process(prepared_database, tmp_path):
    """Server b starts once every path is under way on server a, so that b first meets cases whose
    parallel branches a opened; from then on each write goes to the other process than the last."""
    a, b = (Server(prepared_database, tmp_path, name) for name in ("a", "b"))
    in_service = [a.start()]

    def open_the_second(i):
        if i == 2:
            in_service.append(b.start())
    try:
        _run_in_lockstep(RemoteUsers(in_service), between_rounds=open_the_second)
        assert len(in_service) == 2
    except AssertionError as e:
        raise AssertionError(f"{e}\n--- a: {a.log_tail()}\n--- b: {b.log_tail()}") from None
    finally:
        _stop_all([a, b])


def test_every_path_goes_on_after_each_step_is_followed_by_a_restart(prepared_database, tmp_path):
    server = Server(prepared_database, tmp_path, "restarted")
    signals = [signal.SIGTERM, signal.SIGKILL]
    try:
        server.start()
        contexts = _run_in_lockstep(RemoteUsers([server]),
                                    between_rounds=lambda i: server.restart(signals[i % 2]))
        assert server.starts == max(len(steps) for steps, _ in PATHS.values())
    except AssertionError as e:
        raise AssertionError(f"{e}\n--- log: {server.log_tail()}") from None
    finally:
        _stop_all([server])
    events = RemoteUsers([server.start()])["supervisor"].get(f"/cases/{contexts['two reworks']['case']}/audit").json
    assert sum(1 for e in events if e["action"] == "task_completed" and e["task"] == "办理反馈") == 6
    _stop_all([server])


def test_deadlines_fire_once_after_a_kill_and_on_the_other_process(prepared_database, tmp_path):
    """Both servers run the scheduler; the one that set the timers is killed before they are due.
    The other fires each once, and the restarted one finds nothing left to fire."""
    a, b = (Server(prepared_database, tmp_path, name) for name in ("a", "b"))
    try:
        users = RemoteUsers([a.start(), b.start()])
        fast = {"limits": {"sign": {"normal": "PT3S"}, "handle": {"normal": "PT1H"}}}
        assert users["admin"].put("/settings/supervision", json=fast).status_code == 200
        case_id = None

        def raised(u, ctx):
            nonlocal case_id
            start("town_a", "call_response", dict(CALL, list_item=None))(u, ctx)
            case_id = ctx["case"]
        ctx = {}
        for s in (raised, do("center", "受理", ACCEPT), do("center", "研判派单", dispatch("D01", "D02"))):
            s(users, ctx)
        a.stop(signal.SIGKILL)
        users.servers[:] = [b]

        def orders():
            return [t for t in users["supervisor"].inbox(case_id) if t["name"].startswith("督办单")]
        assert len(wait_for(lambda: len(orders()) == 2 and orders(), seconds=60)) == 2, b.log_tail()
        users.servers[:] = [a.start(), b]
        events = users["supervisor"].get(f"/cases/{case_id}/audit").json
        assert sum(1 for e in events if e["action"] == "overdue") == 2
        assert sum(1 for e in events if e["action"] == "timer_fired") >= 1
        for d in ("dept_zf", "dept_zr"):
            do(d, "签收", SIGNED)(users, ctx)
        for d in ("dept_zf", "dept_zr"):
            assert [t["name"] for t in users[d].inbox(case_id)] == ["办理反馈"]
        for order in orders():
            users["supervisor"].complete(order, {"opinion": "限今日内签收并联系乡镇"})
        assert orders() == []
        overdue = [e for e in users["supervisor"].get(f"/cases/{case_id}/audit").json if e["action"] == "overdue"]
        assert len(overdue) == 2               # nothing fired twice across the two schedulers and the restart
    finally:
        _stop_all([a, b])


def test_four_clients_on_two_processes_lose_no_department_s_work(prepared_database, tmp_path):
    """Four clients drive calls at once, each write on the other process than its last; every call
    closes with both departments' signatures and replies."""
    servers = [Server(prepared_database, tmp_path, name) for name in ("a", "b")]
    steps = PATHS["two departments"][0]
    results, failures = [], []

    def client(n):
        users = RemoteUsers(servers)
        users.turns[0] = n              # the clients start on different processes
        try:
            for _ in range(4):
                ctx = {}
                for s in steps:
                    s(users, ctx)
                results.append(_status(users, ctx["case"]))
        except AssertionError as e:
            failures.append(e)
    try:
        for s in servers:
            s.start()
        threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(600)
        assert not failures, failures
        assert len(results) == 16
        assert {c["status"] for c in results} == {"closed"}
        assert all(sorted(c["data"]["signed"]) == ["D01", "D02"] for c in results), [c["data"]["signed"] for c in results]
    finally:
        _stop_all(servers)
