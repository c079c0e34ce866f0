"""The responsibility list in the browser, without a browser: the list by domain with search, an
item with its 施工图 and calls, versions and their differences, the XLSX print, the supervisor's
accountability review, and the list-change form whose proposed item is a nested object."""
import io
import re

import openpyxl
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from app import duty_list
from app.extensions import db
from app.models import User
from app.web.forms import parse_form, widgets
from helpers import case_of, csrf_token, post_form, raise_call, web_login


def codes(html):
    return re.findall(r'<tr data-code="([A-Z]{2}-\d+)">', html)


def publish(app, edit, note="test"):
    with app.app_context():
        version = duty_list.publish(edit, "admin", note=note).version
        db.session.commit()
    return version


# --- the list -----------------------------------------------------------------------------------
def test_the_list_shows_52_items_in_7_domains_and_search_narrows_them(app):
    town = web_login(app, "town_a")
    html = town.get("/list").get_data(as_text=True)
    assert len(codes(html)) == 52
    domains = re.findall(r'<section class="dl-group" data-domain="([^"]+)"', html)
    assert domains == ["自然资源", "生态环境", "城乡建设", "应急管理", "市场监管", "综合执法", "重点工作"]
    assert "第 1 版" in html and "导出 XLSX" in html and "历史版本" in html
    assert "属地乡镇（街道）" in html and "签收 2 小时" in html and "办结 5 个工作日" in html
    assert 'href="/list/items/ZR-01"' in html
    assert '清单</a>' in html and ">问责</a>" not in html        # the nav: 问责 is the supervisor's

    found = town.get("/list?q=占道").get_data(as_text=True)
    assert "ZF-01" in codes(found) and 0 < len(codes(found)) < 52
    assert "<mark>占道</mark>" in found and 'id="found"' in found
    assert codes(town.get("/list?q=zf-01").get_data(as_text=True)) == ["ZF-01"]      # case-insensitive
    by_basis = town.get("/list?q=矿产资源法").get_data(as_text=True)                     # the legal basis
    assert "ZR-02" in codes(by_basis) and "匹配：法律依据" in by_basis
    one_domain = town.get("/list?domain=综合执法").get_data(as_text=True)
    assert len(codes(one_domain)) == 8 and all(c.startswith("ZF-") for c in codes(one_domain))
    none = town.get("/list?q=没有这样的事项").get_data(as_text=True)
    assert codes(none) == [] and 'id="no-match"' in none
    assert town.get("/list?q=<script>").get_data(as_text=True).count("<script>") == 0
    assert town.get("/list?version=7").status_code == 404
    assert town.get("/list?version=x").status_code == 404
    assert app.test_client().get("/list").status_code == 302          # login first


def test_an_item_shows_its_fields_instructions_and_the_calls_the_user_may_see(app, users):
    case_id = raise_call(users, list_item="ZF-01")
    town = web_login(app, "town_a")
    html = town.get("/list/items/ZR-01").get_data(as_text=True)
    assert "违法占用耕地建房的查处" in html
    for title in ("领域", "主体责任单位", "主体责任", "配合单位", "配合责任", "法律依据", "施工图/说明书", "办理时限"):
        assert title in html
    steps = re.findall(r"<li>([^<]+)</li>", html.split('class="dl-steps"')[1].split("</ol>")[0])
    assert len(steps) == 5 and steps[1].startswith("自然资源和规划局24小时内到场勘测")    # numbering taken off
    assert "属地乡镇（街道）、农业农村局" in html and "签收 2 小时 / 办结 5 个工作日" in html

    mine = town.get("/list/items/ZF-01").get_data(as_text=True)
    assert f'data-case-id="{case_id}"' in mine and "明珠东路马路市场占道经营" in mine and "办理中" in mine
    other = web_login(app, "town_b").get("/list/items/ZF-01").get_data(as_text=True)
    assert f'data-case-id="{case_id}"' not in other
    assert f'data-case-id="{case_id}"' in web_login(app, "supervisor").get("/list/items/ZF-01").get_data(as_text=True)
    assert town.get("/list/items/NOPE-1").status_code == 404
    assert town.get("/list/items/ZR-01?version=3").status_code == 404


