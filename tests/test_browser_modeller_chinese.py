"""The modeller speaks Chinese, at desktop (1366x768) and phone (390x844, touch) size: bpmn-js's palette,
its tooltips, the context pad, the replace menu and its search, and the side panel's labels. No English
word is visible, nor in a tooltip or an accessible label, but proper names (BPMN, Python, ISO, Ctrl), the
codes shown as codes (<code>: an element's or the process's id) and the codes named in a tooltip for the
analyst who reads the XML. The bpmn.io watermark stays as bpmn-js draws it, as its licence requires:
a logo linking to bpmn.io, its "Powered by bpmn.io" title included.

Set HUYING_SCREENSHOTS=<folder> to also write modeller-zh-desktop.png and modeller-zh-phone.png there.
Also: the page's scripts and styles come fingerprinted, cached for a year and compressed (app/assets.py)."""
import re

import pytest

from browser_support import base_url, browser, login, require_browser, screenshot  # noqa: F401 - fixtures

sync_api = require_browser()
expect = sync_api.expect

BUNDLES = ("modeler.js",)
pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"])]

DEVICES = {
    "desktop": {"viewport": {"width": 1366, "height": 768}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}
PROPER_NAMES = {"BPMN", "Python", "ISO", "Ctrl"}
WATERMARK = "Powered by bpmn.io"
CODE_TOOLTIP = re.compile(r"^(文件中的属性名|标识|流程标识)：[\w.]+$")

# every word of Latin letters the modeller shows: its text (outside <code> and the form controls'
# values, which are the analyst's own expressions), tooltips, accessible labels and placeholders
ENGLISH_SHOWN = """(root) => {
  const words = [];
  const note = (where, text) => {
    for (const w of (text || '').match(/[A-Za-z]{2,}/g) || []) words.push([where, w, text.slice(0, 60)]);
  };
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!el || el.closest('code, script, style, svg, textarea, option')) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || getComputedStyle(el).visibility === 'hidden') continue;
    note('text', node.textContent);
  }
  for (const el of root.querySelectorAll('[title], [aria-label], [placeholder]')) {
    for (const attr of ['title', 'aria-label', 'placeholder']) {
      const value = el.getAttribute(attr);
      if (value) words.push(['@' + attr, null, value]);
    }
  }
  for (const el of root.querySelectorAll('option')) note('option', el.textContent);
  return words;
}"""


def english(page, root="body"):
    """[(where, word, text)] of English words shown outside the proper names and the codes."""
    found = []
    for where, word, text in page.locator(root).evaluate(ENGLISH_SHOWN):
        if word is None:              # an attribute: judged whole
            if text == WATERMARK or CODE_TOOLTIP.match(text):
                continue
            found += [(where, w, text) for w in re.findall(r"[A-Za-z]{2,}", text) if w not in PROPER_NAMES]
        elif word not in PROPER_NAMES:
            found.append((where, word, text))
    return found


def open_modeller(page):
    assets = []
    page.on("response", lambda r: "/static/" in r.url and assets.append(r))
    page.goto("/processes/call_response/model")
    modeler = page.locator("#modeler.md-ready")
    expect(modeler.locator(".djs-palette")).to_be_visible()
    return modeler, assets


@pytest.mark.parametrize("device", DEVICES)
def test_the_modeller_palette_context_pad_and_menus_are_in_chinese(app, login, device):
    page = login("analyst", **DEVICES[device])
    modeler, assets = open_modeller(page)
    palette = modeler.locator(".djs-palette .entry")
    labels = palette.evaluate_all("(els) => els.map((e) => e.getAttribute('aria-label'))")
    assert "抓手工具：拖动画布" in labels and "套索工具：框选多个元素" in labels and "新建开始事件" in labels
    assert "新建任务" in labels and "新建网关" in labels
    assert all(re.search(r"[\u4e00-\u9fff]", label) for label in labels), labels
    assert english(page) == []

    task = modeler.locator('.djs-palette .entry[data-action="create.task"]')
    if device == "desktop":           # the palette's tooltip on hover
        task.hover()
        expect(page.locator(".djs-hover-tooltip")).to_have_text("新建任务")

    shape = modeler.locator('.djs-element.djs-shape[data-element-id="accept"]')
    shape.click()
    pad = page.locator(".djs-context-pad")
    expect(pad.locator('.entry[data-action="append.append-task"]')).to_have_attribute("title", "追加任务")
    titles = pad.locator(".entry").evaluate_all("(els) => els.map((e) => e.getAttribute('title'))")
    assert {"追加任务", "追加网关", "追加结束事件", "添加文字注释", "更改元素类型", "删除", "连线到其他元素"} <= set(titles)
    panel = modeler.locator(".md-panel")
    expect(panel.locator(".md-type")).to_have_text("用户任务")
    expect(panel.get_by_label("表单", exact=True).locator("option:checked")).to_have_text("受理")
    assert english(page) == []
    # a label's tooltip names the property in the file (the properties panel's tooltip, the name marked a code)
    panel.locator(".bio-properties-panel-tooltip-wrapper", has_text="承办单位").hover()
    tip = page.locator(".bio-properties-panel-tooltip")
    expect(tip).to_have_text("文件中的属性名：orgUnit")
    expect(tip.locator('code[translate="no"]')).to_have_text("orgUnit")
    assert english(page) == []
    panel.scroll_into_view_if_needed()
    screenshot(page, f"modeller-panel-{device}.png")

    pad.locator('.entry[data-action="replace"]').click()
    menu = page.locator(".djs-popup")
    expect(menu.locator(".djs-popup-title")).to_have_text("更改元素类型")
    expect(menu).to_contain_text("服务任务")
    expect(menu.locator('[title="并行多实例"]')).to_have_count(1)
    search = menu.locator("input")
    search.fill("脚本")
    search.press("End")
    expect(menu.locator(".djs-popup-search-count")).to_have_text("找到 1 项")
    expect(menu.locator(".djs-popup-label")).to_have_text(["脚本任务"])
    assert english(page) == []
    screenshot(page, f"modeller-zh-{device}.png", full_page=False)
    search.press("Escape")

    watermark = modeler.locator("a.bjs-powered-by")        # kept, as bpmn-js's licence requires
    expect(watermark).to_be_visible()
    expect(watermark).to_have_attribute("href", "http://bpmn.io")
    assert page.errors == []

    bundle = next(r for r in assets if "/dist/modeler." in r.url)
    assert re.search(r"/static/dist/modeler\.[0-9a-f]{12}\.js$", bundle.url)
    assert bundle.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert bundle.headers["content-encoding"] == "br"


def test_a_refused_deploy_names_the_element_in_chinese(app, login):
    page = login("analyst", viewport={"width": 1366, "height": 768})
    modeler, _ = open_modeller(page)
    modeler.locator('.djs-element.djs-shape[data-element-id="accept"]').click()
    panel = modeler.locator(".md-panel")
    org = panel.get_by_label("承办单位", exact=True)
    org.fill("initiator_org ， lead")
    org.press("Tab")
    modeler.get_by_role("button", name="部署", exact=True).click()
    refusal = modeler.locator(".md-messages .flash.error")
    expect(refusal).to_contain_text("校验未通过，未部署")
    item = refusal.locator('li[data-element-id="accept"]')
    expect(item.get_by_role("button")).to_have_text("受理")
    expect(item.get_by_role("button")).to_have_attribute("title", "标识：accept")
    expect(item).to_contain_text("承办单位表达式（orgUnit）不被接受：语法错误")
    expect(item).to_contain_text("用了中文或全角符号“，”")
    assert page.errors == []
