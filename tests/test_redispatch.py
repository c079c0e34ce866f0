"""The centre's dispatch: the lead department is not also a cooperating one, at least one unit is
chosen, and while no department has signed for it the centre may correct it (改派)."""
import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent
from helpers import accept_and_dispatch, csrf_token, raise_call, web_login


def dispatch_task(users, case_id):
    users["center"].complete(users["center"].task(case_id, "受理"), {"accepted": True})
    return users["center"].task(case_id, "研判派单")


def sign_queues(users, case_id):
    """{department user: the 签收 steps in its inbox} for the case."""
    return {d: [t["name"] for t in users[d].inbox(case_id)] for d in ("dept_zf", "dept_zr", "dept_hb")}


def test_a_dispatch_naming_the_lead_as_cooperating_too_is_refused_in_chinese(users):
    case_id = raise_call(users)
    task = dispatch_task(users, case_id)
    r = users["center"].post(f"/tasks/{task['id']}/complete",
                             json={"data": {"lead_department": "D01", "co_departments": ["D01", "D02"]}})
    assert r.status_code == 422
    assert r.json["errors"]["co_departments"] == "“综合行政执法局”已是主办部门，不能同时作为协办部门"
    assert users["dept_zf"].inbox(case_id) == []


def test_a_dispatch_without_a_lead_department_is_refused_in_chinese(users):
    from helpers import CALL
    data = {k: v for k, v in CALL.items() if k != "list_item"}      # no list item: no lead suggested
    case_id = users["town_a"].post("/cases", json={"process_id": "call_response", "data": data}).json["id"]
    task = dispatch_task(users, case_id)
    r = users["center"].post(f"/tasks/{task['id']}/complete", json={"data": {"co_departments": ["D02"]}})
    assert r.status_code == 422
    assert r.json["errors"]["lead_department"] == "请选择主办部门：派单至少要有一个承办部门"


def test_the_browser_dispatch_form_says_the_lead_is_not_cooperating(app, users):
    case_id = raise_call(users)
    task = dispatch_task(users, case_id)
    center = web_login(app, "center")
    token = csrf_token(center.get(f"/tasks/{task['id']}").get_data(as_text=True))
    r = center.post(f"/tasks/{task['id']}", data={"csrf_token": token, "lead_department": "D02",
                                                  "co_departments": ["D02"]})
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "“自然资源和规划局”已是主办部门，不能同时作为协办部门" in html
    assert users["center"].task(case_id, "研判派单")["id"] == task["id"]


@pytest.mark.lifecycle
def test_the_centre_redispatches_before_anyone_signed_and_the_call_runs_on_the_new_dispatch(app, users):
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id, lead="D01", co=("D02",))
    old_sign = users["dept_zf"].task(case_id, "签收")
    r = users["center"].post(f"/cases/{case_id}/redispatch",
                             json={"lead_department": "D03", "co_departments": ["D01"], "reason": "属生态环境职责"})
    assert r.status_code == 200, r.json
    assert {(t["name"], t["org"]) for t in r.json["current_tasks"]} == {("签收", "D03"), ("签收", "D01")}
    assert r.json["data"]["lead_department"] == "D03"
    assert sign_queues(users, case_id) == {"dept_zf": ["签收"], "dept_zr": [], "dept_hb": ["签收"]}
    assert users["dept_zf"].task(case_id, "签收")["id"] != old_sign["id"]
    assert users["dept_zf"].post(f"/tasks/{old_sign['id']}/complete", json={"data": {}}).status_code == 409

    trail = users["center"].get(f"/cases/{case_id}/audit").json
    [event] = [e for e in trail if e["action"] == "case_redispatched"]
    assert event["actor"] == "center" and event["detail"] == "属生态环境职责"
    assert event["before"] == {"lead_department": "D01", "co_departments": ["D02"]}
    assert event["after"] == {"lead_department": "D03", "co_departments": ["D01"], "reason": "属生态环境职责"}

    told = {d: [n["text"].split("：", 1)[1] for n in users[d].get("/notifications").json["items"] if n["kind"] == "dispatch_changed"]
            for d in ("dept_zf", "dept_zr", "dept_hb")}
    assert told["dept_zr"] == ["响应中心已改派，贵单位不再承办（原为协办），待签收的环节已撤销。改派理由：属生态环境职责"]
    assert told["dept_zf"] == ["响应中心已改派，贵单位现为协办（原为主办），请重新签收。改派理由：属生态环境职责"]
    assert told["dept_hb"] == []        # told by its new 签收 task instead
    assert any(n["kind"] == "task_ready" for n in users["dept_hb"].get("/notifications").json["items"])

    for d in ("dept_hb", "dept_zf"):
        users[d].complete(users[d].task(case_id, "签收"), {"returned": False})
    for d in ("dept_hb", "dept_zf"):
        users[d].complete(users[d].task(case_id, "办理反馈"), {"result": f"{d} 已处置"})
    review = users["center"].task(case_id, "审核办结")
    users["center"].complete(review, {"approved": True})
    users["town_a"].complete(users["town_a"].task(case_id, "评价"), {"satisfied": True, "rating": 5})
    users["dept_hb"].complete(users["dept_hb"].task(case_id, "一呼一评"), {"rating": 4})     # the new lead rates
    assert users["center"].get(f"/cases/{case_id}").json["status"] == "closed"


