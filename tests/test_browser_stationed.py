"""The org tree on the phone and the report's stationed-agency table on the desktop, as users see
them (no horizontal overflow, no script errors); screenshots phone-org-tree.png and
desktop-report-stationed.png when HUYING_SCREENSHOTS names a folder."""
import pytest

from browser_support import base_url, browser, login, require_browser  # noqa: F401 - fixtures

sync_api = require_browser()
expect = sync_api.expect

from test_browser_phone import DEVICES, looks_right  # noqa: E402
from test_stationed_assessment import _event  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"])]


def test_the_org_tree_on_the_phone_shows_the_agency_under_its_township(login):
    page = login("admin", **DEVICES["phone"])
    page.goto("/admin/units")
    township = page.locator("#unit-T01")
    expect(township.locator(".ad-subtree")).to_contain_text("岱庙综合执法中队（派驻单位：综合行政执法局）")
    township.scroll_into_view_if_needed()
    looks_right(page, "phone")
    township.screenshot(path="docs/screenshots/phone-org-tree.png")


def test_the_reports_agency_table_on_the_desktop(app, login):
    _event(app, "T01-ZFZD", "T01", 5, True)
    _event(app, "T01-ZFZD", "T01", 3, False)
    _event(app, "T02-ZFZD", "T02", 4, True)
    with app.app_context():
        from app import reports
        period = reports.current_period()
    page = login("supervisor", **DEVICES["desktop"])
    page.goto(f"/reports?period={period}")
    table = page.locator("#stationed")
    expect(table.locator('tr[data-org="T01-ZFZD"]')).to_contain_text("4.00")
    table.scroll_into_view_if_needed()
    looks_right(page, "desktop")
    page.screenshot(path="docs/screenshots/desktop-report-stationed.png", clip={
        **{k: v for k, v in page.locator("#h-stationed").bounding_box().items() if k in ("x", "y")},
        "width": 1300, "height": 420})
