"""A new process from the browser, without a browser: the blank drawing with Huying's lanes, the
modeller's deploy of a process that does not exist yet (with the forms opened beside it), and the
process list's upload form with its result page. Analysts only (403 for the others), CSRF on every
post, and no 500 on bad input."""
import io
import json
import re
import zipfile
from pathlib import Path

import pytest

from app import processes
from helpers import csrf_token, web_login

FORM = {"title": "报修", "type": "object", "required": ["title"],
        "properties": {"title": {"type": "string", "title": "事项"}}}


def page_token(client, path="/processes/new"):
    r = client.get(path)
    assert r.status_code == 200, r.status_code
    return re.search(r'<meta name="csrf-token" content="([^"]+)">', r.get_data(as_text=True)).group(1)


def blank(client, token, **body):
    body = {"process_id": "road_repair", "name": "道路维修", "lanes": ["township", "center", "department"],
            "starter": "township", **body}
    return client.post("/processes/new/blank", json=body, headers={"X-CSRFToken": token})


def with_user_task(xml, form=None):
    """The blank drawing with a user task 维修 in the lane 县级部门 between its start and end."""
    props = (f'<bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property '
             f'name="formJsonSchemaFilename" value="{form}" /></spiffworkflow:properties></bpmn:extensionElements>'
             if form else "")
    xml = xml.replace('<bpmn:sequenceFlow id="flow_start_end" sourceRef="start" targetRef="end" />',
                      '<bpmn:sequenceFlow id="flow_start_end" sourceRef="start" targetRef="repair" />'
                      f'<bpmn:userTask id="repair" name="维修">{props}<bpmn:incoming>flow_start_end</bpmn:incoming>'
                      '<bpmn:outgoing>flow_repaired</bpmn:outgoing></bpmn:userTask>'
                      '<bpmn:sequenceFlow id="flow_repaired" sourceRef="repair" targetRef="end" />')
    xml = xml.replace("<bpmn:incoming>flow_start_end</bpmn:incoming>\n    </bpmn:endEvent>",
                      "<bpmn:incoming>flow_repaired</bpmn:incoming>\n    </bpmn:endEvent>")
    return xml.replace('<bpmn:lane id="lane_department" name="县级部门"></bpmn:lane>',
                       '<bpmn:lane id="lane_department" name="县级部门"><bpmn:flowNodeRef>repair</bpmn:flowNodeRef>'
                       '</bpmn:lane>')


def test_blank_drawing_has_the_chosen_lanes_and_the_start_in_the_starters_lane(app):
    analyst = web_login(app, "analyst")
    token = page_token(analyst)
    r = blank(analyst, token, starter="center")
    assert r.status_code == 200, r.json
    xml = r.json["bpmn"]
    assert re.findall(r'<bpmn:lane id="(lane_\w+)" name="([^"]+)"', xml) == \
        [("lane_township", "乡镇"), ("lane_center", "响应中心"), ("lane_department", "县级部门")]
    assert re.search(r'<bpmn:lane id="lane_center" name="响应中心">\s*<bpmn:flowNodeRef>start</bpmn:flowNodeRef>', xml)
    assert '<bpmn:process id="road_repair" name="道路维修" isExecutable="true">' in xml
    # valid as it stands: the center may start it
    with app.app_context():
        row, created = processes.deploy_files({"road_repair.bpmn": xml.encode()}, "analyst")
        assert created and row.start_role == "center"


@pytest.mark.parametrize("body, field, message", [
    ({"process_id": ""}, "process_id", "请填写流程标识"),
    ({"process_id": "1road"}, "process_id", "只能用英文字母"),
    ({"process_id": "call_response"}, "process_id", "已有流程标识为 call_response 的流程"),
    ({"process_id": ["x"]}, "process_id", "请填写流程标识"),
    ({"name": "  "}, "name", "请填写流程名称"),
    ({"lanes": []}, "lanes", "请至少选择一个泳道"),
    ({"lanes": ["township", "wizard"]}, "lanes", "未知的泳道角色：wizard"),
    ({"lanes": "township"}, "lanes", "请至少选择一个泳道"),
    ({"starter": "leader"}, "starter", "发起案件的角色应是所选泳道之一"),
])
def test_blank_drawing_refuses_a_bad_id_name_or_lanes_by_field(app, body, field, message):
    analyst = web_login(app, "analyst")
    r = blank(analyst, page_token(analyst), **body)
    assert r.status_code == 422, r.get_data(as_text=True)
    found = [e for e in r.json["errors"] if e["field"] == field]
    assert found and message in found[0]["message"], r.json


