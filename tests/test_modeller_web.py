"""流程 in the browser, without a browser: the analyst's list of processes and versions, the
modeller page and its JSON deploy (session + X-CSRFToken, as the page's script sends it), the
differences between two versions and moving open cases to a new version."""
import html as html_lib
import json
import re

import pytest

from app import processes
from app.extensions import db
from app.models import Case
from helpers import case_of, csrf_token, links_asset, raise_call, web_login

PROCESS = "call_response"


def modeller_page(client, process_id=PROCESS):
    """(csrf token of the <meta>, the container's data attributes) of the modeller page."""
    r = client.get(f"/processes/{process_id}/model")
    assert r.status_code == 200, r.status_code
    page = r.get_data(as_text=True)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)">', page).group(1)
    container = re.search(r'<div id="modeler"[^>]*>', page, re.S).group(0)
    found = re.findall(r'data-([a-z-]+)=(?:"([^"]*)"|\'([^\']*)\')', container)
    attrs = {k: html_lib.unescape(a or b) for k, a, b in found}
    return token, attrs


def current_bpmn(client, attrs):
    r = client.get(attrs["bpmn-url"])
    assert r.status_code == 200
    return r.get_data(as_text=True)


def deploy(client, xml, token, process_id=PROCESS):
    return client.post(f"/processes/{process_id}/deploy", json={"bpmn": xml}, headers={"X-CSRFToken": token})


def newest(app, process_id=PROCESS):
    with app.app_context():
        return processes.latest_version(process_id).version


def renamed(xml, old="受理", new="受理登记"):
    changed = xml.replace(f'id="accept" name="{old}"', f'id="accept" name="{new}"')
    assert changed != xml
    return changed


def with_added_step(xml):
    """A throw event 登记收件 put between the merge gateway and 受理 (no diagram shape needed to deploy)."""
    xml = xml.replace('<bpmn:sequenceFlow id="flow_to_accept" sourceRef="gw_accept_merge" targetRef="accept" />',
                      '<bpmn:sequenceFlow id="flow_to_accept" sourceRef="gw_accept_merge" targetRef="log_received" />'
                      '<bpmn:intermediateThrowEvent id="log_received" name="登记收件">'
                      '<bpmn:incoming>flow_to_accept</bpmn:incoming><bpmn:outgoing>flow_logged</bpmn:outgoing>'
                      '</bpmn:intermediateThrowEvent>'
                      '<bpmn:sequenceFlow id="flow_logged" sourceRef="log_received" targetRef="accept" />')
    outgoing = "\n      <bpmn:outgoing>flow_accept_done</bpmn:outgoing>"
    xml = xml.replace("<bpmn:incoming>flow_to_accept</bpmn:incoming>" + outgoing,
                      "<bpmn:incoming>flow_logged</bpmn:incoming>" + outgoing)
    xml = xml.replace('<bpmn:flowNodeRef>accept</bpmn:flowNodeRef>',
                      '<bpmn:flowNodeRef>log_received</bpmn:flowNodeRef><bpmn:flowNodeRef>accept</bpmn:flowNodeRef>')
    assert xml.count("log_received") == 4 and xml.count("flow_logged") == 3
    return xml


def test_analyst_sees_the_processes_with_their_versions_and_counts(app, users):
    raise_call(users)
    raise_call(users, title="岱庙街道积水点")
    analyst = web_login(app, "analyst")
    r = analyst.get("/processes")
    page = r.get_data(as_text=True)
    assert r.status_code == 200
    assert re.search(r'<a href="/processes" class="on">流程</a>', page)           # the nav link, current
    for pid in ("call_response", "duty_sinking", "list_change"):
        assert f'id="p-{pid}"' in page
        assert f'href="/processes/{pid}/model"' in page
        assert f'href="/processes/{pid}/versions/1.bpmn"' in page
    section = page[page.index('id="p-call_response"'):]
    section = section[:section.index("</section>")]
    assert "乡呼县应" in section and "最新第 1 版" in section and "办理中 2 件 / 共 2 件" in section
    row = re.search(r'<tr data-version="1">.*?</tr>', section, re.S).group(0)
    assert 'data-open="2"' in row and 'data-cases="2"' in row and "系统" in row
    assert ">建模<" in section and "查看 BPMN" in section


@pytest.mark.parametrize("username", ["town_a", "center", "supervisor", "dept_zf"])
def test_only_analysts_get_the_process_pages(app, username):
    client = web_login(app, username)
    inbox = client.get("/").get_data(as_text=True)
    assert 'href="/processes"' not in inbox
    for path in ("/processes", f"/processes/{PROCESS}/model", f"/processes/{PROCESS}/diff",
                 f"/processes/{PROCESS}/migration?from=1&to=1"):
        assert client.get(path).status_code == 403, path
    r = deploy(client, "<x/>", csrf_token(inbox))
    assert r.status_code == 403 and r.json["error"] == "forbidden"
    assert client.post(f"/processes/{PROCESS}/migration?from=1&to=1",
                       data={"csrf_token": csrf_token(inbox), "case_id": "1"}).status_code == 403
    assert newest(app) == 1


