"""The responsibility list in a real browser: a township user opens 清单, searches 占道, opens the
item and reads its 施工图; after a new version is published, the differences between the two.

Runs Debian's Chromium (/usr/bin/chromium) through Playwright against the app served by waitress
on a free port, like test_browser_supervision.py. Set HUYING_SCREENSHOTS=<folder> to also write
`list.png` (the list, 1280x900, the first screen) and `diff.png` (version 1 → 2, full page) there.
"""
import re

import pytest

from browser_support import base_url, browser, login, require_browser, screenshot  # noqa: F401 - fixtures

sync_api = require_browser()
expect = sync_api.expect

from app import duty_list  # noqa: E402
from app.extensions import db  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"])]

VIEWPORT = {"width": 1280, "height": 900}


def test_a_township_searches_the_list_and_reads_an_item(login):
    town = login("town_a")
    town.get_by_role("link", name="清单", exact=True).click()
    expect(town).to_have_url(re.compile(r"/list$"))
    expect(town.locator("tr[data-code]")).to_have_count(52)
    expect(town.locator("section.dl-group h2")).to_have_count(7)
    expect(town.locator("section.dl-group").first.locator("h2")).to_contain_text("自然资源")
    screenshot(town, "list.png", full_page=False)

    town.get_by_label("搜索").fill("占道")
    town.get_by_role("button", name="查询").click()
    expect(town).to_have_url(re.compile(r"/list\?q=%E5%8D%A0%E9%81%93"))
    rows = town.locator("tr[data-code]")
    expect(rows.filter(has_text="马路市场、占道经营的治理")).to_have_count(1)
    assert 0 < rows.count() < 52
    expect(town.locator("#found")).to_contain_text("占道")

    town.get_by_role("link", name="马路市场、占道经营的治理").click()
    expect(town).to_have_url(re.compile(r"/list/items/ZF-01$"))
    expect(town.get_by_role("heading", name=re.compile("^马路市场、占道经营的治理"))).to_be_visible()
    steps = town.locator("#instructions ol li")
    assert steps.count() >= 3
    expect(town.locator('#item-fields dd[data-field="primary_org"]')).to_have_text("综合行政执法局")
    expect(town.locator("#limits")).to_contain_text("小时内签收")


def _publish_a_new_version(app):
    def edit(rows):
        rows.pop("ZR-08", None)
        item = rows["ZF-01"]
        item["supporting"] = [s for s in item["supporting"] if s != "D05"] + ["D14"]
        item["supporting_duty"] = "乡镇负责日常巡查劝导；公安分局负责对阻碍执法行为依法处置。"
        item["limits"] = dict(item["limits"], sign_hours=1)
        rows["SC-08"] = {"domain": "市场监管", "name": "农贸市场周边流动摊贩的治理", "primary_org": "D05",
                         "primary_duty": "负责农贸市场及周边经营秩序监督管理，依法查处无照经营。",
                         "supporting": ["TOWNSHIP", "D01"], "supporting_duty": "乡镇负责日常巡查劝导；综合行政执法局负责占道经营查处。",
                         "legal_basis": "《无证无照经营查处办法》第二条", "instructions": "1. 乡镇发现后劝导并呼叫\n2. 市场监督管理局到场查处",
                         "limits": {"sign_hours": 2, "complete_working_days": 5}}
    with app.app_context():
        duty_list.publish(edit, "admin", note="清单动态调整：新增 SC-08，删除 ZR-08，修改 ZF-01",
                          effective_date="2026-12-01")
        db.session.commit()


def test_the_differences_between_two_versions(app, login):
    _publish_a_new_version(app)
    town = login("town_b")
    town.get_by_role("link", name="清单", exact=True).click()
    town.get_by_role("link", name="历史版本").first.click()
    expect(town.locator("#versions tbody tr")).to_have_count(2)
    town.get_by_role("button", name="比较").click()
    expect(town).to_have_url(re.compile(r"/list/diff\?from=1&to=2$"))
    expect(town.locator("#added tr[data-code]")).to_have_count(1)
    expect(town.locator("#added")).to_contain_text("农贸市场周边流动摊贩的治理")
    expect(town.locator("#removed tr[data-code]")).to_have_count(1)
    change = town.locator('article[data-code="ZF-01"]')
    expect(change.locator("tr[data-field]")).to_have_count(3)
    expect(change.locator('tr[data-field="supporting"] ins')).to_contain_text("公安分局")
    expect(change.locator('tr[data-field="limits"] del')).to_have_text(re.compile("^签收 2 小时"))
    screenshot(town, "diff.png")
