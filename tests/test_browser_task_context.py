"""Each task page carries its context (issue 12), in a real browser at desktop (1366x768) and phone
(390x844, touch) size: a call walked through the roles, each page checked for what its decision rests
on — the unit's part, the centre's instructions and the township's contact when signing; the replies
with their photos when reviewing and evaluating; the township's dissatisfaction on the rework; the
reason of a return on the re-dispatch; the proposal against the list item for a list change.

Set HUYING_SCREENSHOTS=<folder> to also write <device>-review-context.png, <device>-evaluate-context.png
and <device>-rework-context.png there (desktop and phone), for the README.
"""
import re

import pytest

from browser_support import base_url, browser, login, require_browser, screenshot  # noqa: F401 - fixtures

sync_api = require_browser()
expect = sync_api.expect

from evidence_files import attach, photo  # noqa: E402
from helpers import CALL, accept_and_dispatch, raise_call  # noqa: E402
from browser_support import PAGE_PROBLEMS  # noqa: E402
from test_browser_phone import DEVICES  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"])]

TITLE = CALL["title"]
CONTACT = "王主任 13800000000"
OPINION = "执法局牵头，自然资源局配合核查占地情况"
LEAD_REPLY = "已联合执法，取缔流动摊点 32 处，设立临时便民市场"
CO_REPLY = "已现场核查，便民市场选址未占用耕地"
DISSATISFIED = "晚上摊点又回来了，问题没有解决"


def looks_right(page, device, shot=None):
    page.wait_for_load_state("load")
    width = DEVICES[device]["viewport"]["width"]
    problems = page.evaluate(PAGE_PROBLEMS, {"width": width, "touch": device == "phone"})
    assert not problems, f"{page.url} on the {device}:\n" + "\n".join(problems)
    assert page.errors == []
    if shot:
        screenshot(page, f"{device}-{shot}.png")


def open_task(page, task_name, title=TITLE):
    """From the inbox (the 待办 link of the header, or its folded menu on a phone), the task's page."""
    toggle = page.locator("header .menu-toggle")
    if toggle.is_visible():
        toggle.click()
    page.locator("#site-nav").get_by_role("link", name="待办", exact=True).click()
    row = page.locator("#inbox tbody tr").filter(has_text=title).filter(
        has=page.locator("td strong").filter(has_text=re.compile(rf"^{re.escape(task_name)}$")))
    expect(row).to_have_count(1)
    row.get_by_role("link", name="办理").click()
    expect(page.get_by_role("heading", name=re.compile(rf"^{re.escape(task_name)}"))).to_be_visible()


def press(page, device, locator):
    locator.tap() if device == "phone" else locator.click()


def choose(page, device, field_name, label):
    choice = page.locator(f"[data-field={field_name}] label.choice").filter(has_text=re.compile(rf"^\s*{label}\s*$"))
    press(page, device, choice)


@pytest.fixture(params=list(DEVICES))
def device(request):
    return request.param


