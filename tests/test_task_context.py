"""Each task carries what its decision rests on, from its case's own record (issue 12): app/task_context.py,
on SQLite and PostgreSQL, as the task page and GET /api/v1/tasks/{id} show it."""
import re

import pytest
from sqlalchemy import select

from app import task_context as tc
from app.database import lock_case, write_transaction
from app.errors import NotFound
from app.extensions import db
from app.models import Task, User
from helpers import accept_and_dispatch, case_of, csrf_token, raise_call, sign_and_handle, web_login
from evidence_files import attach as upload, photo

pytestmark = pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])


# --- helpers ------------------------------------------------------------------------------------------
def context_of(app, username, task_id):
    """task_context(user, task) as the domain answers it, for the demo user `username`."""
    with app.app_context():
        user = db.session.execute(select(User).where(User.username == username)).scalar_one()
        return tc.task_context(user, db.session.get(Task, task_id)).to_dict()


def section(ctx, key):
    found = [s for s in ctx["sections"] if s["key"] == key]
    assert len(found) <= 1
    return found[0] if found else None


def keys(ctx):
    return [s["key"] for s in ctx["sections"]]


def fields(entry):
    return {f["title"]: f["value"] for f in entry["fields"]}


def attach(users, username, case_id, task_id, name="现场.jpg"):
    return upload(users[username], case_id, name, photo(), task_id=task_id)["id"]


