"""Messages, signals and external tasks (CONTRACT §7), through the API as other systems use it:
drawn files in the styles of Camunda Modeler 7 and 8, bpmn.io and SpiffArena (tests/bpmn/events/)
deploy and run to their end, driven by `POST /messages` and by the demo integration worker
`worker` fetching, locking, completing and failing external tasks. On both backends."""
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app import external_tasks
from app.extensions import db
from app.models import AuditEvent, ExternalTask
from app.models.types import utcnow
from helpers import upload, web_login

FILES = Path(__file__).resolve().parent / "bpmn" / "events"
WORKER = "sms-gateway-1"


@pytest.fixture(params=["drawn", "roundtrip"])
def copy(request):
    """The file as drawn, or as bpmn-js saves it after an open-and-save (engine-notes G13)."""
    return FILES if request.param == "drawn" else FILES / "roundtrip"


def deploy(users, name, folder=FILES):
    r = upload(users["analyst"], name, (folder / name).read_bytes())
    assert r.status_code == 201, r.json
    return r.json


def fetch(users, topic="sms", worker=WORKER, lock_seconds=60, max_tasks=10):
    r = users["worker"].post("/external-tasks/fetch-and-lock", json={
        "worker_id": worker, "topics": [{"name": topic, "lock_seconds": lock_seconds}], "max_tasks": max_tasks})
    assert r.status_code == 200, r.json
    return r.json


def message(user, name, case_id=None, data=None):
    body = {"name": name, "data": data or {}}
    if case_id is not None:
        body["case_id"] = case_id
    return user.post("/messages", json=body)


def actions(app, case_id):
    with app.app_context():
        return [e.action for e in db.session.execute(select(AuditEvent).where(AuditEvent.case_id == case_id)
                                                      .order_by(AuditEvent.id)).scalars()]


@pytest.mark.usefixtures("backend")
def test_camunda7_external_task_then_receive_task_with_a_non_interrupting_reminder(app, users, copy):
    deploy(users, "camunda7_sms_external_task.bpmn", copy)
    r = users["center"].post("/cases", json={"process_id": "sms_notice", "data": {}})
    assert r.status_code == 201, r.json
    case_id = r.json["id"]
    case = users["center"].get(f"/cases/{case_id}").json
    assert case["status"] == "open" and case["current_tasks"] == []
    assert [(w["kind"], w["name"]) for w in case["waiting"]] == [("external", "sms")]
    assert users["center"].inbox(case_id) == [] and users["worker"].get("/tasks").status_code == 403

    locked = fetch(users)
    assert [(t["case_id"], t["topic"]) for t in locked] == [(case_id, "sms")]
    assert locked[0]["variables"]["initiator"] == "center"
    assert fetch(users, worker="sms-gateway-2") == []            # locked: nobody else gets it
    task_id = locked[0]["id"]
    r = users["worker"].post(f"/external-tasks/{task_id}/complete", json={"worker_id": "sms-gateway-2",
                                                                         "variables": {}})
    assert r.status_code == 409 and "sms-gateway-1" in r.json["message"]
    r = users["worker"].post(f"/external-tasks/{task_id}/complete", json={"worker_id": WORKER,
                                                                         "variables": {"sms_id": "SM-20261202-1"}})
    assert r.status_code == 200, r.json
    assert r.json["status"] == "completed"
    r = users["worker"].post(f"/external-tasks/{task_id}/complete", json={"worker_id": WORKER, "variables": {}})
    assert r.status_code == 409

    case = users["center"].get(f"/cases/{case_id}").json
    assert case["data"]["sms_id"] == "SM-20261202-1"
    assert sorted((w["kind"], w["name"]) for w in case["waiting"]) == [("message", "sms_receipt"),
                                                                     ("message", "sms_reminder")]
    assert message(users["worker"], "sms_reminder", case_id, {"reminded": True}).json == {
        "delivered": 1, "case_ids": [case_id]}
    r = message(users["worker"], "sms_reminder", case_id)
    assert r.status_code == 404 and "没有在等待" in r.json["message"]          # a boundary fires once (G7)
    assert [(w["kind"], w["name"]) for w in users["center"].get(f"/cases/{case_id}").json["waiting"]] == [
        ("message", "sms_receipt")]
    r = message(users["center"], "sms_receipt", case_id, {"receipt": "已送达"})
    assert r.status_code == 200, r.json
    center = users["center"]
    center.complete(center.task(case_id, "核对回执"), {})
    case = center.get(f"/cases/{case_id}").json
    assert case["status"] == "closed" and case["waiting"] == []
    assert case["data"]["receipt"] == "已送达" and case["data"]["reminded"] is True
    trail = actions(app, case_id)
    for action in ("external_task_created", "external_task_locked", "external_task_completed", "message_delivered"):
        assert action in trail
    assert trail.count("message_delivered") == 2


