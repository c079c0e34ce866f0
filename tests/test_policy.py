"""One policy (app/policy.py): the rules that used to sit in single views, checked where both the
browser and the API reach them. Every route against every role: test_policy_routes.py."""
import io

from app import policy
from app.roles import ROLES
from helpers import accept_and_dispatch, raise_call, web_login

V2 = {"from": 1, "to": 2}


def deploy_second_version(users):
    bpmn = users["analyst"].get("/processes/call_response/versions/1/bpmn").get_data(as_text=True)
    bpmn = bpmn.replace('id="accept" name="受理"', 'id="accept" name="受理登记"')
    r = users["analyst"].client.post("/api/v1/processes", headers=users["analyst"].headers,
                                     content_type="multipart/form-data",
                                     data={"file": (io.BytesIO(bpmn.encode()), "call_response.bpmn")})
    assert r.status_code == 201 and r.json["version"] == 2, r.json


def test_the_capability_table_names_real_roles():
    for capability, (roles, label) in policy.CAPABILITIES.items():
        assert roles == policy.ANYONE or set(roles) <= set(ROLES), capability
        assert label and "." in capability


def test_only_analysts_and_admins_read_the_migration_preview_and_the_diff(users):
    title = "明珠东路占道经营（迁移预览）"
    case_id = raise_call(users, title=title)
    deploy_second_version(users)
    for name in ("town_a", "center", "supervisor", "dept_zf", "leader"):
        preview = users[name].get("/processes/call_response/migration?from=1&to=2")
        assert preview.status_code == 403 and title not in preview.get_data(as_text=True), name
        assert users[name].get("/processes/call_response/diff?from=1&to=2").status_code == 403, name
    for name in ("analyst", "admin"):
        preview = users[name].get("/processes/call_response/migration?from=1&to=2")
        assert preview.status_code == 200
        assert [(c["case_id"], c["title"]) for c in preview.json["cases"]] == [(case_id, title)]
        changed = users[name].get("/processes/call_response/diff?from=1&to=2").json["changed"]
        assert [c["element_id"] for c in changed] == ["accept"]
    r = users["admin"].post("/processes/call_response/migration", json=dict(V2, case_ids=[case_id]))
    assert r.status_code == 403 and r.json["message"] == "只有流程分析员可以迁移案件"


def test_an_admin_previews_a_migration_in_the_browser_but_only_an_analyst_moves_cases(app, users):
    case_id = raise_call(users)
    deploy_second_version(users)
    admin = web_login(app, "admin")
    nav = admin.get("/").get_data(as_text=True).split("</nav>")[0]
    assert 'href="/processes"' in nav
    page = admin.get("/processes/call_response/migration?from=1&to=2").get_data(as_text=True)
    assert f'data-case-id="{case_id}"' in page and 'name="case_id"' not in page and "迁移由流程分析员操作" in page
    assert "/processes/call_response/model" not in admin.get("/processes").get_data(as_text=True)
    assert admin.get("/processes/call_response/model").status_code == 403
    analyst_page = web_login(app, "analyst").get("/processes/call_response/migration?from=1&to=2")
    assert 'name="case_id"' in analyst_page.get_data(as_text=True)


def test_who_may_start_a_process_is_the_same_rule_for_the_inbox_the_form_and_the_api(app, users):
    department = web_login(app, "dept_zf")
    inbox = department.get("/").get_data(as_text=True)
    assert 'href="/cases/new/duty_sinking"' in inbox and 'href="/cases/new/list_change"' in inbox
    assert 'href="/cases/new/call_response"' not in inbox
    assert department.get("/cases/new/call_response").status_code == 403
    r = users["dept_zf"].post("/cases", json={"process_id": "call_response", "data": {}})
    assert r.status_code == 403 and r.json["message"] == "只有乡镇可以发起此流程"
    township = web_login(app, "town_a")
    assert 'href="/cases/new/call_response"' in township.get("/").get_data(as_text=True)
    assert township.get("/cases/new/call_response").status_code == 200
    assert township.get("/cases/new/duty_sinking").status_code == 403


def test_only_the_department_whose_task_it_is_is_offered_an_extension(app, users):
    case_id = raise_call(users, list_item=None)
    accept_and_dispatch(users, case_id, lead="D01", co=("D02",))
    task = users["dept_zf"].task(case_id, "签收")
    assert 'id="extension"' in web_login(app, "dept_zf").get(f"/tasks/{task['id']}").get_data(as_text=True)
    seen_by_other = web_login(app, "dept_zr").get(f"/tasks/{task['id']}")
    assert seen_by_other.status_code == 200 and 'id="extension"' not in seen_by_other.get_data(as_text=True)
    r = users["dept_zr"].post(f"/tasks/{task['id']}/extension", json={"days": 1, "reason": "替别的部门申请"})
    assert r.status_code == 403
    assert users["dept_hb"].post(f"/tasks/{task['id']}/extension", json={"days": 1, "reason": "不相干"}).status_code == 404