def test_each_task_page_of_a_call_shows_what_its_decision_rests_on(users, login, device):
    dev = DEVICES[device]
    case_id = raise_call(users, contact=CONTACT, location="明珠东路与东岳大街路口")
    users["center"].complete(users["center"].task(case_id, "受理"), {"accepted": True})
    users["center"].complete(users["center"].task(case_id, "研判派单"),
                             {"lead_department": "D01", "co_departments": ["D02"], "opinion": OPINION})

    # 签收: the lead department sees its part, the centre's instructions, the township's contact, the list item
    zf = login("dept_zf", **dev)
    open_task(zf, "签收")
    part = zf.locator("#tc-part")
    expect(part).to_contain_text("本单位为主办单位")
    expect(part).to_contain_text("协办单位自然资源和规划局")
    expect(part).to_contain_text(CONTACT)
    expect(zf.locator("#tc-instructions")).to_contain_text(OPINION)
    expect(zf.locator("#tc-call")).to_contain_text(re.compile(r"对应清单事项\s*ZF-01 \S+"))
    expect(zf.locator("#claim-hint")).to_contain_text("认领")
    expect(zf.get_by_role("button", name="提交办理")).to_have_count(0)
    looks_right(zf, device, "sign-context")
    press(zf, device, zf.get_by_role("button", name="签收", exact=True))
    expect(zf.get_by_role("status")).to_have_text("已办理：签收")

    zr = login("dept_zr", **dev)
    open_task(zr, "签收")
    expect(zr.locator("#tc-part")).to_contain_text("本单位为协办单位")
    press(zr, device, zr.get_by_role("button", name="签收", exact=True))
    expect(zr.get_by_role("status")).to_have_text("已办理：签收")

    # the replies, the lead's with a photo of the cleared street
    handle = users["dept_zf"].task(case_id, "办理反馈")
    attach(users["dept_zf"], case_id, "清理后的明珠东路.jpg", photo("steelblue"), task_id=handle["id"], note="清理后")
    users["dept_zf"].complete(handle, {"result": LEAD_REPLY, "contact_person": "李队 0538-1234567"})
    users["dept_zr"].complete(users["dept_zr"].task(case_id, "办理反馈"), {"result": CO_REPLY})

    # 审核办结: the centre reviews both replies on its task page, the photo as a thumbnail
    center = login("center", **dev)
    open_task(center, "审核办结")
    replies = center.locator("#tc-replies .tc-entry")
    expect(replies).to_have_count(2)
    expect(replies.nth(0)).to_contain_text("综合行政执法局（主办）")
    expect(replies.nth(0)).to_contain_text(LEAD_REPLY)
    expect(replies.nth(0)).to_contain_text("李队 0538-1234567")
    expect(replies.nth(1)).to_contain_text("自然资源和规划局（协办）")
    expect(replies.nth(1)).to_contain_text(CO_REPLY)
    thumb = replies.nth(0).locator("img")
    expect(thumb).to_be_visible()
    assert thumb.evaluate("i => i.complete && i.naturalWidth > 0")
    looks_right(center, device, "review-context")
    choose(center, device, "approved", "是")
    press(center, device, center.get_by_role("button", name="提交办理"))
    expect(center.get_by_role("status")).to_have_text("已办理：审核办结")

    # 评价: the township reads the same replies and photo, and is not satisfied
    town = login("town_a", **dev)
    open_task(town, "评价")
    replies = town.locator("#tc-replies .tc-entry")
    expect(replies.filter(has_text=LEAD_REPLY)).to_have_count(1)
    expect(replies.filter(has_text=CO_REPLY)).to_have_count(1)
    expect(replies.nth(0).locator("img")).to_be_visible()
    looks_right(town, device, "evaluate-context")
    choose(town, device, "satisfied", "否")
    choose(town, device, "rating", "2")
    town.locator("[data-field=comment] textarea").fill(DISSATISFIED)
    press(town, device, town.get_by_role("button", name="提交办理"))
    expect(town.get_by_role("status")).to_have_text("已办理：评价")

    # the rework: the lead department sees why, and what it answered last time
    open_task(zf, "办理反馈")
    rework = zf.locator("#tc-rework")
    expect(rework).to_contain_text("乡镇评价不满意")
    expect(rework).to_contain_text(DISSATISFIED)
    expect(rework).to_contain_text(re.compile(r"评分（1–5）\s*2"))
    expect(rework).to_contain_text("本单位上次办理结果")
    expect(rework).to_contain_text(LEAD_REPLY)
    assert zf.locator(".tc-section").first.get_attribute("id") == "tc-rework"
    looks_right(zf, device, "rework-context")


