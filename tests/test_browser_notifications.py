"""Notifications in a real browser, at desktop and phone size: a department's user sees the bell's
count on the inbox, opens the notifications, goes from one to its task (it is then read), marks
the rest read; the admin sees the outbox and the units' robots.

Set HUYING_SCREENSHOTS=<folder> to also write notifications.png, notifications-phone.png,
bell-phone.png and notifications-admin.png there."""
import re

import pytest

from browser_support import base_url, browser, login, require_browser, screenshot  # noqa: F401 - fixtures

sync_api = require_browser()
expect = sync_api.expect

from helpers import accept_and_dispatch, raise_call  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"])]
VIEWPORT = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


def calls(users):
    """Two calls dispatched to D01 (two 签收 for dept_zf), the second one also rejected for town_a."""
    first = raise_call(users)
    accept_and_dispatch(users, first, lead="D01", co=())
    second = raise_call(users, title="岱宗大街夜间施工噪声扰民")
    accept_and_dispatch(users, second, lead="D01", co=("D02",))
    third = raise_call(users, title="村内道路照明维修")
    users["center"].complete(users["center"].task(third, "受理"), {"accepted": False, "reason": "属乡镇自身职责"})
    return first, second


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_department_user_follows_the_bell_to_the_task(app, users, login, size):
    first, second = calls(users)
    page = login("dept_zf")
    if size == "phone":
        page.set_viewport_size(PHONE)
    bell = page.locator("#bell")
    expect(bell.locator(".badge")).to_have_text("2")
    if size == "phone":
        screenshot(page, "bell-phone.png", full_page=False)
        box = bell.bounding_box()
        assert box["x"] + box["width"] <= PHONE["width"], box          # the bell is on the screen
    bell.click()
    expect(page).to_have_url(re.compile(r"/notifications$"))
    items = page.locator("#notifications .nt-item")
    expect(items).to_have_count(2)
    expect(items.first).to_contain_text(f"案件 #{second}")       # newest first
    expect(items.first).to_contain_text("签收")
    expect(page.locator("#notifications .nt-item.unread")).to_have_count(2)
    screenshot(page, "notifications-phone.png" if size == "phone" else "notifications.png")

    items.first.get_by_role("button", name="去办理").click()
    expect(page).to_have_url(re.compile(r"/tasks/"))
    expect(page.get_by_text("岱宗大街夜间施工噪声扰民").first).to_be_visible()
    expect(page.locator("#bell .badge")).to_have_text("1")

    page.locator("#bell").click()
    expect(page.locator("#notifications .nt-item.unread")).to_have_count(1)
    page.get_by_role("button", name="全部标为已读").click()
    expect(page.locator("#notifications .nt-item.unread")).to_have_count(0)
    expect(page.locator("#bell .badge")).to_have_count(0)
    assert page.errors == []


def test_the_admin_sees_the_outbox_and_sets_a_units_robot(app, users, login):
    app.config["SMTP_HOST"] = "127.0.0.1"        # e-mail queued (no worker runs here: they wait)
    calls(users)
    page = login("admin")
    page.get_by_role("link", name="管理", exact=True).click()
    page.get_by_role("link", name="通知管理").click()
    expect(page.locator("#outbox tbody tr").first).to_be_visible()
    page.locator("#f-org").select_option("D01")
    page.locator("#f-url").fill("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=0123456789abcdef")
    page.get_by_role("button", name="保存").click()
    expect(page.locator(".flash.ok")).to_contain_text("群机器人设置已保存")
    row = page.locator("#robots tr[data-org=D01]")
    expect(row).to_contain_text("企业微信")
    expect(row).to_contain_text("cdef")
    expect(row).not_to_contain_text("0123456789abcdef")
    screenshot(page, "notifications-admin.png")
    assert page.errors == []
