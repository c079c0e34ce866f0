"""A grid event from the grid worker's phone to the township's platform and back (CONTRACT §8):
handled inside the township by a stationed agency and verified, then rated (一事一评); raised to the
county as a call that arrives prefilled with the photo and the link, runs the whole call lifecycle and
resumes the event when it closes; sent back by the grid worker; dismissed. On both backends."""
import pytest

from evidence_files import attach, photo
from helpers import accept_and_dispatch, review_evaluate_and_rate, sign_and_handle, web_login

MARKET = {"lat": 36.1950, "lng": 117.1280, "address": "明珠东路与灵山大街路口"}


def report_event(users, who="grid_a", category="street_market", text="明珠东路路口早市摊贩占道经营，堵塞非机动车道",
           location=MARKET, urgency="normal"):
    r = users[who].post("/cases", json={"process_id": "grid_event", "data": {
        "category": category, "description": text, "location": location, "urgency": urgency}})
    assert r.status_code == 201, r.json
    return r.json


def audit_actions(user, case_id):
    return [e["action"] for e in user.get(f"/cases/{case_id}/audit").json]


def test_a_report_is_triaged_by_its_categorys_platform_handled_by_a_stationed_agency_verified_and_rated(users):
    case = report_event(users)
    assert case["title"].startswith("马路市场、占道经营：明珠东路")
    shot = attach(users["grid_a"], case["id"], "早市全景.jpg", photo("red"))
    detail = users["platform_a"].get(f"/cases/{case['id']}").json
    assert detail["current_tasks"][0]["name"] == "受理分拨" and detail["current_tasks"][0]["org"] == "T01-ZHZF"
    assert users["platform_a_sc"].inbox(case["id"]) == []          # the 市场监管 platform does not triage it

    platform = users["platform_a"]
    triage = platform.task(case["id"], "受理分拨")
    form = platform.get(f"/tasks/{triage['id']}").json["form"]
    handlers = {o["const"] for o in form["properties"]["handler"]["oneOf"]}
    assert {"T01-ZFZD", "T01-SJS", "T01-ZHZF"} <= handlers and not any(h.startswith("T02") for h in handlers)
    r = platform.post(f"/tasks/{triage['id']}/complete", json={"data": {"route": "handle", "opinion": "请今日清理"}})
    assert r.status_code == 422 and "handler" in r.json["errors"]          # a hand-over needs its unit
    platform.complete(triage, {"route": "handle", "handler": "T01-ZFZD", "deadline": "2030-01-04",
                               "opinion": "请执法中队今日清理占道摊点"})

    agency = users["stationed_a"]
    handle = agency.task(case["id"], "派驻机构处置")
    assert handle["due_at"].startswith("2030-01-04T23:59:59")
    assert users["stationed_b"].get(f"/cases/{case['id']}").status_code == 404
    agency.complete(handle, {"result": "已劝离摊贩12户，恢复通行"})

    grid = users["grid_a"]
    grid.complete(grid.task(case["id"], "现场核查"), {"verified": True, "note": "现场已无摊点"})
    town = users["town_a"]
    rate = town.task(case["id"], "一事一评")
    town.complete(rate, {"satisfied": True, "rating": 5, "comment": "处置及时"})
    done = grid.get(f"/cases/{case['id']}").json
    assert done["status"] == "closed" and done["current_tasks"] == []
    assert [a["sha256"] for a in grid.get(f"/cases/{case['id']}/attachments").json["items"]] == [shot["sha256"]]
    assert users["grid_b"].get(f"/cases/{case['id']}").status_code == 404
    assert users["platform_b"].get(f"/cases/{case['id']}").status_code == 404

    # the township's 一事一评 counts for the agency's home department (综合行政执法局, D01)
    report = users["supervisor"].get("/reports").json
    agency_row = next(r for r in report["stationed"] if r["org"] == "T01-ZFZD")
    assert agency_row["events"] == 1 and agency_row["rating"] == 5 and agency_row["satisfied_share"] == 1
    d01 = next(r for r in report["departments"] if r["org"] == "D01")
    assert d01["stationed_rating"] == 5 and d01["stationed_ratings"] == 1
    assert next(r for r in users["dept_zf"].get("/reports").json["stationed"] if r["org"] == "T01-ZFZD")["rating"] == 5


