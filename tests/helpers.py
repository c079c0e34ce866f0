"""Story helpers: play the roles of a call through the API."""

CALL = {"title": "明珠东路马路市场占道经营", "urgency": "normal", "list_item": "ZF-01",
        "description": "道路贯通后形成马路市场，摊点流动，街道多次清理无效，请求县级部门联动。"}


def raise_call(users, township="town_a", **overrides):
    r = users[township].post("/cases", json={"process_id": "call_response", "data": dict(CALL, **overrides)})
    assert r.status_code == 201, r.json
    return r.json["id"]


def accept_and_dispatch(users, case_id, lead="D01", co=("D02",)):
    users["center"].complete(users["center"].task(case_id, "受理"), {"accepted": True})
    users["center"].complete(users["center"].task(case_id, "研判派单"),
                             {"lead_department": lead, "co_departments": list(co)})


def sign_and_handle(users, case_id, departments=("dept_zf", "dept_zr")):
    for d in departments:
        users[d].complete(users[d].task(case_id, "签收"), {"returned": False})
    for d in departments:
        users[d].complete(users[d].task(case_id, "办理反馈"), {"result": f"{d} 已联合执法，设立临时便民市场"})


def case_of(user, case_id):
    r = user.get(f"/cases/{case_id}")
    assert r.status_code == 200, r.json
    return r.json