def test_a_return_needs_its_reason_and_the_redispatch_shows_it(users, login, device):
    dev = DEVICES[device]
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id, lead="D01", co=("D03",))
    users["dept_zf"].complete(users["dept_zf"].task(case_id, "签收"), {"returned": False})
    hb = login("dept_hb", **dev)
    open_task(hb, "签收")
    box = hb.locator("details.task-action")
    press(hb, device, box.locator("summary"))
    press(hb, device, box.get_by_role("button", name="退回", exact=True))
    expect(hb.get_by_role("status")).to_have_text("表单填写有误，请检查标红的项目")
    expect(hb.locator("details.task-action")).to_have_attribute("open", "")
    expect(hb.locator("[data-field=reason] [role=alert]")).to_be_visible()
    hb.locator("[data-field=reason] textarea").fill("河道排污口不属本事项，依据清单 ZF-01 属综合执法")
    looks_right(hb, device)
    press(hb, device, hb.locator("details.task-action").get_by_role("button", name="退回", exact=True))
    expect(hb.get_by_role("status")).to_have_text("已办理：签收")

    center = login("center", **dev)
    open_task(center, "改派")
    returns = center.locator("#tc-returns")
    expect(returns).to_contain_text("生态环境分局 退回")
    expect(returns).to_contain_text("河道排污口不属本事项，依据清单 ZF-01 属综合执法")
    looks_right(center, device)


def test_a_list_change_reviewer_sees_the_proposal_against_the_item(users, login, device):
    dev = DEVICES[device]
    r = users["dept_zf"].post("/cases", json={"process_id": "list_change", "data": {
        "change_type": "modify", "item_code": "ZF-01", "reason": "实践需要：便民市场由自然资源局配合选址",
        "item": {"domain": "综合执法", "name": "马路市场治理", "primary_org": "D01", "supporting": ["D02"]}}})
    assert r.status_code == 201, r.json
    title = r.json["title"]
    assert title.startswith("清单调整：修改 ZF-01 ")
    staffing = login("staffing", **dev)
    open_task(staffing, "编办审核", title=title)
    proposal = staffing.locator("#tc-proposal")
    expect(proposal.get_by_role("heading", name="清单调整建议")).to_be_visible()
    changed = proposal.locator("tr[data-field=supporting]")
    expect(changed.locator("del")).to_have_text("属地乡镇（街道）、市场监督管理局")
    expect(changed.locator("ins")).to_have_text("自然资源和规划局")
    expect(proposal.locator("tr[data-field=name] ins")).to_have_text("马路市场治理")
    expect(proposal).to_contain_text("未改动：领域、主体责任单位")
    expect(staffing.locator("main")).not_to_contain_text("发起呼叫")
    expect(staffing.locator("main")).not_to_contain_text("紧急程度")
    looks_right(staffing, device, "list-change-context")


def test_the_supervisors_order_is_on_the_departments_task_page_and_the_case_page(app, users, login, device):
    from test_task_context import issue_order
    dev = DEVICES[device]
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id, co=())
    sign = users["dept_zf"].task(case_id, "签收")
    issue_order(app, users, case_id, sign["id"], opinion="限今日 18 时前签收，并电话联系岱庙街道")
    zf = login("dept_zf", **dev)
    open_task(zf, "签收")
    order = zf.locator("#tc-orders .tc-entry").first
    expect(order).to_contain_text("督办单：签收（综合行政执法局）")
    expect(order).to_contain_text("限今日 18 时前签收，并电话联系岱庙街道")
    expect(order).to_contain_text("通报批评")
    expect(order.locator(".tc-answers")).to_contain_text("尚未答复")
    press(zf, device, zf.get_by_role("button", name="签收", exact=True))
    expect(zf.get_by_role("status")).to_have_text("已办理：签收")
    town = login("town_a", **dev)
    town.goto(f"/cases/{case_id}")
    orders = town.locator("#orders")
    expect(orders).to_contain_text("限今日 18 时前签收，并电话联系岱庙街道")
    expect(orders.locator(".tc-answers")).to_contain_text("综合行政执法局已办理“签收”")
    looks_right(town, device)
    orders.scroll_into_view_if_needed()
    screenshot(town, f"{device}-case-orders.png", full_page=False)
