"""A refused request is on record: who asked for what, from where — every 403, and every 404 that
hides a case or task the user may not see, but not a 404 for something that does not exist."""
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent
from helpers import accept_and_dispatch, csrf_token, raise_call, web_login


def refusals(app):
    with app.app_context():
        rows = db.session.execute(select(AuditEvent).where(AuditEvent.action == "permission_refused")
                                  .order_by(AuditEvent.id)).scalars().all()
        return [{"actor": e.actor, "detail": e.detail, "case_id": e.case_id, "task": e.task_name, "task_id": e.task_id,
                 "ip": e.ip, "status": (e.after or {}).get("status"), "seq": e.seq} for e in rows]


def test_an_api_403_is_recorded(app, users):
    assert users["town_a"].get("/audit/export?format=csv").status_code == 403
    [r] = refusals(app)
    assert r["actor"] == "town_a" and r["detail"] == "GET /api/v1/audit/export?format=csv"
    assert r["status"] == 403 and r["ip"] == "127.0.0.1" and r["case_id"] is None and r["seq"]
    assert users["supervisor"].get("/audit/verify").json["ok"] is True


def test_a_403_on_another_units_task_names_the_case_and_task(app, users):
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id, lead="D01", co=("D02",))
    task = users["dept_zf"].task(case_id, "签收")
    r = users["dept_zr"].post(f"/tasks/{task['id']}/complete", json={"data": {"returned": False}})
    assert r.status_code == 403
    [r] = refusals(app)
    assert (r["actor"], r["case_id"], r["task_id"], r["task"], r["status"]) == \
        ("dept_zr", case_id, task["id"], "签收", 403)
    assert r["detail"] == f"POST /api/v1/tasks/{task['id']}/complete"


def test_a_web_403_is_recorded(app):
    town = web_login(app, "town_a")
    assert town.get("/supervision").status_code == 403
    assert town.get("/audit").status_code == 403
    assert [(r["actor"], r["detail"], r["status"]) for r in refusals(app)] == \
        [("town_a", "GET /supervision", 403), ("town_a", "GET /audit", 403)]


def test_a_404_that_hides_a_case_is_recorded_and_one_for_a_missing_case_is_not(app, users):
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id, lead="D01", co=())
    task = users["dept_zf"].task(case_id, "签收")
    assert users["town_b"].get(f"/cases/{case_id}").status_code == 404
    assert users["dept_hb"].get(f"/tasks/{task['id']}").status_code == 404
    browser = web_login(app, "town_b")
    assert browser.get(f"/cases/{case_id}").status_code == 404
    assert browser.get(f"/cases/{case_id}/dossier").status_code == 404
    assert [(r["actor"], r["case_id"], r["task"], r["status"], r["detail"]) for r in refusals(app)] == [
        ("town_b", case_id, None, 404, f"GET /api/v1/cases/{case_id}"),
        ("dept_hb", case_id, "签收", 404, f"GET /api/v1/tasks/{task['id']}"),
        ("town_b", case_id, None, 404, f"GET /cases/{case_id}"),
        ("town_b", case_id, None, 404, f"GET /cases/{case_id}/dossier"),
    ]

    before = len(refusals(app))
    assert users["town_b"].get("/cases/999999").status_code == 404
    assert users["town_b"].get("/tasks/no-such-task").status_code == 404
    assert users["town_b"].post("/tasks/no-such-task/claim").status_code == 404
    assert browser.get("/cases/999999").status_code == 404
    assert browser.get("/cases/999999/dossier").status_code == 404
    assert browser.get("/no-such-page").status_code == 404
    assert len(refusals(app)) == before


def test_a_browser_form_refused_by_scope_is_recorded(app, users):
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id, lead="D01", co=("D02",))
    task = users["dept_zf"].task(case_id, "签收")
    zr = web_login(app, "dept_zr")
    token = csrf_token(zr.get("/").get_data(as_text=True))
    assert zr.post(f"/tasks/{task['id']}/claim", data={"csrf_token": token}).status_code == 302
    [r] = refusals(app)
    assert (r["actor"], r["case_id"], r["task"], r["detail"]) == \
        ("dept_zr", case_id, "签收", f"POST /tasks/{task['id']}/claim")
    assert users["dept_zf"].task(case_id, "签收")["assignee"] is None


def test_the_case_page_points_an_auditor_to_who_was_refused(app, users):
    case_id = raise_call(users)
    users["town_b"].get(f"/cases/{case_id}")
    html = web_login(app, "supervisor").get(f"/cases/{case_id}").get_data(as_text=True)
    assert f'href="/audit?case_id={case_id}&amp;action=permission_refused">1 次无权访问的请求</a>' in html


def test_signing_out_is_recorded(app):
    browser = web_login(app, "center")
    token = csrf_token(browser.get("/").get_data(as_text=True))
    assert browser.post("/logout", data={"csrf_token": token}).status_code == 302
    with app.app_context():
        last = db.session.execute(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).scalar_one()
    assert (last.action, last.actor, last.ip) == ("logout", "center", "127.0.0.1")
