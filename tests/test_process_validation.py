"""Process files are checked before anything is deployed: each problem with its element id."""
import pytest

import app.deadlines  # noqa: F401 - registers due_date() and the other deadline functions
from app.engine import DefinitionError, load_definition

FORM = b'{"type": "object", "properties": {"ok": {"type": "boolean", "title": "\xe5\x90\x8c\xe6\x84\x8f"}}}'


def bpmn(task='<bpmn:userTask id="approve" name="审批"><bpmn:extensionElements><spiffworkflow:properties>'
              '<spiffworkflow:property name="formJsonSchemaFilename" value="ok.schema.json"/>'
              '</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>',
         lane_name="响应中心", in_lane=("start", "approve", "gw", "done"), start_id="start",
         condition="ok", script=None, prolog=""):
    refs = "".join(f"<bpmn:flowNodeRef>{n}</bpmn:flowNodeRef>" for n in in_lane)
    script_task = (f'<bpmn:scriptTask id="calc" scriptFormat="python"><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>'
                   if script else "")
    after_gw = "calc" if script else "done"
    extra_flow = '<bpmn:sequenceFlow id="f5" sourceRef="calc" targetRef="done"/>' if script else ""
    return (prolog + f'''<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs" targetNamespace="http://x">
  <bpmn:process id="p" name="测试" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="lane1" name="{lane_name}">{refs}</bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="{start_id}"/>
    {task}
    <bpmn:exclusiveGateway id="gw" default="f4"/>
    {script_task}
    <bpmn:endEvent id="done"/>
    <bpmn:sequenceFlow id="f1" sourceRef="{start_id}" targetRef="approve"/>
    <bpmn:sequenceFlow id="f2" sourceRef="approve" targetRef="gw"/>
    <bpmn:sequenceFlow id="f3" sourceRef="gw" targetRef="{after_gw}">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f4" sourceRef="gw" targetRef="done"/>
    {extra_flow}
  </bpmn:process>
</bpmn:definitions>''').encode()


def errors_of(data, forms=None):
    with pytest.raises(DefinitionError) as e:
        load_definition(data, {"ok.schema.json": FORM} if forms is None else forms)
    return e.value.errors


def test_a_valid_process_loads():
    d = load_definition(bpmn(), {"ok.schema.json": FORM})
    assert d.process_id == "p" and d.tasks["approve"].role == "center" and d.tasks["approve"].form == "ok.schema.json"


def test_reserved_start_id_is_refused():
    errs = errors_of(bpmn(start_id="Start", in_lane=("Start", "approve", "gw", "done")))
    assert errs[0]["element_id"] == "Start" and "保留" in errs[0]["message"]


def test_user_task_outside_any_lane_is_refused():
    errs = errors_of(bpmn(in_lane=("start", "gw", "done")))
    assert {"element_id": "approve", "name": "审批", "message": "用户任务“审批”不在任何泳道中"} in \
        [{k: e.get(k) for k in ("element_id", "name", "message")} for e in errs]


def test_lane_that_names_no_role_is_refused():
    errs = errors_of(bpmn(lane_name="财务科"))
    assert any(e["element_id"] == "approve" and "财务科" in e["message"] for e in errs)


def test_missing_and_broken_forms_are_refused():
    assert any("ok.schema.json 不存在" in e["message"] for e in errors_of(bpmn(), forms={}))
    broken = errors_of(bpmn(), forms={"ok.schema.json": b"{not json"})
    assert any("不是合法的 JSON" in e["message"] for e in broken)
    bad_schema = errors_of(bpmn(), forms={"ok.schema.json": b'{"type": "object", "properties": {"x": {"type": "nope"}}}'})
    assert any("JSON Schema" in e["message"] for e in bad_schema)


def test_script_that_imports_is_refused_and_could_not_run():
    errs = errors_of(bpmn(script="x = __import__('os').system('id')"))
    assert errs[0]["element_id"] == "calc" and "受限表达式语言" in errs[0]["message"]


