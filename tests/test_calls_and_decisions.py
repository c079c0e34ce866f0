"""More BPMN runs: call activities calling deployed processes (newest at the call, or pinned),
uploads of several processes, DMN decision tables behind business rule tasks, plain tasks that
pass and manual tasks a lane's role acknowledges. Through POST /processes as an analyst and the
case API as the demo users, on both backends; the files are under tests/bpmn/calldmn/."""
import io
import signal
import zipfile
from pathlib import Path

import pytest

from app import cases, processes
from app.extensions import db
from helpers import post_form, upload, web_login

HERE = Path(__file__).resolve().parent / "bpmn" / "calldmn"


def read(name):
    return (HERE / name).read_bytes()


def zipped(*names, extra=None):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for n in names:
            z.writestr(n, read(n))
        for n, content in (extra or {}).items():
            z.writestr(n, content)
    return buf.getvalue()


def deploy(users, name, content):
    r = upload(users["analyst"], name, content, "application/zip" if name.endswith(".zip") else "application/xml")
    assert r.status_code == 201, r.get_data(as_text=True)
    return r.json


def refused(users, name, content):
    r = upload(users["analyst"], name, content, "application/zip" if name.endswith(".zip") else "application/xml")
    assert r.status_code == 422, r.get_data(as_text=True)
    return r.json["errors"]


def start(users, process_id, who="town_a", data=None):
    r = users[who].post("/cases", json={"process_id": process_id, "data": data or {}})
    assert r.status_code == 201, r.get_data(as_text=True)
    return r.json


def case_of(users, case_id, who="town_a"):
    r = users[who].get(f"/cases/{case_id}")
    assert r.status_code == 200, r.json
    return r.json


def verify_v2():
    """verify_check as its analyst redraws it: 核实 becomes 复核."""
    return read("verify_check.bpmn").replace('name="核实"'.encode(), 'name="复核"'.encode())


CALLER_ZIP = ("report_caller.bpmn", "verify_check.bpmn", "verify.schema.json", "register.schema.json")


def test_a_caller_and_its_callee_deploy_together_and_a_case_runs_through_both(users):
    out = deploy(users, "report.zip", zipped(*CALLER_ZIP))
    assert out["process_id"] == "report_caller" and out["version"] == 1 and out["created"] is True
    assert {(p["process_id"], p["version"], p["created"]) for p in out["processes"]} == {
        ("report_caller", 1, True), ("verify_check", 1, True)}
    assert out["report"] == []
    case = start(users, "report_caller")
    users["town_a"].complete(users["town_a"].task(case["id"], "登记"), {"amount": 300})
    # the callee's task, in the centre's lane, with the callee's form
    task = users["center"].task(case["id"], "核实")
    detail = users["center"].get(f"/tasks/{task['id']}").json
    assert "verified" in str(detail), detail
    assert users["center"].complete(task, {}, expect=422)        # the callee's form is checked
    users["center"].complete(task, {"verified": True, "note": "现场确认"})
    back = users["town_a"].task(case["id"], "确认结果")
    data = case_of(users, case["id"])["data"]
    assert data["verified"] is True and data["amount"] == 300    # all in, all out
    users["town_a"].complete(back)
    assert case_of(users, case["id"])["status"] == "closed"
    trail = [e["action"] for e in users["center"].get(f"/cases/{case['id']}/audit").json]
    assert trail.count("task_completed") == 3


def test_a_call_takes_the_newest_callee_at_the_call_or_the_pinned_one(users):
    deploy(users, "report.zip", zipped(*CALLER_ZIP, "report_pinned.bpmn"))
    early = start(users, "report_caller")          # waits at 登记 while the callee changes
    called = start(users, "report_caller")
    users["town_a"].complete(users["town_a"].task(called["id"], "登记"), {"amount": 1})
    users["center"].task(called["id"], "核实")      # in version 1
    out = deploy(users, "verify_check.zip", zipped("verify.schema.json", extra={"verify_check.bpmn": verify_v2()}))
    assert (out["process_id"], out["version"]) == ("verify_check", 2)
    users["town_a"].complete(users["town_a"].task(early["id"], "登记"), {"amount": 2})
    assert users["center"].task(early["id"], "复核")          # newest at the moment of the call
    pinned = start(users, "report_pinned")
    users["town_a"].complete(users["town_a"].task(pinned["id"], "登记"), {"amount": 3})
    assert users["center"].task(pinned["id"], "核实")         # calledVersion 1
    for case_id, name in ((called["id"], "核实"), (early["id"], "复核"), (pinned["id"], "核实")):
        users["center"].complete(users["center"].task(case_id, name), {"verified": False})
        users["town_a"].complete(users["town_a"].task(case_id, "确认结果"))
        assert case_of(users, case_id)["status"] == "closed"


