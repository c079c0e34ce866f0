"""综合指挥 in a real browser, on a desktop (1366x768) and a phone (390x844): the leader opens the command
view from the menu and finds the townships' and grids' outlines drawn by Leaflet (app/static/dist/command.js),
the open events as coloured dots, the counts and a warning linking to its cases; no page wider than the
phone; the 大屏 shows the same map and warnings with the time of its last refresh. Screenshots go to
HUYING_SCREENSHOTS (desktop-command.png, phone-command.png, desktop-command-screen.png)."""
import re

import pytest

from browser_support import PAGE_PROBLEMS, base_url, browser, login, require_browser, screenshot  # noqa: F401 - fixtures

sync_api = require_browser()
expect = sync_api.expect

BUNDLES = ("command.js",)
pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"])]
VIEWPORT = {"width": 1366, "height": 768}
MARKET = {"lat": 36.2300, "lng": 117.0900, "address": "岱庙街道明珠东路"}


def reports_of_one_place(users):
    ids = []
    for i, who in enumerate(("grid_a", "grid_a2", "grid_a")):
        r = users[who].post("/cases", json={"process_id": "grid_event", "data": {
            "category": "street_market", "description": f"明珠东路早市占道经营（第{i + 1}次上报）",
            "location": dict(MARKET, lat=MARKET["lat"] + i * 0.0005), "urgency": "normal"}})
        assert r.status_code == 201, r.json
        ids.append(r.json["id"])
    return ids


def expect_map_and_warning(page, ids):
    expect(page.locator("#cmd-map path.leaflet-interactive").first).to_be_visible()
    assert page.locator("#cmd-map path.leaflet-interactive").count() >= 40 + len(ids)   # 8 townships, 32 grids, the dots
    warning = page.locator('.cmd-warning[data-kind="repeated_place"]')
    expect(warning).to_contain_text("反复上报")
    expect(warning.get_by_role("link", name=f"#{ids[0]}")).to_have_attribute("href", f"/cases/{ids[0]}")
    assert page.errors == []


def test_the_centre_reads_the_command_view_and_the_wall_screen_on_desktop(users, login):
    ids = reports_of_one_place(users)
    leader = login("center")
    leader.get_by_role("link", name="综合指挥", exact=True).click()
    expect(leader).to_have_url(re.compile(r"/command$"))
    expect_map_and_warning(leader, ids)
    expect(leader.locator("#by-township")).to_contain_text("岱庙街道")
    screenshot(leader, "desktop-command.png")
    leader.get_by_role("link", name="大屏").click()
    expect(leader).to_have_url(re.compile(r"/command/screen"))
    expect_map_and_warning(leader, ids)
    expect(leader.locator("#cmd-refreshed")).to_have_text(re.compile(r"^\d\d:\d\d:\d\d$"))
    screenshot(leader, "desktop-command-screen.png", full_page=False)


def test_the_command_view_fits_a_phone(users, login):
    ids = reports_of_one_place(users)
    phone = login("center", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    phone.goto("/command")
    expect_map_and_warning(phone, ids)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    problems = phone.evaluate(PAGE_PROBLEMS, {"width": 390, "touch": True, "allowed": None})
    assert [p for p in problems if "px wide on a" in p] == []
    screenshot(phone, "phone-command.png")
    phone.goto("/command/screen")
    expect_map_and_warning(phone, ids)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