def test_a_report_raised_to_the_county_arrives_prefilled_runs_the_call_and_resumes_the_event(app, users):
    event = report_event(users, text="明珠东路早市反复占道，乡镇多次劝离无效，涉及道路规划调整")
    attach(users["grid_a"], event["id"], "早市.jpg", photo("blue"))
    platform = users["platform_a"]
    triage = platform.task(event["id"], "受理分拨")
    form = platform.get(f"/tasks/{triage['id']}").json["form"]
    assert form["properties"]["list_item"]["default"] == "ZF-01"     # suggested from the category
    platform.complete(triage, {"route": "call", "list_item": "ZF-01",
                               "opinion": "已多次劝离，需县执法局和住建局调整市场布局"})
    waiting = users["grid_a"].get(f"/cases/{event['id']}").json
    call_id = waiting["data"]["call_case_id"]
    assert waiting["status"] == "open" and waiting["current_tasks"] == []

    center = users["center"]
    call = center.get(f"/cases/{call_id}").json
    assert call["process_id"] == "call_response" and call["initiator_org"] == "T01"
    assert call["data"]["source_case_id"] == event["id"] and call["data"]["list_item"] == "ZF-01"
    assert "明珠东路早市反复占道" in call["data"]["description"] and "需县执法局" in call["data"]["description"]
    assert call["data"]["location"] == MARKET["address"]
    assert [a["name"] for a in center.get(f"/cases/{call_id}/attachments").json["items"]] == ["早市.jpg"]
    assert "raised_from_event" in audit_actions(center, call_id)
    assert "call_raised" in audit_actions(platform, event["id"])
    dossier = web_login(app, "center").get(f"/cases/{call_id}/dossier").get_data(as_text=True)
    assert "来自网格事件" in dossier and f"案件 #{event['id']}" in dossier
    page = web_login(app, "platform_a").get(f"/cases/{event['id']}").get_data(as_text=True)
    assert "已呼叫县级" in page and f'href="/cases/{call_id}"' in page and "等待所呼叫的县级部门办结" in page

    accept_and_dispatch(users, call_id)
    sign_and_handle(users, call_id)
    review_evaluate_and_rate(users, call_id)
    ended = center.get(f"/cases/{call_id}").json
    assert ended["status"] == "closed", ended

    resumed = users["grid_a"].get(f"/cases/{event['id']}").json
    assert resumed["data"]["call_status"] == "closed"
    assert [t["name"] for t in resumed["current_tasks"]] == ["现场核查"]
    assert "call_ended" in audit_actions(users["grid_a"], event["id"])
    grid = users["grid_a"]
    grid.complete(grid.task(event["id"], "现场核查"), {"verified": True})
    assert grid.get(f"/cases/{event['id']}").json["status"] == "closed"        # no agency to rate


def test_a_call_the_centre_refuses_sends_the_event_back_to_the_platform(users):
    event = report_event(users, category="dispute", text="两户邻居因排水沟堵塞发生争执")
    platform = users["platform_a_zl"]
    platform.complete(platform.task(event["id"], "受理分拨"), {"route": "call", "opinion": "需县级协调"})
    call_id = users["grid_a"].get(f"/cases/{event['id']}").json["data"]["call_case_id"]
    center = users["center"]
    center.complete(center.task(call_id, "受理"), {"accepted": False, "own_duty": True, "reason": "属乡镇调解职责"})
    back = platform.get(f"/cases/{event['id']}").json
    assert back["data"]["call_status"] == "rejected" and [t["name"] for t in back["current_tasks"]] == ["受理分拨"]


def test_the_grid_worker_sends_an_unresolved_event_back_and_a_platform_dismisses_one(users):
    event = report_event(users, category="public_facility", text="灵山大街路灯连续三晚不亮")
    platform = users["platform_a_bm"]
    platform.complete(platform.task(event["id"], "受理分拨"),
                      {"route": "handle", "handler": "T01-BMFW", "opinion": "请联系路灯所维修"})
    platform.complete(platform.task(event["id"], "平台处置"), {"result": "已报修"})
    grid = users["grid_a"]
    grid.complete(grid.task(event["id"], "现场核查"), {"verified": False}, expect=422)     # why, when not solved
    grid.complete(grid.task(event["id"], "现场核查"), {"verified": False, "note": "路灯仍不亮"})
    triage = platform.task(event["id"], "受理分拨")
    platform.complete(triage, {"route": "dismiss", "opinion": "已列入市政维修计划，另案处理"})
    assert grid.get(f"/cases/{event['id']}").json["status"] == "rejected"


def test_only_grid_workers_report_and_a_township_without_platforms_cannot_take_reports(users, app):
    r = users["town_a"].post("/cases", json={"process_id": "grid_event", "data": {
        "category": "street_market", "description": "乡镇自己上报", "location": MARKET, "urgency": "normal"}})
    assert r.status_code == 403
    r = users["grid_a"].post("/cases", json={"process_id": "grid_event", "data": {
        "category": "street_market", "description": "没有位置", "urgency": "normal"}})
    assert r.status_code == 422 and "location" in r.json["errors"]
    r = users["grid_a"].post("/cases", json={"process_id": "grid_event", "data": {
        "category": "no_such", "description": "分类不存在", "location": MARKET, "urgency": "normal"}})
    assert r.status_code == 422 and "category" in r.json["errors"]


@pytest.mark.lifecycle
def test_two_app_processes_take_turns_on_an_event_and_its_call(app, database_url, process_caches, users):
    """The event's steps on one app process, its call's on another (each with its own caches), the
    event resumed by the second: nothing stale, nothing lost."""
    from conftest import ApiUser, _make_app
    other = _make_app(database_url, PROCESS_CACHES=process_caches)

    class There(dict):
        def __missing__(self, name):
            self[name] = ApiUser(other.test_client(), name)
            return self[name]
    there = There()

    event = report_event(users, category="pollution", text="灵山大街夜市油烟扰民，多次劝导无效")
    platform = users["platform_a_zl"]
    platform.complete(platform.task(event["id"], "受理分拨"), {"route": "call", "opinion": "需县级部门执法"})
    call_id = there["grid_a"].get(f"/cases/{event['id']}").json["data"]["call_case_id"]
    accept_and_dispatch(there, call_id, co=())
    sign_and_handle(there, call_id, departments=("dept_zf",))
    review_evaluate_and_rate(there, call_id)
    assert users["center"].get(f"/cases/{call_id}").json["status"] == "closed"
    grid = users["grid_a"]                                    # back on the first process
    grid.complete(grid.task(event["id"], "现场核查"), {"verified": True})
    assert there["grid_a"].get(f"/cases/{event['id']}").json["status"] == "closed"
    with other.app_context():
        from app.extensions import db
        db.session.remove()
        db.engine.dispose()