def test_anonymous_is_sent_to_login(client):
    r = client.get("/processes")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_modeller_page_carries_the_model_the_forms_and_the_deploy_url(app):
    analyst = web_login(app, "analyst")
    token, attrs = modeller_page(analyst)
    assert token
    assert attrs["bpmn-url"] == f"/processes/{PROCESS}/versions/1.bpmn"
    assert attrs["deploy-url"] == f"/processes/{PROCESS}/deploy"
    forms = json.loads(attrs["forms"])
    assert forms == sorted(forms)                        # by file, each with its title for the panel
    assert ["call_accept.schema.json", "受理"] in forms and ["dept_rate.schema.json", "一呼一评"] in forms
    options = json.loads(attrs["options"])
    assert ["center", "响应中心"] in options["roles"]
    assert {c for c, _ in options["caseStatus"]} == {"closed", "rejected", "refused"}
    assert "remind" in {c for c, _ in options["escalation"]}
    page = analyst.get(f"/processes/{PROCESS}/model").get_data(as_text=True)
    for asset in ("dist/modeler.js", "dist/diagram-js.css", "dist/bpmn-js.css", "dist/bpmn-font/css/bpmn.css"):
        assert links_asset(page, asset)
    assert analyst.get("/processes/no_such_process/model").status_code == 404


def test_deploying_a_changed_model_makes_version_2(app):
    analyst = web_login(app, "analyst")
    token, attrs = modeller_page(analyst)
    xml = renamed(current_bpmn(analyst, attrs))

    r = deploy(analyst, xml, token)
    assert r.status_code == 201, r.get_data(as_text=True)
    assert r.json == {"process_id": PROCESS, "version": 2, "created": True, "deploy_url": f"/processes/{PROCESS}/deploy",
                      "model_url": f"/processes/{PROCESS}/model", "versions_url": f"/processes#p-{PROCESS}",
                      "report": []}
    with app.app_context():
        row = processes.latest_version(PROCESS)
        assert row.version == 2 and row.deployed_by == "analyst" and 'name="受理登记"' in row.bpmn
        assert processes.definition(row).names["accept"] == "受理登记"
        assert "call_accept.schema.json" in row.forms            # forms carried over from version 1

    # the same content again creates nothing
    r = deploy(analyst, xml, token)
    assert r.status_code == 200 and {k: r.json[k] for k in ("process_id", "version", "created")} == \
        {"process_id": PROCESS, "version": 2, "created": False}
    # the modeller now opens version 2
    _, attrs = modeller_page(analyst)
    assert attrs["bpmn-url"] == f"/processes/{PROCESS}/versions/2.bpmn"
    page = analyst.get("/processes").get_data(as_text=True)
    assert "最新第 2 版" in page and 'data-version="2"' in page
    assert f'href="/processes/{PROCESS}/diff?from=1&amp;to=2"' in page


def test_deploy_needs_the_csrf_token(app):
    analyst = web_login(app, "analyst")
    _, attrs = modeller_page(analyst)
    xml = renamed(current_bpmn(analyst, attrs))
    assert analyst.post(f"/processes/{PROCESS}/deploy", json={"bpmn": xml}).status_code == 400
    assert deploy(analyst, xml, "not-the-token").status_code == 400
    assert newest(app) == 1


@pytest.mark.parametrize("case", ["task_out_of_every_lane", "reserved_id", "other_process_id", "not_xml", "empty"])
def test_an_invalid_model_is_refused_with_its_element_ids(app, case):
    analyst = web_login(app, "analyst")
    token, attrs = modeller_page(analyst)
    xml = renamed(current_bpmn(analyst, attrs))
    if case == "task_out_of_every_lane":
        xml, expected = xml.replace("<bpmn:flowNodeRef>accept</bpmn:flowNodeRef>", ""), {"accept"}
    elif case == "reserved_id":
        xml, expected = xml.replace('"start_call"', '"Start"').replace(">start_call<", ">Start<"), {"Start"}
    elif case == "other_process_id":
        xml = xml.replace('id="call_response"', 'id="call_response_2"').replace('processRef="call_response"',
                                                                             'processRef="call_response_2"')
        expected = {"call_response_2"}
    elif case == "not_xml":
        xml, expected = "<bpmn:definitions", set()
    else:
        xml, expected = "  ", set()
    r = deploy(analyst, xml, token)
    assert r.status_code == 422, r.get_data(as_text=True)
    errors = r.json["errors"]
    assert errors and all(e["message"] for e in errors)
    assert {e.get("element_id") for e in errors if e.get("element_id")} == expected
    if case == "task_out_of_every_lane":
        assert "不在任何泳道中" in errors[0]["message"] and "受理登记" in errors[0]["message"]
    assert newest(app) == 1