def test_a_case_inside_a_callee_goes_on_in_a_fresh_app_process_on_the_version_it_called(users, database_url):
    """A restart: another app, with no parsed definition and no workflow kept, while a newer
    version of the callee is deployed; the case must reload onto the callee version it called."""
    from conftest import ApiUser, _make_app
    deploy(users, "report.zip", zipped(*CALLER_ZIP))
    case = start(users, "report_caller")
    users["town_a"].complete(users["town_a"].task(case["id"], "登记"), {"amount": 5})
    users["center"].task(case["id"], "核实")
    deploy(users, "verify_check.zip", zipped("verify.schema.json", extra={"verify_check.bpmn": verify_v2()}))
    processes._cache.clear()
    cases._recent.clear()
    fresh = _make_app(database_url).test_client()
    center, town = ApiUser(fresh, "center"), ApiUser(fresh, "town_a")
    center.complete(center.task(case["id"], "核实"), {"verified": True})
    town.complete(town.task(case["id"], "确认结果"))
    assert town.get(f"/cases/{case['id']}").json["status"] == "closed"


def test_a_case_inside_a_callee_is_finished_by_a_real_server_started_afterwards(app, users, database_url, tmp_path):
    """The same on a `flask huying serve` process started after the case entered the callee and a
    newer callee was deployed: it parses every definition afresh and loads the case from the database."""
    from servers import RemoteUsers, Server
    deploy(users, "report.zip", zipped(*CALLER_ZIP))
    case = start(users, "report_caller")
    users["town_a"].complete(users["town_a"].task(case["id"], "登记"), {"amount": 5})
    deploy(users, "verify_check.zip", zipped("verify.schema.json", extra={"verify_check.bpmn": verify_v2()}))
    with app.app_context():
        db.engine.dispose()
    server = Server(database_url, tmp_path, "after")
    try:
        remote = RemoteUsers([server.start()])
        remote["center"].complete(remote["center"].task(case["id"], "核实"), {"verified": True})
        remote["town_a"].complete(remote["town_a"].task(case["id"], "确认结果"))
        assert remote["town_a"].get(f"/cases/{case['id']}").json["status"] == "closed"
    except AssertionError as e:
        raise AssertionError(f"{e}\n--- log: {server.log_tail()}") from None
    finally:
        server.stop(signal.SIGKILL)


def test_an_upload_is_all_or_nothing_and_names_a_callee_nobody_deployed(users):
    broken = read("report_caller.bpmn").replace(b'calledElement="verify_check"', b'calledElement="verify_chek"')
    errors = refused(users, "report.zip", zipped("verify_check.bpmn", "verify.schema.json", "register.schema.json",
                                                 extra={"report_caller.bpmn": broken}))
    assert any(e.get("element_id") == "Call_verify" and "verify_chek" in e["message"] for e in errors), errors
    assert users["analyst"].get("/processes/verify_check/versions").status_code == 404   # nothing deployed
    errors = refused(users, "report.zip", zipped("report_caller.bpmn", "register.schema.json"))
    assert any("verify_check 尚未部署" in e["message"] for e in errors), errors
    bad_pin = read("report_pinned.bpmn").replace(b'value="1"', b'value="7"')
    errors = refused(users, "report.zip", zipped("verify_check.bpmn", "verify.schema.json", "register.schema.json",
                                                 extra={"report_pinned.bpmn": bad_pin}))
    unmapped = read("report_caller.bpmn").replace(b'<camunda:in variables="all" />', b'').replace(
        b'<camunda:out variables="all" />', b'')
    out = deploy(users, "report.zip", zipped("verify_check.bpmn", "verify.schema.json", "register.schema.json",
                                             extra={"report_caller.bpmn": unmapped}))
    assert [n["element_id"] for n in out["report"]] == ["Call_verify"] and "全部变量" in out["report"][0]["message"]
    assert any(e.get("element_id") == "Call_verify" and "第 7 版" in e["message"] for e in errors), errors


