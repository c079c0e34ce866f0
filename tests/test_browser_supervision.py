"""督办 in a real browser: the supervisor opens the dashboard, finds the overdue call in the table
and the process diagram drawn by bpmn-js with the stuck 签收 highlighted and counted.

Runs Debian's Chromium (/usr/bin/chromium) through Playwright against the app served by waitress
on a free port, like test_browser_lifecycle.py. Set HUYING_SCREENSHOTS=<folder> to also write
`supervision.png` (the dashboard, 1280x900, full page) there.
"""
import re
import time

import pytest

from browser_support import base_url, browser, login, require_browser, screenshot  # noqa: F401 - fixtures

sync_api = require_browser()
expect = sync_api.expect

from app import cases, deadlines  # noqa: E402
from helpers import accept_and_dispatch, raise_call  # noqa: E402

BUNDLES = ('diagram.js',)
pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"])]

VIEWPORT = {"width": 1280, "height": 900}
TITLE = "明珠东路马路市场占道经营"


def test_supervisor_sees_the_stuck_sign_step_on_the_diagram(app, users, login):
    app.config.update(SUPERVISION={"limits": {"sign": {"normal": "PT1S"}}})
    deadlines.invalidate()
    case_id = raise_call(users, list_item=None)
    accept_and_dispatch(users, case_id, co=("D02",))      # two departments to sign: two overdue tasks
    time.sleep(1.2)
    with app.app_context():
        cases.fire_due_timers()

    sup = login("supervisor")
    sup.get_by_role("link", name="督办", exact=True).click()
    expect(sup).to_have_url(re.compile(r"/supervision$"))
    expect(sup.get_by_role("heading", name=re.compile("^督办"))).to_be_visible()
    expect(sup.locator("#summary [data-reason=overdue] .n")).to_have_text("2")

    rows = sup.locator("#stuck tbody tr").filter(has_text=TITLE)
    expect(rows).to_have_count(2)
    expect(rows.locator(".sv-reason")).to_have_text(["超时", "超时"])
    expect(rows.filter(has_text="综合行政执法局")).to_have_count(1)
    expect(rows.filter(has_text="自然资源和规划局")).to_have_count(1)
    expect(rows.first.locator("td").nth(1)).to_have_text("签收")

    diagram = sup.locator(".diagram")
    expect(diagram).to_have_count(1)
    stuck = diagram.locator("svg .huying-stuck")
    expect(stuck).to_have_count(1)
    expect(stuck).to_have_attribute("data-element-id", "sign")
    expect(diagram.locator(".huying-badge")).to_have_text("2")
    expect(diagram.locator(".diagram-error")).to_have_count(0)
    screenshot(sup, "supervision.png")

    # the case link leads to the case
    rows.first.get_by_role("link", name=TITLE).click()
    expect(sup).to_have_url(re.compile(rf"/cases/{case_id}$"))
