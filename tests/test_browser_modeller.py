"""流程 in a real browser: the analyst opens the bpmn.io modeller on call_response, renames the task
受理 in the side panel, deploys, and version 2 — saved by the modeller itself — runs the next call.

Runs Debian's Chromium (/usr/bin/chromium) through Playwright against the app served by waitress
on a free port, like test_browser_supervision.py. Set HUYING_SCREENSHOTS=<folder> to also write
`modeller.png` (the modeller after the deploy, 1280x900) there.
"""
import re
from pathlib import Path

import pytest

from browser_support import base_url, browser, login, require_browser, screenshot  # noqa: F401 - fixtures

sync_api = require_browser()
expect = sync_api.expect

from app import processes  # noqa: E402
from helpers import raise_call  # noqa: E402

BUNDLES = ('diagram.js', 'modeler.js')
pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"])]

VIEWPORT = {"width": 1280, "height": 900}


@pytest.fixture
def analyst(login):
    """A page logged in as the analyst (JavaScript errors collected in page.errors)."""
    return login("analyst")


def open_modeller(page):
    page.get_by_role("link", name="流程", exact=True).click()
    expect(page).to_have_url(re.compile(r"/processes$"))
    page.locator("#p-call_response").get_by_role("link", name="建模").click()
    expect(page).to_have_url(re.compile(r"/processes/call_response/model$"))
    modeler = page.locator("#modeler.md-ready")
    expect(modeler.locator(".djs-palette")).to_be_visible()           # the modeller, with its palette
    expect(modeler.locator(".md-canvas .diagram-error")).to_have_count(0)
    return modeler


def test_analyst_renames_a_task_and_deploys_version_2(app, users, analyst):
    page = analyst
    modeler = open_modeller(page)
    shape = modeler.locator('.djs-element.djs-shape[data-element-id="accept"]')
    expect(shape).to_contain_text("受理")
    panel = modeler.locator(".md-panel")
    expect(panel.locator(".md-hint")).to_be_visible()                  # nothing selected yet

    shape.click()
    expect(panel.locator(".md-id .md-value")).to_have_text("accept")
    expect(panel.locator(".md-type")).to_have_text("用户任务")
    expect(panel.get_by_label("表单", exact=True)).to_have_value("call_accept.schema.json")
    expect(panel).to_contain_text("响应中心")
    name = panel.get_by_label("名称", exact=True)
    expect(name).to_have_value("受理")
    name.fill("受理登记")
    expect(shape).to_contain_text("受理登记")                           # the diagram follows the panel
    expect(modeler.locator(".md-status")).to_have_text("有未部署的修改")

    modeler.get_by_role("button", name="部署", exact=True).click()
    message = modeler.locator(".md-status.md-ok")
    expect(message).to_contain_text("已部署为第 2 版")
    expect(message.get_by_role("link", name="查看版本")).to_have_attribute("href", "/processes#p-call_response")
    expect(modeler.locator(".md-messages .flash")).to_have_count(0)
    expect(page.locator("h1 .md-base")).to_have_text("第 2 版")
    screenshot(page, "modeller.png")
    assert page.errors == []

    # version 2 is the modeller's own XML: typed spiffworkflow extensions written back, references kept
    r = users["analyst"].get("/processes/call_response/versions")
    assert r.status_code == 200 and [v["version"] for v in r.json] == [2, 1]
    assert r.json[0]["deployed_by"] == "analyst"
    with app.app_context():
        v1, v2 = processes.version("call_response", 1), processes.version("call_response", 2)
        assert 'id="accept" name="受理登记"' in v2.bpmn and 'id="accept" name="受理"' in v1.bpmn
        for marker in ("<spiffworkflow:property ", "<spiffworkflow:instructionsForEndUser>", "<bpmn:loopDataInputRef>",
                       "<bpmn:conditionExpression ", "<bpmn:timeDate "):
            assert v2.bpmn.count(marker) == v1.bpmn.count(marker), marker
        assert v2.forms == v1.forms
        diff = processes.diff_versions(v1, v2)
        assert not diff["added"] and not diff["removed"]
        assert [(c["element_id"], c["fields"]) for c in diff["changed"]] == \
            [("accept", {"name": {"old": "受理", "new": "受理登记"}})]

    # the next call runs on version 2, with the renamed task
    case_id = raise_call(users)
    assert users["center"].task(case_id, "受理登记")

    # the versions page the message links to
    message.get_by_role("link", name="查看版本").click()
    expect(page.locator('#p-call_response tr[data-version="2"]')).to_contain_text("第 2 版")


