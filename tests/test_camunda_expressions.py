"""What the Camunda conversion makes of expressions, timers and form-js forms, one by one: each
translation is the restricted language's, each refusal says why in Chinese."""
import pytest

from app.engine import expressions, feel, formjs
from app.engine.definitions import load_definition


@pytest.mark.parametrize("source, translated, data, value", [
    ("${amount > 1000 && approved}", "(amount > 1000) and approved", {"amount": 1200, "approved": True}, True),
    ("#{x == 'a'}", "(x == 'a')", {"x": "a"}, True),
    ("${!rejected}", "(not rejected)", {"rejected": False}, True),
    ("${empty note}", "(not note)", {"note": ""}, True),
    ("${a eq 1 or b ne 2}", "(a == 1) or (b != 2)", {"a": 0, "b": 2}, False),
    ("${order.amount ge 10}", "(order['amount'] >= 10)", {"order": {"amount": 10}}, True),
    ("${count mod 2 == 0}", "((count % 2) == 0)", {"count": 4}, True),
    ("= amount > 1000 and approved", "(amount > 1000) and approved", {"amount": 10, "approved": True}, False),
    ('= x = "a"', "(x == 'a')", {"x": "a"}, True),
    ("= not(x)", "(not x)", {"x": False}, True),
    ("= y = null", "(y == None)", {"y": None}, True),
    ('= status != "done" or -count < 0', "(status != 'done') or ((-count) < 0)", {"status": "done", "count": 1}, True),
])
def test_juel_and_feel_conditions_are_translated(source, translated, data, value):
    out = feel.translate(source)
    assert out == translated
    assert expressions.evaluate(out, data) is value


@pytest.mark.parametrize("source, said", [
    ('${execution.getVariable("x")}', "execution"),
    ("${myBean.check(x)}", "myBean.check"),
    ("${approved ? 1 : 2}", "?:"),
    ("= count(items) > 2", "count"),
    ("= x in [1, 2]", "in"),
    ("= [1, 2]", "列表"),
    ("${a} and ${b}", "混有文本"),
    ("${x = 1}", "=="),
    ("${__class__}", "__class__"),
])
def test_what_has_no_translation_is_refused_with_the_reason(source, said):
    with pytest.raises(feel.FeelError) as e:
        feel.translate(source)
    assert said in str(e.value)


@pytest.mark.parametrize("text, literal", [
    ("PT1H", "PT1H"), ("P1D", "P1D"), ("R3/PT10M", "R3/PT10M"), ("2026-12-24T09:00:00+08:00", "2026-12-24T09:00:00+08:00"),
    ("=PT1H", "PT1H"), ('=duration("PT1H")', "PT1H"), ('=date and time("2026-12-24T09:00:00+08:00")',
                                                       "2026-12-24T09:00:00+08:00"),
    ('"PT1H"', None), ("handle_timeout", None), ('due_date("sign", urgency)', None),
])
def test_unquoted_iso_timer_literals_are_recognised(text, literal):
    assert feel.iso_literal(text) == literal


def test_a_form_js_form_becomes_a_json_schema_form():
    form = {"type": "default", "id": "f", "components": [
        {"type": "text", "text": "# 标题"},
        {"type": "textfield", "key": "name", "label": "姓名", "validate": {"required": True, "pattern": "^[^0-9]+$"}},
        {"type": "number", "key": "n", "label": "数量", "validate": {"min": 1, "max": 9}, "defaultValue": 2},
        {"type": "radio", "key": "level", "label": "等级", "values": [{"label": "高", "value": 3}, {"label": "低", "value": 1}]},
        {"type": "select", "key": "town", "label": "乡镇", "valuesKey": "towns"},
        {"type": "datetime", "subtype": "time", "key": "at", "label": "时刻"},
        {"type": "group", "label": "分组", "components": [{"type": "checkbox", "key": "ok", "label": "确认"}]},
    ]}
    schema, notes = formjs.convert(form, "f.form")
    assert schema["required"] == ["name"]
    assert schema["properties"]["n"] == {"title": "数量", "type": "number", "minimum": 1, "maximum": 9, "default": 2}
    assert schema["properties"]["level"]["type"] == "integer"
    assert schema["properties"]["ok"]["type"] == "boolean"
    assert "town" not in schema["properties"] and "at" not in schema["properties"]
    assert any("valuesKey" in n for n in notes) and any("时刻" in n for n in notes)


