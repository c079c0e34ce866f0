"""督办 in the browser, without a browser: the supervisor's dashboard and CSV, flags, the centre's
extension approvals and the admin's calendar, through the session login and CSRF-protected forms."""
import json
import re
import threading
import time
from datetime import date, datetime

import pytest

from sqlalchemy import func, select

from app import cases, deadlines
from app.extensions import db
from app.models import Task
from helpers import accept_and_dispatch, csrf_token, links_asset, post_form, raise_call, web_login

OVERDUE = {"limits": {"sign": {"normal": "PT1S"}}}


def make_overdue(app, users, title="明珠东路马路市场占道经营", co=("D02",)):
    """A call dispatched to D01 (and `co`) whose 签收 deadline has passed, the timers fired."""
    app.config.update(SUPERVISION=OVERDUE)
    deadlines.invalidate()
    case_id = raise_call(users, title=title, list_item=None)
    accept_and_dispatch(users, case_id, co=co)
    expected = 1 + len(co)
    for _ in range(100):                    # the deadline is one second away: sweep until every order is out
        time.sleep(0.1)
        with app.app_context():
            cases.fire_due_timers()
            orders = db.session.execute(select(func.count()).select_from(Task).where(
                Task.case_id == case_id, Task.kind == "order")).scalar()
        if orders >= expected:
            break
    return case_id


def stuck_rows(html):
    """{case id: [reason, ...]} of the dashboard's table."""
    out = {}
    for case_id, reason in re.findall(r'<tr data-case-id="(\d+)" data-reason="(\w+)">', html):
        out.setdefault(int(case_id), []).append(reason)
    return out


def test_supervisor_sees_the_overdue_case_with_its_diagram(app, users):
    case_id = make_overdue(app, users)
    sup = web_login(app, "supervisor")
    r = sup.get("/supervision")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert stuck_rows(html) == {case_id: ["overdue", "overdue"]}
    assert "明珠东路马路市场占道经营" in html and "综合行政执法局" in html and "自然资源和规划局" in html
    assert ">超时</span>" in html and "刚刚超时" in html and "岱庙街道" in html
    assert re.search(r'data-reason="overdue">\s*<span class="n">2</span>', html)
    assert "每类（超时、长时间无进展、无人待办、流程异常、等待消息）最多显示 200 条" in html
    # the diagram of the case's process version, with 签收 highlighted and counted
    m = re.search(r'data-bpmn-url="([^"]+)"\s+data-highlight="([^"]*)" data-counts=\'([^\']*)\'', html)
    assert m and m.group(2) == "sign" and json.loads(m.group(3)) == {"sign": 2}
    for asset in ("dist/diagram.js", "dist/diagram-js.css", "dist/bpmn-js.css"):
        assert links_asset(html, asset)
    xml = sup.get(m.group(1))
    assert xml.status_code == 200 and xml.mimetype == "application/xml"
    assert b'id="sign"' in xml.data and b"<bpmn:definitions" in xml.data
    # filters
    assert stuck_rows(sup.get("/supervision?department=D01").get_data(as_text=True)) == {case_id: ["overdue"]}
    assert stuck_rows(sup.get("/supervision?township=T02").get_data(as_text=True)) == {}
    assert stuck_rows(sup.get("/supervision?urgency=urgent").get_data(as_text=True)) == {}
    assert stuck_rows(sup.get("/supervision?min_age_hours=5").get_data(as_text=True)) == {}
    assert stuck_rows(sup.get("/supervision?department=nonsense&min_age_hours=x").get_data(as_text=True)) \
        == {case_id: ["overdue", "overdue"]}


def test_process_xml_needs_a_login_and_a_deployed_version(app, client):
    assert client.get("/processes/call_response/versions/1.bpmn").status_code == 302
    town = web_login(app, "town_a")
    assert town.get("/processes/call_response/versions/1.bpmn").status_code == 200
    assert town.get("/processes/call_response/versions/99.bpmn").status_code == 404
    assert town.get("/processes/no_such/versions/1.bpmn").status_code == 404


