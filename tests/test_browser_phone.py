"""The pages a township, a department, the centre and the supervisor use, on a phone (390x844, touch)
and on a desktop (1366x768): a call walked through the roles in a real browser, and on every page
visited what a user would feel (browser_support.PAGE_PROBLEMS) — nothing wider than the screen, a
header of at most two lines with no word broken over lines, no table column squeezed below four
characters with its words broken (or the table shown as cards), no text broken character by
character, the current step of the diagram in view, and on the phone tap targets of at least 40 px.
test_browser_every_page.py looks so at every page each kind of user reaches, and at their language.

Set HUYING_SCREENSHOTS=<folder> to also write phone-*.png and desktop-*.png of the inbox, the call
form (new-case), the task form, the case page, the case list and the supervision board there, and
phone-menu.png of the open menu, for the README.
"""
import re
import time

import pytest

from browser_support import PAGE_PROBLEMS, base_url, browser, login, require_browser, screenshot  # noqa: F401 - fixtures

sync_api = require_browser()
expect = sync_api.expect

from app import cases, deadlines  # noqa: E402
from helpers import CALL, accept_and_dispatch, raise_call  # noqa: E402

BUNDLES = ("diagram.js", "reports.js")
pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"])]

DEVICES = {
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
    "desktop": {"viewport": {"width": 1366, "height": 768}},
}
TITLE = CALL["title"]


def looks_right(page, device, shot=None):
    """The page as a user on `device` would judge it; writes the screenshot `<device>-<shot>.png`."""
    settings = DEVICES[device]
    page.wait_for_load_state("load")          # the page's style sheets applied, not only its DOM parsed
    problems = page.evaluate(PAGE_PROBLEMS, {"width": settings["viewport"]["width"], "touch": device == "phone"})
    assert not problems, f"{page.url} on the {device}:\n" + "\n".join(problems)
    assert page.errors == []
    if shot:
        screenshot(page, f"{device}-{shot}.png")


def go(page, link, shot=None):
    """Follow a link of the site menu, opening it first where it is folded (on the phone);
    writes the screenshot `phone-<shot>.png` of the open menu."""
    toggle = page.locator("header .menu-toggle")
    nav = page.locator("#site-nav")
    if toggle.is_visible():
        expect(nav).to_be_hidden()
        toggle.click()
        expect(toggle).to_have_attribute("aria-expanded", "true")
        if shot:
            screenshot(page, f"phone-{shot}.png", full_page=False)
    nav.get_by_role("link", name=link, exact=True).click()
    expect(page.locator("#site-nav a.on")).to_have_text(link)


def diagram_drawn(page):
    diagram = page.locator(".diagram").first
    expect(diagram.locator("svg .djs-element").first).to_be_attached()
    return diagram


def current_step_in_view(page, diagram):
    """The highlighted step of the diagram is inside the box the user sees, not scrolled off it."""
    step = diagram.locator("svg .huying-stuck").first
    box, seen = step.bounding_box(), diagram.bounding_box()
    assert box and seen["x"] <= box["x"] + box["width"] / 2 <= seen["x"] + seen["width"]
    assert seen["x"] >= 0 and seen["x"] + seen["width"] <= page.viewport_size["width"]


def open_task(page, task_name):
    go(page, "待办")
    row = page.locator("#inbox tbody tr").filter(has_text=TITLE).filter(
        has=page.locator("td strong").filter(has_text=re.compile(rf"^{re.escape(task_name)}$")))
    row.get_by_role("link", name="办理").click()
    expect(page.get_by_role("heading", name=re.compile(rf"^{re.escape(task_name)}"))).to_be_visible()


