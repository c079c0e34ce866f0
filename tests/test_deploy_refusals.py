"""Everything that passes deploy validation can start; what cannot run is refused at deploy with
the element and the reason, as a 422 — never a 500 after the fact. What deployment cannot know
(values computed while a case runs) makes the case errored with the cause. Through POST
/processes as an analyst and POST /cases, on both backends."""
import io
import re
import zipfile
from pathlib import Path

import pytest

from app import duty_list, supervision
from app.engine import expressions
from app.engine.runtime import CaseRun, EngineError
from app.extensions import db
from app.models import Case, Flag, ListVersion, ProcessVersion
from helpers import raise_call, upload

ROOT = Path(__file__).resolve().parent.parent
ORIGINAL = (ROOT / "processes" / "call_response.bpmn").read_text(encoding="utf-8")


def process(body, refs=(), props="", process_id="probe", declaration='<?xml version="1.0" encoding="UTF-8"?>'):
    """A process in the centre's lane: start -> 办理 (a user task) -> done, with `body` added and
    the elements `refs` in the lane too."""
    lane = "".join(f"<bpmn:flowNodeRef>{n}</bpmn:flowNodeRef>" for n in ("start", "work", "done", *refs))
    return f'''{declaration}
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs" targetNamespace="http://x">
  <bpmn:process id="{process_id}" name="探针流程" isExecutable="true">
    {props}
    <bpmn:laneSet id="ls"><bpmn:lane id="lane1" name="响应中心">{lane}</bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start"/>
    <bpmn:userTask id="work" name="办理"/>
    <bpmn:endEvent id="done"/>
    {body}
  </bpmn:process>
</bpmn:definitions>'''


def straight(middle="", first="work"):
    """Flows start -> first ... work -> done."""
    return (f'<bpmn:sequenceFlow id="f_start" sourceRef="start" targetRef="{first}"/>'
            '<bpmn:sequenceFlow id="f_done" sourceRef="work" targetRef="done"/>' + middle)


def refused(users, xml, name="probe.bpmn"):
    r = upload(users["analyst"], name, xml if isinstance(xml, bytes) else xml.encode("utf-8"))
    assert r.status_code == 422, (r.status_code, r.get_data(as_text=True))
    assert r.json["error"] == "invalid"
    return r.json["errors"]


def deployed(users, xml, name="probe.bpmn"):
    r = upload(users["analyst"], name, xml if isinstance(xml, bytes) else xml.encode("utf-8"))
    assert r.status_code == 201, r.json
    return r.json


def refused_by_the_dry_run(users, xml, element_id, cause):
    """The deploy's dry run of a new case meets the failure first: a 422 on the element."""
    errors = refused(users, xml)
    assert any(e.get("element_id") == element_id and "试运行新案件" in e["message"] and cause in e["message"]
               for e in errors), errors


def stored_unchecked(app, xml):
    """The version as an older Huying (without the dry run) deployed it: its cases show the runtime guards."""
    import hashlib
    with app.app_context():
        db.session.add(ProcessVersion(process_id="probe", version=1, name="探针流程", bpmn=xml, forms={},
                                      checksum=hashlib.sha256(xml.encode("utf-8")).hexdigest(),
                                      start_role="center", deployed_by="analyst"))
        db.session.commit()


UNRUNNABLE = {
    "serviceTask": ('<bpmn:serviceTask id="odd" name="调接口"/>', "服务任务"),
    "sendTask": ('<bpmn:sendTask id="odd"/>', "不把流程抛出的消息投递给其他案件"),
    "receiveTask": ('<bpmn:receiveTask id="odd"/>', "接收任务"),
    # plain and manual tasks run (tests/test_calls_and_decisions.py); these two need what is missing
    "businessRuleTask": ('<bpmn:businessRuleTask id="odd"/>', "没有指定决策"),
    "callActivity": ('<bpmn:callActivity id="odd" calledElement="elsewhere"/>', "elsewhere 尚未部署"),
    "message catch": ('<bpmn:intermediateCatchEvent id="odd"><bpmn:messageEventDefinition/>'
                      '</bpmn:intermediateCatchEvent>', "消息事件"),
    "signal without a name": ('<bpmn:intermediateCatchEvent id="odd"><bpmn:signalEventDefinition/>'
                              '</bpmn:intermediateCatchEvent>', "信号事件没有引用信号"),
    "message thrown that nothing catches": ('<bpmn:intermediateThrowEvent id="odd"><bpmn:messageEventDefinition '
                                            'messageRef="m"/></bpmn:intermediateThrowEvent>', "它会丢失"),
    "conditional catch": ('<bpmn:intermediateCatchEvent id="odd"><bpmn:conditionalEventDefinition>'
                          '<bpmn:condition>x</bpmn:condition></bpmn:conditionalEventDefinition>'
                          '</bpmn:intermediateCatchEvent>', "条件事件"),
}