def test_a_zeebe_call_activity_maps_only_what_it_names(users):
    xml = read("report_caller.bpmn").decode()
    xml = xml.replace('xmlns:camunda="http://camunda.org/schema/1.0/bpmn"',
                      'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"')
    xml = xml.replace('calledElement="verify_check" camunda:calledElementBinding="latest"', "")
    xml = xml.replace('<camunda:in variables="all" />\n        <camunda:out variables="all" />',
                      '<zeebe:calledElement processId="verify_check" propagateAllChildVariables="false" />'
                      '<zeebe:ioMapping><zeebe:output source="=verified" target="checked" /></zeebe:ioMapping>')
    deploy(users, "report.zip", zipped("verify_check.bpmn", "verify.schema.json", "register.schema.json",
                                       extra={"report_caller.bpmn": xml}))
    case = start(users, "report_caller")
    users["town_a"].complete(users["town_a"].task(case["id"], "登记"), {"amount": 5})
    users["center"].complete(users["center"].task(case["id"], "核实"), {"verified": True, "note": "属实"})
    data = case_of(users, case["id"])["data"]
    assert data["checked"] is True and "note" not in data and "verified" not in data


def test_a_collaboration_of_two_executable_pools_deploys_as_two_processes(users):
    out = deploy(users, "collab.bpmn", read("two_pools.bpmn"))
    assert sorted((p["process_id"], p["version"]) for p in out["processes"]) == [("pool_dept", 1), ("pool_town", 1)]
    town = start(users, "pool_town")
    users["town_a"].complete(users["town_a"].task(town["id"], "上报"))
    assert case_of(users, town["id"])["status"] == "closed"
    dept = start(users, "pool_dept", who="center")
    users["center"].complete(users["center"].task(dept["id"], "分办"))
    assert case_of(users, dept["id"], who="center")["status"] == "closed"


def test_several_unmarked_pools_are_refused_naming_them(users):
    xml = read("two_pools.bpmn").replace(b'isExecutable="true"', b'isExecutable="false"')
    errors = refused(users, "collab.bpmn", xml)
    assert any("乡镇上报" in e["message"] and "pool_dept" in e["message"] for e in errors), errors


def test_a_plain_task_passes_and_a_manual_task_is_acknowledged_by_its_lane(users):
    deploy(users, "tasks.bpmn", read("plain_and_manual.bpmn"))
    case = start(users, "plain_and_manual")
    tasks = users["town_a"].inbox(case["id"])
    assert [t["name"] for t in tasks] == ["现场查看"]          # 自动归档 passed by itself
    assert users["center"].inbox(case["id"]) == []
    assert users["town_a"].get(f"/tasks/{tasks[0]['id']}").status_code == 200
    users["town_a"].complete(tasks[0], {})
    detail = case_of(users, case["id"])
    assert detail["status"] == "closed", detail
    trail = users["center"].get(f"/cases/{case['id']}/audit").json
    assert any(e["action"] == "task_completed" and "现场查看" in str(e) for e in trail), trail


def test_a_manual_task_page_has_one_button_to_acknowledge_it(app, users):
    deploy(users, "tasks.bpmn", read("plain_and_manual.bpmn"))
    case = start(users, "plain_and_manual")
    task = users["town_a"].task(case["id"], "现场查看")
    browser = web_login(app, "town_a")
    page = browser.get(f"/tasks/{task['id']}").get_data(as_text=True)
    assert ">确认完成</button>" in page and "提交办理" not in page
    r = post_form(browser, f"/tasks/{task['id']}", f"/tasks/{task['id']}", {})
    assert r.status_code in (302, 303), r.get_data(as_text=True)
    assert case_of(users, case["id"])["status"] == "closed"


DECISION_ZIP = ("dmn_route.bpmn", "decisions.dmn", "register.schema.json")


def route(users, amount, category="other", ref=None, mapping=None):
    """Deploy dmn_route deciding with `ref` (its decision) and start a case; the ready task names."""
    bpmn = read("dmn_route.bpmn").decode()
    if ref:
        bpmn = bpmn.replace('camunda:decisionRef="size_unique"', f'camunda:decisionRef="{ref}"')
    if mapping:
        bpmn = bpmn.replace('camunda:mapDecisionResult="singleEntry"', f'camunda:mapDecisionResult="{mapping}"')
    deploy(users, "route.zip", zipped("decisions.dmn", "register.schema.json", extra={"dmn_route.bpmn": bpmn}))
    case = start(users, "dmn_route")
    users["town_a"].complete(users["town_a"].task(case["id"], "登记"), {"amount": amount, "category": category})
    detail = case_of(users, case["id"])
    return detail, [t["name"] for t in users["center"].inbox(case["id"])]


@pytest.mark.parametrize("amount, expected", [(300, "常规办理"), (5000, "常规办理"), (9000, "领导审批")])
def test_a_unique_table_decides_the_gateway(users, amount, expected):
    detail, names = route(users, amount)
    assert names == [expected], detail
    assert detail["data"]["size"] == ("large" if amount > 5000 else "small" if amount < 1000 else "medium")


