"""The web UI in a real browser: a call clicked through its whole life, each role in its own
browser context, logging in through /login as people do.

Runs Debian's Chromium (/usr/bin/chromium) through Playwright against the app served by waitress
on a free port. Set HUYING_SCREENSHOTS=<folder> to also write `inbox.png` (the centre's inbox with
the new call) and `case.png` (the closed case) there, 1280x800, for the README.
"""
import re

import pytest

from browser_support import base_url, browser, login, require_browser, screenshot  # noqa: F401 - fixtures

sync_api = require_browser()
expect = sync_api.expect

from helpers import accept_and_dispatch, raise_call  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"])]

VIEWPORT = {"width": 1280, "height": 800}
TITLE = "明珠东路马路市场占道经营"
DESCRIPTION = "道路贯通后形成马路市场，摊点流动，街道多次清理无效，请求县级部门联动。"


# --- fixtures -----------------------------------------------------------------------------------


# --- what a user looks at -----------------------------------------------------------------------
def field(page, title):
    """A form field by the title shown above it (the `*` of required fields aside)."""
    label = page.locator(".label").filter(has_text=re.compile(rf"^\s*{re.escape(title)}\s*\*?\s*$"))
    return page.locator(".field").filter(has=label)


def inbox_row(page, task_name, title=TITLE):
    """The inbox row of the task named `task_name` in the case titled `title`."""
    return (page.locator("#inbox tbody tr").filter(has_text=title)
            .filter(has=page.locator("td strong").filter(has_text=re.compile(rf"^{re.escape(task_name)}$"))))


def open_task(page, task_name, title=TITLE):
    """From the inbox, click 办理 on the task; returns on the task's form."""
    page.get_by_role("link", name="待办", exact=True).click()
    row = inbox_row(page, task_name, title)
    expect(row).to_have_count(1)
    row.get_by_role("link", name="办理").click()
    expect(page.get_by_role("heading", name=re.compile(rf"^{re.escape(task_name)}"))).to_be_visible()
    expect(page.locator("aside")).to_contain_text(title)
    return page


def submit_task(page, task_name, title=TITLE):
    """Submit the open task form; back on the inbox, the task is done and gone from it."""
    page.get_by_role("button", name="提交办理").click()
    expect(page.get_by_role("status")).to_have_text(f"已办理：{task_name}")
    expect(page.get_by_role("heading", name=re.compile("^我的待办"))).to_be_visible()
    expect(inbox_row(page, task_name, title)).to_have_count(0)


def choose(page, field_title, option):
    field(page, field_title).get_by_label(option, exact=True).check()


