"""The call/response lifecycle through the API, as the demo users play it."""
import pytest

from helpers import accept_and_dispatch, case_of, raise_call, sign_and_handle

pytestmark = pytest.mark.lifecycle


def test_call_closes_after_departments_review_evaluation_and_rating(users):
    case_id = raise_call(users)
    case = case_of(users["town_a"], case_id)
    assert case["status"] == "open" and case["process_version"] == 1
    assert [t["name"] for t in case["current_tasks"]] == ["受理"]

    accept_and_dispatch(users, case_id)
    signs = case_of(users["center"], case_id)["current_tasks"]
    assert sorted((t["name"], t["org"]) for t in signs) == [("签收", "D01"), ("签收", "D02")]

    sign_and_handle(users, case_id)
    users["center"].complete(users["center"].task(case_id, "审核办结"), {"approved": True})
    users["town_a"].complete(users["town_a"].task(case_id, "评价"), {"satisfied": True, "rating": 5})
    result = users["dept_zf"].complete(users["dept_zf"].task(case_id, "一呼一评"), {"rating": 4})

    assert result["case"]["status"] == "closed" and result["next_tasks"] == []
    case = case_of(users["town_a"], case_id)
    assert case["status"] == "closed" and case["closed_at"] is not None
    assert case["data"]["signed"] == ["D01", "D02"] and case["data"]["rework_count"] == 0


def test_rejected_call_ends_rejected_with_reason(users):
    case_id = raise_call(users)
    users["center"].complete(users["center"].task(case_id, "受理"),
                             {"accepted": False, "reason": "属乡镇自身职责，不予受理"})
    case = case_of(users["town_a"], case_id)
    assert case["status"] == "rejected" and case["current_tasks"] == []
    assert case["data"]["reason"] == "属乡镇自身职责，不予受理"


def test_rejection_needs_a_reason(users):
    case_id = raise_call(users)
    r = users["center"].post(f"/tasks/{users['center'].task(case_id, '受理')['id']}/complete",
                             json={"data": {"accepted": False}})
    assert r.status_code == 422 and "reason" in r.json["errors"]


def test_centre_asks_township_for_more_information(users):
    case_id = raise_call(users)
    users["center"].complete(users["center"].task(case_id, "受理"),
                             {"accepted": False, "more_info_requested": True, "reason": "请补充现场照片和摊点数量"})
    task = users["town_a"].task(case_id, "补充材料")
    assert task["org"] == "T01"
    assert users["town_b"].inbox(case_id) == []
    users["town_a"].complete(task, {"supplement": "摊点约40个，早晚高峰最严重"})
    assert [t["name"] for t in case_of(users["center"], case_id)["current_tasks"]] == ["受理"]


def test_department_returns_dispatch_and_centre_redispatches(users):
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id, lead="D01", co=("D03",))
    users["dept_zf"].complete(users["dept_zf"].task(case_id, "签收"), {"returned": False})
    users["dept_hb"].complete(users["dept_hb"].task(case_id, "签收"),
                              {"returned": True, "reason": "占道经营不属生态环境职责，依据清单ZF-01"})
    redispatch = users["center"].task(case_id, "改派")
    users["center"].complete(redispatch, {"lead_department": "D01", "co_departments": ["D02"]})
    # the lead signed already and goes on handling; only the new unit signs
    assert users["dept_zr"].task(case_id)["name"] == "签收"
    assert users["dept_zf"].inbox(case_id) == []
    users["dept_zr"].complete(users["dept_zr"].task(case_id, "签收"), {"returned": False})
    for d in ("dept_zf", "dept_zr"):
        users[d].complete(users[d].task(case_id, "办理反馈"), {"result": "已处置"})
    assert [t["name"] for t in case_of(users["center"], case_id)["current_tasks"]] == ["审核办结"]
    assert case_of(users["center"], case_id)["data"]["signed"] == ["D01", "D02"]
    # the department that returned it still sees the case it was dispatched, and has nothing to do
    assert users["dept_hb"].get(f"/cases/{case_id}").status_code == 200
    assert users["dept_hb"].inbox(case_id) == []


def test_township_rework_after_dissatisfaction(users):
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id)
    sign_and_handle(users, case_id)
    users["center"].complete(users["center"].task(case_id, "审核办结"), {"approved": True})
    users["town_a"].complete(users["town_a"].task(case_id, "评价"),
                             {"satisfied": False, "rating": 2, "comment": "摊点仍有回潮"})
    # back to every department that handled it, straight to handling (no second sign-for)
    for d in ("dept_zf", "dept_zr"):
        assert [t["name"] for t in users[d].inbox(case_id)] == ["办理反馈"]
        users[d].complete(users[d].task(case_id), {"result": "加派人员，早晚巡查"})
    assert case_of(users["center"], case_id)["data"]["rework_count"] == 1
    users["center"].complete(users["center"].task(case_id, "审核办结"), {"approved": True})
    users["town_a"].complete(users["town_a"].task(case_id, "评价"), {"satisfied": True, "rating": 5})
    users["dept_zf"].complete(users["dept_zf"].task(case_id, "一呼一评"), {"rating": 5})
    assert case_of(users["town_a"], case_id)["status"] == "closed"


def test_review_sends_reply_back_to_departments(users):
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id, co=())
    sign_and_handle(users, case_id, departments=("dept_zf",))
    users["center"].complete(users["center"].task(case_id, "审核办结"),
                             {"approved": False, "opinion": "请补充整治前后照片"})
    assert [t["name"] for t in users["dept_zf"].inbox(case_id)] == ["办理反馈"]


def test_every_completed_step_is_in_the_audit_trail(users):
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id, co=())
    events = users["town_a"].get(f"/cases/{case_id}/audit").json
    completed = [e for e in events if e["action"] == "task_completed"]
    assert [(e["task"], e["actor"]) for e in completed] == [("受理", "center"), ("研判派单", "center")]
    dispatch = completed[1]
    assert dispatch["after"]["lead_department"] == "D01" and dispatch["before"]["lead_department"] is None
    assert all(e["at"] and e["id"] for e in events)
    assert events[0]["action"] == "case_started" and events[0]["actor"] == "town_a"
    ids = [e["id"] for e in events]
    assert ids == sorted(ids)


def test_dispatch_suggests_the_list_items_primary_unit(users):
    case_id = raise_call(users, list_item="HB-01")
    users["center"].complete(users["center"].task(case_id, "受理"), {"accepted": True})
    task = users["center"].task(case_id, "研判派单")
    form = users["center"].get(f"/tasks/{task['id']}").json["form"]
    primary = users["center"].get("/responsibility-list").json
    expected = next(i["primary_org"] for i in primary["items"] if i["code"] == "HB-01")
    assert form["properties"]["lead_department"]["default"] == expected
