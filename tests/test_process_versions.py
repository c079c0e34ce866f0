"""Analysts deploy redrawn processes: uploads are validated, versions are immutable, running
cases keep their version, and open cases move to a newer one only where it is safe."""
import io
import zipfile
from pathlib import Path

import pytest

from helpers import accept_and_dispatch, case_of, raise_call, sign_and_handle, upload

ROOT = Path(__file__).resolve().parent.parent
ORIGINAL = (ROOT / "processes" / "call_response.bpmn").read_text(encoding="utf-8")


def with_registration_step(xml=ORIGINAL):
    """call_response with a user task 登记 inserted after acceptance, in the centre's lane."""
    xml = xml.replace('<bpmn:sequenceFlow id="flow_accepted" name="受理" sourceRef="gw_accept" targetRef="dispatch">',
                      '<bpmn:sequenceFlow id="flow_accepted" name="受理" sourceRef="gw_accept" targetRef="register">')
    xml = xml.replace('<bpmn:flowNodeRef>accept</bpmn:flowNodeRef>',
                      '<bpmn:flowNodeRef>accept</bpmn:flowNodeRef>\n        <bpmn:flowNodeRef>register</bpmn:flowNodeRef>')
    task = ('<bpmn:userTask id="register" name="登记"><bpmn:incoming>flow_accepted</bpmn:incoming>'
            '<bpmn:outgoing>flow_registered</bpmn:outgoing></bpmn:userTask>\n'
            '    <bpmn:sequenceFlow id="flow_registered" sourceRef="register" targetRef="dispatch" />\n'
            '    <bpmn:userTask id="dispatch"')
    return xml.replace('<bpmn:userTask id="dispatch"', task, 1).replace(
        '<bpmn:incoming>flow_accepted</bpmn:incoming>\n      <bpmn:outgoing>', '<bpmn:incoming>flow_registered</bpmn:incoming>\n      <bpmn:outgoing>', 1)


@pytest.mark.lifecycle
def test_a_running_case_keeps_its_version_and_a_new_one_takes_the_new_step(users):
    before = raise_call(users)
    r = upload(users["analyst"], "call_response.bpmn", with_registration_step().encode())
    assert r.status_code == 201, r.json
    assert (r.json["process_id"], r.json["version"]) == ("call_response", 2)
    after = raise_call(users)
    assert case_of(users["town_a"], after)["process_version"] == 2
    # the old case goes on without the new step, to the end
    accept_and_dispatch(users, before, co=())
    sign_and_handle(users, before, departments=("dept_zf",))
    users["center"].complete(users["center"].task(before, "审核办结"), {"approved": True})
    users["town_a"].complete(users["town_a"].task(before, "评价"), {"satisfied": True, "rating": 5})
    users["dept_zf"].complete(users["dept_zf"].task(before, "一呼一评"), {"rating": 5})
    old = case_of(users["town_a"], before)
    assert old["status"] == "closed" and old["process_version"] == 1
    # the new case passes through 登记
    users["center"].complete(users["center"].task(after, "受理"), {"accepted": True})
    users["center"].complete(users["center"].task(after, "登记"))
    assert [t["name"] for t in users["center"].inbox(after)] == ["研判派单"]
    versions = users["analyst"].get("/processes/call_response/versions").json
    assert [(v["version"], v["cases"]) for v in versions] == [(2, 1), (1, 1)]
    diff = users["analyst"].get("/processes/call_response/diff?from=1&to=2").json
    assert {e["element_id"] for e in diff["added"]} == {"register", "flow_registered"}
    assert users["analyst"].get("/processes/call_response/versions/1/bpmn").data.decode() == ORIGINAL


def test_an_invalid_upload_is_refused_with_element_errors_and_deploys_nothing(users):
    broken = ORIGINAL.replace('<bpmn:flowNodeRef>accept</bpmn:flowNodeRef>', '').replace(
        'id="start_call"', 'id="Start"').replace('sourceRef="start_call"', 'sourceRef="Start"').replace(
        'bpmnElement="start_call"', 'bpmnElement="Start"')
    r = upload(users["analyst"], "call_response.bpmn", broken.encode())
    assert r.status_code == 422 and r.json["error"] == "invalid"
    ids = {e.get("element_id") for e in r.json["errors"]}
    assert "Start" in ids
    assert [v["version"] for v in users["analyst"].get("/processes/call_response/versions").json] == [1]
    no_lane = ORIGINAL.replace('<bpmn:flowNodeRef>accept</bpmn:flowNodeRef>', '')
    r = upload(users["analyst"], "call_response.bpmn", no_lane.encode())
    assert r.status_code == 422
    assert {"element_id": "accept", "name": "受理", "message": "用户任务“受理”不在任何泳道中"}.items() <= \
        next(e for e in r.json["errors"] if e.get("element_id") == "accept").items()


