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


# --- what a user would feel on a page, measured in the page ---------------------------------------
# PAGE_PROBLEMS({width, touch, allowed}) -> a list of the problems found, each naming the element
# (tag#id.class "its text") and what is wrong; empty when all is well. It checks:
#  - nothing wider than the screen (what sticks out is named; .scroll-x boxes and diagrams scroll by themselves);
#  - the header: no text broken over lines, at most two lines, at most 120 px;
#  - no table column squeezed below four characters with its words broken (tables shown as cards pass);
#  - no text broken character by character anywhere (a box narrower than two characters holding a longer text);
#  - on touch screens, tap targets of at least 40x40 px: buttons, button-like and standalone links (a link that is
#    the whole text of its box, not a link inside a sentence), fields, and the labels of radios and checkboxes;
#  - with `allowed` (a list of regular expressions, see ASCII_ALLOWED), no visible ASCII word outside them:
#    texts, options, placeholders, tooltips and accessible names; the content of a folded <details> counts.
PAGE_PROBLEMS = r"""({ width, touch, allowed }) => {
  const problems = [];
  const shown = (el) => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden';
  };
  const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
    + (typeof el.className === 'string' && el.className.trim() ? '.' + el.className.trim().split(/\s+/).join('.') : '')
    + ' "' + (el.innerText || el.value || el.textContent || '').trim().replace(/\s+/g, ' ').slice(0, 30) + '"';
  const where = (el) => {   // the element with its nearest ancestor that has an id: "section#history li.x ..."
    const home = el.parentElement && el.parentElement.closest('[id]');
    return (home && home !== document.body ? home.tagName.toLowerCase() + '#' + home.id + ' ' : '') + name(el);
  };

  const page = document.documentElement.scrollWidth;
  if (page > width || page > innerWidth) {
    const wide = [...document.body.querySelectorAll('*')]
      .filter((el) => shown(el) && el.getBoundingClientRect().right > width + 1
        && !el.parentElement.closest('.scroll-x, .diagram'))
      .slice(-3).map(where);
    problems.push(`the page is ${page} px wide on a ${width} px screen: ${wide.join(', ')}`);
  }

  const texts = function* (root) {   // each text of root with the boxes of its lines
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (!node.textContent.trim()) continue;
      const range = document.createRange();
      range.selectNodeContents(node);
      const rects = [...range.getClientRects()].filter((r) => r.width > 0);
      yield [node.textContent.trim(), rects, new Set(rects.map((r) => Math.round(r.top))).size, node];
    }
  };

  const header = document.querySelector('header.top') || document.createElement('header');
  const centres = [];
  for (const [text, rects, lines] of texts(header)) {
    if (lines > 1) problems.push(`header text "${text}" is broken over ${lines} lines`);
    rects.forEach((r) => centres.push((r.top + r.bottom) / 2));
  }
  centres.sort((a, b) => a - b);
  const lines = centres.filter((c, i) => i === 0 || c - centres[i - 1] > 12).length;
  const height = header.getBoundingClientRect().height;
  if (lines > 2 || height > 120) problems.push(`the header takes ${lines} lines, ${Math.round(height)} px`);

  for (const table of document.querySelectorAll('main table')) {
    if (!shown(table)) continue;
    const cell = table.querySelector('td');
    if (!cell || getComputedStyle(cell).display !== 'table-cell') continue;   // shown as cards
    // a column narrower than four characters whose words are broken over lines ("清/单")
    const squeezed = [...table.querySelectorAll('th, td')].find((c) => shown(c)
      && c.getBoundingClientRect().width < 4 * parseFloat(getComputedStyle(c).fontSize)
      && [...texts(c)].some(([, , lines]) => lines > 1));
    if (squeezed) problems.push(`a column of ${where(table)} is squeezed to ${Math.round(squeezed.getBoundingClientRect().width)} px: ${name(squeezed)}`);
  }

  const clipped = (el) => {   // inside a box of a pixel, as a visually hidden table head or .sr-only is
    for (let e = el; e && e !== document.body; e = e.parentElement) {
      const r = e.getBoundingClientRect();
      if ((r.width <= 2 || r.height <= 2) && getComputedStyle(e).overflow !== 'visible') return true;
    }
    return false;
  };
  for (const [text, rects, lines, node] of texts(document.body)) {   // "清/单": one or two characters a line
    if (lines < 2 || text.length < 3 || clipped(node.parentElement)) continue;
    const em = parseFloat(getComputedStyle(node.parentElement).fontSize);
    if (Math.max(...rects.map((r) => r.width)) < 2.5 * em) {
      problems.push(`text broken character by character over ${lines} lines: ${where(node.parentElement)}`);
    }
  }

  if (touch) {
    const targets = new Set();
    document.querySelectorAll('input[type=radio], input[type=checkbox]').forEach((i) => targets.add(i.closest('label') || i));
    document.querySelectorAll('button, a.button, select, textarea, summary, #site-nav a, nav a, '
      + 'input:not([type=hidden]):not([type=radio]):not([type=checkbox]):not([type=file])').forEach((el) => targets.add(el));
    document.querySelectorAll('main a[href]').forEach((a) => {   // a link standing alone, not one inside a sentence
      const box = a.parentElement;
      if (box && box.innerText.trim() === a.innerText.trim()) targets.add(a);
    });
    for (const el of targets) {
      if (!shown(el) || el.closest('.diagram, .bjs-container')) continue;
      const r = el.getBoundingClientRect();
      if (r.height < 40 || r.width < 40) problems.push(`${where(el)} is a ${Math.round(r.width)}x${Math.round(r.height)} px target`);
    }
  }

  if (allowed) {
    const pass = new RegExp(allowed.join('|'), 'g');
    const word = /[A-Za-z][A-Za-z0-9_]*(?:[.\-/:@][A-Za-z0-9_]+)*/g;
    const seen = new Set();
    const check = (text, el, what) => {
      const left = (text || '').replace(pass, ' ').match(word);
      const key = what + text;
      if (left && !seen.has(key)) {
        seen.add(key);
        const words = left.slice(0, 8).map((w) => '"' + w + '"').join(' ') + (left.length > 8 ? ` and ${left.length - 8} more` : '');
        problems.push(`ASCII ${words} in ${what} of ${where(el)}: "${text.trim().replace(/\s+/g, ' ').slice(0, 80)}"`);
      }
    };
    const reachable = (el) => el.getClientRects().length > 0
      || (el.closest('details:not([open])') && shown(el.closest('details:not([open])')));
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const el = node.parentElement;
      if (!node.textContent.trim() || el.closest('script, style, noscript, template, textarea, [translate=no]')) continue;
      if (el.closest('option') ? reachable(el.closest('select')) : reachable(el)) check(node.textContent, el, 'the text');
    }
    for (const el of document.body.querySelectorAll('[placeholder], [title], [aria-label], [alt], input[type=submit][value], input[type=button][value]')) {
      if (!reachable(el) || el.closest('[translate=no]')) continue;
      for (const attr of ['placeholder', 'title', 'aria-label', 'alt', 'value']) {
        if (attr === 'value' && !['submit', 'button'].includes(el.type)) continue;
        if (el.hasAttribute(attr)) check(el.getAttribute(attr), el, attr);
      }
    }
  }
  return problems;
}"""