def test_new_process_deploys_with_its_form_and_starts_a_case(app, users):
    analyst = web_login(app, "analyst")
    token = page_token(analyst)
    xml = with_user_task(blank(analyst, token).json["bpmn"], form="repair.schema.json")
    files = {"repair.schema.json": json.dumps(FORM, ensure_ascii=False), "readme.txt": "ignored"}
    r = analyst.post("/processes/new", json={"bpmn": xml, "files": files}, headers={"X-CSRFToken": token})
    assert r.status_code == 201, r.get_data(as_text=True)
    assert r.json["process_id"] == "road_repair" and r.json["version"] == 1 and r.json["created"] is True
    assert r.json["model_url"] == "/processes/road_repair/model"
    assert r.json["versions_url"] == "/processes#p-road_repair"
    with app.app_context():
        row = processes.latest_version("road_repair")
        assert row.deployed_by == "analyst" and list(row.forms) == ["repair.schema.json"]
    assert 'id="p-road_repair"' in analyst.get("/processes").get_data(as_text=True)

    r = users["town_a"].post("/cases", json={"process_id": "road_repair", "data": {"title": "村道塌陷"}})
    assert r.status_code == 201, r.json
    task = users["dept_zf"].task(r.json["id"], "维修")
    users["dept_zf"].complete(task, {"title": "已修复"})
    assert users["town_a"].get(f"/cases/{r.json['id']}").json["status"] == "closed"

    # the same id again is no new process: 409, naming the modeller page of the one in service
    r = analyst.post("/processes/new", json={"bpmn": xml, "files": files}, headers={"X-CSRFToken": token})
    assert r.status_code == 409 and "已有流程标识为 road_repair 的流程" in r.json["message"]
    assert r.json["errors"][0]["element_id"] == "road_repair"


def test_new_process_refused_lists_every_problem_on_its_element(app):
    analyst = web_login(app, "analyst")
    token = page_token(analyst)
    xml = with_user_task(blank(analyst, token).json["bpmn"], form="missing.schema.json")
    xml = xml.replace('<bpmn:lane id="lane_department" name="县级部门">', '<bpmn:lane id="lane_department" name="值班室">')
    xml = xml.replace('<bpmn:endEvent id="end" name="办结">',
                      '<bpmn:endEvent id="end" name="办结"><bpmn:extensionElements><spiffworkflow:properties>'
                      '<spiffworkflow:property name="caseStatus" value="finished" /></spiffworkflow:properties>'
                      '</bpmn:extensionElements>')
    r = analyst.post("/processes/new", json={"bpmn": xml}, headers={"X-CSRFToken": token})
    assert r.status_code == 422, r.get_data(as_text=True)
    by_element = {}
    for e in r.json["errors"]:
        by_element.setdefault(e.get("element_id"), []).append(e["message"])
    assert "repair" in by_element and "end" in by_element, r.json
    with app.app_context():
        assert processes.latest_version("road_repair") is None


@pytest.mark.parametrize("body", [None, [], {"bpmn": ""}, {"bpmn": 5}, {"bpmn": "<not xml"},
                                  {"bpmn": "<?xml version='1.0'?><a/>"}, {"bpmn": "x", "files": "no"},
                                  {"bpmn": "x", "files": {"a.json": 3}}])
