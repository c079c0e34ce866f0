"""A process drawn without lanes (Camunda Modeler's and SpiffArena's habit): its user and manual
tasks without a candidate group are the starter's own, as SpiffArena runs them — claimed for the
person who started the case, in their role and unit, said in the deploy's report. In a process
that has lanes, a task outside them stays an error (a slip of the mouse, not a convention)."""
from helpers import upload

LANELESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="self_check" name="自查" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="fill"/>
    <bpmn:userTask id="fill" name="填写自查表"/>
    <bpmn:sequenceFlow id="f2" sourceRef="fill" targetRef="sign"/>
    <bpmn:manualTask id="sign" name="签字确认"/>
    <bpmn:sequenceFlow id="f3" sourceRef="sign" targetRef="e"/>
    <bpmn:endEvent id="e"/>
  </bpmn:process>
</bpmn:definitions>"""


def test_a_laneless_process_gives_its_tasks_to_the_starter(users):
    r = upload(users["analyst"], "self_check.bpmn", LANELESS.encode())
    assert r.status_code == 201, r.json
    said = {line["element_id"]: line["message"] for line in r.json["report"]}
    assert "发起人本人" in said["fill"] and "发起人本人" in said["sign"]
    case = users["town_a"].post("/cases", json={"process_id": "self_check", "data": {}}).json
    task = users["town_a"].task(case["id"], "填写自查表")
    assert (task["role"], task["org"], task["assignee"]) == ("township", "T01", "town_a")
    assert users["town_b"].inbox(case["id"]) == [] and users["center"].inbox(case["id"]) == []
    users["town_a"].complete(task, {})
    done = users["town_a"].complete(users["town_a"].task(case["id"], "签字确认"), {})
    assert done["case"]["status"] == "closed"


def test_in_a_process_with_lanes_a_task_outside_them_is_refused(users):
    xml = LANELESS.replace('<bpmn:startEvent id="s"/>',
                           '<bpmn:laneSet id="ls"><bpmn:lane id="l1" name="乡镇"><bpmn:flowNodeRef>s</bpmn:flowNodeRef>'
                           '<bpmn:flowNodeRef>sign</bpmn:flowNodeRef><bpmn:flowNodeRef>e</bpmn:flowNodeRef>'
                           '</bpmn:lane></bpmn:laneSet><bpmn:startEvent id="s"/>')
    r = upload(users["analyst"], "self_check.bpmn", xml.encode())
    assert r.status_code == 422
    assert [e["element_id"] for e in r.json["errors"]] == ["fill"] and "不在任何泳道中" in r.json["errors"][0]["message"]
