"""The conversation on the case page in a real browser, at desktop and phone width: the township
reads the centre's remark, leaves one about a department's step and urges the departments holding
its call; the department reads both. With HUYING_SCREENSHOTS=<folder> it writes
`case-remarks.png` (1366 px), `case-remarks-phone.png` (390 px) and `case-withdraw.png` there."""
import re

import pytest

from browser_support import base_url, browser, login, require_browser, screenshot  # noqa: F401 - fixtures

sync_api = require_browser()
expect = sync_api.expect

from helpers import accept_and_dispatch, raise_call  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"])]

SIZES = {"desktop": ({"width": 1366, "height": 900}, "case-remarks.png"),
         "phone": ({"width": 390, "height": 844}, "case-remarks-phone.png")}


def within_width(page, locator, width):
    box = locator.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width + 1, box


@pytest.mark.parametrize("size", list(SIZES))
def test_the_township_remarks_and_urges_on_the_case_page(login, users, size):
    viewport, shot = SIZES[size]
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id, lead="D01", co=("D02",))
    assert users["center"].post(f"/cases/{case_id}/comments",
                                json={"text": "已派综合执法局牵头、自然资源局协办，请街道配合现场核实。"}).status_code == 201

    town = login("town_a")
    town.set_viewport_size(viewport)
    town.goto(f"/cases/{case_id}")
    remarks = town.locator("#remark-list")
    expect(remarks.locator(".cv-item")).to_have_count(1)
    expect(remarks).to_contain_text("响应中心")

    town.get_by_label("关于环节").select_option(label="签收 — 综合行政执法局（办理中）")
    town.get_by_label("留言").fill("摊点集中在早上六点到八点，建议那时到场。")
    town.get_by_role("button", name="发布留言").click()
    expect(town.get_by_role("status")).to_have_text("留言已发布")
    mine = remarks.locator(".cv-item").nth(1)
    expect(mine).to_contain_text("岱庙街道")
    expect(mine).to_contain_text("关于：签收（综合行政执法局）")
    expect(mine).to_contain_text("早上六点到八点")

    urges = town.locator("#urges")
    expect(urges).to_contain_text("将催办：")
    town.get_by_label("催办内容").fill("摊点仍在，请尽快到场处置。")
    town.get_by_role("button", name="催办", exact=True).click()
    expect(town.get_by_role("status")).to_contain_text("已催办：")
    expect(urges.locator(".cv-item")).to_have_count(1)
    expect(urges).to_contain_text("综合行政执法局（签收）")
    expect(town.locator("#urge-blocked")).to_contain_text(re.compile(r"起再催办"))
    if size == "phone":
        for part in (remarks, town.locator("#remark-form"), urges):
            within_width(town, part, viewport["width"])
    if size == "phone":          # the conversation as the phone shows it, from the urges down
        town.evaluate("document.getElementById('urges').scrollIntoView()")
    screenshot(town, shot, full_page=size == "desktop")

    dept = login("dept_zf")
    dept.set_viewport_size(viewport)
    dept.goto(f"/cases/{case_id}")
    expect(dept.locator("#remark-list .cv-item")).to_have_count(2)
    expect(dept.locator("#urge-list")).to_contain_text("摊点仍在")
    expect(dept.locator("#urge-form")).to_have_count(0)          # the department does not urge
    assert not town.errors and not dept.errors, town.errors + dept.errors


def test_the_township_withdraws_a_call_not_yet_accepted(login, users):
    case_id = raise_call(users)
    town = login("town_a")
    town.goto(f"/cases/{case_id}")
    town.get_by_text("撤回呼叫", exact=True).click()
    town.get_by_label("撤回理由").fill("摊贩已自行撤离，无需县级部门处置。")
    screenshot(town, "case-withdraw.png", full_page=False)
    town.get_by_role("button", name="确认撤回").click()
    expect(town.get_by_role("status")).to_have_text("呼叫已撤回")
    expect(town.locator("#case-status")).to_have_text("已撤回")
    expect(town.locator("#withdraw")).to_have_count(0)
    assert users["center"].inbox(case_id) == []
    assert not town.errors, town.errors
