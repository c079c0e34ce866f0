"""The browser side without a browser: login, CSRF, escaping, pages per role."""
import pytest
import re

from helpers import csrf_token, raise_call


def login(client, username, password="demo"):
    page = client.get("/login").get_data(as_text=True)
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": csrf_token(page)})


def test_login_form_has_fields_and_csrf(client):
    html = client.get("/login").get_data(as_text=True)
    assert 'name="username"' in html and 'name="password"' in html
    assert re.search(r'<input[^>]*name="csrf_token"[^>]*type="hidden"|<input[^>]*type="hidden"[^>]*name="csrf_token"', html)


def test_login_without_csrf_is_refused(app, client):
    app.config["WTF_CSRF_ENABLED"] = True
    r = client.post("/login", data={"username": "town_a", "password": "demo"})
    assert r.status_code in (400, 401, 403)
    assert client.get("/", follow_redirects=False).status_code == 302


def test_inbox_shows_tasks_with_case_titles(client, users):
    case_id = raise_call(users, title="泰山大街油烟扰民")
    assert login(client, "center").status_code == 302
    html = client.get("/").get_data(as_text=True)
    assert "泰山大街油烟扰民" in html and "受理" in html
    assert client.get(f"/cases/{case_id}").status_code == 200


def test_state_change_without_csrf_changes_nothing(client, users):
    case_id = raise_call(users)
    task = users["center"].task(case_id, "受理")
    login(client, "center")
    r = client.post(f"/tasks/{task['id']}", data={"accepted": "true"})
    assert r.status_code == 400
    assert users["center"].task(case_id, "受理")["id"] == task["id"]


def test_markup_is_stored_as_given_and_escaped_when_shown(client, users):
    title = '<script>alert("x")</script>占道'
    case_id = raise_call(users, title=title)
    assert users["center"].get(f"/cases/{case_id}").json["title"] == title
    login(client, "center")
    for path in ("/", f"/cases/{case_id}", "/cases"):
        html = client.get(path).get_data(as_text=True)
        assert '<script>alert("x")</script>' not in html
        assert "&lt;script&gt;" in html


def test_other_township_gets_404_on_the_case_page(client, users):
    case_id = raise_call(users)
    login(client, "town_b")
    assert client.get(f"/cases/{case_id}").status_code == 404


def test_browser_form_errors_come_back_per_field(client, users):
    login(client, "town_a")
    page = client.get("/cases/new/call_response").get_data(as_text=True)
    r = client.post("/cases/new/call_response", data={"csrf_token": csrf_token(page), "title": "x"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "此项为必填项" in html and "至少填写 2 个字" in html
    assert users["town_a"].get("/cases").json["total"] == 0


@pytest.mark.lifecycle
def test_deadlines_show_on_inbox_and_task_and_a_department_asks_for_more_time(app, client, users):
    from helpers import accept_and_dispatch
    case_id = raise_call(users, list_item="ZR-02")
    accept_and_dispatch(users, case_id, co=())
    users["dept_zf"].complete(users["dept_zf"].task(case_id, "签收"), {"returned": False})
    task = users["dept_zf"].task(case_id, "办理反馈")
    login(client, "dept_zf")
    inbox = client.get("/").get_data(as_text=True)
    assert 'class="due' in inbox and "办理反馈" in inbox
    page = client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    assert "办理时限" in page and "申请延期" in page
    r = client.post(f"/tasks/{task['id']}/extension", data={"csrf_token": csrf_token(page), "days": "2",
                                                          "reason": "需会同自然资源部门现场测绘"})
    assert r.status_code == 302
    page = client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    assert "待审批" in page and 'id="extension"' not in page
    assert [e["days"] for e in users["center"].get("/extensions").json] == [2]


def test_case_page_draws_the_process_with_the_current_step(client, users):
    case_id = raise_call(users)
    login(client, "town_a")
    html = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'data-bpmn-url="/processes/call_response/versions/1.bpmn"' in html
    assert 'data-highlight="accept"' in html


def test_centre_rejects_a_townships_own_duty_in_one_click(client, users):
    case_id = raise_call(users, list_item="ZF-03")
    task = users["center"].task(case_id, "受理")
    login(client, "center")
    page = client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    assert "属乡镇主体责任，不予受理" in page
    r = client.post(f"/tasks/{task['id']}", data={"csrf_token": csrf_token(page), "_shortcut": "0"})
    assert r.status_code == 302
    assert users["town_a"].get(f"/cases/{case_id}").json["status"] == "rejected"
    assert [f["kind"] for f in users["supervisor"].get("/supervision/flags").json] == ["improper_call"]
