"""Evidence in a real browser, at desktop and phone size: a township raises a call with two photos
(the 拍照 input, which opens the camera on a phone) and a PDF through the form, sees the photos
previewed before sending, and finds them on the case page as thumbnails that open full size.

Set HUYING_SCREENSHOTS=<folder> to write `evidence-call-form-{desktop,phone}.png` and
`evidence-case-{desktop,phone}.png` there (docs/screenshots/ for the README)."""
import pytest

from browser_support import base_url, browser, login, require_browser, screenshot  # noqa: F401 - fixtures

sync_api = require_browser()
expect = sync_api.expect

from evidence_files import pdf, photo  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"])]

SIZES = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
TITLE = "明珠东路马路市场占道经营"
DESCRIPTION = "道路贯通后形成马路市场，摊点流动，街道多次清理无效，请求县级部门联动。"


@pytest.fixture
def open_page(login):
    """A page signed in as `username` at desktop or phone size (a phone with touch)."""
    return lambda username, size: login(username, viewport=SIZES[size], is_mobile=size == "phone",
                                        has_touch=size == "phone")


@pytest.mark.parametrize("size", list(SIZES))
def test_a_call_raised_with_photos_shows_them_as_thumbnails_on_the_case_page(open_page, size):
    town = open_page("town_a", size)
    town.goto("/cases/new/call_response")
    town.locator("input[name=title]").fill(TITLE)
    town.locator("textarea[name=description]").fill(DESCRIPTION)
    camera = town.locator("#ev-photos")
    expect(camera).to_have_attribute("capture", "environment")
    expect(camera).to_have_attribute("accept", "image/*")
    camera.set_input_files([
        {"name": "马路市场全景.jpg", "mimeType": "image/jpeg", "buffer": photo("firebrick", (1200, 900))},
        {"name": "摊点近景.jpg", "mimeType": "image/jpeg", "buffer": photo("steelblue", (900, 1200))}])
    town.locator("#ev-files").set_input_files(
        [{"name": "情况说明.pdf", "mimeType": "application/pdf", "buffer": pdf()}])
    chosen = town.locator("#ev-chosen li")
    expect(chosen).to_have_count(3)
    expect(town.locator("#ev-chosen img")).to_have_count(2)
    expect(chosen.nth(2)).to_contain_text("情况说明.pdf")
    town.locator("#evidence-inputs").scroll_into_view_if_needed()
    screenshot(town, f"evidence-call-form-{size}.png")

    town.get_by_role("button", name="提交", exact=True).click()
    expect(town.get_by_role("status")).to_have_text(f"已提交：{TITLE}")
    evidence = town.locator("#evidence")
    expect(evidence.locator(".ev-file")).to_have_count(3)
    thumbs = evidence.locator(".ev-image img")
    expect(thumbs).to_have_count(2)
    for i in range(2):
        thumbs.nth(i).scroll_into_view_if_needed()
        expect(thumbs.nth(i)).to_have_js_property("complete", True)
        assert thumbs.nth(i).evaluate("img => img.naturalWidth") > 0       # the thumbnail really loaded
    expect(evidence.locator(".ev-file").nth(2)).to_contain_text("情况说明.pdf")
    expect(evidence.locator(".ev-file").nth(2)).to_contain_text("岱庙街道")
    full = evidence.locator(".ev-image a").first.get_attribute("href")
    answer = town.request.get(full)
    assert answer.status == 200 and answer.headers["content-type"] == "image/jpeg"
    assert "sandbox" in answer.headers["content-security-policy"]
    width = town.evaluate("document.documentElement.scrollWidth")
    assert width <= SIZES[size]["width"], f"the case page scrolls sideways at {size}: {width}px"
    evidence.scroll_into_view_if_needed()
    screenshot(town, f"evidence-case-{size}.png", full_page=size == "desktop")
    assert not town.errors, town.errors