@pytest.mark.parametrize("payload", [
    '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><d>&xxe;</d>',
    "<bpmn:definitions xmlns:bpmn='http://www.omg.org/spec/BPMN/20100524/MODEL'><bpmn:process id='x' isExecutable='true'>"
    "<bpmn:scriptTask id='s'><bpmn:script>__import__('os').system('id')</bpmn:script></bpmn:scriptTask>"
    "</bpmn:process></bpmn:definitions>",
])
def test_hostile_uploads_are_refused(users, payload):
    r = upload(users["analyst"], "evil.bpmn", payload.encode())
    assert r.status_code == 422
    assert "root:" not in str(r.json)


def test_only_analysts_deploy_and_a_zip_carries_its_forms(users):
    assert upload(users["center"], "call_response.bpmn", ORIGINAL.encode()).status_code == 403
    xml = with_registration_step().replace('<bpmn:userTask id="register" name="登记">',
                                           '<bpmn:userTask id="register" name="登记"><bpmn:extensionElements>'
                                           '<spiffworkflow:properties><spiffworkflow:property name="formJsonSchemaFilename"'
                                           ' value="register.schema.json" /></spiffworkflow:properties></bpmn:extensionElements>')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("call_response.bpmn", xml)
        z.writestr("forms/register.schema.json", '{"type": "object", "required": ["no"], '
                                                  '"properties": {"no": {"type": "string", "title": "登记编号"}}}')
    r = upload(users["analyst"], "bundle.zip", buf.getvalue(), "application/zip")
    assert r.status_code == 201, r.json
    case_id = raise_call(users)
    users["center"].complete(users["center"].task(case_id, "受理"), {"accepted": True})
    task = users["center"].task(case_id, "登记")
    assert users["center"].get(f"/tasks/{task['id']}").json["form"]["properties"]["no"]["title"] == "登记编号"
    assert upload(users["analyst"], "x.zip", b"not a zip", "application/zip").status_code == 422


@pytest.mark.lifecycle
def test_open_cases_move_to_a_newer_version_where_it_is_safe(users):
    waiting = raise_call(users)                                    # at 受理, which v2 still has
    dispatched = raise_call(users)
    accept_and_dispatch(users, dispatched, co=())                  # at 签收 inside the sign-for phase
    assert upload(users["analyst"], "call_response.bpmn", with_registration_step().encode()).status_code == 201
    preview = users["analyst"].get("/processes/call_response/migration?from=1&to=2").json
    assert {c["case_id"]: c["movable"] for c in preview["cases"]} == {waiting: True, dispatched: True}
    assert users["center"].post("/processes/call_response/migration", json={"from": 1, "to": 2}).status_code == 403
    r = users["analyst"].post("/processes/call_response/migration", json={"from": 1, "to": 2, "case_ids": [waiting]})
    assert r.status_code == 200 and r.json["moved"] == [waiting]
    assert case_of(users["town_a"], waiting)["process_version"] == 2
    assert case_of(users["town_a"], dispatched)["process_version"] == 1
    users["center"].complete(users["center"].task(waiting, "受理"), {"accepted": True})
    assert [t["name"] for t in users["center"].inbox(waiting)] == ["登记"]      # it now follows version 2
    events = users["analyst"].get(f"/cases/{waiting}/audit").json
    assert any(e["action"] == "case_migrated" and e["after"]["process_version"] == 2 for e in events)


@pytest.mark.lifecycle
def test_a_case_whose_step_is_gone_cannot_move(users):
    waiting = raise_call(users)
    renamed = ORIGINAL.replace('id="accept"', 'id="accept_call"').replace('sourceRef="accept"', 'sourceRef="accept_call"') \
        .replace('targetRef="accept"', 'targetRef="accept_call"').replace('>accept<', '>accept_call<') \
        .replace('bpmnElement="accept"', 'bpmnElement="accept_call"')
    assert upload(users["analyst"], "call_response.bpmn", renamed.encode()).status_code == 201
    preview = users["analyst"].get("/processes/call_response/migration?from=1&to=2").json
    assert preview["cases"] == [{"case_id": waiting, "title": preview["cases"][0]["title"], "movable": False,
                                 "reason": preview["cases"][0]["reason"]}]
    assert "accept" in preview["cases"][0]["reason"]
    r = users["analyst"].post("/processes/call_response/migration", json={"from": 1, "to": 2})
    assert r.json["moved"] == [] and r.json["kept"][0]["case_id"] == waiting