def page_text(client, path):
    html = client.get(path).get_data(as_text=True)
    html = re.sub(r"<script.*?</script>|<style.*?</style>", "", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def handled_with_files(users):
    """A call dispatched to D01 (lead) and D02 (co), both replied; D01 with a photo. (case id, file id)."""
    case_id = raise_call(users, contact="王主任 13800000000", location="明珠东路与东岳大街路口")
    users["center"].complete(users["center"].task(case_id, "受理"), {"accepted": True})
    users["center"].complete(users["center"].task(case_id, "研判派单"),
                             {"lead_department": "D01", "co_departments": ["D02"], "opinion": "执法局牵头，自然资源局配合核查"})
    for d in ("dept_zf", "dept_zr"):
        users[d].complete(users[d].task(case_id, "签收"), {"returned": False})
    handle = users["dept_zf"].task(case_id, "办理反馈")
    photo = attach(users, "dept_zf", case_id, handle["id"], "清理后.jpg")
    users["dept_zf"].complete(handle, {"result": "已联合执法，设立临时便民市场", "contact_person": "李队 0538-1234567"})
    users["dept_zr"].complete(users["dept_zr"].task(case_id, "办理反馈"), {"result": "已核查，未占用耕地"})
    return case_id, photo


# --- the centre's review and the township's evaluation see the replies ---------------------------------
def test_review_shows_each_departments_reply_with_its_part_person_and_photo(app, users):
    case_id, photo = handled_with_files(users)
    review = users["center"].task(case_id, "审核办结")
    ctx = context_of(app, "center", review["id"])
    replies = section(ctx, "replies")
    assert [(e["org"], e["part_label"]) for e in replies["entries"]] == [("D01", "主办"), ("D02", "协办")]
    lead, co = replies["entries"]
    assert lead["text"] == "已联合执法，设立临时便民市场" and lead["by"] == "dept_zf" and lead["by_name"] != "dept_zf"
    assert fields(lead) == {"经办人及电话": "李队 0538-1234567"} and lead["at"]
    assert [f["id"] for f in lead["files"]] == [photo] and lead["files"][0]["thumbnail"] is True
    assert co["text"] == "已核查，未占用耕地" and co["files"] == []
    assert "rework" not in keys(ctx)
    # the API carries the same, additively
    assert users["center"].get(f"/tasks/{review['id']}").json["context"] == ctx


def test_review_page_shows_the_replies_and_their_photos_without_a_second_page(app, users):
    case_id, photo = handled_with_files(users)
    review = users["center"].task(case_id, "审核办结")
    clerk = web_login(app, "center")
    html = clerk.get(f"/tasks/{review['id']}").get_data(as_text=True)
    assert 'id="tc-replies"' in html and f'/attachments/{photo}/thumbnail' in html
    text = page_text(clerk, f"/tasks/{review['id']}")
    assert "综合行政执法局（主办）" in text and "自然资源和规划局（协办）" in text
    assert "已联合执法，设立临时便民市场" in text and "已核查，未占用耕地" in text and "李队 0538-1234567" in text


def test_evaluation_shows_the_replies_and_attachments(app, users):
    case_id, photo = handled_with_files(users)
    users["center"].complete(users["center"].task(case_id, "审核办结"), {"approved": True, "opinion": "处置到位"})
    evaluate = users["town_a"].task(case_id, "评价")
    ctx = context_of(app, "town_a", evaluate["id"])
    replies = section(ctx, "replies")
    assert [e["org"] for e in replies["entries"][:2]] == ["D01", "D02"]
    assert replies["entries"][0]["files"][0]["id"] == photo
    assert replies["entries"][2]["title"].startswith("响应中心审核意见") and replies["entries"][2]["text"] == "处置到位"


# --- rework and returns: the reason ------------------------------------------------------------------------
def test_rework_task_shows_why_the_township_was_dissatisfied(app, users):
    case_id, _photo = handled_with_files(users)
    users["center"].complete(users["center"].task(case_id, "审核办结"), {"approved": True})
    users["town_a"].complete(users["town_a"].task(case_id, "评价"),
                             {"satisfied": False, "resolved": False, "rating": 2, "comment": "摊点晚上又回来了"})
    rework = users["dept_zf"].task(case_id, "办理反馈")
    ctx = context_of(app, "dept_zf", rework["id"])
    assert keys(ctx)[0] == "rework"
    why, own = section(ctx, "rework")["entries"]
    assert why["title"].startswith("乡镇评价不满意") and why["text"] == "摊点晚上又回来了" and why["tone"] == "warn"
    assert fields(why)["评分（1–5）"] == 2 and fields(why)["问题是否已解决"] == "否" and why["org"] == "T01"
    assert own["title"] == "本单位上次办理结果" and own["text"] == "已联合执法，设立临时便民市场" and own["files"]
    assert "第 1 次重办" in section(ctx, "rework")["note"]
    # the centre's next review says it is a rework round, with the township's words
    for d, text in (("dept_zf", "夜间增派巡查"), ("dept_zr", "已再次核查")):
        users[d].complete(users[d].task(case_id, "办理反馈"), {"result": text})
    review = context_of(app, "center", users["center"].task(case_id, "审核办结")["id"])
    assert section(review, "rework")["entries"][0]["text"] == "摊点晚上又回来了"
    replies = section(review, "replies")
    assert [e["text"] for e in replies["entries"]] == ["夜间增派巡查", "已再次核查"]
    assert [e["text"] for e in replies["earlier"]] == ["已核查，未占用耕地", "已联合执法，设立临时便民市场"]


def test_a_review_sent_back_tells_the_departments_why(app, users):
    case_id, _photo = handled_with_files(users)
    users["center"].complete(users["center"].task(case_id, "审核办结"), {"approved": False, "opinion": "缺少整改照片"})
    ctx = context_of(app, "dept_zr", users["dept_zr"].task(case_id, "办理反馈")["id"])
    why = section(ctx, "rework")["entries"][0]
    assert why["title"].startswith("响应中心审核退回") and why["text"] == "缺少整改照片" and why["by"] == "center"


def test_redispatch_shows_the_return_reason_and_the_new_unit_sees_it(app, users):
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id, lead="D01", co=("D03",))
    users["dept_zf"].complete(users["dept_zf"].task(case_id, "签收"), {"returned": False})
    users["dept_hb"].complete(users["dept_hb"].task(case_id, "签收"),
                              {"returned": True, "reason": "不属生态环境职责，依据清单 ZF-01"})
    redispatch = users["center"].task(case_id, "改派")
    returns = section(context_of(app, "center", redispatch["id"]), "returns")
    assert [(e["org"], e["text"]) for e in returns["entries"]] == [("D03", "不属生态环境职责，依据清单 ZF-01")]
    assert returns["entries"][0]["fields"] == []           # the yes/no of `returned` is the section itself
    users["center"].complete(redispatch, {"lead_department": "D01", "co_departments": ["D02"], "opinion": "改由自然资源局协办"})
    sign = users["dept_zr"].task(case_id, "签收")
    ctx = context_of(app, "dept_zr", sign["id"])
    assert section(ctx, "returns")["entries"][0]["text"] == "不属生态环境职责，依据清单 ZF-01"
    assert section(ctx, "instructions")["entries"][0]["text"] == "改由自然资源局协办"
    assert section(ctx, "instructions")["earlier"] == []     # the first dispatch had no opinion


