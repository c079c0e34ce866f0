"""A Camunda analyst's files run: Camunda Modeler 7 (`camunda:`) and 8 (`zeebe:`) processes with
their Camunda Forms, uploaded as a .zip through the API, mapped onto Huying's model with a report,
and driven to their end by the demo users; what Huying cannot run is refused on its element."""
import io
import json
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from app import cases, processes
from app.extensions import db
from app.models import Case
from helpers import wait_for

CORPUS = Path(__file__).parent / "bpmn" / "camunda"
C7 = ("expense_c7.bpmn", "expense_start.form", "expense_review.form", "expense_leader.form")
C8 = ("repair_c8.bpmn", "repair_start.form", "repair_accept.form")


def zipped(*names, replace=None, extra=None):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for n in names:
            text = (CORPUS / n).read_text(encoding="utf-8")
            for old, new in (replace or {}).items() if n.endswith(".bpmn") else ():
                assert old in text, old
                text = text.replace(old, new)
            z.writestr(f"camunda-export/{n}", text)
        for n, text in (extra or {}).items():
            z.writestr(n, text)
    return buf.getvalue()


def upload(user, content, name="process.zip", roles=None):
    data = {"file": (io.BytesIO(content), name, "application/zip")}
    if roles is not None:
        data["roles"] = roles if isinstance(roles, str) else json.dumps(roles)
    return user.client.post("/api/v1/processes", headers=user.headers, content_type="multipart/form-data", data=data)


def messages(r):
    return {(e.get("element_id"), e["message"]) for e in r.json.get("errors") or []}


def refused_on(r, element_id, *parts):
    assert r.status_code == 422, r.get_data(as_text=True)
    found = [m for eid, m in messages(r) if eid == element_id and all(p in m for p in parts)]
    assert found, (element_id, parts, messages(r))
    return found[0]


def start(user, process_id, data):
    r = user.post("/cases", json={"process_id": process_id, "data": data})
    assert r.status_code == 201, r.get_data(as_text=True)
    return r.json["id"]


def case_of(users, case_id):
    return users["admin"].get(f"/cases/{case_id}").json


def test_camunda7_expense_claim_runs_to_its_end(users):
    r = upload(users["analyst"], zipped(*C7), roles={"accounting": "department"})
    assert r.status_code == 201, r.get_data(as_text=True)
    assert r.json["process_id"] == "expense_claim"
    report = {(line.get("element_id"), line["message"]) for line in r.json["report"]}
    said = "\n".join(m for _e, m in report)
    assert any(e == "Task_review" and "accounting" in m and "县级部门" in m for e, m in report)
    assert any(e == "Flow_big" and "approved and (amount > 1000)" in m for e, m in report)
    assert any(e == "Gateway_amount" and "默认流" in m for e, m in report)
    assert any(e == "Task_review" and "P2D" in m and "就绪" in m for e, m in report)
    assert any(e == "StartEvent_1" and "执行监听器" in m for e, m in report)
    assert any(e == "StartEvent_1" and "filepicker" in m for e, m in report)
    assert "managers" in said and "asyncBefore" in said

    form = users["town_a"].get("/processes/expense_claim").json["start_form"]
    assert form["required"] == ["title", "amount"]
    assert form["properties"]["category"]["default"] == "office"
    bad = users["town_a"].post("/cases", json={"process_id": "expense_claim", "data": {"title": "差旅", "amount": -5}})
    assert bad.status_code == 422

    before = datetime.now(timezone.utc)
    case_id = start(users["town_a"], "expense_claim", {"title": "赴市参加培训差旅费", "amount": 2400,
                                                       "category": "travel", "spent_on": "2026-11-20"})
    review = users["dept_zf"].task(case_id, "财务审核")
    due = datetime.fromisoformat(review["due_at"])
    assert before + timedelta(days=2) - timedelta(minutes=1) <= due <= datetime.now(timezone.utc) + timedelta(days=2)
    detail = users["dept_zf"].get(f"/tasks/{review['id']}").json
    assert set(detail["form"]["properties"]) == {"approved", "comment"}
    users["dept_zf"].complete(review, {"approved": True, "comment": "票据齐全"})

    leader = users["leader"].task(case_id, "领导审批")
    users["leader"].complete(leader, {"decision": "yes", "cc": ["finance"]})

    confirm = users["town_a"].task(case_id, "发起人确认")
    assert confirm["assignee"] == "town_a"          # claimed for the case's starter when it became ready
    other = [t for t in users["town_b"].inbox(case_id) if t["name"] == "发起人确认"]
    if other:
        users["town_b"].complete(other[0], {}, expect=409)
    users["town_a"].complete(confirm, {})
    case = case_of(users, case_id)
    assert case["status"] == "closed", case
    audit = users["admin"].get(f"/cases/{case_id}/audit").json
    assert any(e["action"] == "task_claimed" and e["task"] == "发起人确认" for e in audit)