def test_csv_export_has_the_bom_and_the_row(app, users):
    case_id = make_overdue(app, users, co=())
    sup = web_login(app, "supervisor")
    assert "/supervision/export.csv?department=D01" in sup.get("/supervision?department=D01").get_data(as_text=True)
    r = sup.get("/supervision/export.csv?department=D01")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    assert r.data.startswith(b"\xef\xbb\xbf")
    lines = r.data.decode("utf-8-sig").splitlines()
    assert lines[0] == "案件编号,事项,环节,承办单位,发起乡镇,紧急程度,等待自,时限,原因,说明"
    assert len(lines) == 2
    row = lines[1].split(",")
    assert row[:6] == [str(case_id), "明珠东路马路市场占道经营", "签收", "综合行政执法局", "岱庙街道", "一般"]
    assert row[8:] == ["超时", "超过办理时限"]
    assert sup.get("/supervision/export.csv?department=D02").data.decode("utf-8-sig").splitlines() == lines[:1]


def test_pages_are_for_their_roles(app, client):
    assert client.get("/supervision").status_code == 302        # to the login page
    town = web_login(app, "town_a")
    for path in ("/supervision", "/supervision/export.csv", "/supervision/flags", "/extensions", "/admin/calendar"):
        assert town.get(path).status_code == 403, path
    assert "督办" not in town.get("/").get_data(as_text=True).split("</nav>")[0]
    center = web_login(app, "center")
    assert center.get("/supervision").status_code == 403 and center.get("/admin/calendar").status_code == 403
    nav = center.get("/").get_data(as_text=True).split("</nav>")[0]
    assert "延期审批" in nav and "督办" not in nav
    admin = web_login(app, "admin")
    assert admin.get("/supervision").status_code == 403
    assert ">管理</a>" in admin.get("/").get_data(as_text=True).split("</nav>")[0]
    assert ">工作日历</a>" in admin.get("/admin/users").get_data(as_text=True)
    sup = web_login(app, "supervisor")
    assert "督办" in sup.get("/").get_data(as_text=True).split("</nav>")[0]
    assert sup.get("/admin/calendar").status_code == 403
    r = post_form(sup, "/supervision", "/admin/calendar", {"day": "2026-10-10", "kind": "workday"})
    assert r.status_code == 403


def test_a_flag_posted_through_the_form_appears(app, users):
    case_id = raise_call(users)
    sup = web_login(app, "supervisor")
    html = sup.get("/supervision/flags").get_data(as_text=True)
    assert "还没有标记" in html and "乱呼叫（乡镇）" in html and "响应不作为（县级部门）" in html
    wrong = post_form(sup, "/supervision/flags", "/supervision/flags",
                      {"org": "D01", "kind": "improper_call", "case_id": "abc", "evidence": "无"})
    html = wrong.get_data(as_text=True)
    assert wrong.status_code == 422
    assert "“乱呼叫”只能标记乡镇" in html and "应为案件编号（数字）" in html
    empty = post_form(sup, "/supervision/flags", "/supervision/flags", {"evidence": "无"}).get_data(as_text=True)
    assert "请选择单位" in empty and "请选择类别" in empty
    evidence = "所呼事项属乡镇主体责任（清单ZF-03）<b>"
    ok = post_form(sup, "/supervision/flags", "/supervision/flags",
                   {"org": "T01", "kind": "improper_call", "case_id": str(case_id), "evidence": evidence})
    assert ok.status_code == 302
    html = sup.get("/supervision/flags").get_data(as_text=True)
    assert "已标记：岱庙街道 · 乱呼叫" in html
    assert "所呼事项属乡镇主体责任（清单ZF-03）&lt;b&gt;" in html and f"#{case_id}</a>" in html
    assert [f["kind"] for f in users["supervisor"].get("/supervision/flags").json] == ["improper_call"]