# --- the departments: their part, the centre's instructions, the township's contact -----------------------
def test_sign_and_handle_show_the_units_part_instructions_and_contact(app, users):
    case_id = raise_call(users, contact="王主任 13800000000", location="明珠东路")
    users["center"].complete(users["center"].task(case_id, "受理"), {"accepted": True})
    users["center"].complete(users["center"].task(case_id, "研判派单"),
                             {"lead_department": "D01", "co_departments": ["D02"], "opinion": "执法局牵头"})
    lead = context_of(app, "dept_zf", users["dept_zf"].task(case_id, "签收")["id"])
    co = context_of(app, "dept_zr", users["dept_zr"].task(case_id, "签收")["id"])
    assert section(lead, "part")["entries"][0]["part"] == "lead" and section(co, "part")["entries"][0]["part"] == "co"
    part = fields(section(co, "part")["entries"][0])
    assert part == {"主办单位": "综合行政执法局", "协办单位": "自然资源和规划局", "乡镇联系人": "王主任 13800000000（岱庙街道）"}
    assert section(lead, "instructions")["entries"][0]["text"] == "执法局牵头"
    call = fields(lead["call"]["entries"][0])
    assert call["对应清单事项"].startswith("ZF-01 ") and len(call["对应清单事项"]) > len("ZF-01 ")
    assert call["发生地点"] == "明珠东路" and call["情况描述"].startswith("道路贯通") and call["发起单位"] == "岱庙街道"
    assert call["发起人"] != "town_a"
    for d in ("dept_zf", "dept_zr"):
        users[d].complete(users[d].task(case_id, "签收"), {"returned": False})
    users["dept_zf"].complete(users["dept_zf"].task(case_id, "办理反馈"), {"result": "已到场"})
    handle = context_of(app, "dept_zr", users["dept_zr"].task(case_id, "办理反馈")["id"])
    assert "replies" not in keys(handle)      # a department does not review the others' replies
    assert keys(handle) == ["part", "instructions"]


def test_a_call_without_a_phone_names_the_person_who_raised_it(app, users):
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id, co=())
    ctx = context_of(app, "dept_zf", users["dept_zf"].task(case_id, "签收")["id"])
    contact = fields(section(ctx, "part")["entries"][0])["乡镇联系人"]
    assert "岱庙街道" in contact and "未留电话" in contact and "town_a" not in contact


# --- 补充材料: asked and supplied -------------------------------------------------------------------------
def test_supplement_shows_what_was_asked_and_reacceptance_what_was_supplied(app, users):
    case_id = raise_call(users)
    users["center"].complete(users["center"].task(case_id, "受理"),
                             {"accepted": False, "more_info_requested": True, "reason": "请补充现场照片和摊点数量"})
    supplement = users["town_a"].task(case_id, "补充材料")
    asked = section(context_of(app, "town_a", supplement["id"]), "asked")
    assert asked["entries"][0]["text"] == "请补充现场照片和摊点数量" and asked["entries"][0]["by"] == "center"
    photo = attach(users, "town_a", case_id, supplement["id"])
    users["town_a"].complete(supplement, {"supplement": "共有流动摊点 30 余处，照片已上传"})
    accept = users["center"].task(case_id, "受理")
    supplied = section(context_of(app, "center", accept["id"]), "supplied")
    ask, answer = supplied["entries"]
    assert ask["text"] == "请补充现场照片和摊点数量"
    assert fields(answer) == {"补充说明": "共有流动摊点 30 余处，照片已上传"} and [f["id"] for f in answer["files"]] == [photo]