def test_camunda7_small_and_rejected_claims_take_their_juel_branches(users):
    assert upload(users["analyst"], zipped(*C7), roles={"accounting": "部门"}).status_code == 201
    small = start(users["town_a"], "expense_claim", {"title": "购买打印纸", "amount": 300})
    users["dept_zr"].complete(users["dept_zr"].task(small, "财务审核"), {"approved": True})
    assert users["leader"].inbox(small) == []
    users["town_a"].complete(users["town_a"].task(small, "发起人确认"), {})
    assert case_of(users, small)["status"] == "closed"
    rejected = start(users["town_a"], "expense_claim", {"title": "无票据报销", "amount": 50})
    users["dept_zr"].complete(users["dept_zr"].task(rejected, "财务审核"), {"approved": False, "comment": "缺少发票"})
    assert case_of(users, rejected)["status"] == "closed"
    assert users["town_a"].inbox(rejected) == []


def test_camunda8_road_repair_runs_to_its_end(users, app):
    r = upload(users["analyst"], zipped(*C8))
    assert r.status_code == 201, r.get_data(as_text=True)
    report = {(line.get("element_id"), line["message"]) for line in r.json["report"]}
    assert any(e == "Timer_repair" and '"PT1H"' in m for e, m in report)
    assert any(e == "Flow_yes" and "(accepted == True) and (length >= 1)" in m for e, m in report)
    assert any(e == "Task_repair" and "roads" in m for e, m in report)
    assert any(e == "Task_repair" and "UserTaskForm_repair" in m for e, m in report)
    assert any(e == "Task_accept" and "ioMapping" in m for e, m in report)

    accept_by = "2026-12-24T09:00:00+08:00"
    case_id = start(users["town_a"], "road_repair", {"title": "泰前路", "length": 12, "accept_by": accept_by})
    accept = users["center"].task(case_id, "受理报修")
    assert datetime.fromisoformat(accept["due_at"]) == datetime.fromisoformat(accept_by)
    users["center"].complete(accept, {"accepted": True, "reason": "属实"})

    repair = users["dept_hb"].task(case_id, "部门维修")     # the unquoted PT1H timer is armed, not a failure
    due = datetime.fromisoformat(repair["due_at"])
    assert timedelta(minutes=50) < due - datetime.now(timezone.utc) <= timedelta(hours=1)
    with app.app_context():
        assert db.session.get(Case, case_id).next_timer_at is not None
    form = users["dept_hb"].get(f"/tasks/{repair['id']}").json["form"]
    assert form["required"] == ["result"] and form["properties"]["cost"]["type"] == "integer"
    users["dept_hb"].complete(repair, {"result": "已铺设沥青", "cost": 3200})
    assert case_of(users, case_id)["status"] == "closed"