@pytest.mark.usefixtures("backend")
def test_a_message_start_starts_the_newest_version_and_a_catch_event_takes_the_next(users, copy):
    deploy(users, "camunda8_message_start_job_worker.bpmn", copy)
    r = message(users["worker"], "grid_report", data={"report_id": "WG-7", "parcel": "泰前-03"})
    assert r.status_code == 200, r.json
    assert r.json["delivered"] == 1
    case_id = r.json["case_ids"][0]
    case = users["supervisor"].get(f"/cases/{case_id}").json
    assert case["process_id"] == "grid_report_gis" and case["data"]["parcel"] == "泰前-03"
    assert case["data"]["initiator"] == "worker"
    [task] = fetch(users, topic="gis-lookup")
    assert task["variables"]["report_id"] == "WG-7"
    r = users["worker"].post(f"/external-tasks/{task['id']}/complete",
                             json={"worker_id": WORKER, "variables": {"area_m2": 1250}})
    assert r.status_code == 200, r.json
    assert message(users["worker"], "no_such_message").status_code == 404
    r = message(users["worker"], "field_check_done", case_id, {"checked_by": "网格员张伟"})
    assert r.status_code == 200, r.json
    case = users["supervisor"].get(f"/cases/{case_id}").json
    assert case["status"] == "closed"
    assert case["data"]["area_m2"] == 1250 and case["data"]["checked_by"] == "网格员张伟"


@pytest.mark.usefixtures("backend")
def test_a_signal_starts_a_process_and_may_be_sent_only_by_who_may_start_it(users, copy):
    deploy(users, "bpmnio_signal_start.bpmn", copy)
    r = message(users["town_a"], "flood_alarm", data={"river": "泮河"})
    assert r.status_code == 403                                  # the start event is in the centre's lane
    r = message(users["center"], "flood_alarm", data={"river": "泮河"})
    assert r.status_code == 200, r.json
    [case_id] = r.json["case_ids"]
    center = users["center"]
    assert center.get(f"/cases/{case_id}").json["data"]["river"] == "泮河"
    center.complete(center.task(case_id, "组织巡查"), {})
    assert center.get(f"/cases/{case_id}").json["status"] == "closed"


@pytest.mark.usefixtures("backend")
def test_spiffarena_message_variable_and_an_interrupting_signal_boundary(users, copy):
    deploy(users, "spiffarena_message_variable_signal_boundary.bpmn", copy)
    town = users["town_a"]
    r = town.post("/cases", json={"process_id": "land_request", "data": {}})
    assert r.status_code == 201, r.json
    case_id = r.json["id"]
    town.complete(town.task(case_id, "填写用地申请"), {})
    assert message(users["dept_zf"], "approval_result", case_id).status_code == 404   # not in sight
    assert message(users["analyst"], "approval_result", case_id).status_code == 403   # in sight, not acting
    r = message(town, "approval_result", case_id, {"approved": True, "area": 300})
    assert r.status_code == 200, r.json
    case = town.get(f"/cases/{case_id}").json
    assert case["data"]["approval"] == {"approved": True, "area": 300}     # SpiffArena's messageVariable
    assert [(w["kind"], w["name"]) for w in case["waiting"]] == [("signal", "request_cancelled")]
    assert town.task(case_id, "查看审批结果")
    r = message(users["worker"], "request_cancelled", case_id)
    assert r.status_code == 200, r.json
    case = town.get(f"/cases/{case_id}").json
    assert case["status"] == "refused" and case["current_tasks"] == [] and town.inbox(case_id) == []