def test_refused_model_marks_the_elements_in_error(app, analyst):
    page = analyst
    modeler = open_modeller(page)
    lane = modeler.locator('.djs-element.djs-shape[data-element-id="lane_center"]')
    box = lane.bounding_box()
    page.mouse.click(box["x"] + 15, box["y"] + box["height"] / 2)       # the lane's header strip
    panel = modeler.locator(".md-panel")
    expect(panel.locator(".md-id .md-value")).to_have_text("lane_center")
    name = panel.get_by_label("泳道名称（角色）")
    expect(name).to_have_value("响应中心")
    name.fill("值班室")
    expect(panel.locator(".md-lane-warning")).to_contain_text("不是已知角色")

    modeler.get_by_role("button", name="部署", exact=True).click()
    refused = modeler.locator(".md-messages .flash.error")
    expect(refused).to_contain_text("校验未通过，未部署")
    expect(refused.locator('li[data-element-id="accept"]')).to_contain_text("泳道“值班室”不是已知角色")
    invalid = modeler.locator(".djs-element.huying-invalid")
    expect(invalid.first).to_be_visible()
    marked = set(invalid.evaluate_all("els => els.map(e => e.dataset.elementId)"))
    assert {"accept", "dispatch", "review"} <= marked
    # the first refused element is selected, and the list selects the others
    expect(panel.locator(".md-id .md-value")).not_to_have_text("lane_center")
    refused.locator('li[data-element-id="review"] button').click()
    expect(panel.locator(".md-id .md-value")).to_have_text("review")
    assert page.errors == []
    with app.app_context():
        assert processes.latest_version("call_response").version == 1


def test_diff_page_draws_both_versions_with_the_change_marked(app, users, analyst):
    case_id = raise_call(users)
    with app.app_context():
        v1 = processes.version("call_response", 1)
        xml = v1.bpmn.replace('id="accept" name="受理"', 'id="accept" name="受理登记"')
        row, created = processes.deploy_files({"model.bpmn": xml.encode()}, "analyst")
        assert created and row.version == 2
    page = analyst
    page.goto("/processes")
    page.locator("#p-call_response").get_by_role("link", name="比较", exact=True).click()
    expect(page).to_have_url(re.compile(r"/processes/call_response/diff$"))
    for side in ("old", "new"):
        diagram = page.locator(f"#diagram-{side}")
        changed = diagram.locator("svg .huying-changed")
        expect(changed).to_have_count(1)
        expect(changed).to_have_attribute("data-element-id", "accept")
        expect(diagram.locator(".diagram-error")).to_have_count(0)
    expect(page.locator("#diagram-new svg .huying-changed")).to_contain_text("受理登记")
    expect(page.locator('#changed [data-element-id="accept"]')).to_contain_text("受理登记")

    # the open case of version 1 can move: its task 受理 is still there
    page.get_by_role("link", name="案件迁移").click()
    row = page.locator(f'#preview tr[data-case-id="{case_id}"]')
    expect(row).to_have_attribute("data-movable", "yes")
    page.get_by_role("button", name=re.compile("^迁移选中的案件")).click()
    expect(page.locator(".flash.ok")).to_have_text(f"已迁移 1 件案件到第 2 版：#{case_id}")
    page.goto("/processes")
    expect(page.locator('#p-call_response tr[data-version="2"] td[data-open]')).to_have_text("1")
    assert page.errors == []


def select(modeler, element_id, expected_type):
    element = modeler.locator(f'.djs-element[data-element-id="{element_id}"]')
    # a straight flow has a box of no height, which Playwright takes for invisible: click its middle
    box = element.evaluate("e => { const r = e.getBoundingClientRect(); "
                           "return {x: r.x + r.width / 2, y: r.y + r.height / 2}; }")
    modeler.page.mouse.click(box["x"], box["y"])
    panel = modeler.locator(".md-panel")
    expect(panel.locator(".md-id .md-value")).to_have_text(element_id)
    expect(panel.locator(".md-type")).to_have_text(expected_type)
    return panel


