"""The responsibility list and the procedures that change it: duty sinking (职责下沉准入),
list change (清单动态调整), versions and their differences, the print, accountability review."""
import io

import openpyxl
import pytest

from helpers import case_of, raise_call

pytestmark = pytest.mark.lifecycle

SINKING = {"duty": "背街小巷占道经营的日常巡查和劝导", "item_code": "ZF-01", "townships": ["T01", "T02"],
           "legal_basis": "《山东省城市管理综合执法条例》", "reason": "乡镇（街道）就近发现、及时处置",
           "funding": "每年每街道工作经费5万元", "staff": 2}


def start(user, process_id, data):
    r = user.post("/cases", json={"process_id": process_id, "data": data})
    assert r.status_code == 201, r.json
    return r.json["id"]


def approve_all(users, case_id):
    for who, step in (("staffing", "编办审核"), ("legal", "合法性审查"), ("leader", "县委县政府审批")):
        users[who].complete(users[who].task(case_id, step), {"approved": True, "opinion": "同意"})


def test_duty_sinking_with_every_townships_consent_publishes_a_new_version(users):
    case_id = start(users["dept_zf"], "duty_sinking", SINKING)
    for town in ("town_a", "town_b"):
        task = users[town].task(case_id)
        assert task["org"] in ("T01", "T02")
        users[town].complete(task, {"consent": True})
    approve_all(users, case_id)
    assert case_of(users["dept_zf"], case_id)["status"] == "closed"
    current = users["town_a"].get("/responsibility-list").json
    earlier = users["town_a"].get("/responsibility-list?version=1").json
    assert current["version"] == 2 and earlier["version"] == 1
    new_item = next(i for i in current["items"] if i["code"] == "ZF-01")
    old_item = next(i for i in earlier["items"] if i["code"] == "ZF-01")
    assert new_item["primary_org"] == "TOWNSHIP" and "D01" in new_item["supporting"]
    assert "岱庙街道" in new_item["primary_duty"] and "费随事转" in new_item["primary_duty"]
    assert old_item["primary_org"] == "D01"
    diff = users["town_a"].get("/responsibility-list/diff?from=1&to=2").json
    assert [c["code"] for c in diff["changed"]] == ["ZF-01"] and diff["added"] == diff["removed"] == []
    assert diff["changed"][0]["fields"]["primary_org"] == {"old": "D01", "new": "TOWNSHIP"}
    events = users["supervisor"].get(f"/cases/{case_id}/audit").json
    assert any(e["action"] == "list_published" and e["after"]["version"] == 2 for e in events)


def test_one_townships_refusal_ends_the_request_and_publishes_nothing(users):
    case_id = start(users["dept_zf"], "duty_sinking", SINKING)
    users["town_a"].complete(users["town_a"].task(case_id), {"consent": True})
    r = users["town_b"].post(f"/tasks/{users['town_b'].task(case_id)['id']}/complete", json={"data": {"consent": False}})
    assert r.status_code == 422 and "reason" in r.json["errors"]
    users["town_b"].complete(users["town_b"].task(case_id), {"consent": False, "reason": "无执法力量，无法承接"})
    case = case_of(users["dept_zf"], case_id)
    assert case["status"] == "refused"
    assert users["town_a"].get("/responsibility-list").json["version"] == 1
    assert users["staffing"].inbox(case_id) == []


def test_rejection_at_review_ends_rejected(users):
    case_id = start(users["dept_zf"], "duty_sinking", SINKING)
    for town in ("town_a", "town_b"):
        users[town].complete(users[town].task(case_id), {"consent": True})
    users["staffing"].complete(users["staffing"].task(case_id), {"approved": False, "opinion": "不符合三定规定"})
    assert case_of(users["dept_zf"], case_id)["status"] == "rejected"
    assert users["town_a"].get("/responsibility-list").json["version"] == 1


def test_only_departments_ask_to_sink_duties(users):
    r = users["town_a"].post("/cases", json={"process_id": "duty_sinking", "data": SINKING})
    assert r.status_code == 403


def test_a_version_prints_as_xlsx(users):
    r = users["town_a"].client.get("/api/v1/responsibility-list/export.xlsx?version=1", headers=users["town_a"].headers)
    assert r.status_code == 200
    ws = openpyxl.load_workbook(io.BytesIO(r.data)).active
    assert ws["A1"].value.startswith("县乡") and ws["A3"].value == "序号"
    rows = list(ws.iter_rows(min_row=4, values_only=True))
    assert len(rows) == 52 and rows[0][2] == "ZR-01"
    assert users["town_a"].client.get("/api/v1/responsibility-list/export.xlsx?version=9",
                                      headers=users["town_a"].headers).status_code == 404


def test_rejecting_a_call_as_the_townships_own_duty_counts_as_improper_call(users):
    case_id = raise_call(users, list_item="ZF-03")
    users["center"].complete(users["center"].task(case_id, "受理"),
                             {"accepted": False, "own_duty": True, "reason": "经核对清单，ZF-03 属乡镇主体责任"})
    assert case_of(users["town_a"], case_id)["status"] == "rejected"
    flags = users["supervisor"].get("/supervision/flags").json
    assert [(f["org"], f["kind"], f["case_id"]) for f in flags] == [("T01", "improper_call", case_id)]
    bad = users["center"].post("/cases", json={})
    assert bad.status_code == 422


