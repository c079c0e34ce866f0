"""The modeller's properties panel (bpmn-js-properties-panel with Huying's provider) in a real browser:
the properties the hand-written panel never had — the case title on the process, who may start, a flag
and its condition on an end event — and a standard BPMN group (说明, bpmn:documentation) are edited,
deployed, and read back from version 2 as SpiffWorkflow and Huying read them; the selects offer the
choices of app/engine/definitions.py and app/roles.py by their Chinese names."""
import re

import pytest

from browser_support import base_url, browser, login, require_browser  # noqa: F401 - fixtures
from test_browser_modeller import open_modeller, select

sync_api = require_browser()
expect = sync_api.expect

from app import processes  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"])]


def test_huying_properties_and_a_standard_group_are_deployed(app, login):
    page = login("analyst")
    modeler = open_modeller(page)

    panel = select(modeler, "end_rejected", "结束事件")
    kind = panel.get_by_label("标记类别", exact=True)
    expect(kind).to_have_value("improper_call")
    expect(kind.locator("option")).to_have_text(["不标记", "乱呼叫", "应呼未呼", "呼叫不响应", "响应不作为"])
    kind.select_option("no_response")
    expect(panel.get_by_label("清单操作", exact=True).locator("option")).to_have_text(
        ["无", "职责下沉", "清单动态调整"])
    when = panel.get_by_label("标记条件", exact=True)
    expect(when).to_have_value("own_duty")
    when.fill("not own_duty")

    panel = select(modeler, "sign_remind", "定时边界事件")               # a new timer type keeps the expression
    kind = panel.get_by_label("定时类型")
    expect(kind.locator("option")).to_have_text(["（无）", "时间点", "时长", "周期"])
    kind.select_option("timeDuration")
    expect(panel.get_by_label("定时表达式")).to_have_value('warn_date("sign", urgency, list_item)')
    kind.select_option("timeDate")
    expect(panel.get_by_label("定时表达式")).to_have_value('warn_date("sign", urgency, list_item)')

    panel = select(modeler, "start_call", "开始事件")
    panel.get_by_label("可发起角色", exact=True).fill("township")

    panel = select(modeler, "accept", "用户任务")
    panel.locator(".bio-properties-panel-group-header", has_text="说明").click()   # a standard group, closed at first
    panel.get_by_label("元素说明").fill("受理前核对呼叫人身份。")

    pool = modeler.locator('.djs-element[data-element-id="participant_call_response"]').bounding_box()
    page.mouse.click(pool["x"] - 8, pool["y"] + 200)                  # the process
    expect(panel.locator(".md-hint")).to_be_visible()
    panel.get_by_label("案件标题表达式", exact=True).fill("'呼叫：' + title")

    modeler.get_by_role("button", name="部署", exact=True).click()
    expect(modeler.locator(".md-status.md-ok")).to_contain_text("已部署为第 2 版")
    with app.app_context():
        v2 = processes.version("call_response", 2)
        xml = v2.bpmn
        parsed = processes.definition(v2)                                # as Huying reads it
    assert parsed.end_props["end_rejected"]["flagKind"] == "no_response"
    assert parsed.end_props["end_rejected"]["flagWhen"] == "not own_duty"
    assert parsed.start.roles == ("township",)
    assert parsed.title_expr == "'呼叫：' + title"
    timer = re.search(r'<bpmn:boundaryEvent id="sign_remind".*?</bpmn:boundaryEvent>', xml, re.S).group(0)
    assert '<bpmn:timeDate xsi:type="bpmn:tFormalExpression">warn_date("sign", urgency, list_item)</bpmn:timeDate>' \
        in timer, timer
    end = re.search(r'<bpmn:endEvent id="end_rejected".*?</bpmn:endEvent>', xml, re.S).group(0)
    assert '<spiffworkflow:property name="flagKind" value="no_response" />' in end
    assert '<spiffworkflow:property name="flagWhen" value="not own_duty" />' in end
    assert '<spiffworkflow:property name="caseStatus" value="rejected" />' in end
    start = re.search(r'<bpmn:startEvent id="start_call".*?</bpmn:startEvent>', xml, re.S).group(0)
    assert '<spiffworkflow:property name="startRoles" value="township" />' in start
    accept = re.search(r'<bpmn:userTask id="accept".*?</bpmn:userTask>', xml, re.S).group(0)
    assert "<bpmn:documentation>受理前核对呼叫人身份。</bpmn:documentation>" in accept
    proc = re.search(r'<bpmn:process id="call_response".*?<bpmn:laneSet', xml, re.S).group(0)
    assert re.search(r"<bpmn:extensionElements>\s*<spiffworkflow:properties>\s*<spiffworkflow:property "
                     r"name=\"caseTitle\" value=\"&#39;呼叫：&#39; \+ title\" />", proc), proc   # quotes escaped
    assert page.errors == []
