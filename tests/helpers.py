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


# --- the browser side, through Flask's test client -------------------------------------------------
def csrf_token(html):
    """The CSRF token of a page's form."""
    import re
    return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html).group(1)


def web_login(app, username, password="demo"):
    """A test client of its own, logged in through /login as `username`."""
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    r = client.post("/login", data={"username": username, "password": password, "csrf_token": csrf_token(page)})
    assert r.status_code == 302, r.get_data(as_text=True)
    return client


def post_form(client, page_path, action, data):
    """POST `data` (a dict, or pairs for repeated fields) to `action` with the CSRF token of the page at
    `page_path`, as a browser would."""
    from werkzeug.datastructures import MultiDict
    token = csrf_token(client.get(page_path).get_data(as_text=True))
    return client.post(action, data=MultiDict(list(MultiDict(data).items(multi=True)) + [("csrf_token", token)]))