def test_a_unique_table_with_two_matching_rules_errors_the_case_naming_them(users):
    detail, names = route(users, 300, ref="size_overlap")
    assert names == [] and detail["status"] == "errored", detail
    assert "UNIQUE" in detail["error"]["message"] and "第 1、2 条" in detail["error"]["message"], detail["error"]
    board = users["supervisor"].get("/cases?status=errored").json["items"]
    assert any(c["id"] == detail["id"] for c in board)


def test_a_first_table_takes_the_first_match(users):
    detail, names = route(users, 9000, category="noise", ref="size_first")
    assert detail["data"]["size"] == "large" and names == ["领导审批"], detail   # rule 1 wins over rule 3


def test_a_collect_table_lists_and_a_collect_sum_adds(users):
    detail, names = route(users, 9000, category="noise", ref="tags_collect", mapping="collectEntries")
    assert detail["data"]["size"] == ["environment", "big"] and names == ["常规办理"], detail
    detail, names = route(users, 9000, category="noise", ref="score_sum")
    assert detail["data"]["size"] == 7 and names == ["常规办理"], detail


def test_a_rule_order_table_with_result_list(users):
    detail, _names = route(users, 9000, category="noise", ref="tags_rule_order", mapping="resultList")
    assert detail["data"]["size"] == [{"size": "environment"}, {"size": "big"}], detail


def test_spiff_and_zeebe_business_rule_tasks_put_the_result_where_they_say(users):
    bpmn = read("dmn_route.bpmn").decode()
    spiff = bpmn.replace('camunda:decisionRef="size_unique" camunda:resultVariable="size" '
                         'camunda:mapDecisionResult="singleEntry"', "").replace(
        "<bpmn:incoming>Flow_d2</bpmn:incoming>",
        "<bpmn:extensionElements><spiffworkflow:calledDecisionId>size_unique</spiffworkflow:calledDecisionId>"
        "</bpmn:extensionElements><bpmn:incoming>Flow_d2</bpmn:incoming>", 1)
    deploy(users, "route.zip", zipped("decisions.dmn", "register.schema.json", extra={"dmn_route.bpmn": spiff}))
    case = start(users, "dmn_route")
    users["town_a"].complete(users["town_a"].task(case["id"], "登记"), {"amount": 9000})
    assert case_of(users, case["id"])["data"]["size"] == "large"
    zeebe = spiff.replace("<spiffworkflow:calledDecisionId>size_unique</spiffworkflow:calledDecisionId>",
                          '<zeebe:calledDecision decisionId="size_unique" resultVariable="size" />').replace(
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn"', 'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"')
    deploy(users, "route.zip", zipped("decisions.dmn", "register.schema.json", extra={"dmn_route.bpmn": zeebe}))
    case = start(users, "dmn_route")
    users["town_a"].complete(users["town_a"].task(case["id"], "登记"), {"amount": 10})
    assert case_of(users, case["id"])["data"]["size"] == "small"


def test_a_bad_dmn_cell_or_an_unknown_decision_is_refused_naming_it(users):
    dmn = read("decisions.dmn").decode().replace("<text>&lt; 1000</text>", "<text>&lt; date(\"2020\")</text>", 1)
    errors = refused(users, "route.zip", zipped("dmn_route.bpmn", "register.schema.json",
                                                extra={"decisions.dmn": dmn}))
    assert any(e.get("element_id") == "size_unique" and "第 1 条规则" in e["message"] and "金额" in e["message"]
               and 'date("2020")' in e["message"] for e in errors), errors
    bpmn = read("dmn_route.bpmn").replace(b'camunda:decisionRef="size_unique"', b'camunda:decisionRef="nope"')
    errors = refused(users, "route.zip", zipped("decisions.dmn", "register.schema.json",
                                                extra={"dmn_route.bpmn": bpmn}))
    assert any(e.get("element_id") == "Rule_size" and "nope" in e["message"] for e in errors), errors
    errors = refused(users, "route.dmn", read("decisions.dmn"))
    assert "打包为 .zip" in errors[0]["message"]


def test_a_redeploy_of_the_bpmn_alone_keeps_its_decisions(users):
    deploy(users, "route.zip", zipped(*DECISION_ZIP))
    bpmn = read("dmn_route.bpmn").replace('name="常规办理"'.encode(), 'name="一般办理"'.encode())
    out = deploy(users, "dmn_route.bpmn", bpmn)
    assert out["version"] == 2
    processes._cache.clear()          # parsed again from what is stored, as in a fresh app process
    case = start(users, "dmn_route")
    users["town_a"].complete(users["town_a"].task(case["id"], "登记"), {"amount": 10})
    assert [t["name"] for t in users["center"].inbox(case["id"])] == ["一般办理"]
