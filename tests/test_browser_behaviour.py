"""In a real browser, at desktop and phone size: the centre corrects a dispatch (改派) from the case
page, the inbox marks urgent calls, the auditors' page browses the trail with its filters, and the
export's file is named by the county's date.

Set HUYING_SCREENSHOTS=<folder> to write redispatch-*.png, inbox-urgency-*.png and audit-browse-*.png."""
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from browser_support import base_url, browser, login, require_browser, screenshot  # noqa: F401 - fixtures

sync_api = require_browser()
expect = sync_api.expect

from helpers import accept_and_dispatch, raise_call  # noqa: E402

BUNDLES = ("diagram.js", "reports.js")
pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"])]
DEVICES = {
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
    "desktop": {"viewport": {"width": 1366, "height": 768}},
}
# the selectors given that stick out of the screen (their right edge beyond the viewport)
WIDER_THAN_SCREEN = """(selectors) => selectors.flatMap((s) => [...document.querySelectorAll(s)])
  .filter((el) => el.getBoundingClientRect().width > 0 && el.getBoundingClientRect().right > innerWidth + 1)
  .filter((el) => !el.closest('table.cards > thead'))   // a card table's head, clipped to one pixel for screen readers
  .map((el) => el.tagName + (el.id ? '#' + el.id : '') + ' ' + Math.round(el.getBoundingClientRect().right))"""


@pytest.mark.parametrize("device", DEVICES)
def test_the_centre_redispatches_from_the_case_page(app, users, login, device):
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id, lead="D01", co=("D02",))
    page = login("center", **DEVICES[device])
    page.goto(f"/cases/{case_id}")
    page.locator("#redispatch summary").click()
    form = page.locator("#redispatch form")
    form.get_by_label("主办部门").select_option("D03")
    form.get_by_label("自然资源和规划局").uncheck()
    form.get_by_label("综合行政执法局").check()
    form.get_by_label("改派理由").fill("属生态环境分局职责")
    assert page.evaluate(WIDER_THAN_SCREEN, ["#redispatch", "#redispatch *"]) == []
    screenshot(page, f"redispatch-form-{device}.png")
    form.get_by_role("button", name="确认改派").click()
    expect(page.locator(".flash.ok")).to_contain_text("已改派")
    current = page.locator("#current-tasks")
    expect(current).to_contain_text("生态环境分局")
    expect(current).not_to_contain_text("自然资源和规划局")
    record = page.locator("#redispatches")
    expect(record).to_contain_text("综合行政执法局 → 生态环境分局")
    expect(record).to_contain_text("属生态环境分局职责")
    screenshot(page, f"redispatch-done-{device}.png")

    # once a department signs, the form is gone
    users["dept_hb"].complete(users["dept_hb"].task(case_id, "签收"), {"returned": False})
    page.reload()
    expect(page.locator("#redispatch")).to_have_count(0)
    assert page.errors == []


@pytest.mark.parametrize("device", DEVICES)
def test_the_inbox_marks_urgent_and_emergency_calls(app, users, login, device):
    raise_call(users, title="一般的呼叫", urgency="normal")
    raise_call(users, title="特急的呼叫", urgency="emergency")
    page = login("center", **DEVICES[device])
    rows = page.locator("#inbox tbody tr")
    emergency = rows.filter(has_text="特急的呼叫")
    expect(emergency.locator(".urgency-mark.u-emergency")).to_have_text("特急")
    expect(emergency.locator(".urgency-mark")).to_be_visible()
    expect(rows.filter(has_text="一般的呼叫").locator(".urgency-cell")).to_have_text("一般")
    assert page.evaluate(WIDER_THAN_SCREEN, ["#inbox", "#inbox *"]) == []
    screenshot(page, f"inbox-urgency-{device}.png")


@pytest.mark.parametrize("device", DEVICES)
def test_the_auditor_browses_the_trail_and_finds_the_refusals_under_their_filter(app, users, login, device):
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id)
    assert users["town_b"].get(f"/cases/{case_id}").status_code == 404          # a refused look
    page = login("supervisor", **DEVICES[device])
    page.goto(f"/cases/{case_id}")
    expect(page.locator("#audit")).not_to_contain_text("无权访问")
    page.locator("#refusals-note a").click()
    expect(page).to_have_url(re.compile(r"/audit\?"))
    rows = page.locator("#audit-events tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("无权访问")
    expect(rows.first).to_contain_text(f"GET /api/v1/cases/{case_id}")

    page.goto(f"/audit?case_id={case_id}")
    expect(page.locator("#audit-events")).to_be_visible()
    expect(page.locator("#audit-events")).not_to_contain_text("无权访问")
    page.get_by_label("事件", exact=True).select_option("task_completed")
    page.get_by_role("button", name="筛选").click()
    expect(rows).to_have_count(2)
    expect(page.locator("#match-count")).to_have_text("2")
    assert page.evaluate(WIDER_THAN_SCREEN, ["#events", "#events *", "#audit-filters"]) == []
    screenshot(page, f"audit-browse-{device}.png")

    with page.expect_download() as info:
        page.get_by_role("button", name="导出", exact=True).click()
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    assert info.value.suggested_filename == f"audit-{today}.csv"
    assert page.errors == []


@pytest.mark.parametrize("device", DEVICES)
def test_a_department_opens_its_own_assessment(app, users, login, device):
    from helpers import assessment_calls
    assessment_calls(users)
    page = login("dept_zr", **DEVICES[device])
    period = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    page.goto(f"/reports?period={period}")
    expect(page.locator("#own-rank")).to_contain_text("排名第 3 名")
    expect(page.locator("#departments")).to_contain_text("自然资源和规划局")
    expect(page.locator("#departments")).not_to_contain_text("综合行政执法局")
    expect(page.locator("#townships")).to_have_count(0)
    screenshot(page, f"report-department-{device}.png")
    assert page.errors == []