@pytest.mark.parametrize("kind", UNRUNNABLE)
def test_an_element_huying_cannot_run_is_refused_at_deploy_with_the_reason(users, kind):
    element, reason = UNRUNNABLE[kind]
    errors = refused(users, process(element + straight('<bpmn:sequenceFlow id="f_odd" sourceRef="odd" '
                                                       'targetRef="work"/>', first="odd"), refs=("odd",)))
    assert any(e.get("element_id") == "odd" and reason in e["message"] for e in errors), errors
    assert users["analyst"].get("/processes/probe/versions").status_code == 404     # nothing deployed


def test_a_service_task_never_reaches_a_case_start(users):
    """It used to deploy, then every start answered 500 (SpiffWorkflow's NameError)."""
    xml = process('<bpmn:serviceTask id="call_api" name="调用接口"/>' + straight(
        '<bpmn:sequenceFlow id="f_api" sourceRef="call_api" targetRef="work"/>', first="call_api"), refs=("call_api",))
    errors = refused(users, xml)
    assert [(e["element_id"], e["name"]) for e in errors] == [("call_api", "调用接口")] and errors[0]["line"] > 0
    assert "服务任务" in errors[0]["message"]
    assert users["center"].post("/cases", json={"process_id": "probe", "data": {}}).status_code == 404


def test_a_timer_start_event_is_refused_a_signal_thrown_inside_is_not(users):
    timer_start = process(straight()).replace(
        '<bpmn:startEvent id="start"/>', '<bpmn:startEvent id="start"><bpmn:timerEventDefinition><bpmn:timeDuration>'
        '"PT1H"</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:startEvent>')
    assert any(e.get("element_id") == "start" and "空开始事件" in e["message"] for e in refused(users, timer_start))
    signals = process(
        '<bpmn:intermediateThrowEvent id="shout"><bpmn:signalEventDefinition signalRef="sig"/>'
        '</bpmn:intermediateThrowEvent>'
        '<bpmn:boundaryEvent id="heard" attachedToRef="work" cancelActivity="false">'
        '<bpmn:signalEventDefinition signalRef="sig"/></bpmn:boundaryEvent><bpmn:endEvent id="heard_end"/>'
        '<bpmn:sequenceFlow id="f_heard" sourceRef="heard" targetRef="heard_end"/>'
        '<bpmn:sequenceFlow id="f_shout" sourceRef="shout" targetRef="work"/>' + straight(first="shout"),
        refs=("shout", "heard", "heard_end"))
    signals = signals.replace('</bpmn:definitions>', '<bpmn:signal id="sig" name="催"/></bpmn:definitions>')
    assert deployed(users, signals)["version"] == 1


def ending_with(**props):
    """The straight process whose end event carries these properties."""
    items = "".join(f'<spiffworkflow:property name="{k}" value="{v}"/>' for k, v in props.items())
    return process(straight()).replace('<bpmn:endEvent id="done"/>', (
        f'<bpmn:endEvent id="done"><bpmn:extensionElements><spiffworkflow:properties>{items}'
        '</spiffworkflow:properties></bpmn:extensionElements></bpmn:endEvent>'))


def test_an_unknown_flag_kind_is_refused_at_deploy(users):
    errors = refused(users, ending_with(flagKind="laziness"))
    assert errors[0]["element_id"] == "done" and "flagKind" in errors[0]["message"]
    assert "improper_call" in errors[0]["message"]
    assert deployed(users, ending_with(flagKind="improper_call"))["version"] == 1