def test_an_unquoted_timer_duration_fires(users, app):
    """Before, `PT1H` passed validation as a variable name and failed the first case."""
    r = upload(users["analyst"], zipped(*C8, replace={">PT1H<": ">=duration(\"PT1S\")<"}))
    assert r.status_code == 201, r.get_data(as_text=True)
    case_id = start(users["town_a"], "road_repair", {"title": "岱宗大街", "length": 3,
                                                     "accept_by": "2026-12-24T09:00:00+08:00"})
    users["center"].complete(users["center"].task(case_id, "受理报修"), {"accepted": True})
    with app.app_context():
        row = db.session.get(Case, case_id)
        assert row.status == "open" and row.next_timer_at is not None

    def fired():             # the engine compares the timer with the wall clock itself
        with app.app_context():
            cases.fire_due_timers()
            db.session.expire_all()
            return db.session.get(Case, case_id).next_timer_at is None
    assert wait_for(fired, seconds=60)
    assert any(e["action"] == "timer_fired" for e in users["admin"].get(f"/cases/{case_id}/audit").json)
    case = case_of(users, case_id)
    assert case["status"] == "open", case
    users["dept_zf"].complete(users["dept_zf"].task(case_id, "部门维修"), {"result": "已修复"})
    assert case_of(users, case_id)["status"] == "closed"


def test_no_condition_holding_at_a_gateway_without_default_makes_the_case_errored(users):
    r = upload(users["analyst"], zipped(*C8, replace={"=not(accepted) or length &lt; 1": "=not(accepted) and length &lt; 1"}))
    assert r.status_code == 201, r.get_data(as_text=True)
    case_id = start(users["town_a"], "road_repair", {"title": "泰前路", "length": 12,
                                                     "accept_by": "2026-12-24T09:00:00+08:00"})
    result = users["center"].complete(users["center"].task(case_id, "受理报修"), {"accepted": False})
    assert result["case"]["status"] == "errored"
    case = case_of(users, case_id)
    assert case["status"] == "errored" and case["error"]["element_id"] == "Gateway_accept", case
    assert "是否受理" in case["error"]["message"] and "条件都不成立" in case["error"]["message"]
    board = users["supervisor"].get("/cases?status=errored").json
    assert any(c["id"] == case_id for c in board["items"]), board


# --- refusals, each on its element and in Chinese --------------------------------------------
def test_an_unmapped_candidate_group_is_refused_naming_the_task_and_the_group(users):
    m = refused_on(upload(users["analyst"], zipped(*C7)), "Task_review", "财务审核", "accounting", "roles")
    assert "department" in m


@pytest.mark.parametrize("roles, said", [("{accounting: dept}", "JSON"), ('["department"]', "对象"),
                                         ('{"accounting": "chief"}', "chief")])
def test_a_bad_roles_field_is_refused(users, roles, said):
    r = upload(users["analyst"], zipped(*C7), roles=roles)
    assert r.status_code == 422, r.get_data(as_text=True)
    assert said in r.json["message"] and "roles" in r.json["message"]


def test_an_expression_huying_cannot_run_is_refused_quoting_it(users):
    r = upload(users["analyst"], zipped(*C7, replace={"${!approved}": '${execution.getVariable("approved") == false}'}),
               roles={"accounting": "department"})
    m = refused_on(r, "Flow_rejected", "退回", 'execution.getVariable("approved")')
    assert "流向" in m
    r = upload(users["analyst"], zipped(*C8, replace={"=accepted = true and": "=count(tags) > 0 and"}))
    refused_on(r, "Flow_yes", "count(tags)", "函数")


def test_an_html_form_is_refused_with_the_reason(users):
    r = upload(users["analyst"], zipped(*C7, replace={
        'camunda:formRef="expense-review" camunda:formRefBinding="latest"': 'camunda:formKey="embedded:app:forms/review.html"'}),
        roles={"accounting": "department"})
    refused_on(r, "Task_review", "embedded:app:forms/review.html", "HTML")


GENERATED = ('<camunda:formData><camunda:formField id="title" label="事由" type="string">'
             '<camunda:validation><camunda:constraint name="required" /><camunda:constraint name="maxlength" config="50" />'
             '</camunda:validation></camunda:formField>'
             '<camunda:formField id="amount" label="金额" type="long" defaultValue="100">'
             '<camunda:validation><camunda:constraint name="min" config="1" /></camunda:validation></camunda:formField>'
             '<camunda:formField id="kind" label="类别" type="enum"><camunda:value id="office" name="办公" />'
             '<camunda:value id="travel" name="差旅" /></camunda:formField>'
             '<camunda:formField id="spent_on" label="日期" type="date" /></camunda:formData>')