def test_new_process_bad_input_is_refused_in_chinese_never_a_500(app, body):
    analyst = web_login(app, "analyst")
    token = page_token(analyst)
    r = analyst.post("/processes/new", data=json.dumps(body), content_type="application/json",
                     headers={"X-CSRFToken": token})
    assert r.status_code in (400, 422), (r.status_code, r.get_data(as_text=True))
    assert r.json["message"] and not re.search(r"[A-Za-z]{12,}", r.json["message"])
    r = analyst.post("/processes/new/blank", data="[", content_type="application/json", headers={"X-CSRFToken": token})
    assert r.status_code == 422


def test_new_process_needs_the_csrf_token_and_an_analyst(app):
    analyst = web_login(app, "analyst")
    page_token(analyst)
    body = {"process_id": "road_repair", "name": "道路维修", "lanes": ["township"], "starter": "township"}
    assert analyst.post("/processes/new/blank", json=body).status_code == 400
    assert analyst.post("/processes/new", json={"bpmn": "x"}).status_code == 400
    assert analyst.post("/processes/upload", data={"file": (io.BytesIO(b"x"), "a.bpmn")}).status_code == 400
    for name in ("town_a", "center", "admin"):
        other = web_login(app, name)
        assert other.get("/processes/new").status_code == 403
        token = re.search(r'name="csrf-token" content="([^"]+)"',
                          other.get("/inbox").get_data(as_text=True) + other.get("/").get_data(as_text=True))
        headers = {"X-CSRFToken": token.group(1)} if token else {}
        assert other.post("/processes/new/blank", json=body, headers=headers).status_code in (400, 403)
        assert other.post("/processes/new", json={"bpmn": "x"}, headers=headers).status_code in (400, 403)
    anonymous = app.test_client()
    assert anonymous.get("/processes/new").status_code == 302


