"""What an analyst is told when an upload cannot deploy: every problem at once, each on its element
with its name and line and a Chinese message that says what to change, the libraries' own words
only as `detail`; a file in another encoding read as it declares; an upload that would silently
replace an unrelated process refused with 409 until confirmed; and what deploys, starts. Through
POST /processes as an analyst, on both backends."""
import re
from pathlib import Path

import pytest

from helpers import raise_call, upload
from test_deploy_refusals import process, straight

ROOT = Path(__file__).resolve().parent.parent
CJK = re.compile(r"[\u4e00-\u9fff]")


def refused(users, data, name="probe.bpmn"):
    r = upload(users["analyst"], name, data if isinstance(data, bytes) else data.encode("utf-8"))
    assert r.status_code == 422, (r.status_code, r.get_data(as_text=True))
    for e in r.json["errors"]:
        assert CJK.search(e["message"]) and "Element '{" not in e["message"], e
    return r.json["errors"]


def test_every_problem_comes_back_in_one_answer_each_on_its_element_with_name_and_line(users):
    """Huying's own checks, the XSD's violations and the parser's problem, all in one 422."""
    xml = process('<bpmn:serviceTask id="api" name="调接口"/>'
                  '<bpmn:userTask id="orphan" name="没有泳道的任务"/>'
                  '<bpmn:sequenceFlow id="f_api" sourceRef="api" targetRef="orphan"/>'
                  '<bpmn:sequenceFlow id="f_orphan" sourceRef="orphan" targetRef="work"/>'
                  '<bpmn:bogus id="odd"/>' + straight(first="api"), refs=("api",))
    errors = refused(users, xml)
    by_id = {e.get("element_id"): e for e in errors}
    assert "服务任务" in by_id["api"]["message"] and by_id["api"]["name"] == "调接口"
    assert by_id["api"]["line"] == next(i for i, t in enumerate(xml.splitlines(), 1) if 'id="api"' in t)
    xsd = [e for e in errors if "bogus" in e["message"]]
    assert xsd and xsd[0]["message"].startswith("第 ") and "不应出现在这里" in xsd[0]["message"]
    assert "This element is not expected" in xsd[0]["detail"]       # the original, for developers only
    assert len(errors) >= 2