def test_diff_page_shows_what_was_added_removed_and_changed(app):
    analyst = web_login(app, "analyst")
    token, attrs = modeller_page(analyst)
    xml = with_added_step(renamed(current_bpmn(analyst, attrs)))
    assert deploy(analyst, xml, token).status_code == 201

    r = analyst.get(f"/processes/{PROCESS}/diff")                    # by default: newest against the one before
    page = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "第 1 版 → 第 2 版" in page
    added = re.search(r'<section class="dl-diff d-added" id="added">.*?</section>', page, re.S).group(0)
    assert re.findall(r'<tr data-element-id="([^"]+)">', added) == ["flow_logged", "log_received"]
    assert "登记收件" in added and "中间事件（抛出）" in added and "响应中心" in added
    assert 'id="removed"' not in page
    changed = re.search(r'<section class="dl-diff d-amber" id="changed">.*', page, re.S).group(0)
    assert re.findall(r'<article class="card dl-change pr-change" data-element-id="([^"]+)">', changed) == \
        ["accept", "flow_to_accept"]
    assert re.search(r'<del class="pre">受理</del>.*?<ins class="pre">受理登记</ins>', changed, re.S)
    assert re.search(r'<del class="pre">accept</del>.*?<ins class="pre">log_received</ins>', changed, re.S)
    # the two diagrams, marked
    old = re.search(r'<div class="diagram" id="diagram-old"[^>]*>', page, re.S).group(0)
    new = re.search(r'<div class="diagram" id="diagram-new"[^>]*>', page, re.S).group(0)
    assert f'data-bpmn-url="/processes/{PROCESS}/versions/1.bpmn"' in old and 'data-highlight=""' in old
    assert 'data-changed="accept,flow_to_accept"' in old
    assert 'data-focus="flow_logged,log_received,accept,flow_to_accept"' in old
    assert f'data-bpmn-url="/processes/{PROCESS}/versions/2.bpmn"' in new
    assert 'data-done="flow_logged,log_received"' in new and 'data-changed="accept,flow_to_accept"' in new
    assert links_asset(page, "dist/diagram.js")

    # the other way round, the new step is removed
    page = analyst.get(f"/processes/{PROCESS}/diff?from=2&to=1").get_data(as_text=True)
    removed = re.search(r'<section class="dl-diff d-removed" id="removed">.*?</section>', page, re.S).group(0)
    assert re.findall(r'<tr data-element-id="([^"]+)">', removed) == ["flow_logged", "log_received"]
    # versions that do not exist
    assert analyst.get(f"/processes/{PROCESS}/diff?from=1&to=9").status_code == 404
    assert analyst.get(f"/processes/{PROCESS}/diff?from=x&to=2").status_code == 404
    assert analyst.get("/processes/nope/diff").status_code == 404


def test_open_case_moves_to_the_new_version(app, users):
    case_id = raise_call(users)                                      # waiting at 受理 on version 1
    analyst = web_login(app, "analyst")
    token, attrs = modeller_page(analyst)
    assert deploy(analyst, renamed(current_bpmn(analyst, attrs)), token).status_code == 201

    page = analyst.get("/processes").get_data(as_text=True)
    assert f'href="/processes/{PROCESS}/migration?from=1&amp;to=2"' in page
    r = analyst.get(f"/processes/{PROCESS}/migration?from=1&to=2")
    page = r.get_data(as_text=True)
    assert r.status_code == 200
    row = re.search(rf'<tr data-case-id="{case_id}" data-movable="(\w+)">.*?</tr>', page, re.S)
    assert row and row.group(1) == "yes" and "受理" in row.group(0) and "可迁移" in row.group(0)
    assert f'name="case_id" value="{case_id}" checked' in row.group(0)

    r = analyst.post(f"/processes/{PROCESS}/migration?from=1&to=2",
                     data={"csrf_token": csrf_token(page), "case_id": str(case_id)})
    assert r.status_code == 302
    page = analyst.get(r.headers["Location"]).get_data(as_text=True)
    assert f"已迁移 1 件案件到第 2 版：#{case_id}" in page
    assert 'id="no-cases"' in page                                    # nothing left on version 1
    assert case_of(users["town_a"], case_id)["process_version"] == 2
    # the case goes on under version 2: its task now carries the new name
    task = users["center"].task(case_id)
    users["center"].complete(task, {"accepted": True})
    assert users["center"].task(case_id, "研判派单")
    page = analyst.get("/processes").get_data(as_text=True)
    section = page[page.index('id="p-call_response"'):]
    assert re.search(r'<tr data-version="2">.*?data-open="1".*?</tr>', section, re.S)
    assert re.search(r'<tr data-version="1">.*?data-open="0".*?</tr>', section, re.S)


