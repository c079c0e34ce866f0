"""Story helpers: play the roles of a call through the API."""
import time
import io

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


def review_and_evaluate(users, case_id, satisfied=True, rating=5, township="town_a", lead="dept_zf",
                        rating_of_township=4):
    """审核办结 and the township's evaluation; when satisfied the lead department's 一呼一评 closes the call,
    otherwise the call goes back to its departments for rework."""
    users["center"].complete(users["center"].task(case_id, "审核办结"), {"approved": True})
    users[township].complete(users[township].task(case_id, "评价"),
                             {"satisfied": satisfied, "rating": rating, "comment": "" if satisfied else "问题仍未解决"})
    if satisfied:
        users[lead].complete(users[lead].task(case_id, "一呼一评"), {"rating": rating_of_township})


def assessment_calls(users):
    """Six calls for the assessment report, {name: case id}. Orders: D01 three, all satisfied
    (rated 5, 4, 4); D02 one evaluated unsatisfied (rated 2, rework pending) and one returned; D03
    one satisfied (rated 4). Calls: T01 three (one rejected; rated 5 by D01), T02 two (rated 3),
    T03 one (rated 4). The three rates: 响应率 100 %, 解决率 and 满意率 4/5 = 80 %. So few calls
    are ranked only because the admin lowers the least volume for a ranking to one."""
    assert users["admin"].put("/reports/weights", json={"min_volume": 1}).status_code == 200
    ids = {}
    ids["a"] = raise_call(users, title="明珠东路马路市场占道经营")
    accept_and_dispatch(users, ids["a"], lead="D01", co=())
    sign_and_handle(users, ids["a"], departments=("dept_zf",))
    review_and_evaluate(users, ids["a"], rating=5, rating_of_township=5)
    ids["b"] = raise_call(users, township="town_b", title="泰前路违建侵占绿地", list_item="ZR-01")
    accept_and_dispatch(users, ids["b"], lead="D02", co=())
    sign_and_handle(users, ids["b"], departments=("dept_zr",))
    review_and_evaluate(users, ids["b"], satisfied=False, rating=2, township="town_b", lead="dept_zr")
    ids["c"] = raise_call(users, title="岱宗大街夜间施工噪声")
    accept_and_dispatch(users, ids["c"], lead="D02", co=())
    users["dept_zr"].complete(users["dept_zr"].task(ids["c"], "签收"),
                              {"returned": True, "reason": "施工噪声不属自然资源职责"})
    ids["d"] = raise_call(users, title="村内道路照明维修")
    users["center"].complete(users["center"].task(ids["d"], "受理"),
                             {"accepted": False, "reason": "属乡镇自身职责，不予受理"})
    ids["e"] = raise_call(users, township="town_b", title="学校门口流动摊贩")
    accept_and_dispatch(users, ids["e"], lead="D01", co=())
    sign_and_handle(users, ids["e"], departments=("dept_zf",))
    review_and_evaluate(users, ids["e"], rating=4, township="town_b", rating_of_township=3)
    ids["f"] = raise_call(users, township="town_c", title="河道垃圾和排污口", list_item="HB-01")
    accept_and_dispatch(users, ids["f"], lead="D03", co=("D01",))
    sign_and_handle(users, ids["f"], departments=("dept_hb", "dept_zf"))
    review_and_evaluate(users, ids["f"], rating=4, township="town_c", lead="dept_hb", rating_of_township=4)
    return ids


def review_evaluate_and_rate(users, case_id, township="town_a", lead="dept_zf"):
    """The centre approves the replies, the township evaluates, the lead department rates it back."""
    users["center"].complete(users["center"].task(case_id, "审核办结"), {"approved": True})
    users[township].complete(users[township].task(case_id, "评价"),
                             {"satisfied": True, "rating": 5, "comment": "摊点已清理，市场秩序良好"})
    users[lead].complete(users[lead].task(case_id, "一呼一评"), {"rating": 4, "comment": "街道配合到位"})


def closed_call(users, **overrides):
    """A call through its whole life (two departments, no rework); returns its id."""
    case_id = raise_call(users, **overrides)
    accept_and_dispatch(users, case_id)
    sign_and_handle(users, case_id)
    review_evaluate_and_rate(users, case_id)
    return case_id


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


def upload(user, name, content, content_type="application/xml"):
    """An analyst's upload of a .bpmn (or a .zip of one and its forms) to POST /processes."""
    return user.client.post("/api/v1/processes", headers=user.headers, content_type="multipart/form-data",
                            data={"file": (io.BytesIO(content), name, content_type)})


def wait_for(predicate, seconds=20, step=0.2):
    """predicate()'s first true value within `seconds` (for what a scheduler does on its own), else its last."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


def links_asset(html, filename):
    """Whether a page links the static file `filename` by its fingerprinted URL (app/assets.py)."""
    import re
    stem, ext = filename.rsplit(".", 1)
    return re.search(rf'"/static/{re.escape(stem)}\.[0-9a-f]{{12}}\.{re.escape(ext)}"', html) is not None
