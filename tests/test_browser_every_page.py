"""Every page each kind of user reaches, on a phone (390x844, touch) and on a desktop (1366x768), in a
county in full swing (tests/county.py: months of history, a call at each step, orders, flags, an
extension, list changes, files): the test signs in, follows the site menu and the links on the pages it
finds (same origin, GET only, a few pages of each shape), and on each page asks browser_support's
PAGE_PROBLEMS what a user would feel — a page wider than the screen, the header or a text broken
character by character, a tap target under 40 px on the phone, and any visible ASCII word that is no
proper name, format or code of ASCII_ALLOWED. A link that answers an error is a problem too.

One test per user; its failure lists every problem found, each with the page, the device, the element
and its text. Set HUYING_SCREENSHOTS=<folder> to also write every-<user>-<device>-<n>.png of the pages."""
import re
from collections import Counter
from urllib.parse import parse_qsl, urlsplit

import pytest

from browser_support import (ASCII_ALLOWED, PAGE_PROBLEMS, PASSWORD, browser, csp_violation,  # noqa: F401 - fixture
                             require_browser, screenshot)

sync_api = require_browser()

BUNDLES = ("diagram.js", "reports.js", "modeler.js", "command.js")
pytestmark = pytest.mark.browser

DEVICES = {
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
    "desktop": {"viewport": {"width": 1366, "height": 768}},
}
MAX_PAGES = 90            # pages a user's crawl visits at most, on each device
PER_SHAPE = {"/tasks/ID": 10, "/cases/N": 4}   # pages of one shape (path with its ids, query keys) ...
PER_SHAPE_DEFAULT = 2                           # ... and of any other shape
# links that are files, not pages: fetched (they must answer), not looked at
FILES = re.compile(r"/export|\.xlsx$|\.csv$|\.bpmn$|/attachments/|/api/v1/")
# each user's crawl must reach at least these kinds of page (see `shape`): a case, its dossier, a task of
# each kind in the user's inbox, and the pages of the user's menu
EVERYONE = {"/", "/cases", "/list", "/list/items/CODE", "/list/versions", "/list/diff?from&to", "/notifications"}
REACHES = {
    "town_a": EVERYONE | {"/cases/N", "/cases/N/dossier", "/tasks/ID", "/cases/new/call_response",
                          "/cases/new/list_change"},
    "dept_zf": EVERYONE | {"/cases/N", "/cases/N/dossier", "/tasks/ID", "/cases/new/duty_sinking"},
    "center": EVERYONE | {"/cases/N", "/cases/N/dossier", "/tasks/ID", "/extensions", "/reports", "/command",
               "/command/screen?period"},
    "supervisor": EVERYONE | {"/cases/N", "/cases/N/dossier", "/tasks/ID", "/supervision", "/supervision/flags",
                              "/extensions", "/accountability", "/reports", "/audit"},
    "leader": EVERYONE | {"/cases/N", "/tasks/ID", "/reports", "/command", "/command/screen?period"},
    "admin": EVERYONE | {"/cases/N", "/reports", "/processes", "/processes/call_response/diff", "/audit",
                         "/admin/calendar", "/admin/notifications"},
    "analyst": EVERYONE | {"/cases/N", "/processes", "/processes/new", "/processes/call_response/model",
                           "/processes/call_response/diff", "/processes/call_response/migration"},
}
USERS = tuple(REACHES)


