"""The case file (卷宗): a print-ready page of everything on record about a case — the call, each
step with its unit, actor, times, deadline and answers, the supervision, the audit events and
whether they agree with the hash chain — for anyone who may see the case."""
import re

from sqlalchemy import text

from app.extensions import db
from helpers import accept_and_dispatch, raise_call, review_evaluate_and_rate, sign_and_handle, web_login


def call_with_an_extension_and_a_flag(users):
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id)
    for d in ("dept_zf", "dept_zr"):
        users[d].complete(users[d].task(case_id, "签收"), {"returned": False})
    handle = users["dept_zf"].task(case_id, "办理反馈")
    ext = users["dept_zf"].post(f"/tasks/{handle['id']}/extension", json={"days": 2, "reason": "需会同规划部门现场测绘"})
    assert ext.status_code == 201, ext.json
    r = users["center"].post(f"/extensions/{ext.json['id']}/decide", json={"approved": True, "opinion": "同意，抓紧办理"})
    assert r.status_code == 200, r.json
    r = users["supervisor"].post("/supervision/flags", json={"org": "D02", "kind": "inaction", "case_id": case_id,
                                                             "evidence": "多次催办仍未到场处置"})
    assert r.status_code == 201, r.json
    sign_and_handle(users, case_id, departments=())
    for d in ("dept_zf", "dept_zr"):
        users[d].complete(users[d].task(case_id, "办理反馈"), {"result": f"{d} 已联合执法，设立临时便民市场"})
    review_evaluate_and_rate(users, case_id)
    return case_id


def cells(html, css_class):
    return re.findall(rf'<td class="{css_class}">([^<]*)</td>', html)


def test_the_dossier_of_a_closed_call(app, users):
    case_id = call_with_an_extension_and_a_flag(users)
    n_events = len(users["town_a"].get(f"/cases/{case_id}/audit").json)
    town = web_login(app, "town_a")
    assert 'href="/cases/%d/dossier"' % case_id in town.get(f"/cases/{case_id}").get_data(as_text=True)
    r = town.get(f"/cases/{case_id}/dossier")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert f"<td>#{case_id}</td>" in html and "<h1>明珠东路马路市场占道经营</h1>" in html
    assert "<td>乡呼县应（第 1 版）</td>" in html
    assert re.search(r'<td id="case-status">已办结', html)
    assert "岱庙街道" in html and "<header" in html and "<nav" not in html
    assert 'id="print"' in html and "@media print" not in html      # the print rules live in dossier.css
    # the call with its form's titles
    assert "<dt>呼叫事项</dt><dd>明珠东路马路市场占道经营</dd>" in html
    assert "<dt>情况描述</dt><dd>道路贯通后形成马路市场" in html
    # each step in order, with its unit, actor, deadline and answers
    assert cells(html, "step-name") == ["受理", "研判派单", "签收", "签收", "办理反馈", "办理反馈", "审核办结", "评价",
                                        "一呼一评"]
    assert re.findall(r'<td class="timeliness[^"]*">([^<]*)</td>', html) == ["—", "—"] + ["按时"] * 4 + ["—"] * 3
    assert "综合行政执法局" in html and "自然资源和规划局" in html
    assert "dept_zf 已联合执法，设立临时便民市场" in html
    assert "<dt>是否满意</dt><dd>是</dd>" in html and "<dt>评分（1–5）</dt><dd>5</dd>" in html
    assert "<dt>对乡镇的评分（1–5）</dt><dd>4</dd>" in html and "街道配合到位" in html
    # supervision
    supervision = html[html.index('id="supervision"'):html.index('id="audit"')]
    assert "申请延期 2 个工作日：需会同规划部门现场测绘" in supervision
    assert "同意延期 2 个工作日，新时限" in supervision and "同意，抓紧办理" in supervision
    assert "响应不作为：多次催办仍未到场处置" in supervision
    # the audit events and the chain
    assert len(re.findall(r"<tr class=\"\" data-event-id=", html)) == n_events
    assert f"本案 {n_events} 条留痕事件均与哈希链一致" in html


def test_a_tampered_event_is_named_in_the_dossier(app, users):
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id)
    with app.app_context():
        event_id = db.session.execute(text("SELECT id FROM audit_events WHERE case_id = :c AND action = 'task_completed' "
                                           "ORDER BY seq LIMIT 1"), {"c": case_id}).scalar()
        db.session.execute(text("UPDATE audit_events SET actor = 'town_b' WHERE id = :i"), {"i": event_id})
        db.session.commit()
    html = web_login(app, "supervisor").get(f"/cases/{case_id}/dossier").get_data(as_text=True)
    assert "本案留痕与哈希链不一致" in html and f"事件 #{event_id}" in html and "被修改" in html
    assert f'<tr class="bad" data-event-id="{event_id}">' in html


def test_only_who_may_see_the_case_gets_its_dossier(app, users):
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id, lead="D01", co=())
    for username in ("town_a", "center", "supervisor", "dept_zf"):
        assert web_login(app, username).get(f"/cases/{case_id}/dossier").status_code == 200, username
    for username in ("town_b", "dept_hb"):
        assert web_login(app, username).get(f"/cases/{case_id}/dossier").status_code == 404, username
    assert web_login(app, "town_a").get("/cases/999999/dossier").status_code == 404
    assert app.test_client().get(f"/cases/{case_id}/dossier").status_code == 302     # to the login