def test_the_centre_approves_an_extension(app, users):
    case_id = raise_call(users, list_item=None)
    accept_and_dispatch(users, case_id, co=())
    users["dept_zf"].complete(users["dept_zf"].task(case_id, "签收"), {"returned": False})
    task = users["dept_zf"].task(case_id, "办理反馈")
    ext = users["dept_zf"].post(f"/tasks/{task['id']}/extension", json={"days": 3, "reason": "需协调省级部门会商"}).json
    # the supervisor reads, without buttons, and may not decide
    sup = web_login(app, "supervisor")
    html = sup.get("/extensions").get_data(as_text=True)
    assert "需协调省级部门会商" in html and "只读" in html and 'value="approve"' not in html
    assert post_form(sup, "/extensions", f"/extensions/{ext['id']}/decide", {"decision": "approve"}).status_code == 403
    center = web_login(app, "center")
    html = center.get("/extensions").get_data(as_text=True)
    assert f'data-extension-id="{ext["id"]}"' in html and "综合行政执法局" in html and "办理反馈" in html
    assert "<strong>3</strong> 个工作日" in html and 'value="approve"' in html
    r = post_form(center, "/extensions", f"/extensions/{ext['id']}/decide", {"decision": "approve", "opinion": "同意"})
    assert r.status_code == 302
    html = center.get("/extensions").get_data(as_text=True)
    assert "已同意延期 3 个工作日" in html and "没有待审批的延期申请" in html
    with app.app_context():
        expected = deadlines.add_working_days(datetime.fromisoformat(task["due_at"]), 3)
    assert datetime.fromisoformat(users["dept_zf"].task(case_id, "办理反馈")["due_at"]) == expected
    again = post_form(center, "/extensions", f"/extensions/{ext['id']}/decide", {"decision": "refuse"})
    assert again.status_code == 302 and "此申请已审批" in center.get("/extensions").get_data(as_text=True)


def calendar_day(users, day):
    """The calendar's entry for `day` as the API lists it (None when the weekday rules)."""
    return next((d for d in users["town_a"].get(f"/calendar?year={day[:4]}").json if d["day"] == day), None)


