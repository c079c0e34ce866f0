"""The search box in a real browser, at desktop and phone size: the centre types a word of a
department's reply into the header's box and finds the call, the word marked in its snippet; a
township's search for the same word finds nothing of another township's.

Set HUYING_SCREENSHOTS=<folder> to write `search.png` (1280x900) and `search-phone.png` (390x844).
"""
import re

import pytest

from browser_support import base_url, browser, login, require_browser, screenshot  # noqa: F401 - fixtures
from helpers import accept_and_dispatch, raise_call

sync_api = require_browser()
expect = sync_api.expect

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"])]

VIEWPORT = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def _replied_call(users):
    case_id = raise_call(users, title="泮河中段入河排污口污水直排",
                         description="泮河中段发现有不明污水经暗管排入河道，水体发黑发臭，请求溯源查处。")
    accept_and_dispatch(users, case_id, lead="D03", co=())
    users["dept_hb"].complete(users["dept_hb"].task(case_id, "签收"), {"returned": False})
    users["dept_hb"].complete(users["dept_hb"].task(case_id, "办理反馈"),
                              {"result": "已现场采样并溯源，确定为周边两家洗车店偷排，已封堵排污口并接入市政管网。"})
    raise_call(users, title="洗车店污水外溢")      # the title beats a reply
    return case_id


def test_the_centre_finds_a_call_by_a_word_of_the_reply_on_desktop_and_phone(login, users):
    case_id = _replied_call(users)
    centre = login("center")
    box = centre.get_by_role("searchbox", name="查找案件")
    box.fill("洗车店")
    box.press("Enter")
    expect(centre).to_have_url(re.compile(r"/cases\?q="))
    expect(centre.get_by_role("heading", name=re.compile("查找“洗车店”"))).to_be_visible()
    rows = centre.locator("#cases tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first.locator("mark")).to_have_text("洗车店")                    # in the newer call's title
    found = rows.nth(1)
    expect(found).to_contain_text(f"#{case_id}")
    expect(found.locator(".snippet")).to_contain_text("办理反馈（生态环境分局）·办理结果")
    expect(found.locator(".snippet mark")).to_have_text("洗车店")
    screenshot(centre, "search.png", full_page=False)

    centre.set_viewport_size(PHONE)
    centre.reload()
    expect(centre.get_by_role("searchbox", name="查找案件")).to_have_value("洗车店")
    box_width = centre.get_by_role("searchbox", name="查找案件").bounding_box()["width"]
    assert box_width > 200, box_width                    # the box has a line of its own on a phone
    assert centre.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1 or \
        centre.locator("#cases").is_visible()
    screenshot(centre, "search-phone.png")

    centre.get_by_role("link", name="泮河中段入河排污口污水直排").click()
    expect(centre).to_have_url(re.compile(rf"/cases/{case_id}$"))
    assert centre.errors == []


def test_a_township_finds_none_of_another_townships_calls(login, users):
    _replied_call(users)
    town = login("town_b")
    town.get_by_role("searchbox", name="查找案件").fill("洗车店")
    town.get_by_role("button", name="查找").click()
    expect(town.locator("#cases tbody")).to_contain_text("没有找到包含“洗车店”的案件")
    assert town.errors == []