# --- list changes and duty sinking: the proposal against the item it changes --------------------------------
def diff_rows(entry):
    return {d["title"]: (d["before"], d["after"]) for d in entry["diff"] if d["changed"]}


def test_list_change_reviewers_see_the_proposal_as_a_diff_of_the_item(app, users):
    r = users["dept_zf"].post("/cases", json={"process_id": "list_change", "data": {
        "change_type": "modify", "item_code": "ZF-01", "reason": "实践需要：市场监管局不再配合",
        "item": {"domain": "综合执法", "name": "马路市场治理", "primary_org": "D01", "supporting": ["D02"]}}})
    assert r.status_code == 201, r.json
    case_id = r.json["id"]
    assert r.json["title"].startswith("清单调整：修改 ZF-01 ") and "发起呼叫" not in r.json["title"]
    review = users["staffing"].task(case_id, "编办审核")
    proposal = section(context_of(app, "staffing", review["id"]), "proposal")
    head, change = proposal["entries"]
    assert fields(head)["调整理由"] == "实践需要：市场监管局不再配合" and fields(head)["调整类型"] == "修改事项"
    assert change["title"].startswith("修改事项：ZF-01")
    rows = diff_rows(change)
    assert rows["事项名称"][1] == "马路市场治理" and rows["事项名称"][0] != "马路市场治理"
    assert rows["配合单位"] == ("属地乡镇（街道）、市场监督管理局", "自然资源和规划局")
    assert "领域" not in rows and "主体责任单位" not in rows
    users["staffing"].complete(review, {"approved": True, "opinion": "符合三定"})
    opinion = users["dept_zf"].task(case_id, "提出意见")
    ctx = context_of(app, "dept_zf", opinion["id"])
    assert diff_rows(section(ctx, "proposal")["entries"][1]) == rows
    assert [(e["title"], e["text"]) for e in section(ctx, "opinions")["entries"]] == [("编办审核（编办）", "符合三定")]


def test_an_added_and_a_removed_item_are_shown_whole(app, users):
    added = users["town_a"].post("/cases", json={"process_id": "list_change", "data": {
        "change_type": "add", "reason": "新增事项", "item": {"domain": "重点工作", "name": "秸秆禁烧巡查", "primary_org": "D03"}}})
    removed = users["town_a"].post("/cases", json={"process_id": "list_change", "data": {
        "change_type": "remove", "item_code": "ZF-01", "reason": "已并入他项"}})
    assert added.json["title"] == "清单调整：新增 秸秆禁烧巡查" and removed.json["title"].startswith("清单调整：删除 ZF-01 ")
    new = section(context_of(app, "staffing", users["staffing"].task(added.json["id"])["id"]), "proposal")["entries"][1]
    assert new["title"].startswith("新增事项：ZD-") and diff_rows(new)["事项名称"] == ("—", "秸秆禁烧巡查")
    assert diff_rows(new)["主体责任单位"] == ("—", "生态环境分局")
    review = users["staffing"].task(removed.json["id"])
    gone = section(context_of(app, "staffing", review["id"]), "proposal")["entries"][1]
    assert gone["title"].startswith("删除事项：ZF-01") and diff_rows(gone)["主体责任单位"] == ("综合行政执法局", "—")


def test_townships_consenting_to_a_duty_sinking_see_what_moves_to_them(app, users):
    r = users["dept_zf"].post("/cases", json={"process_id": "duty_sinking", "data": {
        "duty": "占道经营日常巡查", "item_code": "ZF-01", "townships": ["T01", "T02"], "reason": "属地便于发现",
        "legal_basis": "《山东省城市管理条例》", "funding": "每年 10 万元"}})
    case_id = r.json["id"]
    assert r.json["title"].startswith("职责下沉：占道经营日常巡查（ZF-01 ")
    consent = users["town_a"].task(case_id)
    proposal = section(context_of(app, "town_a", consent["id"]), "proposal")
    head, change = proposal["entries"]
    assert fields(head)["涉及乡镇"] == "岱庙街道、泰前街道" and fields(head)["随同下沉的经费（费随事转）"] == "每年 10 万元"
    rows = diff_rows(change)
    assert rows["主体责任单位"] == ("综合行政执法局", "属地乡镇（街道）")
    assert rows["配合单位"][1].startswith("综合行政执法局")
    assert "占道经营日常巡查" in rows["主体责任"][1]
    text = page_text(web_login(app, "town_a"), f"/tasks/{consent['id']}")
    assert "职责下沉申请" in text and "属地乡镇（街道）" in text and "现行清单" in text
    assert "紧急程度 —" not in text and "发起呼叫" not in text


