"""The admin's pages (管理) and one's own password in a real browser, on a desktop (1366x768) and on a
phone (390x844, touch): the admin finds, creates, disables users and resets a password, walks
through units, limits, weights, the calendar and the notification channels, each page fitting the
screen (test_browser_phone's LAYOUT_PROBLEMS); a user changes their password from the header and
signs in with the new one.

Set HUYING_SCREENSHOTS=<folder> to also write desktop-admin-users.png and phone-admin-users.png for
the README, and <device>-admin-*.png of the other admin pages."""
import re

import pytest

from browser_support import base_url, browser, login, require_browser, screenshot  # noqa: F401 - fixtures

sync_api = require_browser()
expect = sync_api.expect

from helpers import accept_and_dispatch, raise_call  # noqa: E402
from test_browser_phone import DEVICES, go, looks_right  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"])]
INITIAL = "Taishan#2027"
CHANGED = "Dongyue#2027"


def sign_in(browser, base_url, username, password, device):
    """A fresh browser context signed in through /login with this password, on the inbox."""
    context = browser.new_context(base_url=base_url, locale="zh-CN", **DEVICES[device])
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    return page


def tap(page, device, locator):
    locator.tap() if device == "phone" else locator.click()


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_the_admin_finds_creates_and_disables_a_user(app, login, browser, base_url, device):
    admin = login("admin", **DEVICES[device])
    go(admin, "管理")
    expect(admin.get_by_role("heading", name=re.compile("^用户"))).to_be_visible()
    expect(admin.locator("nav.ad-tabs a.on")).to_have_text("用户")
    looks_right(admin, device)
    screenshot(admin, f"{device}-admin-users.png", full_page=False)     # the README's: the first screen of the list

    admin.get_by_label("查找用户").fill("岱庙街道")
    tap(admin, device, admin.locator("main").get_by_role("button", name="查找"))
    # the township's own users and those of its grids, platforms and stationed agencies, nobody else's
    expect(admin.locator("#users tr[data-username=town_a]")).to_contain_text("张志刚")
    expect(admin.locator("#users tr[data-username=grid_a]")).to_have_count(1)
    expect(admin.locator("#users tr[data-username=town_b]")).to_have_count(0)

    tap(admin, device, admin.get_by_role("link", name="新建用户"))
    admin.get_by_label("用户名").fill("shankou")
    admin.get_by_label("姓名").fill("孟凡强")
    admin.get_by_label("单位").select_option(label="岱庙街道")
    tap(admin, device, admin.locator("label.choice").filter(has_text="乡镇").first)
    admin.get_by_label("密码", exact=True).fill("weak")
    admin.get_by_label("再次输入密码").fill("weak")
    tap(admin, device, admin.get_by_role("button", name="新建用户"))
    expect(admin.locator("#e-password")).to_have_text("密码至少 8 位")
    looks_right(admin, device, "admin-new-user")
    admin.get_by_label("密码", exact=True).fill(INITIAL)
    admin.get_by_label("再次输入密码").fill(INITIAL)
    tap(admin, device, admin.get_by_role("button", name="新建用户"))
    expect(admin.locator(".flash.ok")).to_contain_text("已新建用户：孟凡强（shankou）")
    looks_right(admin, device, "admin-user")

    newcomer = sign_in(browser, base_url, "shankou", INITIAL, device)
    expect(newcomer.get_by_role("heading", name=re.compile("^我的待办"))).to_be_visible()
    expect(newcomer.locator("header .who-name")).to_have_text("孟凡强")

    tap(admin, device, admin.get_by_role("button", name="停用此账号"))
    expect(admin.locator(".flash.ok")).to_contain_text("已停用：孟凡强，其登录已全部退出")
    expect(admin.locator("h1 .ad-state")).to_have_text("已停用")
    newcomer.reload()
    expect(newcomer).to_have_url(re.compile(r"/login"))
    newcomer.context.close()
    assert admin.errors == []


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_every_admin_page_fits_the_screen_and_a_limit_is_set_in_working_days(app, users, login, device):
    robot = {"platform": "wecom", "webhook_url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=0123456789abcdef"}
    assert users["admin"].put("/units/D01/robot", json=robot).status_code == 200
    accept_and_dispatch(users, raise_call(users), lead="D01", co=())      # a message waits in the outbox
    admin = login("admin", **DEVICES[device])
    go(admin, "管理")
    tabs = admin.locator("nav.ad-tabs")
    for tab, heading, shot in (("单位", "单位", "admin-units"), ("考核权重", "考核权重", "admin-weights"),
                               ("工作日历", "工作日历", "admin-calendar"), ("通知管理", "通知管理", "admin-notifications"),
                               ("督办时限", "督办时限", "admin-settings")):
        tap(admin, device, tabs.get_by_role("link", name=tab, exact=True))
        expect(admin.get_by_role("heading", name=re.compile(f"^{heading}"))).to_be_visible()
        expect(tabs.locator("a.on")).to_have_text(tab)
        looks_right(admin, device, shot)

    handle = admin.locator("#limits tr[data-kind=handle]")
    expect(handle.locator("td.card-head")).to_contain_text("办理反馈")
    handle.get_by_label("办理反馈·一般：数值").fill("4")
    handle.get_by_label("办理反馈·一般：单位").select_option(label="工作日")
    tap(admin, device, admin.get_by_role("button", name="保存督办时限"))
    expect(admin.locator(".flash.ok")).to_contain_text("督办时限已保存")
    expect(handle.get_by_label("办理反馈·一般：数值")).to_have_value("4")

    tap(admin, device, tabs.get_by_role("link", name="单位", exact=True))
    unit = admin.locator("#unit-D03")
    tap(admin, device, unit.get_by_role("button", name="停用"))
    expect(admin.locator(".flash.error")).to_contain_text("“生态环境分局”仍有1 名启用的用户")
    assert admin.errors == []


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_a_user_changes_their_password_from_the_header_and_signs_in_with_it(app, login, browser, base_url, device):
    town = login("town_a", **DEVICES[device])
    tap(town, device, town.locator("header .who-name"))
    expect(town.get_by_role("heading", name="修改密码")).to_be_visible()
    town.get_by_label("当前密码").fill("demo")
    town.locator("#f-password").fill("dongyue2027")
    town.get_by_label("再次输入新密码").fill("dongyue2027")
    tap(town, device, town.get_by_role("button", name="修改密码"))
    expect(town.locator("#e-password")).to_contain_text("至少三类")
    looks_right(town, device, "account-password")
    town.get_by_label("当前密码").fill("demo")
    town.locator("#f-password").fill(CHANGED)
    town.get_by_label("再次输入新密码").fill(CHANGED)
    tap(town, device, town.get_by_role("button", name="修改密码"))
    expect(town.locator(".flash.ok")).to_contain_text("密码已修改")
    tap(town, device, town.get_by_role("button", name="退出"))
    expect(town).to_have_url(re.compile(r"/login"))

    old = sign_in(browser, base_url, "town_a", "demo", device)
    expect(old.locator(".flash.error")).to_have_text("用户名或密码错误")
    again = sign_in(browser, base_url, "town_a", CHANGED, device)
    expect(again.get_by_role("heading", name=re.compile("^我的待办"))).to_be_visible()
    for page in (old, again):
        page.context.close()
    assert town.errors == []
