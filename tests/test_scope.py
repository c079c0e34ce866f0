"""Organisation scope: who sees which case and task, enforced alike for every endpoint."""
from helpers import accept_and_dispatch, raise_call


def test_other_township_cannot_see_the_call(users):
    case_id = raise_call(users)
    assert users["town_b"].get(f"/cases/{case_id}").status_code == 404
    assert users["town_b"].get(f"/cases/{case_id}/audit").status_code == 404
    assert case_id not in [c["id"] for c in users["town_b"].get("/cases").json["items"]]
    assert case_id in [c["id"] for c in users["town_a"].get("/cases").json["items"]]


def test_uninvolved_department_neither_sees_the_case_nor_its_tasks(users):
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id, lead="D01", co=("D02",))
    hb = users["dept_hb"]
    assert hb.get(f"/cases/{case_id}").status_code == 404
    assert case_id not in [c["id"] for c in hb.get("/cases").json["items"]]
    assert hb.inbox(case_id) == []
    other_task = users["dept_zf"].task(case_id, "签收")
    assert hb.get(f"/tasks/{other_task['id']}").status_code == 404
    assert hb.post(f"/tasks/{other_task['id']}/complete", json={"data": {}}).status_code == 404
    assert hb.post(f"/tasks/{other_task['id']}/claim").status_code == 404


def test_dispatched_department_sees_the_case_from_dispatch_on(users):
    case_id = raise_call(users)
    assert users["dept_zf"].get(f"/cases/{case_id}").status_code == 404
    accept_and_dispatch(users, case_id, lead="D01", co=())
    assert users["dept_zf"].get(f"/cases/{case_id}").status_code == 200


def test_participant_cannot_complete_another_units_task(users):
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id, lead="D01", co=("D02",))
    zf_task = users["dept_zf"].task(case_id, "签收")
    r = users["dept_zr"].post(f"/tasks/{zf_task['id']}/complete", json={"data": {"returned": False}})
    assert r.status_code == 403 and r.json["error"] == "forbidden"
    r = users["town_a"].post(f"/tasks/{zf_task['id']}/complete", json={"data": {}})
    assert r.status_code == 403


def test_centre_and_supervisor_see_every_case(users):
    ids = {raise_call(users), raise_call(users, township="town_b")}
    for name in ("center", "supervisor"):
        seen = {c["id"] for c in users[name].get("/cases").json["items"]}
        assert ids <= seen


def test_only_townships_raise_calls(users):
    r = users["dept_zf"].post("/cases", json={"process_id": "call_response",
                                              "data": {"title": "部门自己发起", "description": "不应允许发起", "urgency": "normal"}})
    assert r.status_code == 403


def test_claimed_task_is_held_for_the_claimant(users):
    case_id = raise_call(users)
    task = users["center"].task(case_id, "受理")
    assert users["center"].post(f"/tasks/{task['id']}/claim").json["assignee"] == "center"
    assert users["center2"].post(f"/tasks/{task['id']}/claim").status_code == 409
    assert users["center2"].post(f"/tasks/{task['id']}/complete", json={"data": {"accepted": True}}).status_code == 409
    assert task["id"] not in [t["id"] for t in users["center2"].inbox(case_id)]
    assert users["center"].post(f"/tasks/{task['id']}/unclaim").json["assignee"] is None
    assert users["center2"].post(f"/tasks/{task['id']}/complete", json={"data": {"accepted": True}}).status_code == 200


def test_supervision_list_is_for_supervisors(users):
    assert users["town_a"].get("/supervision/stuck").status_code == 403
    assert users["supervisor"].get("/supervision/stuck").status_code == 200
    assert users["town_a"].get("/audit/export?format=jsonl").status_code == 403