def test_a_townships_consent_opens_with_an_empty_opinion_not_the_departments_reason(app, users):
    """The proposal's 下沉理由 and the township's 意见和理由 share the name `reason`: the township's form
    must not open with the department's words as its own opinion."""
    r = users["dept_zf"].post("/cases", json={"process_id": "duty_sinking", "data": {
        "duty": "占道经营日常巡查", "item_code": "ZF-01", "townships": ["T01"], "reason": "属地便于发现",
        "legal_basis": "《山东省城市管理条例》", "funding": "每年 10 万元"}})
    consent = users["town_a"].task(r.json["id"])
    html = web_login(app, "town_a").get(f"/tasks/{consent['id']}").get_data(as_text=True)
    opinion = re.search(r'<textarea[^>]*name="reason"[^>]*>(.*?)</textarea>', html, flags=re.S)
    assert opinion is not None and opinion.group(1).strip() == ""
    assert "属地便于发现" in page_text(web_login(app, "town_a"), f"/tasks/{consent['id']}")   # shown as the proposal


# --- supervision orders and their answers -------------------------------------------------------------------
def issue_order(app, users, case_id, task_id, opinion="限今日 18 时前签收并到场处置"):
    """A sign-for deadline missed (the escalation the timer fires), then the supervisor's 督办单."""
    from app import supervision
    from app.engine.runtime import Escalation
    with app.app_context():
        with write_transaction():
            case = lock_case(case_id)
            row = db.session.get(Task, task_id)
            supervision.escalate(case, Escalation("order", "sign_overdue", "签收超时", task_id), {task_id: row}, "system")
    order = next(t for t in users["supervisor"].inbox(case_id) if t["name"].startswith("督办单"))
    users["supervisor"].complete(order, {"opinion": opinion, "circulate": True})
    return order


def test_the_supervisors_order_is_on_the_departments_task_and_the_case_page_with_its_answer(app, users):
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id, co=("D02",))
    sign = users["dept_zf"].task(case_id, "签收")
    issue_order(app, users, case_id, sign["id"])
    users["dept_zr"].complete(users["dept_zr"].task(case_id, "签收"), {"returned": False})
    orders = section(context_of(app, "dept_zf", sign["id"]), "orders")
    order = orders["entries"][0]
    assert order["text"] == "限今日 18 时前签收并到场处置" and order["by"] == "supervisor" and order["by_name"] != "supervisor"
    assert fields(order) == {"督办环节": "签收（综合行政执法局）", "处理": "通报批评"}
    assert order["answers"][0]["pending"] is True
    users["dept_zf"].complete(sign, {"returned": False})
    handle = users["dept_zf"].task(case_id, "办理反馈")
    assert section(context_of(app, "dept_zr", users["dept_zr"].task(case_id, "办理反馈")["id"]), "orders") is None
    answer = section(context_of(app, "dept_zf", handle["id"]), "orders")["entries"][0]["answers"][0]
    assert answer["title"] == "综合行政执法局已办理“签收”" and answer["by"] == "dept_zf" and answer["pending"] is False
    text = page_text(web_login(app, "town_a"), f"/cases/{case_id}")
    assert "督办意见" in text and "限今日 18 时前签收并到场处置" in text and "综合行政执法局已办理“签收”" in text