def test_accountability_review_proposes_exemption_when_the_township_called(users):
    called = raise_call(users, list_item="ZF-01")
    report = users["supervisor"].get("/accountability-reviews/report?item_code=ZF-01&township=T01&incident_date=2099-01-01")
    assert report.status_code == 200, report.json
    assert report.json["proposal"] == "exempt" and report.json["list_version"] == 1
    assert [c["case_id"] for c in report.json["calls"]] == [called]
    silent = users["supervisor"].get("/accountability-reviews/report?item_code=ZF-01&township=T02&incident_date=2099-01-01")
    assert silent.json["proposal"] == "review" and silent.json["calls"] == []
    r = users["supervisor"].post("/accountability-reviews", json={
        "item_code": "ZF-01", "township": "T01", "incident_date": "2099-01-01", "description": "马路市场踩踏隐患",
        "decision": "exempt", "reason": "已按清单及时呼叫"})
    assert r.status_code == 201 and r.json["report"]["proposal"] == "exempt"
    assert users["town_a"].get("/accountability-reviews").status_code == 403
    assert len(users["supervisor"].get("/accountability-reviews").json) == 1
    bad = users["supervisor"].get("/accountability-reviews/report?item_code=NOPE&township=T01&incident_date=2026-01-01")
    assert bad.status_code == 422 and "item_code" in bad.json["errors"]


@pytest.mark.parametrize("backend", ["sqlite"])
def test_case_records_the_list_version_in_force(app, users):
    case_id = raise_call(users, list_item="ZF-01")
    from app.extensions import db
    from app.models import Case
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert (case.list_item, case.list_version) == ("ZF-01", 1)


CHANGE = {"change_type": "modify", "item_code": "ZF-01", "reason": "马路市场治理以市场监管为主更有效",
          "basis": "县政府常务会议纪要", "item": {"domain": "综合执法", "name": "马路市场、占道经营的治理",
                                            "primary_org": "D05", "supporting": ["D01"]}}


def test_list_change_with_opinions_and_approvals_publishes_a_new_version(users):
    case_id = start(users["town_a"], "list_change", CHANGE)
    users["staffing"].complete(users["staffing"].task(case_id, "编办审核"), {"approved": True})
    # the units concerned (the item's primary and supporting departments) give their opinions in parallel
    asked = {t["org"] for t in users["supervisor"].get(f"/cases/{case_id}").json["current_tasks"]}
    assert asked == {"D01", "D05"}
    users["dept_zf"].complete(users["dept_zf"].task(case_id, "提出意见"), {"agree": True})
    users["dept_sj"].complete(users["dept_sj"].task(case_id, "提出意见"), {"agree": False, "opinion": "需增加编制"})
    users["legal"].complete(users["legal"].task(case_id), {"approved": True})
    users["leader"].complete(users["leader"].task(case_id), {"approved": True})
    assert case_of(users["town_a"], case_id)["status"] == "closed"
    current = users["town_a"].get("/responsibility-list").json
    assert current["version"] == 2
    assert next(i for i in current["items"] if i["code"] == "ZF-01")["primary_org"] == "D05"
    earlier = users["town_a"].get("/responsibility-list?version=1").json
    assert next(i for i in earlier["items"] if i["code"] == "ZF-01")["primary_org"] == "D01"
    versions = users["town_a"].get("/responsibility-list/versions").json
    assert [v["version"] for v in versions] == [2, 1] and "清单动态调整" in versions[0]["note"]


def test_a_department_proposes_a_new_item(users):
    new = {"change_type": "add", "reason": "新出台的电动自行车管理规定", "item": {
        "domain": "应急管理", "name": "电动自行车违规停放充电的巡查处置", "primary_org": "D06", "supporting": []}}
    case_id = start(users["dept_zf"], "list_change", new)
    users["staffing"].complete(users["staffing"].task(case_id), {"approved": True})
    users["dept_yj"].complete(users["dept_yj"].task(case_id), {"agree": True})
    users["legal"].complete(users["legal"].task(case_id), {"approved": True})
    users["leader"].complete(users["leader"].task(case_id), {"approved": True})
    diff = users["town_a"].get("/responsibility-list/diff?from=1").json
    assert [(i["code"], i["name"]) for i in diff["added"]] == [("YJ-08", "电动自行车违规停放充电的巡查处置")]


def test_a_list_change_refused_at_legality_review_publishes_nothing(users):
    case_id = start(users["town_a"], "list_change", CHANGE)
    users["staffing"].complete(users["staffing"].task(case_id), {"approved": True})
    for d in ("dept_zf", "dept_sj"):
        users[d].complete(users[d].task(case_id), {"agree": True})
    users["legal"].complete(users["legal"].task(case_id), {"approved": False, "opinion": "与上位法相抵触"})
    assert case_of(users["town_a"], case_id)["status"] == "rejected"
    assert users["town_a"].get("/responsibility-list").json["version"] == 1


def test_list_change_proposal_is_checked(users):
    r = users["town_a"].post("/cases", json={"process_id": "list_change", "data": {"change_type": "remove", "reason": "不再需要"}})
    assert r.status_code == 422 and "item_code" in r.json["errors"]
    assert users["center"].post("/cases", json={"process_id": "list_change", "data": CHANGE}).status_code == 403