@pytest.fixture(scope="module")
def county(sqlite_template, tmp_path_factory):
    """One app for the module, its database filled by county.fill: (app, ids of its cases)."""
    import shutil

    import county as county_
    from conftest import ApiUser, _make_app

    path = tmp_path_factory.mktemp("every-page") / "huying.db"
    shutil.copy(sqlite_template, path)
    app = _make_app(f"sqlite:///{path}")
    client = app.test_client()

    class Users(dict):
        def __missing__(self, name):
            self[name] = ApiUser(client, name)
            return self[name]
    ids = county_.fill(app, Users())
    yield app, ids
    from app.extensions import db
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def served(county):
    """The county's app served by waitress on a free port for one test: its base URL."""
    import threading

    import waitress
    server = waitress.create_server(county[0], host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, name="waitress", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()
    thread.join(timeout=5)


def today():
    from datetime import datetime

    from app.timefmt import local_zone
    return datetime.now(local_zone()).date().isoformat()


def shape(url):
    """What makes two URLs the same kind of page: the path with its ids, the names of its query."""
    parts = urlsplit(url)
    path = re.sub(r"/[0-9a-f]{8}-[0-9a-f-]{27}", "/ID", parts.path)
    path = re.sub(r"/[A-Z]{2,3}-\d+", "/CODE", re.sub(r"/\d+", "/N", path))
    keys = sorted({k for k, _ in parse_qsl(parts.query, keep_blank_values=True)})
    return path + ("?" + "&".join(keys) if keys else "")


def alike(problems, keep=3):
    """The problems of one page with those alike (the same but for the texts and sizes they quote)
    after the first `keep` counted in one line."""
    kinds = Counter()
    out = []
    for problem in problems:
        kind = re.sub(r'"[^"]*"|\d+', "", problem)
        kinds[kind] += 1
        if kinds[kind] <= keep:
            out.append(problem)
        elif kinds[kind] == keep + 1:
            out.append(kind)
    return [f"{p} — and {kinds[p] - keep} more like it" if p in kinds else p for p in out]


def sign_in(browser, base_url, username, device):
    context = browser.new_context(base_url=base_url, locale="zh-CN", **DEVICES[device])
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("console", lambda m: csp_violation(m) and page.errors.append(m.text))
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    sync_api.expect(page.get_by_role("heading", name=re.compile("^我的待办"))).to_be_visible()
    return context, page


def crawl(page, base_url, device, extra=(), shots=None):
    """Visit the pages reachable from the inbox (breadth first, within the bounds above) and the
    `extra` paths; returns (the paths visited, the problems found as "path [device]: problem")."""
    problems, visited, per_shape, fetched = [], [], Counter(), set()
    queue, queued = ["/"] + list(extra), set()
    settings = {"width": DEVICES[device]["viewport"]["width"], "touch": device == "phone",
                "allowed": list(ASCII_ALLOWED)}
    while queue and len(visited) < MAX_PAGES:
        path = queue.pop(0)
        kind = shape(path)
        if per_shape[kind] >= PER_SHAPE.get(kind, PER_SHAPE_DEFAULT):
            continue
        per_shape[kind] += 1
        page.errors.clear()
        answer = page.goto(path)
        if answer is None or not answer.ok:
            problems.append(f"{path} [{device}]: answers {answer.status if answer else 'nothing'}")
            continue
        page.wait_for_load_state("load")
        here = urlsplit(page.url)
        visited.append(path)
        problems.extend(f"{path} [{device}]: {problem}" for problem in alike(page.evaluate(PAGE_PROBLEMS, settings)))
        problems.extend(f"{path} [{device}]: script error {e}" for e in page.errors)
        if shots:
            screenshot(page, f"{shots}-{len(visited)}.png")
        for href in page.eval_on_selector_all("a[href]", "links => links.map((a) => a.href)"):
            link = urlsplit(href)
            if link.netloc != here.netloc or link.scheme not in ("http", "https"):
                continue
            target = link.path + ("?" + link.query if link.query else "")
            if FILES.search(link.path):
                if target not in fetched:
                    fetched.add(target)
                    status = page.request.get(href).status
                    if status >= 400:
                        problems.append(f"{path} [{device}]: the file linked as {target} answers {status}")
            elif target not in queued:
                queued.add(target)
                queue.append(target)
    return visited, problems


@pytest.mark.parametrize("username", USERS)
def test_every_page_a_user_reaches_fits_the_screen_and_speaks_chinese(browser, served, username):
    """On each device the user's crawl reaches the pages of REACHES, and none of them has a problem."""
    extra = ["/list/items/ZF-01", "/list/items/ZF-01?version=1", "/list/versions", "/list/diff?from=1&to=2",
             "/notifications/preferences"]
    if username == "supervisor":
        extra.append(f"/accountability?item_code=ZF-01&township=T01&incident_date={today()}&report=1")
    problems, reached = [], {}
    for device in DEVICES:
        context, page = sign_in(browser, served, username, device)
        try:
            visited, found = crawl(page, served, device, extra, shots=f"every-{username}-{device}")
        finally:
            context.close()
        reached[device] = {shape(p) for p in visited}
        problems += found
    for device, shapes in reached.items():
        assert REACHES[username] <= shapes, f"{username} on the {device} never reached {REACHES[username] - shapes}"
    assert not problems, (f"{username}: {len(problems)} problems on {len(reached['phone'])} kinds of page\n"
                          + "\n".join(problems))
