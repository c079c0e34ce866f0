"""Nothing silent: a step after which a case cannot move makes it errored, on record and on the
supervisor's board; `flask huying check` finds (and with --repair mends) cases whose stored state,
inbox rows, next timer and audit trail disagree."""
import pytest
from sqlalchemy import select, text

from app import processes
from app.engine import definitions
from app.extensions import db
from app.models import AuditEvent, Case, Task
from helpers import accept_and_dispatch, case_of, raise_call

pytestmark = pytest.mark.lifecycle

# an analyst's slip that deploys: the parallel join waits for a branch the exclusive gateway did not take
JOIN_BPMN = '''<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs" targetNamespace="http://x">
  <bpmn:process id="join_deadlock" name="合流等待" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l1" name="响应中心">
      <bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>ask</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>extra</bpmn:flowNodeRef><bpmn:flowNodeRef>choose</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>join</bpmn:flowNodeRef><bpmn:flowNodeRef>done</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start"/>
    <bpmn:userTask id="ask" name="初审"/>
    <bpmn:exclusiveGateway id="choose" name="是否复核" default="f_default"/>
    <bpmn:userTask id="extra" name="复核"/>
    <bpmn:parallelGateway id="join" name="汇合"/>
    <bpmn:endEvent id="done"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="ask"/>
    <bpmn:sequenceFlow id="f2" sourceRef="ask" targetRef="choose"/>
    <bpmn:sequenceFlow id="f_default" sourceRef="choose" targetRef="join"/>
    <bpmn:sequenceFlow id="f_extra" sourceRef="choose" targetRef="extra">
      <bpmn:conditionExpression>initiator == "nobody"</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f4" sourceRef="extra" targetRef="join"/>
    <bpmn:sequenceFlow id="f5" sourceRef="join" targetRef="done"/>
  </bpmn:process>
</bpmn:definitions>'''.encode("utf-8")


def test_a_step_that_leaves_nothing_to_do_makes_the_case_errored_and_keeps_the_step(app, users):
    with app.app_context():
        processes.deploy(JOIN_BPMN, {}, "analyst")
    r = users["center"].post("/cases", json={"process_id": "join_deadlock", "data": {}})
    assert r.status_code == 201, r.json
    case_id = r.json["id"]
    result = users["center"].complete(users["center"].task(case_id, "初审"))
    # the completion counts (it is done and on record) but the answer says the case cannot go on
    assert result["next_tasks"] == []
    assert result["case"]["status"] == "errored"
    assert "没有任何人的待办任务" in result["case"]["error"]["message"]
    assert result["case"]["error"]["element_id"] == "join"
    events = users["center"].get(f"/cases/{case_id}/audit").json
    assert [e["action"] for e in events][-2:] == ["task_completed", "case_errored"]
    assert events[-1]["after"] == {"status": "errored", "element": "join"}
    board = [row for row in users["supervisor"].get("/supervision/stuck").json if row["case_id"] == case_id]
    assert [(row["reason"], row["task"]) for row in board] == [("errored", "join")]
    assert "汇合" in board[0]["detail"] or "join" in board[0]["detail"]


def _without_the_merge_wiring(monkeypatch):
    """What every process did before G14 was fixed: a parsed spec merges no child it did not create."""
    monkeypatch.setattr(definitions, "connect_loop_children", lambda specs: None)


@pytest.mark.parametrize("process_caches", [False], ids=["fresh"])
def test_departments_whose_signatures_are_not_merged_make_the_case_errored_and_a_retry_merges_them(
        app, users, monkeypatch, process_caches):
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id)
    _without_the_merge_wiring(monkeypatch)
    users["dept_zf"].complete(users["dept_zf"].task(case_id, "签收"), {"returned": False})
    result = users["dept_zr"].complete(users["dept_zr"].task(case_id, "签收"), {"returned": False})
    assert result["case"]["status"] == "errored" and result["next_tasks"] == []
    board = [row for row in users["supervisor"].get("/supervision/stuck").json if row["case_id"] == case_id]
    assert [row["reason"] for row in board] == ["errored"]
    monkeypatch.undo()                                   # the fixed release is deployed
    r = users["supervisor"].post(f"/cases/{case_id}/retry")
    assert r.status_code == 200 and r.json["status"] == "open", r.json
    for d in ("dept_zf", "dept_zr"):        # both signatures count: each department has its handling task
        assert [t["name"] for t in users[d].inbox(case_id)] == ["办理反馈"]
    assert case_of(users["center"], case_id)["data"]["signed"] == ["D01", "D02"]