# An identifier shown on purpose beside its Chinese name — a username one logs in with, a unit's code an
# admin types, an element id an analyst looks up in the BPMN file — is marked as HTML marks what must not
# be translated (translate="no") and is not counted; it never stands alone for the thing it names.
# Visible ASCII that is no English: each pattern is a proper name, a format, a code or a value a person in
# the county reads as such. Everything else ASCII on a page is a leak of the code's own words (a key, a
# status, an id, an API path) — give it its Chinese label (app/labels.py) rather than a pattern here.
ASCII_ALLOWED = (
    r"\bBPMN(?: 2\.0)?\b", r"\bbpmn\.io\b", r"\bDMN\b",         # the process notation and its modeller's site
    r"\bPowered by bpmn\.io\b",                                # bpmn-js's watermark, which its licence forbids to change
    r"\b(?:CSV|XLSX|Excel|JSON(?: Lines)?|PDF|JPEG|PNG|WEBP|HEIC|Word|PowerPoint|WPS)\b",   # file formats people choose
    r"\bWebhook\b", r"\bhttps://\S+",                          # a group robot's address, as WeCom and DingTalk name it
    r"\b[A-Z]{2,3}-\d{2,3}\b",                                 # list item codes: ZF-01
    r"(?<![A-Za-z])[A-E](?=(?:、[A-E])*级)",                              # grades the list's own texts use: C、D级危房
    r"\b\d+(?:\.\d+)? ?(?:[kKMG]B|B)\b",                       # file sizes: 120 kB
    r"[^\s/（(]*\.(?:jpe?g|png|webp|heic|pdf|docx?|xlsx?|et|csv|txt|zip|bpmn|dmn|json|jsonl)\b",  # file names, extensions
    r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b",                       # e-mail addresses the users gave
    r"\bSHA-256\b", r"\b[0-9a-f]{12,64}\b",                     # a file's fingerprint
    r"\bIP(?= ?地址)", r"\bA4\b",                               # IP 地址 and A4 paper, as Chinese writes them
    r"\b(?:Ctrl|Shift|Alt|Esc|Enter)(?:\+[A-Z0-9])?\b",          # keys, as printed on the keyboard
)