@pytest.mark.parametrize("broken, words", [
    ("<bpmn:userTask id='x'></bpmn:task>", "不匹配"),
    ("<bpmn:userTask id='x' name='a\x01'/>", "控制字符"),
    ("<bpmn:userTask id='x' name=unquoted/>", "引号"),
    ("<bpmn:userTask id='x' name='a & b'/>", "&amp;"),
    (None, "不完整"),
])
def test_an_xml_syntax_error_is_said_in_chinese_with_its_line(users, broken, words):
    xml = process(straight())
    xml = xml[:xml.index("\n", len(xml) // 2)] if broken is None else xml.replace('<bpmn:endEvent id="done"/>', broken)
    errors = refused(users, xml)
    assert words in errors[0]["message"] and errors[0]["line"] >= 1, errors
    assert errors[0]["message"].startswith(f"第 {errors[0]['line']} 行"), errors
    assert errors[0]["detail"] and not CJK.search(errors[0]["detail"])


def test_a_file_with_no_executable_process_names_its_pools(users):
    xml = (process(straight()).replace('isExecutable="true"', 'isExecutable="false"')
           .replace('</bpmn:definitions>', '<bpmn:process id="other" name="另一个泳池" isExecutable="false"/>'
                                           '</bpmn:definitions>'))
    errors = refused(users, xml)
    assert {e["element_id"] for e in errors} == {"probe", "other"}
    assert all("另一个泳池" in e["message"] and "探针流程" in e["message"] and "isExecutable" in e["message"]
               for e in errors)


def test_not_bpmn_says_what_the_root_is(users):
    errors = refused(users, '<?xml version="1.0"?><html><body/></html>')
    assert "html" in errors[0]["message"] and errors[0]["line"] == 1


@pytest.mark.parametrize("encoding, bom", [("GBK", b""), ("GB18030", b""), ("UTF-16", b""),
                                           ("UTF-16", "\ufeff".encode("utf-16-le")), ("ISO-8859-1", b"")])
def test_a_file_in_a_declared_encoding_deploys_as_utf8_with_its_names(users, encoding, bom):
    xml = process(straight(), declaration=f'<?xml version="1.0" encoding="{encoding}"?>')
    if encoding == "ISO-8859-1":         # Latin-1 holds no Chinese: the names as character references
        xml = xml.encode("ascii", "xmlcharrefreplace").decode("ascii")
    data = bom + xml.encode("utf-16-le" if bom else encoding.lower())
    r = upload(users["analyst"], "probe.bpmn", data)
    assert r.status_code == 201, r.json
    text = users["analyst"].get(f"/processes/probe/versions/{r.json['version']}/bpmn").data.decode("utf-8")
    assert "探针流程" in text and "办理" in text and "encoding='UTF-8'" in text
    case = users["center"].post("/cases", json={"process_id": "probe", "data": {}})
    assert case.status_code == 201 and [t["name"] for t in users["center"].inbox(case.json["id"])] == ["办理"]


def test_a_wrong_declared_encoding_is_said_in_chinese_with_its_line(users):
    xml = process(straight(), declaration='<?xml version="1.0" encoding="UTF-8"?>')
    errors = refused(users, xml.encode("gbk"))
    assert "编码" in errors[0]["message"] and errors[0]["line"] >= 1, errors
    errors = refused(users, process(straight(), declaration='<?xml version="1.0" encoding="KLINGON"?>').encode())
    assert "编码" in errors[0]["message"], errors


def bpmn_io_file(process_id="Process_1", start="StartEvent_1", task="Activity_0x1", name="请假审批"):
    """A different drawing that happens to have the same process id (bpmn.io's Process_1)."""
    return process(straight(first="work"), process_id=process_id).replace('name="探针流程"', f'name="{name}"') \
        .replace('id="start"', f'id="{start}"').replace('sourceRef="start"', f'sourceRef="{start}"') \
        .replace("<bpmn:flowNodeRef>start<", f"<bpmn:flowNodeRef>{start}<") \
        .replace('id="work"', f'id="{task}"').replace('"work"', f'"{task}"') \
        .replace("<bpmn:flowNodeRef>work<", f"<bpmn:flowNodeRef>{task}<") \
        .replace('id="done"', 'id="Event_end"').replace('"done"', '"Event_end"') \
        .replace("<bpmn:flowNodeRef>done<", "<bpmn:flowNodeRef>Event_end<") \
        .replace('id="f_start"', 'id="Flow_a"').replace('id="f_done"', 'id="Flow_b"') \
        .replace('id="lane1"', 'id="Lane_x"').replace('id="ls"', 'id="LaneSet_x"')


def test_an_unrelated_file_under_an_existing_process_id_is_refused_until_confirmed(users):
    first = upload(users["analyst"], "a.bpmn", process(straight(), process_id="Process_1").encode())
    assert first.status_code == 201
    other = bpmn_io_file().encode()
    r = upload(users["analyst"], "b.bpmn", other)
    assert r.status_code == 409, r.get_data(as_text=True)
    assert "Process_1" in r.json["message"] and "探针流程" in r.json["message"] and "new_version" in r.json["message"]
    assert users["analyst"].get("/processes/Process_1/versions").json[0]["version"] == 1
    confirmed = users["analyst"].client.post(
        "/api/v1/processes", headers=users["analyst"].headers, content_type="multipart/form-data",
        data={"file": (__import__("io").BytesIO(other), "b.bpmn", "application/xml"), "new_version": "true"})
    assert confirmed.status_code == 201 and confirmed.json["version"] == 2
    # a real next version (an element kept) needs no confirmation
    renamed = bpmn_io_file(name="请假审批（修订）").encode()
    assert upload(users["analyst"], "c.bpmn", renamed).json["version"] == 3


def test_every_shipped_process_still_deploys_and_starts_after_the_dry_run(users):
    for path in sorted((ROOT / "processes").glob("*.bpmn")):
        r = upload(users["analyst"], path.name, path.read_bytes())
        assert r.status_code == 201, (path.name, r.json)
    assert raise_call(users)


def test_an_unquoted_timer_literal_is_refused_by_the_dry_run_on_its_element(users):
    xml = process(straight() + '<bpmn:boundaryEvent id="late" name="超时提醒" attachedToRef="work" cancelActivity="false">'
                  '<bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>'
                  '</bpmn:boundaryEvent><bpmn:endEvent id="late_end"/>'
                  '<bpmn:sequenceFlow id="f_late" sourceRef="late" targetRef="late_end"/>', refs=("late", "late_end"))
    r = upload(users["analyst"], "probe.bpmn", xml.encode())
    if r.status_code == 201:          # another part of Huying reads the bare literal: then it must start
        assert users["center"].post("/cases", json={"process_id": "probe", "data": {}}).status_code == 201
        return
    errors = r.json["errors"]
    assert r.status_code == 422 and errors[0]["element_id"] == "late" and errors[0]["name"] == "超时提醒"
    assert "PT1H" in errors[0]["message"] and "引号" in errors[0]["message"]
    assert users["center"].post("/cases", json={"process_id": "probe", "data": {}}).status_code == 404


def test_the_dry_run_uses_the_start_form_and_a_stuck_start_is_refused(users):
    """A manual task (nobody's inbox) right after the start: every case would stand still."""
    xml = process('<bpmn:manualTask id="by_hand" name="线下处理"/>' + straight(
        '<bpmn:sequenceFlow id="f_hand" sourceRef="by_hand" targetRef="work"/>', first="by_hand"), refs=("by_hand",))
    r = upload(users["analyst"], "probe.bpmn", xml.encode())
    if r.status_code == 201:          # manual tasks became someone's task: the case must then move
        case = users["center"].post("/cases", json={"process_id": "probe", "data": {}}).json
        assert case["status"] == "open" and case["current_tasks"]
        return
    assert r.status_code == 422 and r.json["errors"][0]["element_id"] == "by_hand"


def test_the_modellers_own_deploy_of_its_process_needs_no_confirmation(app, users):
    """The modeller deploys the process it opened: however much was redrawn, it is that process."""
    from helpers import web_login
    from test_modeller_web import deploy, modeller_page
    assert upload(users["analyst"], "a.bpmn", process(straight(), process_id="Process_1").encode()).status_code == 201
    analyst = web_login(app, "analyst")
    token, _attrs = modeller_page(analyst, "Process_1")
    r = deploy(analyst, bpmn_io_file(), token, process_id="Process_1")
    assert r.status_code == 201 and r.json["version"] == 2, r.get_data(as_text=True)


def test_a_broken_form_is_said_in_chinese_with_the_bpmns_problems_in_the_same_answer(users):
    import io
    import zipfile
    xml = process('<bpmn:serviceTask id="api" name="调接口"/>' + straight(
        '<bpmn:sequenceFlow id="f_api" sourceRef="api" targetRef="work"/>', first="api"), refs=("api",)).replace(
        '<bpmn:userTask id="work" name="办理"/>',
        '<bpmn:userTask id="work" name="办理"><bpmn:extensionElements><spiffworkflow:properties>'
        '<spiffworkflow:property name="formJsonSchemaFilename" value="f.schema.json"/></spiffworkflow:properties>'
        '</bpmn:extensionElements></bpmn:userTask>')
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("probe.bpmn", xml)
        z.writestr("f.schema.json", '{"type": "object", "properties": {"a": {"type": "strin"}},}')
    errors = refused(users, buffer.getvalue(), name="probe.zip")
    assert any(e.get("element_id") == "api" for e in errors)
    form = [e for e in errors if "f.schema.json" in e["message"]]
    assert form and "第 1 行" in form[0]["message"] and "Expecting" in form[0]["detail"], errors
    assert not any("Expecting" in e["message"] for e in errors)


def test_the_only_process_drawn_without_the_executable_flag_deploys_and_says_so(users):
    """Most tools leave isExecutable out or false (the MIWG reference files, Signavio, bpmn.io's
    first drawing): the document's only process is the one meant, so it deploys, with a report line
    saying it was taken as executable — and a case of it runs."""
    xml = process(straight()).replace('isExecutable="true"', 'isExecutable="false"')
    r = upload(users["analyst"], "probe.bpmn", xml.encode())
    assert r.status_code == 201, r.json
    assert any(line["element_id"] == "probe" and "未设为可执行" in line["message"] for line in r.json["report"])
    started = users["center"].post("/cases", json={"process_id": "probe", "data": {}})
    assert started.status_code == 201 and started.json["status"] == "open", started.json
    assert [t["name"] for t in started.json["current_tasks"]], started.json