def _check(app, *args):
    result = app.test_cli_runner().invoke(args=["huying", "check", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def test_check_finds_nothing_on_cases_parked_at_every_kind_of_step(app, users):
    ids = [raise_call(users)]
    ids.append(raise_call(users))
    accept_and_dispatch(users, ids[-1])
    ids.append(raise_call(users))
    accept_and_dispatch(users, ids[-1])
    users["dept_zf"].complete(users["dept_zf"].task(ids[-1], "签收"), {"returned": False})
    code, output = _check(app)
    assert code == 0, output
    assert output.strip().splitlines()[-1].startswith("checked 3 open cases") and "0 disagree" in output


def test_check_reports_and_repairs_an_inbox_that_disagrees_with_the_case(app, users):
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id)
    with app.app_context():        # someone deleted an inbox row and garbled the next timer by hand
        sign = db.session.execute(select(Task).where(Task.case_id == case_id, Task.status == "ready",
                                                     Task.org_code == "D02")).scalar_one()
        db.session.execute(text("UPDATE tasks SET status = 'cancelled' WHERE id = :id"), {"id": sign.id})
        db.session.execute(text("UPDATE cases SET next_timer_at = NULL WHERE id = :id"), {"id": case_id})
        db.session.commit()
    assert users["dept_zr"].inbox(case_id) == []
    code, output = _check(app)
    assert code == 1
    assert f"case {case_id}" in output and "[projection]" in output and "[timer]" in output
    assert "1 disagree" in output
    code, output = _check(app, "--repair")
    assert code == 0, output
    assert "repaired: 已重新投影" in output and "1 repaired" in output
    assert [t["name"] for t in users["dept_zr"].inbox(case_id)] == ["签收"]
    code, output = _check(app)
    assert code == 0 and "0 disagree" in output, output
    with app.app_context():
        repaired = db.session.execute(select(AuditEvent).where(AuditEvent.case_id == case_id,
                                                               AuditEvent.action == "case_repaired")).scalar_one()
        assert repaired.actor == "system" and len(repaired.before["problems"]) == 2
        assert db.session.get(Case, case_id).next_timer_at is not None


@pytest.mark.parametrize("process_caches", [False], ids=["fresh"])
def test_check_repairs_a_case_stranded_by_an_earlier_release(app, users, monkeypatch, process_caches):
    """A case an older release left open with nothing to do (both departments signed, neither
    signature merged) is found by the check and moves on after --repair."""
    from app.engine import CaseRun
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id)
    _without_the_merge_wiring(monkeypatch)
    monkeypatch.setattr(CaseRun, "stall", lambda self: None)     # the older release noticed nothing
    for d in ("dept_zf", "dept_zr"):
        users[d].complete(users[d].task(case_id, "签收"), {"returned": False})
    assert case_of(users["center"], case_id)["status"] == "open"
    assert case_of(users["center"], case_id)["current_tasks"] == []
    board = [row for row in users["supervisor"].get("/supervision/stuck").json if row["case_id"] == case_id]
    assert [row["reason"] for row in board] == ["no_task"]       # not invisible, even before the check
    monkeypatch.undo()
    code, output = _check(app)
    assert code == 1 and "[stalled]" in output and "[lost_merge]" in output, output
    code, output = _check(app, "--repair")
    assert code == 0, output
    for d in ("dept_zf", "dept_zr"):
        assert [t["name"] for t in users[d].inbox(case_id)] == ["办理反馈"]
    assert _check(app)[0] == 0




def test_check_reports_a_state_damaged_in_storage_and_goes_on_with_the_others(app, users):
    damaged, intact = raise_call(users), raise_call(users)
    with app.app_context():
        db.session.execute(text("UPDATE cases SET state = :junk WHERE id = :id"), {"junk": b"not zlib", "id": damaged})
        db.session.commit()
    code, output = _check(app)
    assert code == 1 and f"case {damaged}" in output and "[state]" in output and "案件状态无法读取" in output
    assert f"case {intact}" not in output and "checked 2 open cases" in output
