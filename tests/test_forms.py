"""Form validation: the same checks for the browser and the API, 422 with a message per field,
nothing changed."""
from helpers import CALL, accept_and_dispatch, case_of, raise_call


def test_bad_start_data_is_refused_field_by_field(users):
    r = users["town_a"].post("/cases", json={"process_id": "call_response",
                                             "data": {"title": "", "urgency": "soon", "list_item": "NOPE"}})
    assert r.status_code == 422
    errors = r.json["errors"]
    assert errors["description"] == "此项为必填项"
    assert errors["title"].startswith("至少")
    assert errors["urgency"] == "不在可选范围内"
    assert errors["list_item"] == "不在可选范围内"
    assert users["town_a"].get("/cases").json["total"] == 0


def test_bad_task_data_changes_nothing(users):
    case_id = raise_call(users)
    users["center"].complete(users["center"].task(case_id, "受理"), {"accepted": True})
    task = users["center"].task(case_id, "研判派单")
    audit_before = users["center"].get(f"/cases/{case_id}/audit").json
    r = users["center"].post(f"/tasks/{task['id']}/complete",
                             json={"data": {"lead_department": "T01", "co_departments": "D02"}})
    assert r.status_code == 422
    assert r.json["errors"] == {"lead_department": "不在可选范围内", "co_departments": "类型不正确，应为列表"}
    assert users["center"].get(f"/cases/{case_id}/audit").json == audit_before
    assert users["center"].task(case_id, "研判派单")["id"] == task["id"]


def test_only_the_forms_fields_reach_the_case(users):
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id, co=())
    task = users["dept_zf"].task(case_id, "签收")
    users["dept_zf"].complete(task, {"returned": False, "rework_count": -99, "accepted": False})
    handle = users["dept_zf"].task(case_id, "办理反馈")
    users["dept_zf"].complete(handle, {"result": "已处置", "signed": "x"})
    data = case_of(users["center"], case_id)["data"]
    assert data["rework_count"] == 0
    assert data["accepted"] is True
    assert data["signed"] == ["D01"]


def test_rating_must_be_between_one_and_five(users):
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id, co=())
    users["dept_zf"].complete(users["dept_zf"].task(case_id, "签收"), {"returned": False})
    users["dept_zf"].complete(users["dept_zf"].task(case_id, "办理反馈"), {"result": "已处置"})
    users["center"].complete(users["center"].task(case_id, "审核办结"), {"approved": True})
    task = users["town_a"].task(case_id, "评价")
    r = users["town_a"].post(f"/tasks/{task['id']}/complete", json={"data": {"satisfied": True, "rating": 9}})
    assert r.status_code == 422 and r.json["errors"] == {"rating": "不能大于 5"}
    r = users["town_a"].post(f"/tasks/{task['id']}/complete", json={"data": {"satisfied": "yes", "rating": 5}})
    assert r.status_code == 422 and r.json["errors"]["satisfied"].startswith("类型不正确")


def test_data_must_be_an_object(users):
    r = users["town_a"].post("/cases", json={"process_id": "call_response", "data": ["x"]})
    assert r.status_code == 422
    r = users["town_a"].post("/cases", json={"process_id": "call_response", "data": dict(CALL, title="x" * 101)})
    assert r.status_code == 422 and r.json["errors"]["title"] == "最多 100 个字"