def test_an_unknown_list_action_is_refused_at_deploy(users):
    errors = refused(users, ending_with(listAction="publish_everything"))
    assert errors[0]["element_id"] == "done" and "listAction" in errors[0]["message"]
    assert "sink_duty" in errors[0]["message"] and "change_list" in errors[0]["message"]
    assert deployed(users, ending_with(listAction="change_list"))["version"] == 1


def test_an_unknown_list_action_of_an_older_version_goes_on_record_and_the_case_still_ends(app, users):
    case_id = raise_call(users)
    with app.app_context():
        versions = db.session.query(ListVersion).count()
        duty_list.apply_case_action(db.session.get(Case, case_id), "publish_everything", "system")
        db.session.commit()
        assert db.session.query(ListVersion).count() == versions
    events = users["center"].get(f"/cases/{case_id}/audit").json
    refusal = [e for e in events if e["action"] == "list_not_published"]
    assert refusal and "publish_everything" in refusal[0]["detail"]


def test_a_flag_condition_that_cannot_be_computed_goes_on_record_and_the_case_still_ends(users):
    deployed(users, ending_with(flagKind="improper_call", flagWhen="own_duty == True"))
    case_id = users["center"].post("/cases", json={"process_id": "probe", "data": {}}).json["id"]
    result = users["center"].complete(users["center"].task(case_id, "办理"))
    assert result["case"]["status"] == "closed"
    events = users["center"].get(f"/cases/{case_id}/audit").json
    refusal = [e for e in events if e["action"] == "flag_not_raised"]
    assert refusal and "own_duty" in refusal[0]["detail"]


def test_an_unknown_flag_kind_of_an_older_version_goes_on_record_and_the_case_still_ends(app, users):
    case_id = raise_call(users)
    with app.app_context():
        case = db.session.get(Case, case_id)
        supervision.flag_automatically(case, "laziness", "system")
        db.session.commit()
        assert db.session.query(Flag).filter_by(case_id=case_id).count() == 0
    events = users["center"].get(f"/cases/{case_id}/audit").json
    refusal = [e for e in events if e["action"] == "flag_not_raised"]
    assert refusal and "laziness" in refusal[0]["detail"]


def test_a_case_title_outside_the_language_is_refused_at_deploy(users):
    props = ('<bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property name="caseTitle" '
             'value="{}"/></spiffworkflow:properties></bpmn:extensionElements>')
    errors = refused(users, process(straight(), props=props.format("title.__class__")))
    assert errors[0]["element_id"] == "probe" and "caseTitle" in errors[0]["message"]
    assert deployed(users, process(straight(), props=props.format('f&quot;探针：{title}&quot;')))["version"] == 1


def test_an_expression_nested_four_thousand_deep_is_a_422_naming_the_element(users):
    deep = "-" * 3999 + "1"
    xml = process('<bpmn:exclusiveGateway id="gw" default="f_default"/>'
                  '<bpmn:sequenceFlow id="f_gw" sourceRef="start" targetRef="gw"/>'
                  f'<bpmn:sequenceFlow id="f_cond" sourceRef="gw" targetRef="work"><bpmn:conditionExpression '
                  f'xsi:type="bpmn:tFormalExpression">{deep}</bpmn:conditionExpression></bpmn:sequenceFlow>'
                  '<bpmn:sequenceFlow id="f_default" sourceRef="gw" targetRef="work"/>'
                  '<bpmn:sequenceFlow id="f_done" sourceRef="work" targetRef="done"/>', refs=("gw",))
    errors = refused(users, xml)
    assert errors[0]["element_id"] == "gw" and "嵌套过深" in errors[0]["message"]


@pytest.mark.parametrize("timer", ['"P10000Y"', '"P30000000M"', '"PT5X"', '"2099-01-01T00:00:00+08:00"'])
def test_a_timer_that_could_not_run_is_refused_at_deploy(users, timer):
    element = "timeDate" if timer.startswith('"2') else "timeDuration"
    xml = process(straight() + '<bpmn:boundaryEvent id="late" attachedToRef="work" cancelActivity="false">'
                  f'<bpmn:timerEventDefinition><bpmn:{element}>{timer}</bpmn:{element}></bpmn:timerEventDefinition>'
                  '</bpmn:boundaryEvent><bpmn:endEvent id="late_end"/>'
                  '<bpmn:sequenceFlow id="f_late" sourceRef="late" targetRef="late_end"/>', refs=("late", "late_end"))
    errors = refused(users, xml)
    assert errors[0]["element_id"] == "late" and "定时器" in errors[0]["message"]


