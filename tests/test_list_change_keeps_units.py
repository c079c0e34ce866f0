"""A list change starts from the item it changes and changes only what it proposes: the proposal
form is prefilled from the item and offers 属地乡镇（街道） among the units, a published change keeps
the cooperating units it did not touch, and every version has its effective date."""
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from werkzeug.datastructures import MultiDict

from helpers import case_of, post_form, web_login

pytestmark = pytest.mark.lifecycle
BY_ORG = {"D01": "dept_zf", "D02": "dept_zr", "D03": "dept_hb", "D05": "dept_sj", "D06": "dept_yj"}
BY_ROLE = {"staffing_office": "staffing", "legal": "legal", "leader": "leader"}


def approve(users, case_id):
    """Every reviewer and every unit concerned agrees, until the case closes."""
    for _ in range(10):
        tasks = users["supervisor"].get(f"/cases/{case_id}").json["current_tasks"]
        if not tasks:
            break
        for t in tasks:
            who = users[BY_ORG[t["org"]] if t["org"] else BY_ROLE[t["role"]]]
            who.complete(who.task(case_id, t["name"]), {"agree": True} if t["name"] == "提出意见" else {"approved": True})
    assert case_of(users["supervisor"], case_id)["status"] == "closed"


def item(users, code="ZF-01", version=None):
    listing = users["town_a"].get("/responsibility-list" + (f"?version={version}" if version else "")).json
    return next(i for i in listing["items"] if i["code"] == code)


def propose(users, item_change, who="town_a"):
    r = users[who].post("/cases", json={"process_id": "list_change", "data": {
        "change_type": "modify", "item_code": "ZF-01", "reason": "按实际调整", "item": item_change}})
    assert r.status_code == 201, r.json
    return r.json["id"]


def test_the_proposal_form_opens_with_the_item_and_offers_the_township_unit(app, users):
    town = web_login(app, "town_a")
    item_page = town.get("/list/items/ZF-01").get_data(as_text=True)
    link = re.search(r'id="propose-change" href="([^"]+)"', item_page).group(1).replace("&amp;", "&")
    assert link == "/cases/new/list_change?change_type=modify&item_code=ZF-01"
    page = town.get(link).get_data(as_text=True)
    assert 'value="马路市场、占道经营的治理"' in page
    checked = set(re.findall(r'<input type="checkbox" name="item.supporting" value="(\w+)" checked>', page))
    assert checked == {"TOWNSHIP", "D05"}
    assert "属地乡镇（街道）" in page and 'id="prefill-item"' in page
    assert re.search(r'<option value="D01" selected>', page)          # the primary unit as it is

    # the township changes only the name; the units stay as prefilled
    fields = MultiDict([("change_type", "modify"), ("item_code", "ZF-01"), ("reason", "名称应包括流动摊贩"),
                        ("item.domain", "综合执法"), ("item.name", "马路市场、占道经营和流动摊贩的治理"),
                        ("item.primary_org", "D01"), ("item.supporting", "TOWNSHIP"), ("item.supporting", "D05")])
    r = post_form(town, "/cases/new/list_change?change_type=modify&item_code=ZF-01", "/cases/new/list_change", fields)
    assert r.status_code == 302, r.get_data(as_text=True)
    case_id = int(r.headers["Location"].rsplit("/", 1)[1])
    approve(users, case_id)
    now = item(users)
    assert now["name"] == "马路市场、占道经营和流动摊贩的治理"
    assert now["supporting"] == ["TOWNSHIP", "D05"] and now["primary_org"] == "D01"


def test_a_published_change_keeps_the_cooperating_units_it_did_not_touch(users):
    adds = propose(users, {"domain": "综合执法", "name": "马路市场、占道经营的治理", "primary_org": "D01",
                           "supporting": ["TOWNSHIP", "D05", "D03"]})               # adds 生态环境分局
    drops = propose(users, {"domain": "综合执法", "name": "马路市场、占道经营的治理", "primary_org": "D01",
                            "supporting": ["TOWNSHIP"]}, who="dept_zf")             # drops 市场监督管理局
    approve(users, drops)
    assert item(users)["supporting"] == ["TOWNSHIP"]
    approve(users, adds)          # made on version 1: it added D03, it did not ask for D05 back
    assert item(users)["supporting"] == ["TOWNSHIP", "D03"]
    assert item(users, version=1)["supporting"] == ["TOWNSHIP", "D05"]


def test_a_version_published_without_a_date_takes_effect_on_its_day(app, users):
    case_id = propose(users, {"domain": "综合执法", "name": "马路市场、占道经营的治理（修订）", "primary_org": "D01"})
    approve(users, case_id)
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    versions = users["town_a"].get("/responsibility-list/versions").json
    assert [(v["version"], v["effective_date"]) for v in versions] == [(2, today), (1, "2019-07-01")], versions
    assert users["town_a"].get("/responsibility-list").json["version"] == 2
    html = web_login(app, "town_a").get("/list/versions").get_data(as_text=True)
    assert f'<td class="nowrap" data-label="生效日期">{today}</td>' in html
