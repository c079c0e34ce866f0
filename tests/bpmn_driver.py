"""A generic driver of any deployed process through the API, as its users would: start a case as a
demo user of the start role, then complete each ready task as a demo user of that task's role (and
org unit), with data generated from the task's form, until the case leaves `open` or `max_steps`.

`drive` returns a Drive: how the case ended (closed/rejected/... or `errored`, `waiting` for a timer
or an event, `stuck` with nothing to do, `steps` when the budget ran out) and what it did. Other
kinds of waits (messages, external tasks) are recognised by adding a probe to WAIT_PROBES:
probe(app, users, case) -> a note when the case waits for something outside the inbox, else None.
"""
import json
from dataclasses import dataclass, field
from pathlib import Path

from app.engine.sample_data import sample
from app.extensions import db
from app.models import Case

DEMO_USERS = json.loads((Path(__file__).resolve().parent.parent / "app" / "demo" / "org.json")
                        .read_text(encoding="utf-8"))["users"]


def _timer_probe(app, users, case):
    with app.app_context():
        row = db.session.get(Case, case["id"])
        return f"等待定时器（{row.next_timer_at.isoformat()}）" if row is not None and row.next_timer_at else None


WAIT_PROBES = [_timer_probe]


def _answer_waits(users, case, d):
    """Move a case that waits for the outside world as the outside world would: a message or a
    signal delivered (POST /messages) and an external task completed by the integration worker
    (the demo `worker`). True when something was answered."""
    worker = users["worker"]
    for wait in case.get("waiting") or []:
        if wait.get("kind") in ("message", "signal") and wait.get("name"):
            r = worker.post("/messages", json={"name": wait["name"], "case_id": case["id"], "data": {}})
            assert r.status_code == 200, (wait, r.status_code, r.get_data(as_text=True))
            d.steps.append((f"{wait['kind']} {wait['name']}", "integration", "worker"))
            return True
        if wait.get("kind") == "external" and wait.get("name"):
            r = worker.post("/external-tasks/fetch-and-lock",
                            json={"worker_id": "driver", "topics": [{"name": wait["name"], "lock_seconds": 60}],
                                  "max_tasks": 1})
            assert r.status_code == 200, r.get_data(as_text=True)
            for job in r.json:
                done = worker.post(f"/external-tasks/{job['id']}/complete", json={"worker_id": "driver", "variables": {}})
                assert done.status_code == 200, done.get_data(as_text=True)
                d.steps.append((f"external {wait['name']}", "integration", "worker"))
                return True
    return False


@dataclass
class Drive:
    case_id: int = None
    status: str = None            # the case's status at the end, or waiting / stuck / steps / not_started
    steps: list = field(default_factory=list)     # (task name, role, username)
    note: str = None


def user_for(role, org=None):
    """A demo user of `role` (in `org` when one is named and such a user exists)."""
    of_role = [u for u in DEMO_USERS if role in u["roles"]]
    in_org = [u for u in of_role if org and u.get("org") == org]
    found = (in_org or of_role or [None])[0]
    return found["username"] if found else None


def drive(app, users, process_id, max_steps=40):
    d = Drive()
    process = users["analyst"].get(f"/processes/{process_id}")
    assert process.status_code == 200, process.get_data(as_text=True)
    roles = [r for r in (process.json.get("start_role") or "").split(",") if r]
    # a start that names no role may be started by anyone (policy._starter): the centre's user, then
    starter = next((user_for(r) for r in roles if user_for(r)), None) if roles else "center"
    if starter is None:
        d.status, d.note = "not_started", f"没有可发起的演示用户（start_role={roles}）"
        return d
    form = process.json.get("start_form")
    data = sample(form) if form else {}
    data = data if isinstance(data, dict) else {}
    r = users[starter].post("/cases", json={"process_id": process_id, "data": data})
    assert r.status_code == 201, (starter, data, r.status_code, r.get_data(as_text=True))
    d.case_id = r.json["id"]
    for _ in range(max_steps):
        case = users[starter].get(f"/cases/{d.case_id}")
        if case.status_code != 200:          # the starter may no longer see it: look as the admin
            case = users["admin"].get(f"/cases/{d.case_id}")
        assert case.status_code == 200, case.get_data(as_text=True)
        case = case.json
        if case["status"] != "open":
            d.status = case["status"]
            if case.get("error"):
                d.note = json.dumps(case["error"], ensure_ascii=False)
            return d
        tasks = case.get("current_tasks") or []
        if not tasks and _answer_waits(users, case, d):
            continue
        if not tasks:
            for probe in WAIT_PROBES:
                note = probe(app, users, case)
                if note:
                    d.status, d.note = "waiting", note
                    return d
            d.status, d.note = "stuck", "案件开启，但没有任何待办任务，也不在等待"
            return d
        task = tasks[0]
        username = task.get("assignee") or user_for(task.get("role"), task.get("org"))
        if username is None:
            d.status, d.note = "stuck", f"任务“{task['name']}”的角色 {task.get('role')} 没有演示用户"
            return d
        detail = users[username].get(f"/tasks/{task['id']}")
        assert detail.status_code == 200, (username, task, detail.get_data(as_text=True))
        form = detail.json.get("form")
        answer = sample(form) if form else {}
        answer = answer if isinstance(answer, dict) else {}
        done = users[username].post(f"/tasks/{task['id']}/complete", json={"data": answer})
        assert done.status_code == 200, (username, task["name"], answer, done.status_code, done.get_data(as_text=True))
        d.steps.append((task["name"], task.get("role"), username))
    d.status = "steps"
    return d
