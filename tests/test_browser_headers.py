"""The Content-Security-Policy in a real browser: the pages with bpmn-js and Chart.js draw with
nothing refused, while a script or handler slipped into a page does not run and no other site
can show a Huying page in a frame. (The modeller, the diagrams, the report charts and the case
file are also driven under the policy by the other browser tests, which count refusals as errors.)

Runs Debian's Chromium (/usr/bin/chromium) through Playwright against the app served by waitress
on a free port, like test_browser_lifecycle.py."""
import pytest

from browser_support import base_url, browser, login, require_browser  # noqa: F401 - fixtures

sync_api = require_browser()
expect = sync_api.expect

from helpers import raise_call  # noqa: E402

BUNDLES = ("diagram.js",)
pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"])]


def test_a_case_page_draws_its_diagram_and_runs_no_slipped_in_script(users, login):
    case_id = raise_call(users)
    town = login("town_a")
    town.goto(f"/cases/{case_id}")
    diagram = town.locator(".diagram")
    expect(diagram.locator("svg .djs-element").first).to_be_attached()
    expect(diagram.locator("svg .huying-stuck")).to_have_count(1)     # the ready 受理, marked
    expect(diagram.locator(".diagram-error")).to_have_count(0)
    assert town.errors == []

    ran = town.evaluate("""() => new Promise((done) => {
        const script = document.createElement('script');
        script.textContent = 'window.inlineRan = true';
        document.body.append(script);                 // an allowed inline script would have run by now
        const holder = document.createElement('div');
        holder.innerHTML = '<img src="data:," onerror="window.handlerRan = true">';
        holder.firstChild.addEventListener('error', () => setTimeout(
            () => done([window.inlineRan === true, window.handlerRan === true])));
        document.body.append(holder);
    })""")
    assert ran == [False, False]
    assert len(town.errors) == 2 and all("Content Security Policy" in e for e in town.errors)


def test_no_other_site_shows_a_page_in_a_frame(browser, base_url):
    context = browser.new_context()
    page = context.new_page()
    with page.expect_console_message(lambda m: "frame-ancestors" in m.text) as refused:
        page.set_content(f'<iframe id="f" src="{base_url}/login"></iframe>')
    assert "'none'" in refused.value.text
    expect(page.frame_locator("#f").get_by_label("用户名")).to_have_count(0)
    context.close()