def test_a_computed_timer_out_of_range_makes_the_case_errored_with_the_cause(app, users):
    """What deployment cannot know, the engine checks before SpiffWorkflow computes with it: the
    case is errored with the element and the cause, the start answers 201, not 500. When every new
    case would fail so, the deploy's dry run refuses it first."""
    xml = process('<bpmn:scriptTask id="set_years"><bpmn:script>years = "10000"</bpmn:script></bpmn:scriptTask>'
                  + straight('<bpmn:sequenceFlow id="f_years" sourceRef="set_years" targetRef="work"/>',
                             first="set_years")
                  + '<bpmn:boundaryEvent id="late" attachedToRef="work" cancelActivity="false">'
                    '<bpmn:timerEventDefinition><bpmn:timeDuration>"P" + years + "Y"</bpmn:timeDuration>'
                    '</bpmn:timerEventDefinition></bpmn:boundaryEvent><bpmn:endEvent id="late_end"/>'
                    '<bpmn:sequenceFlow id="f_late" sourceRef="late" targetRef="late_end"/>',
                  refs=("set_years", "late", "late_end"))
    refused_by_the_dry_run(users, xml, "late", "超出允许的范围")
    stored_unchecked(app, xml)
    r = users["center"].post("/cases", json={"process_id": "probe", "data": {}})
    assert r.status_code == 201, r.json
    case = users["center"].get(f"/cases/{r.json['id']}").json
    assert case["status"] == "errored" and case["error"]["element_id"] == "late"
    assert "超出允许的范围" in case["error"]["message"]


def _endless_loop():
    return process('<bpmn:scriptTask id="zero"><bpmn:script>n = 0</bpmn:script></bpmn:scriptTask>'
                   '<bpmn:scriptTask id="count"><bpmn:script>n = n + 1</bpmn:script></bpmn:scriptTask>'
                   '<bpmn:exclusiveGateway id="again" default="f_out"/>'
                   '<bpmn:sequenceFlow id="f_start" sourceRef="start" targetRef="zero"/>'
                   '<bpmn:sequenceFlow id="f_zero" sourceRef="zero" targetRef="count"/>'
                   '<bpmn:sequenceFlow id="f_count" sourceRef="count" targetRef="again"/>'
                   '<bpmn:sequenceFlow id="f_loop" sourceRef="again" targetRef="count"><bpmn:conditionExpression '
                   'xsi:type="bpmn:tFormalExpression">n &lt; 10 ** 9</bpmn:conditionExpression></bpmn:sequenceFlow>'
                   '<bpmn:sequenceFlow id="f_out" sourceRef="again" targetRef="work"/>'
                   '<bpmn:sequenceFlow id="f_done" sourceRef="work" targetRef="done"/>',
                   refs=("zero", "count", "again"))


def test_an_engine_step_that_loops_is_stopped_by_the_step_budget(app, users, monkeypatch):
    """A loop of engine tasks with no one to wait for: the step's budget (of steps here, of
    seconds too) stops it and the case is errored, so the write lock is released."""
    monkeypatch.setattr(expressions, "MAX_STEP_STEPS", 5_000)
    refused_by_the_dry_run(users, _endless_loop(), "count", "本步流程计算超出限制")
    stored_unchecked(app, _endless_loop())
    r = users["center"].post("/cases", json={"process_id": "probe", "data": {}})
    assert r.status_code == 201, r.json
    case = users["center"].get(f"/cases/{r.json['id']}").json
    assert case["status"] == "errored" and "本步流程计算超出限制" in case["error"]["message"]
    assert users["center"].get("/tasks").status_code == 200          # and the server answers the next request