def test_a_generated_form_becomes_the_start_form(users):
    r = upload(users["analyst"], zipped(*C7, replace={
        '<camunda:executionListener class="org.example.AuditListener" event="start" />': GENERATED,
        'camunda:formKey="camunda-forms:deployment:expense_start.form" ': ""}), roles={"accounting": "department"})
    assert r.status_code == 201, r.get_data(as_text=True)
    assert any(line.get("element_id") == "StartEvent_1" and "camunda:formData" in line["message"] for line in r.json["report"])
    form = users["town_a"].get("/processes/expense_claim").json["start_form"]
    assert form["required"] == ["title"]
    assert form["properties"]["amount"] == {"type": "integer", "title": "金额", "default": 100, "minimum": 1}
    assert [o["const"] for o in form["properties"]["kind"]["oneOf"]] == ["office", "travel"]
    assert users["town_a"].post("/cases", json={"process_id": "expense_claim",
                                                "data": {"title": "x" * 60, "amount": 5}}).status_code == 422
    case_id = start(users["town_a"], "expense_claim", {"title": "打印纸", "amount": 300, "kind": "office"})
    assert users["dept_zf"].task(case_id, "财务审核")


def test_a_generated_form_field_of_a_custom_type_is_refused(users):
    r = upload(users["analyst"], zipped(*C7, replace={
        '<camunda:executionListener class="org.example.AuditListener" event="start" />':
        '<camunda:formData><camunda:formField id="cv" label="简历" type="file" /></camunda:formData>',
        'camunda:formKey="camunda-forms:deployment:expense_start.form" ': ""}), roles={"accounting": "department"})
    refused_on(r, "StartEvent_1", "简历", "file")


def test_a_java_delegate_is_refused(users):
    r = upload(users["analyst"], zipped(*C7, replace={
        '<bpmn:sequenceFlow id="Flow_leader" sourceRef="Task_leader" targetRef="Task_confirm" />':
        '<bpmn:sequenceFlow id="Flow_leader" sourceRef="Task_leader" targetRef="Task_pay" />'
        '<bpmn:serviceTask id="Task_pay" name="付款" camunda:class="org.example.PaymentDelegate">'
        '<bpmn:incoming>Flow_leader</bpmn:incoming><bpmn:outgoing>Flow_paid</bpmn:outgoing></bpmn:serviceTask>'
        '<bpmn:sequenceFlow id="Flow_paid" sourceRef="Task_pay" targetRef="Task_confirm" />',
        "<bpmn:incoming>Flow_leader</bpmn:incoming>\n      <bpmn:outgoing>Flow_done": "<bpmn:incoming>Flow_paid</bpmn:incoming>\n      <bpmn:outgoing>Flow_done"}),
        roles={"accounting": "department"})
    refused_on(r, "Task_pay", "付款", "org.example.PaymentDelegate", "Java")


def test_an_assignee_huying_cannot_resolve_is_refused(users):
    r = upload(users["analyst"], zipped(*C7, replace={'camunda:assignee="${initiator}"': 'camunda:assignee="nobody_here"'}),
               roles={"accounting": "department"})
    refused_on(r, "Task_confirm", "nobody_here", "用户")
    r = upload(users["analyst"], zipped(*C7, replace={'camunda:assignee="${initiator}"': 'camunda:assignee="dept_zf"'}),
               roles={"accounting": "department"})
    refused_on(r, "Task_confirm", "dept_zf", "乡镇")
    r = upload(users["analyst"], zipped(*C7, replace={'camunda:assignee="${initiator}"': 'camunda:assignee="${users.pick()}"'}),
               roles={"accounting": "department"})
    refused_on(r, "Task_confirm", "${users.pick()}")


def test_a_named_assignee_claims_the_task(users):
    r = upload(users["analyst"], zipped(*C7, replace={'camunda:assignee="${initiator}"': 'camunda:assignee="town_b"'}),
               roles={"accounting": "department"})
    assert r.status_code == 201, r.get_data(as_text=True)
    case_id = start(users["town_a"], "expense_claim", {"title": "购买打印纸", "amount": 300})
    users["dept_zf"].complete(users["dept_zf"].task(case_id, "财务审核"), {"approved": True})
    task = users["town_b"].task(case_id, "发起人确认")
    assert task["assignee"] == "town_b"
    users["town_b"].complete(task, {})
    assert case_of(users, case_id)["status"] == "closed"