def test_redispatch_is_refused_with_409_once_a_department_signed(users):
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id, lead="D01", co=("D02",))
    users["dept_zr"].complete(users["dept_zr"].task(case_id, "签收"), {"returned": False})
    r = users["center"].post(f"/cases/{case_id}/redispatch",
                             json={"lead_department": "D03", "co_departments": [], "reason": "改派"})
    assert r.status_code == 409 and r.json["message"] == "自然资源和规划局已签收，不能再改派"
    assert [t["name"] for t in users["dept_zf"].inbox(case_id)] == ["签收"]


def test_a_return_does_not_stop_the_centre_redispatching(users):
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id, lead="D01", co=("D02",))
    users["dept_zr"].complete(users["dept_zr"].task(case_id, "签收"), {"returned": True, "reason": "非本部门职责"})
    r = users["center"].post(f"/cases/{case_id}/redispatch",
                             json={"lead_department": "D01", "co_departments": ["D03"], "reason": "改由生态环境协办"})
    assert r.status_code == 200, r.json
    assert sorted(t["org"] for t in r.json["current_tasks"]) == ["D01", "D03"]


def test_redispatch_checks_the_units_and_the_caller(users):
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id, lead="D01", co=("D02",))
    path = f"/cases/{case_id}/redispatch"
    r = users["center"].post(path, json={"lead_department": "D03", "co_departments": ["D03"], "reason": "x"})
    assert r.status_code == 422 and r.json["errors"]["co_departments"] == "“生态环境分局”已是主办部门，不能同时作为协办部门"
    r = users["center"].post(path, json={"lead_department": "T01", "co_departments": [], "reason": "x"})
    assert r.status_code == 422 and r.json["errors"]["lead_department"] == "不在可选范围内"
    r = users["center"].post(path, json={"lead_department": "D01", "co_departments": ["D02"], "reason": "x"})
    assert r.status_code == 422 and r.json["errors"]["lead_department"] == "与现在的派单相同，无需改派"
    r = users["center"].post(path, json={"lead_department": "D03", "co_departments": [], "reason": "  "})
    assert r.status_code == 422 and r.json["errors"]["reason"] == "请填写改派理由"
    assert users["dept_zf"].post(path, json={"lead_department": "D03", "reason": "x"}).status_code == 403
    assert users["town_b"].post(path, json={"lead_department": "D03", "reason": "x"}).status_code == 403
    assert [t["name"] for t in users["dept_zf"].inbox(case_id)] == ["签收"]


def test_redispatch_before_the_dispatch_is_a_conflict(users):
    case_id = raise_call(users)
    r = users["center"].post(f"/cases/{case_id}/redispatch",
                             json={"lead_department": "D03", "co_departments": [], "reason": "x"})
    assert r.status_code == 409 and r.json["message"] == "案件尚未派单，不能改派"


def test_the_case_page_offers_the_centre_redispatch_until_a_department_signs(app, users):
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id, lead="D01", co=("D02",))
    center = web_login(app, "center")
    html = center.get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'id="redispatch"' in html and "确认改派" in html
    assert 'id="redispatch"' not in web_login(app, "dept_zf").get(f"/cases/{case_id}").get_data(as_text=True)
    token = csrf_token(html)
    r = center.post(f"/cases/{case_id}/redispatch", data={"csrf_token": token, "lead_department": "D02",
                                                          "co_departments": ["D02"], "reason": "x"})
    assert "已是主办部门" in center.get(r.headers["Location"]).get_data(as_text=True)
    r = center.post(f"/cases/{case_id}/redispatch", data={"csrf_token": token, "lead_department": "D02",
                                                          "co_departments": ["D01"], "reason": "主办应为自然资源"})
    page = center.get(r.headers["Location"]).get_data(as_text=True)
    assert "已改派" in page and "改派记录" in page and "主办应为自然资源" in page
    users["dept_zr"].complete(users["dept_zr"].task(case_id, "签收"), {"returned": False})
    html = center.get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'id="redispatch"' not in html and "改派记录" in html


def test_a_supervision_order_on_a_cancelled_step_is_withdrawn_with_it(app, users):
    from app.models import Task
    from app import cases
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id, lead="D01", co=("D02",))
    sign = users["dept_zr"].task(case_id, "签收")
    with app.app_context():
        from app.database import write_transaction
        with write_transaction():
            db.session.add(Task(id="order-1", case_id=case_id, process_id="call_response", case_title="t",
                                element_id="order", name="督办单", role="supervisor", queue="supervisor@*",
                                kind="order", subject_task_id=sign["id"], form="supervision_order.schema.json"))
    users["center"].post(f"/cases/{case_id}/redispatch",
                         json={"lead_department": "D01", "co_departments": [], "reason": "不需协办"})
    with app.app_context():
        assert db.session.get(Task, "order-1").status == "cancelled"
        assert db.session.execute(select(AuditEvent.detail).where(AuditEvent.task_id == "order-1")).scalar() \
            == "所督办的环节已因改派撤销"
