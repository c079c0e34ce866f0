"""The grid worker's report from a phone and the platform's triage, in a real browser: the phone's
position (Playwright's geolocation) fills the location, a tap on the grid map moves it, the camera
input takes a photo; the platform's 受理分拨 page carries the report, its map and photo, and hands it
to a stationed agency. Every page at 390 px passes the phone checks.

Set HUYING_SCREENSHOTS=<folder> for `phone-grid-report.png`, `phone-grid-event.png` and
`desktop-platform-triage.png` (docs/screenshots/ for the README)."""
import re

import pytest

from browser_support import PAGE_PROBLEMS, base_url, browser, login, require_browser, screenshot  # noqa: F401

sync_api = require_browser()
expect = sync_api.expect

from evidence_files import photo  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"])]

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1366, "height": 900}}
HERE = {"latitude": 36.1950, "longitude": 117.1280, "accuracy": 12}


def tall_screenshot(page, name, width):
    """A screenshot of the whole page through a tall viewport (Chromium's full-page capture leaves the
    maps' SVG layers out)."""
    height = page.evaluate("document.documentElement.scrollHeight")
    page.set_viewport_size({"width": width, "height": min(height, 4000)})
    page.wait_for_timeout(300)
    screenshot(page, name, full_page=False)


def fits_the_phone(page):
    page.wait_for_load_state("load")
    problems = page.evaluate(PAGE_PROBLEMS, {"width": 390, "touch": True})
    assert not problems, f"{page.url}:\n" + "\n".join(problems)
    assert page.errors == []


def test_a_grid_worker_reports_from_the_phone_and_the_platform_hands_it_to_a_stationed_agency(login):
    grid = login("grid_a", geolocation=HERE, permissions=["geolocation"], **PHONE)
    grid.goto("/cases/new/grid_event")
    expect(grid.locator(".location-field .loc-map path.leaflet-interactive").first).to_be_visible()   # the grids drawn
    grid.locator("select[name=category]").select_option("street_market")
    grid.locator("textarea[name=description]").fill("明珠东路路口早市摊贩占道经营，堵塞非机动车道")
    grid.get_by_role("button", name="使用当前位置").click()
    expect(grid.locator("input[name='location.lat']")).to_have_value("36.195000")
    expect(grid.locator("input[name='location.lng']")).to_have_value("117.128000")
    expect(grid.locator(".loc-status")).to_contain_text("已定位")
    grid.locator("input[name='location.address']").fill("明珠东路与灵山大街路口")
    grid.locator("#ev-photos").set_input_files(
        [{"name": "早市.jpg", "mimeType": "image/jpeg", "buffer": photo("firebrick", (1200, 900))}])
    fits_the_phone(grid)
    tall_screenshot(grid, "phone-grid-report.png", 390)
    grid.get_by_role("button", name="提交", exact=True).click()
    expect(grid.get_by_role("status")).to_contain_text("已提交：马路市场、占道经营")
    expect(grid.locator("#grid-event #ge-address")).to_have_text("明珠东路与灵山大街路口")
    expect(grid.locator("#grid-event .loc-view path.leaflet-interactive[stroke='#b91c1c']")).to_be_visible(
        timeout=15_000)             # the point reported, drawn once the outlines have come (slow under load)
    expect(grid.locator("#evidence .ev-image img")).to_have_count(1)
    case_url = grid.url
    fits_the_phone(grid)
    tall_screenshot(grid, "phone-grid-event.png", 390)

    platform = login("platform_a", **DESKTOP)
    platform.locator("tr", has_text="马路市场、占道经营").get_by_role("link", name="办理").first.click()
    expect(platform.get_by_role("heading", name=re.compile("^受理分拨"))).to_be_visible()
    expect(platform.locator("#grid-event #ge-category")).to_have_text("马路市场、占道经营")
    expect(platform.locator("#grid-event .loc-view path.leaflet-interactive[stroke='#b91c1c']")).to_be_visible(
        timeout=15_000)             # the point reported, drawn once the outlines have come (slow under load)
    platform.locator("label.choice", has_text="乡镇内办理").click()
    platform.locator("select[name=handler]").select_option("T01-ZFZD")
    platform.locator("input[name=deadline]").fill("2030-01-04")
    platform.locator("textarea[name=opinion]").fill("请执法中队今日清理占道摊点")
    tall_screenshot(platform, "desktop-platform-triage.png", 1366)
    platform.locator("#complete").click()
    expect(platform.get_by_role("status")).to_contain_text("已办理：受理分拨")

    agency = login("stationed_a", **PHONE)
    agency.locator("tr", has_text="马路市场、占道经营").get_by_role("link", name="办理").first.click()
    expect(agency.get_by_role("heading", name=re.compile("^派驻机构处置"))).to_be_visible()
    expect(agency.locator("#deadline")).to_contain_text("2030-01-04")
    fits_the_phone(agency)
    assert case_url.split("/cases/")[1].isdigit()


def test_a_tap_on_the_grid_map_picks_the_place(login):
    grid = login("grid_a", **DESKTOP)
    grid.goto("/cases/new/grid_event")
    area = grid.locator(".location-field .loc-map")
    expect(area.locator("path.leaflet-interactive").first).to_be_visible()
    box = area.bounding_box()
    grid.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(grid.locator("input[name='location.lat']")).to_have_value(re.compile(r"^36\.\d{6}$"))
    expect(grid.locator(".loc-status")).to_have_text("已在地图上选定位置")