@pytest.mark.usefixtures("backend")
def test_failures_retry_then_an_incident_on_the_stuck_board_until_the_supervisor_retries(app, users):
    deploy(users, "camunda7_sms_external_task.bpmn")
    case_id = users["center"].post("/cases", json={"process_id": "sms_notice", "data": {}}).json["id"]
    [task] = fetch(users)
    r = users["worker"].post(f"/external-tasks/{task['id']}/failure", json={
        "worker_id": WORKER, "message": "短信网关超时", "retries": 1, "retry_seconds": 3600})
    assert r.status_code == 200 and r.json["retries"] == 1, r.json
    assert fetch(users) == []                                     # not before retry_seconds
    with app.app_context():                                        # the clock moves past retry_seconds
        row = db.session.get(ExternalTask, task["id"])
        row.available_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    [again] = fetch(users)
    assert again["id"] == task["id"]
    r = users["worker"].post(f"/external-tasks/{task['id']}/failure", json={
        "worker_id": WORKER, "message": "短信网关拒绝：号码无效", "retries": 0})
    assert r.status_code == 200 and r.json["status"] == "incident", r.json

    case = users["center"].get(f"/cases/{case_id}").json
    assert case["status"] == "errored" and "号码无效" in case["error"]["message"]
    stuck = users["supervisor"].get("/supervision/stuck").json
    [row] = [s for s in stuck if s["case_id"] == case_id]
    assert row["reason"] == "errored" and "号码无效" in row["detail"] and row["element_id"] == "Activity_sms"
    assert fetch(users) == []
    r = users["worker"].post(f"/external-tasks/{task['id']}/complete", json={"worker_id": WORKER, "variables": {}})
    assert r.status_code == 409

    r = users["supervisor"].post(f"/cases/{case_id}/retry")
    assert r.status_code == 200, r.json
    [freed] = fetch(users)
    assert freed["id"] == task["id"]
    trail = actions(app, case_id)
    assert trail.count("external_task_failed") == 1 and "external_task_incident" in trail
    assert "external_task_retried" in trail


@pytest.mark.usefixtures("backend")
def test_an_expired_lock_is_free_again_and_the_sweep_releases_it_on_record(app, users):
    deploy(users, "camunda7_sms_external_task.bpmn")
    case_id = users["center"].post("/cases", json={"process_id": "sms_notice", "data": {}}).json["id"]
    [task] = fetch(users, lock_seconds=1)
    with app.app_context():                      # the clock moves past the lock
        row = db.session.get(ExternalTask, task["id"])
        row.locked_until = utcnow() - timedelta(seconds=1)
        db.session.commit()
        assert external_tasks.release_expired_locks() == 1
        assert external_tasks.release_expired_locks() == 0
        assert db.session.get(ExternalTask, task["id"]).worker_id is None
    assert "external_task_lock_expired" in actions(app, case_id)
    r = users["worker"].post(f"/external-tasks/{task['id']}/complete", json={"worker_id": WORKER, "variables": {}})
    assert r.status_code == 409 and "fetch-and-lock" in r.json["message"]
    [again] = fetch(users, worker="sms-gateway-2")
    assert again["id"] == task["id"] and again["worker_id"] == "sms-gateway-2"