# --- versions and differences -------------------------------------------------------------------
def test_versions_and_the_difference_after_publishing(app):
    town = web_login(app, "town_a")
    assert "目前只有一个版本" in town.get("/list/versions").get_data(as_text=True)
    assert publish(app, lambda rows: rows.pop("ZR-01"), note="删除 ZR-01") == 2

    def edit(rows):
        rows["ZF-01"].update(primary_org="TOWNSHIP", supporting=["D01", "D05"],
                             limits={"sign_hours": 4, "complete_working_days": 10})
        rows["ZD-99"] = dict(rows["ZD-01"], name="新增的重点工作事项")
    assert publish(app, edit, note="调整 ZF-01，新增 ZD-99") == 3

    html = town.get("/list/versions").get_data(as_text=True)
    assert re.findall(r'<tr data-version="(\d+)">', html) == ["3", "2", "1"]
    assert "删除 ZR-01" in html and "调整 ZF-01，新增 ZD-99" in html and "现行" in html
    assert 'id="compare"' in html and "系统管理员" in html

    diff = town.get("/list/diff?from=1&to=2").get_data(as_text=True)
    assert 'id="removed"' in diff and "违法占用耕地建房的查处" in diff
    assert 'id="added"' not in diff and 'id="changed"' not in diff

    diff = town.get("/list/diff?from=2&to=3").get_data(as_text=True)
    added = diff.split('id="added"')[1].split("</section>")[0]
    assert "ZD-99" in added and "新增的重点工作事项" in added
    change = diff.split('<article class="card dl-change" data-code="ZF-01">')[1].split("</article>")[0]
    assert "<del class=\"pre\">综合行政执法局</del>" in change and "<ins class=\"pre\">属地乡镇（街道）</ins>" in change
    assert "综合行政执法局、市场监督管理局" in change            # lists joined with 、, codes as names
    assert "签收 4 小时 / 办结 10 个工作日" in change
    assert town.get("/list/diff?to=3").status_code == 200      # from defaults to the one before
    assert town.get("/list/diff?from=1&to=9").status_code == 404
    assert town.get("/list/diff?from=0").status_code == 404

    old = town.get("/list?version=1").get_data(as_text=True)
    assert len(codes(old)) == 52 and 'id="old-version"' in old
    assert len(codes(town.get("/list").get_data(as_text=True))) == 52       # 52 - ZR-01 + ZD-99
    assert "ZR-01" not in codes(town.get("/list").get_data(as_text=True))
    assert town.get("/list/items/ZR-01").status_code == 404
    assert "违法占用耕地建房的查处" in town.get("/list/items/ZR-01?version=1").get_data(as_text=True)


def test_a_version_downloads_as_xlsx(app):
    publish(app, lambda rows: rows.pop("ZR-01"))
    town = web_login(app, "town_a")
    r = town.get("/list/export.xlsx?version=1")
    assert r.status_code == 200 and "attachment" in r.headers["Content-Disposition"]
    assert "v1.xlsx" in r.headers["Content-Disposition"]
    ws = openpyxl.load_workbook(io.BytesIO(r.data)).active
    assert ws["A3"].value == "序号"
    assert len(list(ws.iter_rows(min_row=4, values_only=True))) == 52
    newest = openpyxl.load_workbook(io.BytesIO(town.get("/list/export.xlsx").data)).active
    assert newest.title == "第2版" and len(list(newest.iter_rows(min_row=4, values_only=True))) == 51
    assert town.get("/list/export.xlsx?version=5").status_code == 404


# --- 依单监管问责 -------------------------------------------------------------------------------------
def test_only_the_supervisor_reviews_accountability(app):
    town = web_login(app, "town_a")
    assert town.get("/accountability").status_code == 403
    assert town.get("/accountability?item_code=ZF-01&township=T01&incident_date=2099-01-01").status_code == 403
    token = csrf_token(town.get("/list").get_data(as_text=True))
    r = town.post("/accountability", data={"csrf_token": token, "item_code": "ZF-01", "township": "T01",
                                           "incident_date": "2099-01-01", "description": "事件", "decision": "exempt",
                                           "reason": "理由"})
    assert r.status_code == 403
    assert ">问责</a>" in web_login(app, "supervisor").get("/list").get_data(as_text=True)


def test_the_supervisor_reads_the_report_and_records_a_decision(app, users):
    called = raise_call(users, list_item="ZF-01")
    users["center"].complete(users["center"].task(called, "受理"), {"accepted": True})
    sup = web_login(app, "supervisor")
    form = sup.get("/accountability").get_data(as_text=True)
    assert 'name="item_code"' in form and 'name="township"' in form and 'type="date"' in form
    assert "还没有认定记录" in form

    query = "item_code=ZF-01&township=T01&incident_date=2099-01-01&description=马路市场踩踏隐患"
    html = sup.get("/accountability?" + query).get_data(as_text=True)
    assert 'data-proposal="exempt"' in html and "系统建议：免责" in html
    assert "第 1 版" in html and "综合行政执法局" in html
    assert f'data-case-id="{called}"' in html and f'href="/cases/{called}"' in html
    assert "<strong>受理</strong>" in html                         # the handling steps
    silent = sup.get("/accountability?item_code=ZF-01&township=T02&incident_date=2099-01-01").get_data(as_text=True)
    assert 'data-proposal="review"' in silent and "需审查" in silent

    bad = sup.get("/accountability?item_code=ZF-01&township=T01&incident_date=2099-13-01")
    assert bad.status_code == 422 and 'id="e-incident_date"' in bad.get_data(as_text=True)
    assert 'id="e-township"' in sup.get("/accountability?item_code=ZF-01&township=D01&incident_date=2099-01-01") \
        .get_data(as_text=True)

    fields = {"item_code": "ZF-01", "township": "T01", "incident_date": "2099-01-01", "description": "马路市场踩踏隐患"}
    r = post_form(sup, "/accountability", "/accountability", dict(fields, decision="exempt", reason=""))
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and 'id="e-reason"' in html and "请写明认定理由" in html
    assert 'id="report"' in html                                   # the report stays on the page
    r = post_form(sup, "/accountability", "/accountability", dict(fields, reason="理由"))
    assert r.status_code == 422 and "请选择免责或问责" in r.get_data(as_text=True)

    r = post_form(sup, "/accountability", "/accountability", dict(fields, decision="exempt", reason="已按清单及时呼叫"))
    assert r.status_code == 302
    html = sup.get(r.headers["Location"]).get_data(as_text=True)
    assert "已记录认定" in html and 'data-decision="exempt"' in html and "已按清单及时呼叫" in html
    assert [(x.item_code, x.decision, x.proposal) for x in _reviews(app)] == [("ZF-01", "exempt", "exempt")]
    assert len(users["supervisor"].get("/accountability-reviews").json) == 1