def test_a_loop_deeper_than_the_engine_looks_makes_the_case_errored(app, users, monkeypatch):
    """SpiffWorkflow stops looking for ready tasks 1,000 levels down the task tree: the loop that
    gets there (here within the step budget, its clock set aside) is an error, not a silent stop."""
    monkeypatch.setattr(expressions, "MAX_STEP_SECONDS", 600)
    refused_by_the_dry_run(users, _endless_loop(), "count", "循环过深")
    stored_unchecked(app, _endless_loop())
    r = users["center"].post("/cases", json={"process_id": "probe", "data": {}})
    case = users["center"].get(f"/cases/{r.json['id']}").json
    assert case["status"] == "errored" and case["error"]["element_id"] == "count"
    assert "循环过深" in case["error"]["message"]


def test_any_exception_escaping_the_engine_is_an_engine_error():
    def broken():
        raise KeyError("an odd model")
    with pytest.raises(EngineError, match="流程引擎出错：KeyError"):
        CaseRun._guard(broken)


@pytest.mark.parametrize("encoding", ["UTF-16", "GBK"])
def test_a_process_saved_in_another_encoding_deploys_as_utf8_and_runs(users, encoding):
    xml = ORIGINAL.replace('<?xml version="1.0" encoding="UTF-8"?>', f'<?xml version="1.0" encoding="{encoding}"?>')
    assert xml != ORIGINAL
    r = upload(users["analyst"], "call_response.bpmn", xml.encode(encoding.lower()))
    assert r.status_code == 201, r.json
    text = users["analyst"].get(f"/processes/call_response/versions/{r.json['version']}/bpmn").data.decode("utf-8")
    assert "encoding='UTF-8'" in text and 'name="受理"' in text
    case_id = raise_call(users)
    assert users["center"].get(f"/cases/{case_id}").json["process_version"] == r.json["version"]
    assert [t["name"] for t in users["center"].inbox(case_id)] == ["受理"]


def test_a_doctype_hidden_in_utf16_is_refused(users):
    xml = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>'
    errors = refused(users, xml.encode("utf-16"))
    assert "DOCTYPE" in errors[0]["message"]