def upload(client, name, data):
    page = client.get("/processes").get_data(as_text=True)
    assert 'action="/processes/upload"' in page and 'href="/processes/new"' in page
    return client.post("/processes/upload", data={"csrf_token": csrf_token(page), "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def test_upload_from_the_process_list_deploys_a_zip_with_its_forms(app):
    analyst = web_login(app, "analyst")
    xml = with_user_task(blank(analyst, page_token(analyst)).json["bpmn"], form="repair.schema.json")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("road_repair.bpmn", xml)
        z.writestr("forms/repair.schema.json", json.dumps(FORM, ensure_ascii=False))
    r = upload(analyst, "road_repair.zip", buf.getvalue())
    page = r.get_data(as_text=True)
    assert r.status_code == 200, page
    assert "已部署“道路维修”第 1 版" in page and 'href="/processes/road_repair/model"' in page
    r = upload(analyst, "road_repair.zip", buf.getvalue())
    assert "内容与“道路维修”第 1 版相同，未生成新版本" in r.get_data(as_text=True)


def test_upload_from_the_process_list_shows_every_error_on_its_element(app):
    analyst = web_login(app, "analyst")
    xml = with_user_task(blank(analyst, page_token(analyst)).json["bpmn"], form="missing.schema.json")
    xml = xml.replace('name="县级部门">', 'name="值班室">').replace('id="end" name="办结">',
                                                                   'id="end" name="办结"><bpmn:extensionElements>'
                                                                   '<spiffworkflow:properties><spiffworkflow:property '
                                                                   'name="caseStatus" value="finished" />'
                                                                   '</spiffworkflow:properties></bpmn:extensionElements>')
    r = upload(analyst, "road_repair.bpmn", xml.encode())
    page = r.get_data(as_text=True)
    assert r.status_code == 422
    rows = re.findall(r'<tr data-element-id="([^"]+)">', page)
    assert "repair" in rows and "end" in rows, page
    assert "值班室" in page and "finished" not in re.sub(r"<code[^>]*>[^<]*</code>", "", page.split('id="errors"')[0])


@pytest.mark.parametrize("name, data", [(None, b""), ("notes.txt", b"hello"), ("a.zip", b"PK\x03\x04broken"),
                                        ("a.bpmn", b"\xff\xfe<<"), ("a.bpmn", b"")])
def test_upload_from_the_process_list_refuses_bad_files_in_chinese(app, name, data):
    analyst = web_login(app, "analyst")
    page = analyst.get("/processes").get_data(as_text=True)
    form = {"csrf_token": csrf_token(page)}
    if name:
        form["file"] = (io.BytesIO(data), name)
    r = analyst.post("/processes/upload", data=form, content_type="multipart/form-data")
    assert r.status_code in (400, 422), r.status_code
    assert '<div class="flash error" role="alert">' in r.get_data(as_text=True)


def test_upload_is_for_analysts_only(app):
    for name in ("town_a", "admin"):
        other = web_login(app, name)
        page = other.get("/processes").get_data(as_text=True) if name == "admin" else ""
        assert 'action="/processes/upload"' not in page
        token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"',
                          other.get("/account/password").get_data(as_text=True))
        r = other.post("/processes/upload", data={"csrf_token": token.group(1) if token else "",
                                                  "file": (io.BytesIO(b"<a/>"), "a.bpmn")},
                       content_type="multipart/form-data")
        assert r.status_code == 403, r.status_code


def test_blank_template_opens_in_bpmn_io(app, tmp_path):
    """The blank drawing as the modeller gets it, kept under tests/bpmn/browser/ for check.sh."""
    analyst = web_login(app, "analyst")
    xml = blank(analyst, page_token(analyst), lanes=["township", "center", "department", "supervisor"]).json["bpmn"]
    kept = Path(__file__).parent / "bpmn" / "browser" / "blank_road_repair.bpmn"
    assert kept.read_text(encoding="utf-8") == xml


def _renamed(xml, suffix="_b"):
    """The same drawing with every element id but the process's renamed: to Huying, another process
    that happens to use the same process id (as every bpmn.io file starts as Process_1)."""
    from lxml import etree
    root = etree.fromstring(xml.encode())
    keep = {p.get("id") for p in root.iter("{http://www.omg.org/spec/BPMN/20100524/MODEL}process")}
    ids = {el.get("id") for el in root.iter() if isinstance(el.tag, str) and el.get("id") and el.get("id") not in keep}
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        for attr in ("id", "sourceRef", "targetRef", "bpmnElement", "attachedToRef", "default"):
            if el.get(attr) in ids:
                el.set(attr, el.get(attr) + suffix)
        if etree.QName(el).localname in ("incoming", "outgoing", "flowNodeRef") and (el.text or "").strip() in ids:
            el.text = el.text.strip() + suffix
    return etree.tostring(root, encoding="unicode")


def test_upload_from_the_process_list_asks_before_replacing_an_unrelated_process(app):
    """A file under an existing process id sharing no element with it is refused (409, said on the
    page) until the analyst ticks 确认作为同名流程的新版本; the roles field reaches the domain."""
    analyst = web_login(app, "analyst")
    xml = with_user_task(blank(analyst, page_token(analyst)).json["bpmn"])
    assert upload(analyst, "road_repair.bpmn", xml.encode()).status_code == 200
    other = _renamed(xml)
    r = upload(analyst, "other.bpmn", other.encode())
    page = r.get_data(as_text=True)
    assert r.status_code == 409, page
    assert "道路维修" in page and "Process_1" in page
    with app.app_context():
        assert processes.latest_version("road_repair").version == 1
    page = analyst.get("/processes").get_data(as_text=True)
    r = analyst.post("/processes/upload", data={"csrf_token": csrf_token(page), "new_version": "true",
                                                "roles": '{"财务科": "department"}',
                                                "file": (io.BytesIO(other.encode()), "other.bpmn")},
                     content_type="multipart/form-data")
    assert r.status_code == 200 and "已部署“道路维修”第 2 版" in r.get_data(as_text=True), r.get_data(as_text=True)
    with app.app_context():
        assert processes.latest_version("road_repair").version == 2
    r = analyst.post("/processes/upload", data={"csrf_token": csrf_token(page), "roles": "{不是 JSON",
                                                "file": (io.BytesIO(other.encode()), "other.bpmn")},
                     content_type="multipart/form-data")
    assert r.status_code == 422 and '<div class="flash error" role="alert">' in r.get_data(as_text=True)
