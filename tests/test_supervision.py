"""督办: deadlines fire without anyone doing anything, exactly once, and stuck cases surface."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import func, select

from app.cli import start_scheduler
from app.extensions import db
from app.models import AuditEvent, Task
from helpers import accept_and_dispatch, raise_call, wait_for

pytestmark = pytest.mark.lifecycle

FAST = {"limits": {"sign": {"normal": "PT2S"}, "handle": {"normal": "PT30S"}}, "listing_after": "P5D"}
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def fast_app(app):
    app.config.update(SUPERVISION=FAST, SCHEDULER_INTERVAL_SECONDS=1)
    from app import deadlines
    deadlines.invalidate()
    return app


def orders(user, case_id):
    return [t for t in user.inbox(case_id) if t["name"].startswith("督办单")]


def test_untouched_call_gets_its_supervision_order_from_the_scheduler(fast_app, users):
    case_id = raise_call(users, list_item=None)
    accept_and_dispatch(users, case_id, co=("D02",))
    signs = users["dept_zf"].inbox(case_id)
    assert signs[0]["due_at"] is not None
    sched = start_scheduler(fast_app, BackgroundScheduler(timezone="UTC"))
    try:
        found = wait_for(lambda: len(orders(users["supervisor"], case_id)) == 2)
        assert found, users["supervisor"].inbox(case_id)
        time.sleep(2.5)                       # two more sweeps: nothing fires twice
    finally:
        sched.shutdown()
    names = sorted(t["name"] for t in orders(users["supervisor"], case_id))
    assert names == ["督办单：签收（imp）".replace("imp", "综合行政执法局"), "督办单：签收（自然资源和规划局）"]
    events = users["supervisor"].get(f"/cases/{case_id}/audit").json
    assert sum(1 for e in events if e["action"] == "reminder") == 2
    assert sum(1 for e in events if e["action"] == "overdue") == 2
    stuck = users["supervisor"].get("/supervision/stuck").json
    mine = [r for r in stuck if r["case_id"] == case_id]
    assert {r["org"] for r in mine} == {"D01", "D02"} and {r["reason"] for r in mine} == {"overdue"}
    assert all(r["task"] == "签收" and r["due_at"] for r in mine)
    # the department still signs; the supervisor issues the order
    users["dept_zf"].complete(users["dept_zf"].task(case_id, "签收"), {"returned": False})
    order = orders(users["supervisor"], case_id)[0]
    form = users["supervisor"].get(f"/tasks/{order['id']}").json["form"]
    assert form["required"] == ["opinion"]
    users["supervisor"].complete(order, {"opinion": "限今日内签收并联系乡镇", "notify_leader": True})
    assert len(orders(users["supervisor"], case_id)) == 1


def test_extension_moves_the_deadline_by_working_days(app, users):
    case_id = raise_call(users, list_item=None)
    accept_and_dispatch(users, case_id, co=())
    users["dept_zf"].complete(users["dept_zf"].task(case_id, "签收"), {"returned": False})
    task = users["dept_zf"].task(case_id, "办理反馈")
    r = users["dept_zf"].post(f"/tasks/{task['id']}/extension", json={"days": 11, "reason": "需协调省级部门"})
    assert r.status_code == 422 and "10" in r.json["errors"]["days"]
    r = users["dept_zf"].post(f"/tasks/{task['id']}/extension", json={"days": 3, "reason": "需协调省级部门会商"})
    assert r.status_code == 201 and r.json["status"] == "pending"
    again = users["dept_zf"].post(f"/tasks/{task['id']}/extension", json={"days": 1, "reason": "再申请一次"})
    assert again.status_code == 409
    assert users["dept_zr"].post(f"/tasks/{task['id']}/extension", json={"days": 1, "reason": "他人申请"}).status_code == 404
    pending = users["center"].get("/extensions").json
    assert [p["id"] for p in pending] == [r.json["id"]]
    assert users["dept_zf"].post(f"/extensions/{r.json['id']}/decide", json={"approved": True}).status_code == 403
    decided = users["center"].post(f"/extensions/{r.json['id']}/decide", json={"approved": True, "opinion": "同意"})
    assert decided.status_code == 200 and decided.json["status"] == "approved"
    from app import deadlines
    from datetime import datetime
    with app.app_context():
        expected = deadlines.add_working_days(datetime.fromisoformat(task["due_at"]), 3)
    moved = users["dept_zf"].task(case_id, "办理反馈")
    assert datetime.fromisoformat(moved["due_at"]) == expected
    events = users["center"].get(f"/cases/{case_id}/audit").json
    approved = [e for e in events if e["action"] == "extension_approved"]
    assert len(approved) == 1 and approved[0]["before"]["due_at"] != approved[0]["after"]["due_at"]


def test_supervisor_flags_a_unit_with_evidence(users):
    case_id = raise_call(users)
    r = users["supervisor"].post("/supervision/flags", json={"org": "T01", "kind": "improper_call", "case_id": case_id,
                                                             "evidence": "所呼事项属乡镇主体责任（清单ZF-03）"})
    assert r.status_code == 201 and r.json["label"] == "乱呼叫"
    wrong = users["supervisor"].post("/supervision/flags", json={"org": "D01", "kind": "improper_call", "evidence": "不适用"})
    assert wrong.status_code == 422 and "org" in wrong.json["errors"]
    assert users["center"].post("/supervision/flags", json={"org": "D01", "kind": "inaction", "evidence": "……"}).status_code == 403
    assert [f["kind"] for f in users["supervisor"].get("/supervision/flags").json] == ["improper_call"]


BROKEN_LIMITS = {"limits": {"sign": {"normal": "soon"}}}


def test_an_errored_case_surfaces_and_is_retried_after_the_fix(app, users):
    case_id = raise_call(users, list_item=None)
    users["center"].complete(users["center"].task(case_id, "受理"), {"accepted": True})
    app.config["SUPERVISION"] = BROKEN_LIMITS          # a bad limit slips into the configuration
    from app import deadlines
    deadlines.invalidate()
    result = users["center"].complete(users["center"].task(case_id, "研判派单"), {"lead_department": "D01"})
    assert result["case"]["status"] == "errored"
    assert "时限格式不正确" in result["case"]["error"]["message"]
    assert result["case"]["error"]["element_id"] == "sign_remind"
    stuck = [r for r in users["supervisor"].get("/supervision/stuck").json if r["case_id"] == case_id]
    assert stuck[0]["reason"] == "errored" and "时限" in stuck[0]["detail"]
    assert users["town_a"].post(f"/cases/{case_id}/retry").status_code == 403
    app.config["SUPERVISION"] = {}                     # the admin fixes it
    deadlines.invalidate()
    r = users["supervisor"].post(f"/cases/{case_id}/retry")
    assert r.status_code == 200 and r.json["status"] == "open"
    assert [t["name"] for t in users["dept_zf"].inbox(case_id)] == ["签收"]
    actions = [e["action"] for e in users["supervisor"].get(f"/cases/{case_id}/audit").json]
    assert "case_errored" in actions and "case_retried" in actions


def test_calendar_and_settings_are_the_admins(users):
    assert users["town_a"].put("/calendar/2026-10-01", json={"kind": "holiday"}).status_code == 403
    r = users["admin"].put("/calendar/2026-10-10", json={"kind": "workday", "name": "国庆调休"})
    assert r.status_code == 200
    assert users["town_a"].get("/calendar?year=2026").json[-1] == {"day": "2026-10-10", "kind": "workday", "name": "国庆调休"}
    assert users["admin"].put("/calendar/2026-13-40", json={"kind": "holiday"}).status_code == 400
    bad = users["admin"].put("/settings/supervision", json={"limits": {"sign": {"normal": "2 hours"}}})
    assert bad.status_code == 422 and "limits.sign.normal" in bad.json["errors"]
    ok = users["admin"].put("/settings/supervision", json={"max_reworks": 2})
    assert ok.status_code == 200 and ok.json["max_reworks"] == 2 and ok.json["limits"]["sign"]["normal"] == "PT2H"


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgresql"])
def test_two_scheduler_processes_never_fire_a_timer_twice(app, users, database_url):
    case_ids = []
    with app.app_context():
        from app.models import Setting
        db.session.add(Setting(key="supervision", value=FAST))
        db.session.commit()
    from app import deadlines
    deadlines.invalidate()
    for i in range(6):
        case_id = raise_call(users, title=f"并发督办测试{i}", list_item=None)
        accept_and_dispatch(users, case_id, co=("D02",))
        case_ids.append(case_id)
    env = dict(os.environ, DATABASE_URL=database_url, FLASK_APP="app:create_app", SCHEDULER_INTERVAL_SECONDS="0.3",
               SECRET_KEY="x", PYTHONPATH=str(ROOT))
    procs = [subprocess.Popen([sys.executable, "-m", "flask", "huying", "scheduler"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(2)]
    try:
        def overdue_count():
            with app.app_context():
                return db.session.execute(select(func.count()).select_from(AuditEvent).where(
                    AuditEvent.action == "overdue", AuditEvent.case_id.in_(case_ids))).scalar()
        assert wait_for(lambda: overdue_count() >= 12, seconds=40), overdue_count()
        time.sleep(2)          # let both go on sweeping for a while
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(10)
    with app.app_context():
        per_task = db.session.execute(
            select(AuditEvent.task_id, AuditEvent.action, func.count()).where(
                AuditEvent.case_id.in_(case_ids), AuditEvent.action.in_(["overdue", "reminder"]))
            .group_by(AuditEvent.task_id, AuditEvent.action)).all()
        orders = db.session.execute(select(Task.subject_task_id, func.count()).where(
            Task.case_id.in_(case_ids), Task.kind == "order").group_by(Task.subject_task_id)).all()
    assert len(per_task) == 24 and all(n == 1 for _, _, n in per_task), per_task
    assert len(orders) == 12 and all(n == 1 for _, n in orders)
    assert json.dumps(FAST)


def test_a_deadline_missed_for_long_lists_the_case(app, users):
    app.config.update(SUPERVISION={"limits": {"sign": {"normal": "PT1S"}}, "listing_after": "PT1S"})
    from app import cases, deadlines
    deadlines.invalidate()
    case_id = raise_call(users, list_item=None)
    accept_and_dispatch(users, case_id, co=())
    def sweep_then_count():
        with app.app_context():
            cases.fire_due_timers()
        return len(users["supervisor"].inbox(case_id)) >= 2
    assert wait_for(sweep_then_count, seconds=60)   # returns as soon as both are there; the window is for a loaded CI machine
    names = sorted(t["name"] for t in users["supervisor"].inbox(case_id))
    assert names == ["挂牌督办：签收（综合行政执法局）", "督办单：签收（综合行政执法局）"]
    case = users["supervisor"].get(f"/cases/{case_id}").json
    actions = [e["action"] for e in users["supervisor"].get(f"/cases/{case_id}/audit").json]
    assert actions.count("case_listed") == 1 and actions.count("overdue") == 1 and actions.count("reminder") == 1
    assert case["status"] == "open"


def test_a_call_reworked_too_often_becomes_a_problem_order(app, users):
    app.config.update(SUPERVISION={"max_reworks": 1})
    from app import deadlines
    deadlines.invalidate()
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id, co=())
    users["dept_zf"].complete(users["dept_zf"].task(case_id, "签收"), {"returned": False})
    users["dept_zf"].complete(users["dept_zf"].task(case_id, "办理反馈"), {"result": "已处置"})
    users["center"].complete(users["center"].task(case_id, "审核办结"), {"approved": True})
    users["town_a"].complete(users["town_a"].task(case_id, "评价"), {"satisfied": False, "rating": 1, "comment": "问题依旧"})
    problem = [t for t in users["supervisor"].inbox(case_id) if t["name"].startswith("问题工单督办")]
    assert len(problem) == 1
    assert [t["name"] for t in users["dept_zf"].inbox(case_id)] == ["办理反馈"]     # the rework goes on meanwhile
    actions = [e["action"] for e in users["supervisor"].get(f"/cases/{case_id}/audit").json]
    assert actions.count("problem_order") == 1
