"""Two departments finishing parallel tasks at the same moment must both count."""
import threading

import pytest

from helpers import accept_and_dispatch, case_of, raise_call

from conftest import ApiUser


def _at_once(app, calls):
    """Run the calls in threads released together; returns their responses."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, fn):
        client = app.test_client()
        barrier.wait()
        results[i] = fn(client)
    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


@pytest.mark.lifecycle
def test_parallel_departments_complete_concurrently(app, users):
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id)
    for step, data in (("签收", {"returned": False}), ("办理反馈", {"result": "已处置"})):
        tasks = {d: users[d].task(case_id, step) for d in ("dept_zf", "dept_zr")}

        def completer(d, data=data, tasks=tasks):
            return lambda c: ApiUser(c, d).post(f"/tasks/{tasks[d]['id']}/complete", json={"data": data})
        responses = _at_once(app, [completer("dept_zf"), completer("dept_zr")])
        assert [r.status_code for r in responses] == [200, 200], [r.get_data(as_text=True) for r in responses]
    case = case_of(users["center"], case_id)
    assert [t["name"] for t in case["current_tasks"]] == ["审核办结"]
    assert sorted(case["data"]["signed"]) == ["D01", "D02"]
    events = users["center"].get(f"/cases/{case_id}/audit").json
    assert sum(1 for e in events if e["action"] == "task_completed" and e["task"] == "办理反馈") == 2


def test_second_completion_of_a_task_answers_409(users):
    case_id = raise_call(users)
    task = users["center"].task(case_id, "受理")
    users["center"].complete(task, {"accepted": True})
    again = users["center"].post(f"/tasks/{task['id']}/complete", json={"data": {"accepted": True}})
    assert again.status_code == 409 and again.json["error"] == "conflict"


@pytest.mark.lifecycle
def test_same_task_completed_twice_at_once_counts_once(app, users):
    case_id = raise_call(users)
    task = users["center"].task(case_id, "受理")
    users["center2"]   # log both in before the race

    def completer(name):
        return lambda c: ApiUser(c, name).post(f"/tasks/{task['id']}/complete", json={"data": {"accepted": True}})
    responses = _at_once(app, [completer("center"), completer("center2")])
    assert sorted(r.status_code for r in responses) == [200, 409]
    events = users["center"].get(f"/cases/{case_id}/audit").json
    assert sum(1 for e in events if e["action"] == "task_completed") == 1
    assert [t["name"] for t in case_of(users["center"], case_id)["current_tasks"]] == ["研判派单"]


def test_a_case_changed_by_another_process_is_read_afresh(app, users, monkeypatch):
    """The in-process copy of a workflow is reused only while the case row is unchanged."""
    from sqlalchemy import text

    from app import cases
    from app.engine import CaseRun
    from app.extensions import db
    case_id = raise_call(users)
    loads = []
    real_load = CaseRun.load.__func__
    monkeypatch.setattr(CaseRun, "load", classmethod(lambda cls, d, s: loads.append(1) or real_load(cls, d, s)))
    users["center"].complete(users["center"].task(case_id, "受理"), {"accepted": True})
    assert loads == [] and case_id in cases._recent
    with app.app_context():   # another app process writes the case
        db.session.execute(text("UPDATE cases SET row_version = row_version + 1 WHERE id = :id"), {"id": case_id})
        db.session.commit()
    users["center"].complete(users["center"].task(case_id, "研判派单"), {"lead_department": "D01"})
    assert loads == [1]