def test_every_kind_of_panel_edit_is_saved(app, analyst):
    page = analyst
    modeler = open_modeller(page)
    panel = select(modeler, "flow_accepted", "顺序流")
    condition = panel.get_by_label("条件表达式")
    expect(condition).to_have_value("accepted")
    condition.fill("accepted and not more_info_requested")
    panel = select(modeler, "end_rejected", "结束事件")
    status = panel.get_by_label("案件结果", exact=True)
    expect(status).to_have_value("rejected")
    status.select_option("refused")
    panel = select(modeler, "supplement", "用户任务")
    org = panel.get_by_label("承办单位", exact=True)
    expect(org).to_have_value("initiator_org")
    org.fill("")
    panel = select(modeler, "accept", "用户任务")
    panel.get_by_label("办理说明").fill("核实呼叫事项后受理。")
    panel = select(modeler, "set_departments", "脚本任务")
    script = panel.get_by_label("脚本")
    script.fill(script.input_value() + "\nreturned_departments = []")
    panel = select(modeler, "sign_remind", "定时边界事件")
    expect(panel.get_by_label("定时类型")).to_have_value("timeDate")
    timer = panel.get_by_label("定时表达式")
    expect(timer).to_have_value('warn_date("sign", urgency, list_item)')
    timer.fill('warn_date("handle", urgency, list_item)')
    panel.get_by_label("督办动作", exact=True).select_option("problem")
    pool = modeler.locator('.djs-element[data-element-id="participant_call_response"]').bounding_box()
    page.mouse.click(pool["x"] - 8, pool["y"] + 200)                  # the empty canvas left of the pool
    expect(panel.locator(".md-hint")).to_be_visible()
    expect(panel.get_by_label("流程名称")).to_have_value("乡呼县应")

    modeler.get_by_role("button", name="部署", exact=True).click()
    expect(modeler.locator(".md-status.md-ok")).to_contain_text("已部署为第 2 版")
    with app.app_context():
        v1, v2 = processes.version("call_response", 1), processes.version("call_response", 2)
        changed = {c["element_id"]: c["fields"] for c in processes.diff_versions(v1, v2)["changed"]}
        script_before = re.search(r"<bpmn:script>(.*?)</bpmn:script>", v1.bpmn, re.S).group(1).strip()
        instructions_before = re.search(r'id="accept".*?<spiffworkflow:instructionsForEndUser>(.*?)<', v1.bpmn,
                                        re.S).group(1)
    assert changed == {
        "accept": {"instructionsForEndUser": {"old": instructions_before, "new": "核实呼叫事项后受理。"}},
        "flow_accepted": {"conditionExpression": {"old": "accepted", "new": "accepted and not more_info_requested"}},
        "end_rejected": {"caseStatus": {"old": "rejected", "new": "refused"}},
        "supplement": {"orgUnit": {"old": "initiator_org", "new": None}},
        "set_departments": {"script": {"old": script_before, "new": script_before + "\nreturned_departments = []"}},
        "sign_remind": {"timeDate": {"old": 'warn_date("sign", urgency, list_item)',
                                     "new": 'warn_date("handle", urgency, list_item)'},
                        "escalation": {"old": "remind", "new": "problem"}},
    }
    instructions = "<spiffworkflow:instructionsForEndUser>核实呼叫事项后受理。</spiffworkflow:instructionsForEndUser>"
    assert instructions in v2.bpmn

    # a new end event from the palette gets its extension elements written from scratch
    modeler.locator('.djs-palette [data-action="create.end-event"]').click()
    box = modeler.locator('.djs-element[data-element-id="supplement"]').bounding_box()
    page.mouse.click(box["x"] + box["width"] + 150, box["y"] + box["height"] / 2)
    panel = modeler.locator(".md-panel")
    expect(panel.locator(".md-type")).to_have_text("结束事件")
    new_id = panel.locator(".md-id .md-value").inner_text()
    panel.get_by_label("名称", exact=True).fill("撤回")
    panel.get_by_label("案件结果", exact=True).select_option("refused")
    expect(modeler.locator(".md-status")).to_have_text("有未部署的修改")
    with page.expect_download() as download:
        modeler.get_by_role("button", name="下载 BPMN 文件").click()
    assert download.value.suggested_filename == "call_response.bpmn"
    xml = Path(download.value.path()).read_text(encoding="utf-8")
    found = re.search(rf'<bpmn:endEvent id="{new_id}" name="撤回">(.*?)</bpmn:endEvent>', xml, re.S)
    assert found, re.findall(r'<bpmn:endEvent id="Event_[^"]*".*?</bpmn:endEvent>', xml, re.S)
    assert re.search(r'<bpmn:extensionElements>\s*<spiffworkflow:properties>\s*'
                     r'<spiffworkflow:property name="caseStatus" value="refused" />\s*'
                     r'</spiffworkflow:properties>\s*</bpmn:extensionElements>', found.group(1))
    assert f"<bpmn:flowNodeRef>{new_id}</bpmn:flowNodeRef>" in xml                   # dropped into the lane 乡镇
    assert page.errors == []
