"""督办 in a real browser: the supervisor opens the dashboard, finds the overdue call in the table
and the process diagram drawn by bpmn-js with the stuck 签收 highlighted and counted.

Runs Debian's Chromium (/usr/bin/chromium) through Playwright against the app served by waitress
on a free port, like test_browser_lifecycle.py. Set HUYING_SCREENSHOTS=<folder> to also write
`supervision.png` (the dashboard, 1280x900, full page) there.
"""
import os
import re
import threading
import time
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip(f"{CHROMIUM} not found: browser tests need Debian's chromium package", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: browser tests skipped")
waitress = pytest.importorskip("waitress", reason="waitress is not installed: browser tests skipped")
expect, sync_playwright = sync_api.expect, sync_api.sync_playwright

from app import cases, deadlines  # noqa: E402
from helpers import accept_and_dispatch, raise_call  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"])]

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
VIEWPORT = {"width": 1280, "height": 900}
PASSWORD = "demo"
TITLE = "明珠东路马路市场占道经营"
DIST = Path(__file__).resolve().parent.parent / "app" / "static" / "dist" / "diagram.js"
expect.set_options(timeout=10_000)


@pytest.fixture(scope="module")
def browser():
    if not DIST.exists():
        pytest.skip("app/static/dist/diagram.js is not built: run `make app/static/dist/diagram.js`")
    pw = sync_playwright().start()
    try:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    finally:
        pw.stop()


@pytest.fixture
def base_url(app):
    """The app served by waitress on a free port, for the length of one test."""
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, name="waitress", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()
    thread.join(timeout=5)


@pytest.fixture
def login(browser, base_url):
    """login(username) -> a page of a fresh browser context, logged in through /login, on the inbox."""
    contexts = []

    def login(username):
        context = browser.new_context(base_url=base_url, viewport=VIEWPORT, locale="zh-CN")
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.goto("/login")
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        expect(page.get_by_role("heading", name=re.compile("^我的待办"))).to_be_visible()
        return page

    yield login
    for context in contexts:
        context.close()


def screenshot(page, name):
    folder = os.environ.get("HUYING_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / name), full_page=True)


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