def test_a_due_date_huying_cannot_read_is_refused_quoting_it(users):
    r = upload(users["analyst"], zipped(*C7, replace={'camunda:dueDate="P2D"': 'camunda:dueDate="${dateTime().plusDays(2).toDate()}"'}),
               roles={"accounting": "department"})
    refused_on(r, "Task_review", "${dateTime().plusDays(2).toDate()}", "ISO 8601")


def test_the_stored_version_is_the_converted_model(users, app):
    assert upload(users["analyst"], zipped(*C7), roles={"accounting": "department"}).status_code == 201
    with app.app_context():
        row = processes.latest_version("expense_claim")
        assert "Task_review_due" in row.bpmn and "${approved" not in row.bpmn and 'camunda:candidateGroups="department"' in row.bpmn
        assert set(row.forms) == {"expense_start.form", "expense_review.form", "expense_leader.form"}
        assert row.forms["expense_review.form"]["properties"]["approved"]["type"] == "boolean"
        # parsed afresh, as a new app process does, without the upload's `roles`
        fresh = processes._parse(row)
        assert fresh.bpmn_text is None       # nothing left to convert
        assert fresh.tasks["Task_review"].role == "department"
        assert fresh.tasks["Task_confirm"].assignee == "${initiator}"
        assert fresh.tasks["Task_review"].form == "expense_review.form"
        again = processes.deploy(row.bpmn, row.forms, "analyst")
        assert again == (row, False)      # converting the converted model changes nothing


def test_a_converted_version_runs_on_in_a_fresh_server_process(users, app, database_url, tmp_path):
    """The stored model is the converted one: a server that parses it afresh (no `roles`, no
    .form files) routes, claims, shows the forms and keeps the deadlines as the deploying one did."""
    from servers import RemoteUsers, Server
    assert upload(users["analyst"], zipped(*C7), roles={"accounting": "department"}).status_code == 201
    case_id = start(users["town_a"], "expense_claim", {"title": "赴市参加培训差旅费", "amount": 2400})
    review = users["dept_zf"].task(case_id, "财务审核")
    with app.app_context():
        db.engine.dispose()
    server = Server(database_url, tmp_path, "fresh")
    try:
        remote = RemoteUsers([server.start()])
        task = remote["dept_zr"].task(case_id, "财务审核")
        assert (task["id"], task["due_at"]) == (review["id"], review["due_at"])
        assert set(remote["dept_zr"].get(f"/tasks/{task['id']}").json["form"]["properties"]) == {"approved", "comment"}
        remote["dept_zr"].complete(task, {"approved": True})
        remote["leader"].complete(remote["leader"].task(case_id, "领导审批"), {"decision": "yes"})
        confirm = remote["town_a"].task(case_id, "发起人确认")
        assert confirm["assignee"] == "town_a"
        remote["town_a"].complete(confirm, {})
        assert remote["admin"].get(f"/cases/{case_id}").json["status"] == "closed"
    except AssertionError as e:
        raise AssertionError(f"{e}\n--- log: {server.log_tail()}") from None
    finally:
        server.stop()


def test_zeebe_candidate_groups_are_mapped_by_roles_or_refused(users):
    only_roads = {"=[&#34;roads&#34;, &#34;部门&#34;]": "roads, highway"}
    refused_on(upload(users["analyst"], zipped(*C8, replace=only_roads)), "Task_repair", "部门维修", "roads", "highway")
    r = upload(users["analyst"], zipped(*C8, replace=only_roads), roles={"highway": "县级部门"})
    assert r.status_code == 201, r.get_data(as_text=True)
    said = [line["message"] for line in r.json["report"] if line.get("element_id") == "Task_repair"]
    assert any("highway" in m and "县级部门" in m for m in said) and any("roads" in m and "未使用" in m for m in said)