def test_the_admin_adds_a_make_up_working_day(app, users):
    assert calendar_day(users, "2030-10-12") is None          # a Saturday
    admin = web_login(app, "admin")
    html = admin.get("/admin/calendar").get_data(as_text=True)
    assert 'href="/admin/settings"' in html and "/api/" not in html and "max_reworks" not in html
    bad = post_form(admin, "/admin/calendar", "/admin/calendar", {"day": "2030-13-40", "kind": "holiday"})
    assert bad.status_code == 422 and "日期格式应为 YYYY-MM-DD" in bad.get_data(as_text=True)
    no_kind = post_form(admin, "/admin/calendar", "/admin/calendar", {"day": "2030-10-12", "kind": "sometimes"})
    assert no_kind.status_code == 422 and "请选择类型" in no_kind.get_data(as_text=True)
    r = post_form(admin, "/admin/calendar", "/admin/calendar",
                  {"day": "2030-10-12", "kind": "workday", "name": "国庆节调休上班"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/admin/calendar?year=2030")
    html = admin.get("/admin/calendar?year=2030").get_data(as_text=True)
    assert 'data-day="2030-10-12"' in html and "调休上班" in html and "国庆节调休上班" in html and "周六" in html
    assert calendar_day(users, "2030-10-12") == {"day": "2030-10-12", "kind": "workday", "name": "国庆节调休上班"}
    with app.app_context():
        assert deadlines.is_working_day(date(2030, 10, 12))
    # changed through the same form, then removed
    edit = admin.get("/admin/calendar?year=2030&edit=2030-10-12").get_data(as_text=True)
    assert 'value="2030-10-12"' in edit and "修改日期" in edit
    post_form(admin, "/admin/calendar", "/admin/calendar", {"day": "2030-10-12", "kind": "holiday", "name": "国庆节"})
    assert calendar_day(users, "2030-10-12") == {"day": "2030-10-12", "kind": "holiday", "name": "国庆节"}
    r = post_form(admin, "/admin/calendar", "/admin/calendar/2030-10-12/remove", {})
    assert r.status_code == 302
    assert calendar_day(users, "2030-10-12") is None
    gone = post_form(admin, "/admin/calendar", "/admin/calendar/2030-10-12/remove", {})
    assert "日历中没有这一天" in admin.get(gone.headers["Location"]).get_data(as_text=True)


def test_an_errored_case_is_retried_from_the_dashboard(app, users):
    case_id = raise_call(users, list_item=None)
    users["center"].complete(users["center"].task(case_id, "受理"), {"accepted": True})
    app.config["SUPERVISION"] = {"limits": {"sign": {"normal": "soon"}}}
    deadlines.invalidate()
    users["center"].complete(users["center"].task(case_id, "研判派单"), {"lead_department": "D01"})
    sup = web_login(app, "supervisor")
    html = sup.get("/supervision").get_data(as_text=True)
    assert stuck_rows(html) == {case_id: ["errored"]}
    assert ">异常</span>" in html and "时限格式不正确" in html and "签收预警" in html
    assert f'action="/supervision/cases/{case_id}/retry"' in html
    still = post_form(sup, "/supervision", f"/supervision/cases/{case_id}/retry",
                      {"next": "/supervision?urgency=normal"})
    assert still.status_code == 302 and still.headers["Location"] == "/supervision?urgency=normal"
    assert "流程仍然异常" in sup.get("/supervision").get_data(as_text=True)
    app.config["SUPERVISION"] = {}
    deadlines.invalidate()
    r = post_form(sup, "/supervision", f"/supervision/cases/{case_id}/retry", {"next": "//evil.example/"})
    assert r.status_code == 302 and r.headers["Location"] == "/supervision"
    html = sup.get("/supervision").get_data(as_text=True)
    assert "恢复办理" in html and stuck_rows(html) == {}
    assert [t["name"] for t in users["dept_zf"].inbox(case_id)] == ["签收"]
    again = post_form(sup, "/supervision", f"/supervision/cases/{case_id}/retry", {})
    assert again.status_code == 302 and "案件不处于异常状态" in sup.get("/supervision").get_data(as_text=True)
    assert post_form(web_login(app, "town_a"), "/", f"/supervision/cases/{case_id}/retry", {}).status_code == 403


def test_titles_are_escaped_on_the_dashboard(app, users):
    make_overdue(app, users, title='<script>alert("x")</script>占道', co=())
    html = web_login(app, "supervisor").get("/supervision").get_data(as_text=True)
    assert '<script>alert("x")</script>' not in html and "&lt;script&gt;" in html


@pytest.mark.parametrize("minutes, text", [(0, "不足1分钟"), (8, "8分钟"), (60, "1小时"), (312, "5小时12分钟"),
                                           (24 * 60, "1天"), (3 * 24 * 60 + 5 * 60 + 7, "3天5小时")])
def test_ages_read_as_people_say_them(minutes, text):
    from datetime import timedelta, timezone
    from app.web.supervision import age
    now = datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)
    assert age(now - timedelta(minutes=minutes), now) == text


def test_a_supervision_order_read_by_the_page_and_completed_meanwhile_is_not_completed_twice(app, users, monkeypatch):
    """The page reads the order, another supervisor completes it through the API before this
    completion takes the lock: the page's completion is refused, and the order counts once."""
    case_id = make_overdue(app, users, co=())
    order = next(t for t in users["supervisor"].inbox(case_id) if t["name"].startswith("督办单"))
    page = web_login(app, "supervisor")
    token = csrf_token(page.get(f"/tasks/{order['id']}").get_data(as_text=True))
    real_get_task = cases.get_task

    def get_task_then_someone_else_completes_it(user, task_id):
        task = real_get_task(user, task_id)
        if task_id == order["id"] and task.status == "ready":     # another request, on another thread
            other = threading.Thread(target=users["supervisor"].complete,
                                     args=(order, {"opinion": "限今日内签收并联系乡镇"}))
            other.start()
            other.join(60)
        return task
    monkeypatch.setattr(cases, "get_task", get_task_then_someone_else_completes_it)
    r = page.post(f"/tasks/{order['id']}", data={"opinion": "请立即签收", "csrf_token": token})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/tasks/{order['id']}")
    assert "任务已完成" in page.get(r.headers["Location"]).get_data(as_text=True)
    events = users["supervisor"].get(f"/cases/{case_id}/audit").json
    done = [e for e in events if e["action"] == "task_completed" and e["task"] == order["name"]]
    assert [e["after"]["opinion"] for e in done] == ["限今日内签收并联系乡镇"]