START = ('<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
         'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">'
         '<bpmn:process id="p" isExecutable="true" camunda:candidateStarterGroups="township,outsiders">'
         '<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t1"/>'
         '<bpmn:userTask id="t1" name="受理" camunda:candidateGroups="center" camunda:candidateUsers="a,b"/>'
         '<bpmn:sequenceFlow id="f2" sourceRef="t1" targetRef="e"/><bpmn:endEvent id="e"/></bpmn:process>'
         '</bpmn:definitions>')


def test_candidate_starter_groups_become_the_start_roles():
    d = load_definition(START.encode(), {})
    assert d.start.roles == ("township",)
    assert d.tasks["t1"].role == "center"
    said = [r["message"] for r in d.report]
    assert any("outsiders" in m for m in said) and any("candidateUsers" in m for m in said)
    again = load_definition(d.bpmn_text.encode(), {})      # the stored model: the same again
    assert again.start.roles == ("township",) and again.bpmn_text is None     # nothing left to convert


def test_a_due_date_variable_holds_a_duration_or_a_date_time():
    from datetime import datetime, timedelta, timezone
    from app.engine.camunda import deadline_from
    due = datetime.fromisoformat(deadline_from("P2D"))
    assert timedelta(days=2) - timedelta(minutes=1) < due - datetime.now(timezone.utc) <= timedelta(days=2)
    assert deadline_from("2026-12-24T09:00:00+08:00") == "2026-12-24T09:00:00+08:00"
    for bad in ("tomorrow", 3, "2026-12-24T09:00:00", "P10000Y"):
        with pytest.raises(expressions.ExpressionError):
            deadline_from(bad)


@pytest.mark.parametrize("component", [
    {"type": "textfield", "key": "a", "validate": [1]},
    {"type": "textfield", "key": "a", "label": {"x": 1}, "validate": {"pattern": "("}},
    {"type": "select", "key": "a", "values": [{"value": {"x": 1}}]},
    {"type": "number", "key": "a", "validate": {"min": "one", "max": True}},
])
def test_odd_form_js_components_never_break_the_conversion(component):
    schema, _notes = formjs.convert({"type": "default", "components": [component]}, "odd.form")
    assert schema["type"] == "object"


def _one_task(task):
    return ('<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
            'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" '
            'id="d" targetNamespace="t"><bpmn:process id="p" isExecutable="true">'
            '<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t1"/>' + task +
            '<bpmn:sequenceFlow id="f2" sourceRef="t1" targetRef="e"/><bpmn:endEvent id="e"/></bpmn:process>'
            '</bpmn:definitions>').encode()


@pytest.mark.parametrize("task, said", [
    ('<bpmn:userTask id="t1" name="会签" camunda:candidateGroups="department"><bpmn:multiInstanceLoopCharacteristics '
     'camunda:collection="${units}" camunda:elementVariable="unit"/></bpmn:userTask>', "camunda:collection"),
    ('<bpmn:userTask id="t1" name="会签"><bpmn:extensionElements><zeebe:assignmentDefinition candidateGroups="center"/>'
     '</bpmn:extensionElements><bpmn:multiInstanceLoopCharacteristics><bpmn:extensionElements>'
     '<zeebe:loopCharacteristics inputCollection="=units" inputElement="unit"/></bpmn:extensionElements>'
     '</bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>', "=units"),
    ('<bpmn:serviceTask id="t1" name="记账" camunda:expression="${ledger.book(amount)}"/>', "${ledger.book(amount)}"),
    ('<bpmn:serviceTask id="t1" name="记账" camunda:delegateExpression="${ledgerDelegate}"/>', "${ledgerDelegate}"),
    ('<bpmn:scriptTask id="t1" name="计算" scriptFormat="groovy"><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>',
     "groovy"),
    ('<bpmn:userTask id="t1" name="受理" camunda:candidateGroups="${groups}"/>', "${groups}"),
    ('<bpmn:userTask id="t1" name="受理" camunda:candidateGroups="center" camunda:formKey="app:forms/a.html"/>', "HTML"),
    ('<bpmn:userTask id="t1" name="受理" camunda:candidateGroups="center" camunda:followUpDate="R3/PT1H"/>', "R3/PT1H"),
])
def test_what_huying_cannot_run_is_refused_on_its_element(task, said):
    from app.engine import DefinitionError
    with pytest.raises(DefinitionError) as e:
        load_definition(_one_task(task), {})
    assert any(err.get("element_id") == "t1" and said in err["message"] for err in e.value.errors), e.value.errors