def tap(page, device, locator):
    locator.tap() if device == "phone" else locator.click()


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_a_call_through_the_roles_fits_the_screen(app, users, login, device):
    app.config.update(SUPERVISION={"limits": {"sign": {"normal": "PT1S", "urgent": "PT1S"}}})
    deadlines.invalidate()
    dev = DEVICES[device]

    # the township raises the call on the form, choosing 紧急 by tapping its label
    town = login("town_a", **dev)
    looks_right(town, device)
    tap(town, device, town.get_by_role("link", name="发起乡呼县应"))
    expect(town.get_by_role("heading", name="发起呼叫")).to_be_visible()
    town.locator("[data-field=title] input").fill(TITLE)
    town.locator("[data-field=description] textarea").fill(CALL["description"])
    urgent = town.locator("[data-field=urgency] label.choice").filter(has_text="紧急").first
    tap(town, device, urgent)
    expect(urgent.locator("input")).to_be_checked()
    looks_right(town, device, "new-case")
    tap(town, device, town.get_by_role("button", name="提交"))
    expect(town.get_by_role("status")).to_have_text(f"已提交：{TITLE}")
    diagram = diagram_drawn(town)
    current_step_in_view(town, diagram)
    looks_right(town, device)

    # the centre accepts it on the task form and dispatches it to two departments
    center = login("center", **dev)
    looks_right(center, device, "inbox")
    open_task(center, "受理")
    looks_right(center, device, "task")
    tap(center, device, center.locator("[data-field=accepted] label.choice").filter(has_text="是"))
    tap(center, device, center.get_by_role("button", name="提交办理"))
    expect(center.get_by_role("status")).to_have_text("已办理：受理")
    open_task(center, "研判派单")
    center.locator("[data-field=lead_department] select").select_option(label="综合行政执法局")
    tap(center, device, center.locator("[data-field=co_departments] label.choice").filter(has_text="自然资源和规划局"))
    looks_right(center, device)
    tap(center, device, center.get_by_role("button", name="提交办理"))
    expect(center.get_by_role("status")).to_have_text("已办理：研判派单")

    # one department signs for it; the other lets its sign-for step go overdue
    dept = login("dept_zf", **dev)
    open_task(dept, "签收")
    looks_right(dept, device)
    tap(dept, device, dept.get_by_role("button", name="签收", exact=True))
    expect(dept.get_by_role("status")).to_have_text("已办理：签收")
    time.sleep(1.2)
    with app.app_context():
        cases.fire_due_timers()

    # the supervisor finds it on the board, in the case list and on the case page
    sup = login("supervisor", **dev)
    go(sup, "督办", shot="menu")
    expect(sup.locator("#stuck tbody tr").filter(has_text=TITLE)).to_have_count(1)
    current_step_in_view(sup, diagram_drawn(sup))
    looks_right(sup, device, "supervision")
    for tab in ("问题标记", "延期申请"):
        sup.locator("nav.tabs").get_by_role("link", name=tab).click()
        expect(sup.get_by_role("heading", name=re.compile(f"^{tab}"))).to_be_visible()
        looks_right(sup, device)
    go(sup, "清单")
    looks_right(sup, device)
    go(sup, "案件")
    looks_right(sup, device, "cases")
    sup.locator("#cases").get_by_role("link", name=TITLE).click()
    expect(sup.locator("#history > li strong")).to_have_text(["发起呼叫", "受理", "研判派单", "签收"])
    diagram = diagram_drawn(sup)
    current_step_in_view(sup, diagram)
    looks_right(sup, device, "case")
    if device == "phone":   # the drawing scrolls sideways in its box; 全图 fits it in, 放大 makes it readable again
        wider = "d => d.scrollWidth > d.clientWidth + 1"
        assert diagram.evaluate(wider)
        tap(sup, device, sup.get_by_role("button", name="全图"))
        assert not diagram.evaluate(wider)
        tap(sup, device, sup.get_by_role("button", name="放大"))
        tap(sup, device, sup.get_by_role("button", name="放大"))
        assert diagram.evaluate(wider)
        current_step_in_view(sup, diagram)


def test_every_page_in_the_supervisors_menu_fits_a_phone(users, login):
    """The supervisor's menu reaches the most pages; with the dossier and the list's other pages, none
    is wider than the phone, squeezes a column or offers a small target."""
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id)
    sup = login("supervisor", **DEVICES["phone"])
    pages = sup.eval_on_selector_all("#site-nav a", "links => links.map((a) => a.getAttribute('href'))")
    assert len(pages) >= 7
    for href in pages + [f"/cases/{case_id}/dossier", "/list/versions", "/list/items/ZF-01"]:
        assert sup.goto(href).ok
        looks_right(sup, "phone")
