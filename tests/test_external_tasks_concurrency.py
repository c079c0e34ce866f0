"""Two workers fetching at once never get the same external task: threads on one app (SQLite's
write lock, PostgreSQL's FOR UPDATE SKIP LOCKED), and two real `flask huying serve` processes on
one PostgreSQL, where each task is then completed and each message delivered on the other process
than the one that made it ready (the external-task marking of a spec parsed afresh)."""
import signal
import threading
from pathlib import Path

import pytest

from app.extensions import db
from conftest import ApiUser
from helpers import upload
from servers import RemoteUsers, Server

FILE = Path(__file__).resolve().parent / "bpmn" / "events" / "camunda7_sms_external_task.bpmn"
CASES = 6


def _at_once(calls):
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, fn):
        barrier.wait()
        results[i] = fn()
    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


def _fetcher(user, worker):
    body = {"worker_id": worker, "topics": [{"name": "sms", "lock_seconds": 300}], "max_tasks": 4}
    return lambda: user.post("/external-tasks/fetch-and-lock", json=body)


def _start_cases(users):
    r = upload(users["analyst"], FILE.name, FILE.read_bytes())
    assert r.status_code == 201, r.json
    return [users["center"].post("/cases", json={"process_id": "sms_notice", "data": {}}).json["id"]
            for _ in range(CASES)]


@pytest.mark.usefixtures("backend")
def test_two_workers_fetching_at_once_on_one_app_never_share_a_task(app, users):
    ids = _start_cases(users)
    workers = [ApiUser(app.test_client(), "worker") for _ in range(2)]
    results = _at_once([_fetcher(workers[0], "gw-a"), _fetcher(workers[1], "gw-b")])
    assert [r.status_code for r in results] == [200, 200], [r.get_data(as_text=True) for r in results]
    a, b = ({t["id"] for t in r.json} for r in results)
    assert not a & b
    assert len(a | b) == len(ids) and len(a) <= 4 and len(b) <= 4
    assert {t["case_id"] for r in results for t in r.json} == set(ids)


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgresql"])
def test_two_app_processes_fetching_at_once_never_share_a_task(app, users, database_url, tmp_path):
    ids = _start_cases(users)
    with app.app_context():
        db.engine.dispose()
    a, b = Server(database_url, tmp_path, "a"), Server(database_url, tmp_path, "b")
    try:
        a.start(), b.start()
        on_a, on_b = RemoteUsers([a]), RemoteUsers([b])
        results = _at_once([_fetcher(on_a["worker"], "gw-a"), _fetcher(on_b["worker"], "gw-b")])
        assert [r.status_code for r in results] == [200, 200], [r.text for r in results]
        got_a, got_b = ({t["id"]: t["case_id"] for t in r.json} for r in results)
        assert not set(got_a) & set(got_b)
        assert sorted(list(got_a.values()) + list(got_b.values())) == sorted(ids)
        # each worker completes on the other process; the messages go to the first one again
        for tasks, worker, there in ((got_a, "gw-a", on_b), (got_b, "gw-b", on_a)):
            for task_id, case_id in tasks.items():
                r = there["worker"].post(f"/external-tasks/{task_id}/complete",
                                         json={"worker_id": worker, "variables": {"sms_id": task_id[:8]}})
                assert r.status_code == 200, r.text
        for case_id in ids:
            r = on_a["worker"].post("/messages", json={"name": "sms_receipt", "case_id": case_id, "data": {}})
            assert r.status_code == 200, r.text
            case = on_b["center"].get(f"/cases/{case_id}").json
            assert case["status"] == "open" and [t["name"] for t in case["current_tasks"]] == ["核对回执"], case
    except AssertionError as e:
        raise AssertionError(f"{e}\n--- a: {a.log_tail()}\n--- b: {b.log_tail()}") from None
    finally:
        for s in (a, b):
            s.stop(signal.SIGKILL)