@pytest.mark.usefixtures("backend")
def test_only_integration_workers_work_external_tasks_and_the_worker_sees_nothing_else(users):
    deploy(users, "camunda7_sms_external_task.bpmn")
    users["center"].post("/cases", json={"process_id": "sms_notice", "data": {}})
    body = {"worker_id": "x", "topics": [{"name": "sms", "lock_seconds": 10}]}
    for name in ("center", "admin", "supervisor"):
        assert users[name].post("/external-tasks/fetch-and-lock", json=body).status_code == 403
    for path in ("/tasks", "/cases", "/stats"):
        assert users["worker"].get(path).status_code == 403, path
    assert users["worker"].get("/me").json["roles"] == ["integration"]
    bad = [{}, {"worker_id": "", "topics": []}, {"worker_id": "x", "topics": [{"name": "sms", "lock_seconds": 0}]},
           {"worker_id": "x", "topics": [{"name": "sms"}], "max_tasks": 1000}]
    for b in bad:
        assert users["worker"].post("/external-tasks/fetch-and-lock", json=b).status_code == 422, b
    assert users["worker"].post("/external-tasks/nope/complete", json={"worker_id": "x"}).status_code == 404
    r = message(users["worker"], "sms_receipt", 999999)
    assert r.status_code == 404
    r = users["worker"].post("/messages", json={"name": "x", "data": {"initiator": "admin"}})
    assert r.status_code == 422


@pytest.mark.usefixtures("backend")
def test_a_service_task_without_a_topic_is_refused_with_what_to_change(users):
    xml = (FILES / "camunda7_sms_external_task.bpmn").read_text(encoding="utf-8").replace(
        ' camunda:type="external" camunda:topic="sms"', "")
    r = upload(users["analyst"], "no_topic.bpmn", xml.encode("utf-8"))
    assert r.status_code == 422
    [error] = [e for e in r.json["errors"] if e.get("element_id") == "Activity_sms"]
    assert "没有主题" in error["message"] and "camunda:topic" in error["message"]


@pytest.mark.usefixtures("backend")
def test_a_case_waiting_for_a_message_is_not_stuck_but_shows_on_the_board_when_it_waits_long(app, users):
    deploy(users, "spiffarena_message_variable_signal_boundary.bpmn")
    town = users["town_a"]
    case_id = town.post("/cases", json={"process_id": "land_request", "data": {}}).json["id"]
    town.complete(town.task(case_id, "填写用地申请"), {})
    board = users["supervisor"].get("/supervision/stuck").json
    assert [r for r in board if r["case_id"] == case_id] == []          # waiting, not stuck
    with app.app_context():                                              # two weeks pass
        from app.models import CaseWait
        for w in db.session.execute(select(CaseWait).where(CaseWait.case_id == case_id)).scalars():
            w.since = utcnow() - timedelta(days=14)
        db.session.commit()
    [row] = [r for r in users["supervisor"].get("/supervision/stuck").json if r["case_id"] == case_id]
    assert row["reason"] == "waiting" and row["detail"] == "等待消息“approval_result”"
    page = web_login(app, "town_a").get(f"/cases/{case_id}").get_data(as_text=True)
    assert "等待消息" in page and "approval_result" in page


@pytest.mark.usefixtures("backend")
def test_a_signal_without_a_case_reaches_every_case_waiting_for_it_that_the_sender_acts_on(users):
    deploy(users, "spiffarena_message_variable_signal_boundary.bpmn")
    ids = []
    for township in ("town_a", "town_b"):
        town = users[township]
        case_id = town.post("/cases", json={"process_id": "land_request", "data": {}}).json["id"]
        town.complete(town.task(case_id, "填写用地申请"), {})
        assert message(town, "approval_result", case_id, {"approved": False}).status_code == 200
        ids.append(case_id)
    assert message(users["dept_zf"], "request_cancelled").status_code == 404     # it acts on neither
    r = message(users["center"], "request_cancelled", data={"reason": "规划调整"})
    assert r.status_code == 200, r.json
    assert sorted(r.json["case_ids"]) == sorted(ids) and r.json["delivered"] == 2
    for case_id in ids:
        case = users["center"].get(f"/cases/{case_id}").json
        assert case["status"] == "refused" and case["data"]["reason"] == "规划调整"
