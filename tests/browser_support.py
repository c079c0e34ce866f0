"""What the browser tests share: Debian's Chromium driven by Playwright, the app served by
waitress on a free port, logging in through /login, and screenshots for the README.

A browser test module calls `require_browser()` first (it skips the module when Chromium or
Playwright is missing) and imports the fixtures `browser`, `base_url` and `login` from here.
A module may set VIEWPORT and BUNDLES (files of app/static/dist/ it needs built); `login(username, **device)`
takes Playwright's context options of a device (viewport, is_mobile, has_touch) for one user."""
import os
import re
import threading
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
DIST = Path(__file__).resolve().parent.parent / "app" / "static" / "dist"
PASSWORD = "demo"


def require_browser():
    """Playwright's sync API, or skip the calling module."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} not found: browser tests need Debian's chromium package", allow_module_level=True)
    api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: browser tests skipped")
    api.expect.set_options(timeout=10_000)
    return api


@pytest.fixture(scope="module")
def browser(request):
    from playwright.sync_api import sync_playwright
    for bundle in getattr(request.module, "BUNDLES", ()):
        if not (DIST / bundle).exists():
            pytest.skip(f"app/static/dist/{bundle} is not built: run `make bundles`")
    pw = sync_playwright().start()
    try:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
    finally:
        pw.stop()


@pytest.fixture
def base_url(app):
    """The app served by waitress on a free port, for the length of one test."""
    import waitress
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, name="waitress", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()
    thread.join(timeout=5)


@pytest.fixture
def login(browser, base_url, request):
    """login(username) -> a page of a fresh browser context, logged in through /login, on the inbox;
    the page collects its JavaScript errors, and whatever the Content-Security-Policy refused, in `page.errors`."""
    from playwright.sync_api import expect
    viewport = getattr(request.module, "VIEWPORT", {"width": 1280, "height": 900})
    contexts = []

    def login(username, **device):
        context = browser.new_context(**{"base_url": base_url, "viewport": viewport, "locale": "zh-CN", **device})
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        page.on("console", lambda m: csp_violation(m) and page.errors.append(m.text))
        page.goto("/login")
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        expect(page.get_by_role("heading", name=re.compile("^我的待办"))).to_be_visible()
        return page

    yield login
    for context in contexts:
        context.close()


def csp_violation(message):
    """Whether a console message is Chromium's report of something the Content-Security-Policy refused."""
    return message.type == "error" and "Content Security Policy" in message.text


def screenshot(page, name, full_page=True):
    """Write a PNG for the README when HUYING_SCREENSHOTS names a folder."""
    folder = os.environ.get("HUYING_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / name), full_page=full_page)