def test_condition_outside_the_language_is_refused():
    errs = errors_of(bpmn(condition="().__class__.__base__"))
    assert errs[0]["element_id"] == "gw" and "条件" in errs[0]["message"]


def test_external_entities_are_refused():
    xxe = '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    data = bpmn().replace(b'<?xml version="1.0" encoding="UTF-8"?>', xxe.encode())
    errs = errors_of(data)
    assert "DOCTYPE" in errs[0]["message"]


def test_not_xml_is_refused():
    assert "XML" in errors_of(b"this is not a bpmn file")[0]["message"]
    assert "BPMN" in errors_of(b"<html><body/></html>")[0]["message"]


def test_a_gateway_without_default_whose_conditions_may_all_fail_is_reported():
    """Camunda users draw exclusive gateways without a default flow: such a gateway deploys, with a
    report line (a case where no condition holds becomes errored: test_camunda_import.py)."""
    no_default = bpmn().replace(b'<bpmn:exclusiveGateway id="gw" default="f4"/>', b'<bpmn:exclusiveGateway id="gw"/>')
    no_default = no_default.replace(b'<bpmn:sequenceFlow id="f4" sourceRef="gw" targetRef="done"/>',
                                    b'<bpmn:sequenceFlow id="f4" sourceRef="gw" targetRef="done"><bpmn:conditionExpression '
                                    b'xsi:type="bpmn:tFormalExpression">not ok</bpmn:conditionExpression></bpmn:sequenceFlow>')
    report = load_definition(no_default, {"ok.schema.json": FORM}).report
    assert [r["element_id"] for r in report] == ["gw"] and "默认流" in report[0]["message"]


@pytest.mark.parametrize("element,timer,good", [
    ("timeDuration", '"PT3S"', True), ("timeDuration", '"P5D"', True), ("timeDuration", '"PT"', False),
    ("timeDuration", '"three days"', False), ("timeDuration", '"2026-12-01T09:00:00+08:00"', False),
    ("timeDuration", '"P10000Y"', False), ("timeDuration", '"P30000000M"', False), ("timeDuration", '"P1Y2W"', False),
    ("timeDuration", '"P" + "10000" + "Y"', False), ("timeDuration", "5", False),
    ("timeDate", '"2026-12-01T09:00:00+08:00"', True), ("timeDate", '"2026-12-01T09:00:00"', False),
    ("timeDate", '"2099-01-01T09:00:00+08:00"', False), ("timeDate", '"0026-12-01T09:00:00+08:00"', False),
    ("timeDate", '"P5D"', False),
    ("timeCycle", '"R3/PT1H"', True), ("timeCycle", '"R/PT1H"', False), ("timeCycle", '"R3/PT1S"', False),
    ("timeDuration", 'due_date("sign", urgency, list_item)', True),
    ("timeDate", 'due_date("sign", urgency, list_item)', True),
])
def test_timers_that_could_not_run_are_refused_at_deploy(element, timer, good):
    """A literal timer (or one computed from literals only) is checked as it would run: a duration
    where a duration is due, a date with its zone, within ten years; a cycle with a count."""
    task = ('<bpmn:userTask id="approve" name="审批"/>'
            '<bpmn:boundaryEvent id="late" attachedToRef="approve" cancelActivity="false"><bpmn:timerEventDefinition>'
            f'<bpmn:{element} xsi:type="bpmn:tFormalExpression">{timer}</bpmn:{element}>'
            '</bpmn:timerEventDefinition></bpmn:boundaryEvent>')
    data = bpmn(task=task).replace(b'<bpmn:sequenceFlow id="f1"',
                                   b'<bpmn:endEvent id="late_end"/><bpmn:sequenceFlow id="f9" sourceRef="late" '
                                   b'targetRef="late_end"/><bpmn:sequenceFlow id="f1"')
    if good:
        assert load_definition(data, {}).tasks["approve"]
    else:
        errs = errors_of(data, forms={})
        assert errs[0]["element_id"] == "late" and "定时器" in errs[0]["message"]