def _zip(members, compression=zipfile.ZIP_DEFLATED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, content in members:
            z.writestr(name, content)
    return buf.getvalue()


def _bad_crc():
    data = _zip([("call_response.bpmn", ORIGINAL), ("forms/x.json", "X" * 100)], zipfile.ZIP_STORED)
    return data.replace(b"X" * 100, b"Y" * 100)


def _encrypted():
    data = bytearray(_zip([("call_response.bpmn", ORIGINAL)]))
    for signature, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(signature) + flag_at
        data[at] |= 0x1
    return bytes(data)


def _lying_size():
    """A member that declares 100 bytes and holds 200 000."""
    data = bytearray(_zip([("call_response.bpmn", ORIGINAL), ("big.json", "1" * 200_000)], zipfile.ZIP_STORED))
    for signature, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = 0
        while (at := data.find(signature, at)) >= 0:
            name_at = at + (30 if signature == b"PK\x03\x04" else 46)
            if data[name_at:name_at + 8] == b"big.json":
                data[at + size_at:at + size_at + 4] = (100).to_bytes(4, "little")
            at += 4
    return bytes(data)


BROKEN_ZIPS = {
    "a bad CRC": (_bad_crc, "已损坏"),
    "truncated": (lambda: _zip([("call_response.bpmn", ORIGINAL)])[:1500], "不是有效的 .zip"),
    "a bomb by ratio": (lambda: _zip([("call_response.bpmn", ORIGINAL), ("bomb.json", " " * 2_000_000)]), "压缩比"),
    "too big unpacked": (lambda: _zip([("call_response.bpmn", ORIGINAL), ("big.json", "1" * 3_000_000)],
                                      zipfile.ZIP_STORED), "过大"),
    "an encrypted member": (_encrypted, "加密"),
    "two members of one name": (lambda: _zip([("call_response.bpmn", ORIGINAL), ("a/x.json", "{}"),
                                              ("b/x.json", "{}")]), "同名"),
    "a path out of the archive": (lambda: _zip([("../call_response.bpmn", ORIGINAL)]), "不安全"),
    "an absolute path": (lambda: _zip([("/etc/call_response.bpmn", ORIGINAL)]), "不安全"),
    "bzip2 compression": (lambda: _zip([("call_response.bpmn", ORIGINAL)], zipfile.ZIP_BZIP2), "压缩方式"),
    "a size that lies": (_lying_size, "不符|已损坏"),
}


@pytest.mark.parametrize("kind", BROKEN_ZIPS)
def test_a_broken_zip_is_a_422_in_chinese(users, kind):
    make, reason = BROKEN_ZIPS[kind]
    r = upload(users["analyst"], "bundle.zip", make(), "application/zip")
    assert r.status_code == 422, (r.status_code, r.get_data(as_text=True))
    assert re.search(reason, r.json["errors"][0]["message"]), r.json
    assert [v["version"] for v in users["analyst"].get("/processes/call_response/versions").json] == [1]


def _many(characteristics, script):
    """A process whose script prepares the data of a multi-instance user task 办理."""
    return process('<bpmn:scriptTask id="prepare"><bpmn:script>' + script + '</bpmn:script></bpmn:scriptTask>'
                   + straight('<bpmn:sequenceFlow id="f_prep" sourceRef="prepare" targetRef="work"/>', first="prepare"),
                   refs=("prepare",)).replace(
        '<bpmn:userTask id="work" name="办理"/>',
        f'<bpmn:userTask id="work" name="办理"><bpmn:multiInstanceLoopCharacteristics>{characteristics}'
        '</bpmn:multiInstanceLoopCharacteristics></bpmn:userTask><bpmn:dataObject id="items"/>')


def test_a_multi_instance_count_past_the_limit_is_refused_at_deploy(users):
    errors = refused(users, _many("<bpmn:loopCardinality>100000</bpmn:loopCardinality>", "x = 1"))
    assert errors[0]["element_id"] == "work" and "多实例数量" in errors[0]["message"]
    assert deployed(users, _many("<bpmn:loopCardinality>3</bpmn:loopCardinality>", "x = 1"))["version"] == 1


def test_a_multi_instance_over_too_many_items_makes_the_case_errored_before_creating_them(app, users):
    """SpiffWorkflow would create every child inside one step (10,000 took seconds): the data that
    would start it is refused first."""
    loop = '<bpmn:loopDataInputRef>items</bpmn:loopDataInputRef><bpmn:inputDataItem id="item"/>'
    refused_by_the_dry_run(users, _many(loop, 'items = list("x" * 201)'), "prepare", "最多 200 个实例")
    stored_unchecked(app, _many(loop, 'items = list("x" * 201)'))
    r = users["center"].post("/cases", json={"process_id": "probe", "data": {}})
    assert r.status_code == 201, r.json
    case = users["center"].get(f"/cases/{r.json['id']}").json
    assert case["status"] == "errored" and "最多 200 个实例" in case["error"]["message"]
    assert users["center"].inbox(r.json["id"]) == []


def test_a_version_stored_before_these_checks_still_runs_its_cases_to_an_error(app, users):
    """A service task or an unknown flagKind deployed by an older Huying: the version loads, the
    case fails where it fails (errored, with the element and the cause), nothing answers 500."""
    xml = process('<bpmn:serviceTask id="call_api" name="调用接口"><bpmn:extensionElements>'
                  '<spiffworkflow:serviceTaskOperator id="http/GetRequest" resultVariable="r">'
                  '<spiffworkflow:parameters/></spiffworkflow:serviceTaskOperator>'
                  '</bpmn:extensionElements></bpmn:serviceTask>'
                  + straight('<bpmn:sequenceFlow id="f_api" sourceRef="call_api" targetRef="work"/>', first="call_api"),
                  refs=("call_api",))
    with app.app_context():
        db.session.add(ProcessVersion(process_id="probe", version=1, name="探针流程", bpmn=xml, forms={},
                                      checksum="0" * 64, start_role="center", deployed_by="analyst"))
        db.session.commit()
    r = users["center"].post("/cases", json={"process_id": "probe", "data": {}})
    assert r.status_code == 201, r.json
    case = users["center"].get(f"/cases/{r.json['id']}").json
    assert case["status"] == "errored" and case["error"]["element_id"] == "call_api"
    assert "服务任务" in case["error"]["message"]