def _reviews(app):
    with app.app_context():
        return duty_list.reviews(db.session.execute(select(User).where(User.username == "supervisor")).scalar_one())


# --- a form with a nested object --------------------------------------------------------------
NESTED = {"type": "object", "properties": {
    "change_type": {"type": "string", "enum": ["add", "modify"]},
    "item": {"type": "object", "title": "事项", "required": ["name"], "properties": {
        "domain": {"type": "string", "oneOf": [{"const": "自然资源", "title": "自然资源"}]},
        "name": {"type": "string", "title": "事项名称"},
        "supporting": {"type": "array", "items": {"type": "string", "enum": ["D01", "D02"]}},
        "hours": {"type": "integer"}}}}}


def test_nested_objects_become_fieldsets_and_come_back_as_objects():
    fields = widgets(NESTED, {"item": {"name": "占道", "supporting": ["D02"]}},
                     {"item": "此项为必填项", "item.name": "至少填写 2 个字"})
    item = fields[1]
    assert item.kind == "object" and item.error == "此项为必填项"
    assert [(f.name, f.kind) for f in item.fields] == [("item.domain", "radio"), ("item.name", "text"),
                                                      ("item.supporting", "checkboxes"), ("item.hours", "number")]
    assert item.fields[1].value == "占道" and item.fields[1].error == "至少填写 2 个字" and item.fields[1].required
    assert item.fields[2].value == ["D02"]
    form = MultiDict([("change_type", "add"), ("item.name", "占道"), ("item.supporting", "D01"),
                      ("item.supporting", "D02"), ("item.hours", "3"), ("item.domain", "")])
    assert parse_form(NESTED, form) == {"change_type": "add",
                                        "item": {"name": "占道", "supporting": ["D01", "D02"], "hours": 3}}
    assert parse_form(NESTED, MultiDict([("change_type", "add"), ("item.name", ""), ("item.domain", "")])) == \
        {"change_type": "add"}


def test_the_list_change_form_sends_the_proposed_item_as_an_object(app, users):
    town = web_login(app, "town_a")
    page = town.get("/cases/new/list_change").get_data(as_text=True)
    assert '<fieldset class="field group ' in page and 'data-field="item"' in page
    for name in ("item.domain", "item.name", "item.primary_org", "item.supporting"):
        assert f'name="{name}"' in page
    assert '<option value="D05" >市场监督管理局</option>' in page        # x-options resolved inside the object

    r = post_form(town, "/cases/new/list_change", "/cases/new/list_change",
                  {"change_type": "add", "reason": "新设农贸市场，需明确责任", "item.name": "x"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and 'id="e-item.name"' in html and "至少填写 2 个字" in html
    r = post_form(town, "/cases/new/list_change", "/cases/new/list_change",
                  {"change_type": "add", "reason": "新设农贸市场，需明确责任"})
    assert r.status_code == 422 and 'id="e-item"' in r.get_data(as_text=True)

    r = post_form(town, "/cases/new/list_change", "/cases/new/list_change", MultiDict([
        ("change_type", "add"), ("reason", "新设农贸市场，需明确责任"), ("item.domain", "市场监管"),
        ("item.name", "农贸市场周边占道经营的治理"), ("item.primary_org", "D05"),
        ("item.supporting", "D01"), ("item.supporting", "D14")]))
    assert r.status_code == 302, r.get_data(as_text=True)
    case_id = int(r.headers["Location"].rsplit("/", 1)[1])
    data = case_of(users["town_a"], case_id)["data"]
    assert data["item"] == {"domain": "市场监管", "name": "农贸市场周边占道经营的治理", "primary_org": "D05",
                            "supporting": ["D01", "D14"]}
    assert data["change_type"] == "add" and data.get("item_code") is None