# --- who may see, and the rest of the page -----------------------------------------------------------------
def test_a_task_out_of_sight_gives_no_context(app, users):
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id, co=())
    sign = users["dept_zf"].task(case_id, "签收")
    with app.app_context():
        user = db.session.execute(select(User).where(User.username == "dept_hb")).scalar_one()
        with pytest.raises(NotFound):
            tc.task_context(user, db.session.get(Task, sign["id"]))
    assert users["dept_hb"].get(f"/tasks/{sign['id']}").status_code == 404


def test_a_completed_task_keeps_the_context_it_was_decided_on(app, users):
    case_id, _photo = handled_with_files(users)
    review = users["center"].task(case_id, "审核办结")
    users["center"].complete(review, {"approved": True})
    users["town_a"].complete(users["town_a"].task(case_id, "评价"), {"satisfied": False, "rating": 1, "comment": "没解决"})
    ctx = context_of(app, "center", review["id"])
    assert "rework" not in keys(ctx) and len(section(ctx, "replies")["entries"]) == 2
    name = users["center"].get("/me").json["name"]
    text = page_text(web_login(app, "center"), f"/tasks/{review['id']}")
    assert name and name != "center" and f"{name} 于 " in text and "center 于" not in text


def test_markup_in_a_reply_is_escaped_on_the_review_page(app, users):
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id, co=())
    users["dept_zf"].complete(users["dept_zf"].task(case_id, "签收"), {"returned": False})
    users["dept_zf"].complete(users["dept_zf"].task(case_id, "办理反馈"), {"result": "<script>alert(1)</script>已处置"})
    review = users["center"].task(case_id, "审核办结")
    html = web_login(app, "center").get(f"/tasks/{review['id']}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;已处置" in html


# --- signing is a button; a return needs its reason ------------------------------------------------------
def test_signing_is_one_button_and_a_return_needs_a_reason(app, users):
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id)
    zf, zr = web_login(app, "dept_zf"), web_login(app, "dept_zr")
    sign = users["dept_zf"].task(case_id, "签收")
    page = zf.get(f"/tasks/{sign['id']}").get_data(as_text=True)
    assert '>签收</button>' in page and '>退回</button>' in page and "提交办理" not in page and "认领：" in page
    r = zf.post(f"/tasks/{sign['id']}", data={"_action": "0", "reason": "写了也不算", "csrf_token": csrf_token(page)})
    assert r.status_code == 302
    done = users["center"].get(f"/tasks/{sign['id']}").json
    assert done["result"] == {"returned": False, "reason": ""}
    other = users["dept_zr"].task(case_id, "签收")
    page = zr.get(f"/tasks/{other['id']}").get_data(as_text=True)
    r = zr.post(f"/tasks/{other['id']}", data={"_action": "1", "reason": "", "csrf_token": csrf_token(page)})
    assert r.status_code == 422 and "退回理由及依据" in r.get_data(as_text=True)
    assert users["dept_zr"].task(case_id, "签收")["id"] == other["id"]      # nothing changed
    r = zr.post(f"/tasks/{other['id']}", data={"_action": "1", "reason": "不属自然资源职责", "csrf_token": csrf_token(page)})
    assert r.status_code == 302
    assert users["center"].get(f"/tasks/{other['id']}").json["result"] == {"returned": True, "reason": "不属自然资源职责"}
    assert [t["name"] for t in users["center"].inbox(case_id)] == ["改派"]


def test_the_case_page_and_dossier_name_people_list_items_and_versions_in_chinese(app, users):
    case_id, _photo = handled_with_files(users)
    users["dept_hb"].get(f"/cases/{case_id}")                 # a refused look, on the trail
    clerk = web_login(app, "supervisor")
    case_page = page_text(clerk, f"/cases/{case_id}")
    assert case_of(users["center"], case_id)["data"]["list_item"] == "ZF-01"
    assert re.search(r"清单事项 ZF-01 \S+", case_page)
    dossier = page_text(clerk, f"/cases/{case_id}/dossier")
    assert re.search(r"ZF-01 \S+（第 1 版清单）", dossier) and "乡呼县应 第 1 版" in dossier
    assert "call_response v1" not in dossier and not re.search(r"\b(GET|POST) /", dossier)