# --- tests --------------------------------------------------------------------------------------
def test_call_lifecycle_in_the_browser(login):
    # 岱庙街道 raises the call from its inbox
    town = login("town_a")
    expect(town.locator("header .who")).to_contain_text("岱庙街道")
    town.get_by_role("link", name="发起乡呼县应").click()
    expect(town).to_have_url(re.compile(r"/cases/new/call_response$"))
    expect(town.get_by_role("heading", name="发起呼叫")).to_be_visible()
    field(town, "呼叫事项").locator("input").fill(TITLE)
    field(town, "情况描述").locator("textarea").fill(DESCRIPTION)
    expect(field(town, "紧急程度").get_by_label("一般", exact=True)).to_be_checked()
    town.get_by_role("button", name="提交").click()
    expect(town.get_by_role("status")).to_have_text(f"已提交：{TITLE}")
    expect(town.get_by_role("heading", name=re.compile(re.escape(TITLE)))).to_be_visible()
    expect(town.locator("#case-status")).to_have_text("办理中")
    expect(town.locator("#current-tasks")).to_contain_text("受理")
    expect(town.locator("#current-tasks")).to_contain_text("响应中心")

    # 响应中心: the new call is in its inbox; accept it, then dispatch to D01 with D02 assisting
    center = login("center")
    expect(inbox_row(center, "受理")).to_have_count(1)
    expect(inbox_row(center, "受理")).to_contain_text("响应中心")
    screenshot(center, "inbox.png")
    open_task(center, "受理")
    expect(center.locator("aside")).to_contain_text(DESCRIPTION)
    choose(center, "是否受理", "是")
    submit_task(center, "受理")
    expect(inbox_row(center, "研判派单")).to_have_count(1)

    open_task(center, "研判派单")
    field(center, "主办部门").locator("select").select_option(label="综合行政执法局")
    choose(center, "协办部门", "自然资源和规划局")
    submit_task(center, "研判派单")

    # each department signs for its part (not returning it), then each reports back
    depts = {"dept_zf": "综合行政执法局", "dept_zr": "自然资源和规划局"}
    pages = {}
    for username, org in depts.items():
        dept = pages[username] = login(username)
        expect(dept.locator("header .who")).to_contain_text(org)
        expect(inbox_row(dept, "签收")).to_contain_text(org)
        open_task(dept, "签收")
        dept.get_by_role("button", name="签收", exact=True).click()
        expect(dept.get_by_role("status")).to_have_text("已办理：签收")
        expect(inbox_row(dept, "签收")).to_have_count(0)
    for username, org in depts.items():
        dept = pages[username]
        open_task(dept, "办理反馈")
        field(dept, "办理结果").locator("textarea").fill(f"{org}已联合执法，设立临时便民市场")
        submit_task(dept, "办理反馈")
    zf = pages["dept_zf"]

    # 响应中心 approves; 岱庙街道 evaluates; the lead department rates the township
    open_task(center, "审核办结")
    expect(center.locator("body")).not_to_contain_text("此项为必填项")
    choose(center, "审核通过，转乡镇评价", "是")
    submit_task(center, "审核办结")

    open_task(town, "评价")
    choose(town, "是否满意", "是")
    choose(town, "评分（1–5）", "5")
    submit_task(town, "评价")

    open_task(zf, "一呼一评")
    choose(zf, "对乡镇的评分（1–5）", "4")
    submit_task(zf, "一呼一评")
    expect(inbox_row(zf, "一呼一评")).to_have_count(0)

    # the township finds its call closed, with the whole story on the case page
    town.get_by_role("link", name="案件", exact=True).click()
    row = town.locator("#cases tbody tr").filter(has_text=TITLE)
    expect(row).to_have_count(1)
    expect(row.locator(".status")).to_have_text("已办结")
    row.get_by_role("link", name=TITLE).click()
    expect(town.locator("#case-status")).to_have_text("已办结")
    expect(town.locator("#current-tasks")).to_have_count(0)
    history = town.locator("#history > li")
    steps = ["发起呼叫", "受理", "研判派单", "签收", "签收", "办理反馈", "办理反馈", "审核办结", "评价", "一呼一评"]
    expect(history.locator("strong")).to_have_text(steps)

    def step(name):
        return history.filter(has=town.locator("strong").filter(has_text=re.compile(rf"^{re.escape(name)}$")))
    expect(step("研判派单")).to_contain_text("综合行政执法局")
    expect(step("研判派单")).to_contain_text("自然资源和规划局")
    expect(step("办理反馈")).to_have_count(2)
    expect(step("办理反馈").first).to_contain_text("已联合执法")
    expect(step("评价")).to_contain_text("岱庙街道")
    expect(step("一呼一评")).to_contain_text("综合行政执法局")
    expect(town.locator("#audit td").filter(has_text=re.compile("^办结$"))).to_have_count(1)
    screenshot(town, "case.png")


def test_required_field_left_empty_shows_error_and_keeps_task(users, login):
    raise_call(users)
    center = login("center")
    open_task(center, "受理")
    center.get_by_role("button", name="提交办理").click()   # 是否受理 left unanswered
    expect(center.get_by_role("status")).to_have_text("表单填写有误，请检查标红的项目")
    accepted = field(center, "是否受理")
    expect(accepted).to_have_class(re.compile(r"\bhas-error\b"))
    expect(accepted.get_by_role("alert")).to_have_text("此项为必填项")
    expect(center.get_by_role("button", name="提交办理")).to_be_visible()
    center.get_by_role("link", name="待办", exact=True).click()
    expect(inbox_row(center, "受理")).to_have_count(1)


def test_task_form_does_not_open_with_another_units_answer(users, login):
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id)
    for d in ("dept_zf", "dept_zr"):
        users[d].complete(users[d].task(case_id, "签收"), {"returned": False})
    users["dept_zf"].complete(users["dept_zf"].task(case_id, "办理反馈"), {"result": "综合行政执法局已联合执法"})
    zr = login("dept_zr")
    open_task(zr, "办理反馈")
    assert field(zr, "办理结果").locator("textarea").input_value() == ""
