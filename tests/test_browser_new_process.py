"""A new process from the browser, in a real browser: the analyst names it and picks its lanes, draws
a user task into a lane of the blank drawing, deploys it, sees it in the list, and a township starts
a case of it through the API; opens a .zip from disk (its form goes with the deploy); deploys a broken
file and sees every problem listed and marked on its element; uploads from the process list. At
phone (390 px) and desktop (1366 px) size, every page in Chinese.

Set HUYING_SCREENSHOTS=<folder> to also write new-process-*.png, open-file-*.png, refused-*.png and
process-list-upload-*.png there."""
import io
import json
import re
import zipfile

import pytest

from browser_support import (ASCII_ALLOWED, PAGE_PROBLEMS, base_url, browser, login,  # noqa: F401 - fixtures
                             require_browser, screenshot)

sync_api = require_browser()
expect = sync_api.expect

from app import processes  # noqa: E402
from app.new_processes import _drawing  # noqa: E402

BUNDLES = ("modeler.js",)
pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"])]
VIEWPORT = {"width": 1366, "height": 768}
DEVICES = {
    "desktop": {"viewport": {"width": 1366, "height": 768}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}
FORM = {"title": "核查", "type": "object", "required": ["finding"],
        "properties": {"finding": {"type": "string", "title": "核查结果"}}}


def problems(page, width, touch=False, ascii=True):
    """PAGE_PROBLEMS; ascii=False where the page quotes the server's messages, which name the codes a file holds."""
    return page.evaluate(PAGE_PROBLEMS, {"width": width, "touch": touch,
                                         "allowed": list(ASCII_ALLOWED) if ascii else None})


def drawing(pid="pothole", name="坑洼报修", task_lane="department", form=None, lane_name=None, case_status=None):
    """A drawing in the style of the blank template, with a user task 核查 in `task_lane`."""
    xml = _drawing(pid, name, ["township", "center", "department"], "township")
    props = ""
    if form:
        props = (f'<bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property '
                 f'name="formJsonSchemaFilename" value="{form}" /></spiffworkflow:properties></bpmn:extensionElements>')
    xml = xml.replace('<bpmn:sequenceFlow id="flow_start_end" sourceRef="start" targetRef="end" />',
                      '<bpmn:sequenceFlow id="flow_start_end" sourceRef="start" targetRef="check" />'
                      f'<bpmn:userTask id="check" name="核查">{props}<bpmn:incoming>flow_start_end</bpmn:incoming>'
                      '<bpmn:outgoing>flow_checked</bpmn:outgoing></bpmn:userTask>'
                      '<bpmn:sequenceFlow id="flow_checked" sourceRef="check" targetRef="end" />')
    xml = xml.replace("<bpmn:incoming>flow_start_end</bpmn:incoming>\n    </bpmn:endEvent>",
                      "<bpmn:incoming>flow_checked</bpmn:incoming>\n    </bpmn:endEvent>")
    xml = xml.replace("        <bpmn:flowNodeRef>end</bpmn:flowNodeRef>\n", "")
    xml = xml.replace('<bpmn:lane id="lane_department" name="县级部门"></bpmn:lane>',
                      '<bpmn:lane id="lane_department" name="县级部门"><bpmn:flowNodeRef>check</bpmn:flowNodeRef>'
                      '<bpmn:flowNodeRef>end</bpmn:flowNodeRef></bpmn:lane>')
    if lane_name:
        xml = xml.replace('name="县级部门"', f'name="{lane_name}"')
    if case_status:
        xml = xml.replace('<bpmn:endEvent id="end" name="办结">',
                          '<bpmn:endEvent id="end" name="办结"><bpmn:extensionElements><spiffworkflow:properties>'
                          f'<spiffworkflow:property name="caseStatus" value="{case_status}" />'
                          '</spiffworkflow:properties></bpmn:extensionElements>')
    # shapes for the task, and the end moved into the department's lane
    y = 80 + 2 * 160 + 80
    xml = re.sub(r'(<bpmndi:BPMNShape id="end_di" bpmnElement="end">\s*<dc:Bounds x=")(\d+)(" y=")(\d+)',
                 lambda m: f"{m.group(1)}{m.group(2)}{m.group(3)}{y - 18}", xml)
    xml = re.sub(r'(<bpmndi:BPMNShape id="end_di".*?<bpmndi:BPMNLabel><dc:Bounds x="\d+" y=")(\d+)',
                 lambda m: f"{m.group(1)}{y + 25}", xml, flags=re.S)
    xml = re.sub(r'<bpmndi:BPMNEdge id="flow_start_end_di".*?</bpmndi:BPMNEdge>',
                 '<bpmndi:BPMNShape id="check_di" bpmnElement="check"><dc:Bounds x="360" y="'
                 f'{y - 40}" width="100" height="80" /></bpmndi:BPMNShape>'
                 '<bpmndi:BPMNEdge id="flow_start_end_di" bpmnElement="flow_start_end"><di:waypoint x="288" y="160" />'
                 f'<di:waypoint x="410" y="160" /><di:waypoint x="410" y="{y - 40}" /></bpmndi:BPMNEdge>'
                 '<bpmndi:BPMNEdge id="flow_checked_di" bpmnElement="flow_checked"><di:waypoint x="460" y="'
                 f'{y}" /><di:waypoint x="652" y="{y}" /></bpmndi:BPMNEdge>', xml, flags=re.S)
    return xml


def zipped(files):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in files.items():
            z.writestr(name, text)
    return buf.getvalue()


def new_page(page):
    page.goto("/processes")
    page.get_by_role("link", name="新建流程").click()
    expect(page).to_have_url(re.compile(r"/processes/new$"))
    dialog = page.locator("dialog.md-new")
    expect(dialog).to_be_visible()
    return dialog


def test_analyst_creates_a_process_draws_a_user_task_deploys_and_a_case_starts(app, users, login):
    page = login("analyst")
    dialog = new_page(page)
    screenshot(page, "new-process-desktop.png", full_page=False)
    assert problems(page, 1366) == []
    dialog.get_by_label("流程标识").fill("call_response")           # taken
    dialog.get_by_label("流程名称").fill("道路巡查")
    dialog.get_by_label("督查室").uncheck()
    dialog.get_by_label("发起案件的角色").select_option(label="乡镇")
    dialog.get_by_role("button", name="创建").click()
    expect(dialog.locator('.error[data-field="process_id"]')).to_contain_text("已有流程标识为 call_response 的流程")
    dialog.get_by_label("流程标识").fill("road_patrol")
    dialog.get_by_role("button", name="创建").click()
    expect(dialog).to_be_hidden()

    modeler = page.locator("#modeler.md-ready")
    for lane in ("乡镇", "响应中心", "县级部门"):
        expect(modeler.locator(".djs-element.djs-shape", has_text=lane).first).to_be_visible()
    expect(modeler.locator('.djs-element[data-element-id="lane_supervisor"]')).to_have_count(0)
    expect(modeler.locator('.djs-element[data-element-id="start"]')).to_be_visible()

    # a task from the palette dropped on the flow start -> end, then made a user task
    flow = modeler.locator('.djs-element[data-element-id="flow_start_end"]')
    box = flow.evaluate("e => { const r = e.getBoundingClientRect(); return {x: r.x + r.width / 2, y: r.y + r.height / 2}; }")
    modeler.locator('.djs-palette [data-action="create.task"]').click()
    page.mouse.move(box["x"] - 5, box["y"])
    page.mouse.click(box["x"], box["y"])
    panel = modeler.locator(".md-panel")
    expect(panel.locator(".md-type")).to_have_text("任务")
    task_id = panel.locator(".md-id .md-value").inner_text()
    page.keyboard.press("Escape")                                      # no label typed on the canvas
    page.locator('.djs-context-pad .entry[data-action="replace"]').click()
    page.locator('.djs-popup [data-id="replace-with-user-task"]').click()
    expect(panel.locator(".md-type")).to_have_text("用户任务")
    panel.get_by_label("名称", exact=True).fill("现场巡查")
    task_id = panel.locator(".md-id .md-value").inner_text()
    expect(modeler.locator(f'.djs-element[data-element-id="{task_id}"]')).to_contain_text("现场巡查")
    expect(panel).to_contain_text("乡镇")                              # the lane it was dropped into
    # bpmnlint: the user task in the lane 乡镇 is fine; nothing is marked as an error
    expect(modeler.locator(".bjsl-button")).to_be_visible()
    expect(modeler.locator(".bjsl-button")).to_have_text("没有发现问题")

    modeler.get_by_role("button", name="部署", exact=True).click()
    status = modeler.locator(".md-status.md-ok")
    expect(status).to_contain_text("已部署为第 1 版")
    assert page.errors == []
    with app.app_context():
        row = processes.latest_version("road_patrol")
        assert row.name == "道路巡查" and row.start_role == "township" and row.deployed_by == "analyst"
    # the page now deploys versions of road_patrol: a second deploy of the same drawing creates nothing
    modeler.get_by_role("button", name="部署", exact=True).click()
    expect(status).to_contain_text("内容与第 1 版相同")
    status.get_by_role("link", name="查看版本").click()
    expect(page.locator("#p-road_patrol")).to_contain_text("道路巡查")

    r = users["town_a"].post("/cases", json={"process_id": "road_patrol", "data": {"title": "巡查村道"}})
    assert r.status_code == 201, r.json
    users["town_a"].complete(users["town_a"].task(r.json["id"], "现场巡查"), {})
    assert users["town_a"].get(f"/cases/{r.json['id']}").json["status"] == "closed"


@pytest.mark.parametrize("device", DEVICES)
def test_a_zip_opened_from_disk_deploys_with_its_form(app, users, login, device, tmp_path):
    page = login("analyst", **DEVICES[device])
    dialog = new_page(page)
    width = DEVICES[device]["viewport"]["width"]
    found = problems(page, width, device == "phone")
    assert found == [], "\n".join(found)
    screenshot(page, f"new-process-{device}.png", full_page=False)
    path = tmp_path / "pothole.zip"
    path.write_bytes(zipped({"pothole/pothole.bpmn": drawing(form="check.schema.json"),
                             "pothole/forms/check.schema.json": json.dumps(FORM, ensure_ascii=False),
                             "pothole/README.txt": "not deployed"}))
    dialog.locator("input[type=file]").set_input_files(str(path))
    expect(dialog).to_be_hidden()
    modeler = page.locator("#modeler.md-ready")
    expect(modeler.locator('.djs-element[data-element-id="check"]')).to_contain_text("核查")
    expect(modeler.locator(".md-status")).to_contain_text("已打开 pothole.zip")
    expect(modeler.locator(".md-carried")).to_contain_text("check.schema.json")
    expect(modeler.locator(".md-carried")).not_to_contain_text("README")
    screenshot(page, f"open-file-{device}.png", full_page=False)
    found = problems(page, width, device == "phone")
    assert found == [], "\n".join(found)
    modeler.get_by_role("button", name="部署", exact=True).click()
    expect(modeler.locator(".md-status.md-ok")).to_contain_text("已部署为第 1 版")
    with app.app_context():
        assert list(processes.latest_version("pothole").forms) == ["check.schema.json"]
    r = users["town_a"].post("/cases", json={"process_id": "pothole", "data": {"title": "坑洼"}})
    assert r.status_code == 201, r.json
    task = users["dept_zf"].task(r.json["id"], "核查")
    assert users["dept_zf"].complete(task, {"finding": "已修补"})
    assert page.errors == []


@pytest.mark.parametrize("device", DEVICES)
def test_a_broken_file_shows_every_error_listed_and_marked(app, login, device, tmp_path):
    page = login("analyst", **DEVICES[device])
    dialog = new_page(page)
    path = tmp_path / "broken.bpmn"
    path.write_text(drawing(form="missing.schema.json", lane_name="值班室", case_status="finished"), encoding="utf-8")
    dialog.locator("input[type=file]").set_input_files(str(path))
    modeler = page.locator("#modeler.md-ready")
    # bpmnlint says it while the analyst looks: the task's lane is no role
    expect(modeler.locator('.djs-overlays[data-container-id="check"] .bjsl-overlay')).to_have_count(1)
    expect(modeler.locator(".bjsl-button")).to_contain_text("个错误")
    modeler.get_by_role("button", name="部署", exact=True).click()
    refused = modeler.locator(".md-messages .flash.error")
    expect(refused).to_contain_text("校验未通过，未部署")
    items = refused.locator("li")
    expect(items.first).to_be_visible()
    listed = items.evaluate_all("els => els.map(e => [e.dataset.elementId, e.textContent])")
    by_id = {}
    for element_id, text in listed:
        by_id.setdefault(element_id, []).append(text)
    assert "check" in by_id and "end" in by_id, listed
    assert any("值班室" in t for t in by_id["check"]), listed
    marked = set(modeler.locator(".djs-element.huying-invalid").evaluate_all("els => els.map(e => e.dataset.elementId)"))
    assert {"check", "end"} <= marked
    badges = modeler.locator(".md-error-badge")
    assert set(badges.evaluate_all("els => els.map(e => e.dataset.elementId)")) == marked
    refused.locator('li[data-element-id="end"] button').first.click()
    expect(modeler.locator(".md-panel .md-id .md-value")).to_have_text("end")
    screenshot(page, f"refused-{device}.png", full_page=False)
    width = DEVICES[device]["viewport"]["width"]
    found = problems(page, width, device == "phone", ascii=False)
    assert found == [], "\n".join(found)
    assert page.errors == []
    with app.app_context():
        assert processes.latest_version("pothole") is None


@pytest.mark.parametrize("device", DEVICES)
def test_upload_from_the_process_list(app, login, device, tmp_path):
    page = login("analyst", **DEVICES[device])
    width = DEVICES[device]["viewport"]["width"]
    page.goto("/processes")
    upload = page.locator("form#upload")
    expect(upload.get_by_role("button", name="上传并部署")).to_be_visible()
    # the file input is a Chinese button naming the chosen file, not the browser's "Choose File"
    picker = upload.locator(".file-picker")
    expect(picker.locator("label.button")).to_have_text("选择文件…")
    expect(picker.locator("label.button")).to_be_visible()
    expect(picker.locator(".file-picker-name")).to_have_text("未选择文件")
    hidden = upload.locator("input[type=file]").bounding_box()          # the native control: visually hidden
    assert hidden["width"] <= 1 and hidden["height"] <= 1, hidden
    upload.get_by_role("button", name="上传并部署").click()           # no file: said here, in Chinese
    expect(picker.locator(".file-picker-name.error")).to_have_text("请先选择流程文件")
    expect(page).to_have_url(re.compile(r"/processes$"))
    found = problems(page, width, device == "phone")
    assert found == [], "\n".join(found)
    screenshot(page, f"process-list-upload-{device}.png", full_page=False)
    broken = tmp_path / "broken.bpmn"
    broken.write_text(drawing(form="missing.schema.json", lane_name="值班室", case_status="finished"), encoding="utf-8")
    upload.get_by_label("上传流程文件").set_input_files(str(broken))
    expect(picker.locator(".file-picker-name")).to_have_text("broken.bpmn")
    found = problems(page, width, device == "phone")
    assert found == [], "\n".join(found)
    upload.get_by_role("button", name="上传并部署").click()
    rows = page.locator("#errors tbody tr")
    expect(rows.first).to_be_visible()
    assert {"check", "end"} <= set(rows.evaluate_all("els => els.map(e => e.dataset.elementId)"))
    # ascii=False: the refusals quote the file's codes (caseStatus, forms/), app/engine/definitions.py's messages
    found = problems(page, width, device == "phone", ascii=False)
    assert found == [], "\n".join(found)
    screenshot(page, f"process-upload-refused-{device}.png")
    good = tmp_path / "pothole.zip"
    good.write_bytes(zipped({"pothole.bpmn": drawing(form="check.schema.json"),
                             "check.schema.json": json.dumps(FORM, ensure_ascii=False)}))
    page.locator("form#upload").get_by_label("上传流程文件").set_input_files(str(good))
    page.locator("form#upload").get_by_role("button", name="上传并部署").click()
    expect(page.locator("#upload-result .flash.ok")).to_have_text("已部署“坑洼报修”第 1 版")
    page.get_by_role("link", name="查看版本").click()
    expect(page.locator("#p-pothole")).to_contain_text("坑洼报修")
    assert page.errors == []