def test_case_whose_task_is_gone_stays(app, users):
    case_id = raise_call(users)
    analyst = web_login(app, "analyst")
    token, attrs = modeller_page(analyst)
    xml = current_bpmn(analyst, attrs)
    xml = xml.replace('"accept"', '"accept_call"').replace(">accept<", ">accept_call<")
    assert deploy(analyst, xml, token).status_code == 201

    page = analyst.get(f"/processes/{PROCESS}/migration").get_data(as_text=True)   # default: 1 -> newest
    row = re.search(rf'<tr data-case-id="{case_id}" data-movable="(\w+)">.*?</tr>', page, re.S)
    assert row.group(1) == "no" and "accept" in row.group(0) and 'name="case_id"' not in row.group(0)
    assert re.search(r'<button type="submit" class="primary" disabled>', page)
    r = analyst.post(f"/processes/{PROCESS}/migration?from=1&to=2",
                     data={"csrf_token": csrf_token(page), "case_id": str(case_id)}, follow_redirects=True)
    page = r.get_data(as_text=True)
    assert f"1 件案件留在第 1 版：#{case_id}（" in page
    with app.app_context():
        assert db.session.get(Case, case_id).process_version == 1
    # nothing chosen
    r = analyst.post(f"/processes/{PROCESS}/migration?from=1&to=2", data={"csrf_token": csrf_token(page)},
                     follow_redirects=True)
    assert "请选择要迁移的案件" in r.get_data(as_text=True)
    # no CSRF token
    r = analyst.post(f"/processes/{PROCESS}/migration?from=1&to=2", data={"case_id": str(case_id)})
    assert r.status_code == 400


def test_the_diff_compares_instructions_documentation_lanes_and_forms(app, users):
    """受理's instructions edited, documentation added to 研判派单, a lane renamed, a form's field
    retitled: the diff says each of them (it used to call such versions identical)."""
    import io
    import zipfile
    from pathlib import Path
    from helpers import upload
    root = Path(__file__).resolve().parents[1]
    xml = (root / "processes" / "call_response.bpmn").read_text(encoding="utf-8")
    xml = re.sub(r'(<bpmn:userTask id="accept" name="受理">\s*<bpmn:extensionElements>\s*'
                 r'<spiffworkflow:instructionsForEndUser>)[^<]*', r"\1核实后受理。", xml)
    xml = xml.replace('<bpmn:userTask id="dispatch" name="研判派单">',
                      '<bpmn:userTask id="dispatch" name="研判派单"><bpmn:documentation>按清单派单</bpmn:documentation>')
    xml = xml.replace('<bpmn:lane id="lane_center" name="响应中心">', '<bpmn:lane id="lane_center" name="center">')
    form = json.loads((root / "forms" / "call_accept.schema.json").read_text(encoding="utf-8"))
    name, prop = next(iter(form["properties"].items()))
    old_title, prop["title"] = prop.get("title"), "是否受理（新）"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("call_response.bpmn", xml)
        z.writestr("forms/call_accept.schema.json", json.dumps(form, ensure_ascii=False))
    assert upload(users["analyst"], "bundle.zip", buf.getvalue(), "application/zip").status_code == 201

    diff = users["analyst"].get(f"/processes/{PROCESS}/diff?from=1&to=2").json
    changed = {c["element_id"]: c["fields"] for c in diff["changed"]}
    assert changed["accept"]["instructionsForEndUser"]["new"] == "核实后受理。"
    assert changed["accept"]["lane"] == {"old": "响应中心", "new": "center"}
    assert changed["dispatch"]["documentation"] == {"old": None, "new": "按清单派单"}
    assert changed["lane_center"] == {"name": {"old": "响应中心", "new": "center"}}
    assert diff["forms"]["changed"] == [{"file": "call_accept.schema.json", "fields": {
        f"properties.{name}.title": {"old": old_title, "new": "是否受理（新）"}}}]

    page = web_login(app, "analyst").get(f"/processes/{PROCESS}/diff?from=1&to=2").get_data(as_text=True)
    assert 'id="no-change"' not in page
    assert re.search(r'<tr data-field="instructionsForEndUser">\s*<th scope="row">办理说明</th>.*?核实后受理。', page, re.S)
    assert re.search(r'<tr data-field="documentation">\s*<th scope="row">说明文档</th>', page, re.S)
    forms = re.search(r'<section class="dl-diff d-amber" id="forms-changed">.*?</section>', page, re.S).group(0)
    assert "<th scope=\"row\">“是否受理（新）” · 标题</th>" in forms and f"<del class=\"pre\">{old_title}</del>" in forms
