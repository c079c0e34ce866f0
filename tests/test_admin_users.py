"""The admin's pages for users and org units (管理 · 用户, 单位): create, find, change, disable,
reset passwords; create, rename and take units out of service — each on record, each refusal in
Chinese, the pages closed to everyone else."""
import pytest
from sqlalchemy import func, select

from app import orgs
from app.extensions import db
from app.labels import ACTION_LABELS
from app.models import AuditEvent, OrgUnit, Task, User
from helpers import accept_and_dispatch, csrf_token, post_form, raise_call, web_login

STRONG = "Qingshan-2027"


def events(app, action):
    with app.app_context():
        return db.session.execute(select(AuditEvent).where(AuditEvent.action == action)
                                  .order_by(AuditEvent.id)).scalars().all()


def user_row(app, username):
    with app.app_context():
        user = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
        db.session.expunge_all()
        return user


def can_sign_in(client, username, password):
    return client.post("/api/v1/auth/token", json={"username": username, "password": password}).status_code == 200


def new_user(admin, **fields):
    data = {"username": "zhao_li", "name": "赵丽", "org": "T01", "roles": "township", "email": "",
            "password": STRONG, "confirm": STRONG, **fields}
    return post_form(admin, "/admin/users/new", "/admin/users/new", data)


# --- users ---------------------------------------------------------------------------------------------
def test_the_admin_creates_a_user_who_then_signs_in(app, client):
    admin = web_login(app, "admin")
    r = new_user(admin)
    assert r.status_code == 302 and r.headers["Location"].endswith("/admin/users/zhao_li")
    page = admin.get(r.headers["Location"]).get_data(as_text=True)
    assert "已新建用户：赵丽（zhao_li）" in page and "岱庙街道" in page
    assert can_sign_in(client, "zhao_li", STRONG)
    created = events(app, "user_created")[-1]
    assert created.actor == "admin" and created.org_code == "T01"
    assert created.after == {"username": "zhao_li", "name": "赵丽", "roles": ["township"], "org": "T01", "email": None}
    assert STRONG not in str(created.after) and ACTION_LABELS["user_created"] == "新建用户"


@pytest.mark.parametrize("fields, message", [
    ({"password": "short1A"}, "密码至少 8 位"),
    ({"password": "alllowercase", "confirm": "alllowercase"}, "至少三类"),
    ({"password": "Zhao_li-2027", "confirm": "Zhao_li-2027"}, "密码不能含用户名"),
    ({"password": "P@ssw0rd", "confirm": "P@ssw0rd"}, "常见密码"),
    ({"confirm": "Qingshan-2028"}, "两次输入的密码不一致"),
    ({"username": "赵丽"}, "用户名应为"),
    ({"username": "town_a"}, "用户名 town_a 已被使用"),
    ({"username": "TOWN_A"}, "用户名 TOWN_A 已被使用"),
    ({"name": " "}, "请填写姓名"),
    ({"roles": ""}, "请至少选择一个角色"),
    ({"roles": "king"}, "有不存在的角色"),
    ({"org": "D01"}, "乡镇角色须属于一个乡镇（街道）单位"),
    ({"org": "X99"}, "所选单位不存在或已停用"),
    ({"email": "not an address"}, "电子邮件地址格式不正确"),
])
def test_a_new_user_with_a_bad_field_is_refused_in_chinese_and_not_created(app, fields, message):
    admin = web_login(app, "admin")
    r = new_user(admin, **fields)
    assert r.status_code == 422 and message in r.get_data(as_text=True)
    assert user_row(app, "zhao_li") is None and not [e for e in events(app, "user_created") if e.actor == "admin"]


def test_the_users_list_finds_by_name_username_or_unit_and_pages(app):
    admin = web_login(app, "admin")
    page = admin.get("/admin/users").get_data(as_text=True)
    with app.app_context():
        pages = -(-db.session.execute(select(func.count()).select_from(User)).scalar() // 20)
    assert pages > 1 and 'data-username="admin"' in page and f"第 1 / {pages} 页" in page
    later = "".join(admin.get(f"/admin/users?page={n}").get_data(as_text=True) for n in range(2, pages + 1))
    assert 'data-username="town_h"' in later and 'data-username="admin"' not in later
    for q, found, not_found in (("张志刚", "town_a", "town_b"), ("dept_z", "dept_zf2", "town_a"),
                                ("综合行政执法局", "dept_zf2", "dept_zr"), ("D02", "dept_zr", "dept_zf")):
        html = admin.get("/admin/users", query_string={"q": q}).get_data(as_text=True)
        assert f'data-username="{found}"' in html and f'data-username="{not_found}"' not in html, q
    assert "没有找到“100%_”" in admin.get("/admin/users", query_string={"q": "100%_"}).get_data(as_text=True)


def test_disabling_a_user_ends_their_sessions_releases_their_claims_and_enabling_lets_them_back(app, client, users):
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id, lead="D01", co=())
    task = users["dept_zf2"].task(case_id, "签收")
    assert users["dept_zf2"].post(f"/tasks/{task['id']}/claim").status_code == 200
    browser = web_login(app, "dept_zf2")
    admin = web_login(app, "admin")

    r = post_form(admin, "/admin/users/dept_zf2", "/admin/users/dept_zf2/disable", {})
    assert r.status_code == 302
    assert "已停用：赵鹏，其登录已全部退出" in admin.get(r.headers["Location"]).get_data(as_text=True)
    assert browser.get("/").status_code == 302                                   # to the login page
    assert users["dept_zf2"].get("/me").status_code == 401
    assert not can_sign_in(client, "dept_zf2", "demo")
    assert users["dept_zf"].task(case_id, "签收")["assignee"] is None           # the colleague may take it
    disabled = events(app, "user_disabled")[-1]
    assert disabled.before == {"username": "dept_zf2", "active": True}
    assert disabled.after == {"username": "dept_zf2", "active": False, "sessions": 1, "tokens": 1}
    released = events(app, "task_unclaimed")[-1]
    assert released.case_id == case_id and released.actor == "admin" and "赵鹏的账号已停用" in released.detail
    listed = admin.get("/admin/users?status=disabled").get_data(as_text=True)
    assert 'data-username="dept_zf2"' in listed and 'data-username="dept_zf"' not in listed

    post_form(admin, "/admin/users/dept_zf2", "/admin/users/dept_zf2/enable", {})
    assert can_sign_in(client, "dept_zf2", "demo")
    assert events(app, "user_enabled")[-1].after == {"username": "dept_zf2", "active": True}


def test_the_admin_cannot_disable_themself_nor_leave_the_county_without_an_admin(app):
    admin = web_login(app, "admin")
    r = post_form(admin, "/admin/users/admin", "/admin/users/admin/disable", {})
    assert "不能停用自己的账号" in admin.get(r.headers["Location"]).get_data(as_text=True)
    r = post_form(admin, "/admin/users/admin", "/admin/users/admin", {"name": "系统管理员", "roles": "analyst"})
    assert r.status_code == 422 and "不能取消自己的管理员角色" in r.get_data(as_text=True)
    assert user_row(app, "admin").active and user_row(app, "admin").roles == ["admin"]
    # a second admin may not take the first one's role away either when it is the last one
    post_form(admin, "/admin/users/analyst", "/admin/users/analyst", {"name": "何静", "org": "A00",
                                                                     "roles": ["analyst", "admin"]})
    second = web_login(app, "analyst")
    post_form(second, "/admin/users/admin", "/admin/users/admin", {"name": "系统管理员", "roles": "leader"})
    assert user_row(app, "admin").roles == ["leader"]
    r = post_form(second, "/admin/users/analyst", "/admin/users/analyst/disable", {})
    assert "不能停用自己的账号" in second.get(r.headers["Location"]).get_data(as_text=True)
    back = web_login(app, "admin")
    assert back.get("/admin/users").status_code == 403      # no longer an admin
    r = post_form(second, "/admin/users/analyst", "/admin/users/analyst", {"name": "何静", "org": "A00",
                                                                          "roles": "analyst"})
    assert "不能取消自己的管理员角色" in r.get_data(as_text=True)


def test_a_reset_password_works_at_once_and_ends_the_users_sessions(app, client, users):
    browser = web_login(app, "town_b")
    token = users["town_b"]
    admin = web_login(app, "admin")
    weak = post_form(admin, "/admin/users/town_b", "/admin/users/town_b/password", {"password": "12345678",
                                                                                    "confirm": "12345678"})
    assert weak.status_code == 422 and "至少三类" in weak.get_data(as_text=True)
    assert browser.get("/").status_code == 200                                   # nothing changed yet
    r = post_form(admin, "/admin/users/town_b", "/admin/users/town_b/password", {"password": STRONG, "confirm": STRONG})
    assert "密码已重置，该用户的所有登录已退出" in admin.get(r.headers["Location"]).get_data(as_text=True)
    assert browser.get("/").status_code == 302 and token.get("/me").status_code == 401
    assert not can_sign_in(client, "town_b", "demo") and can_sign_in(client, "town_b", STRONG)
    reset = events(app, "password_reset")[-1]
    assert reset.actor == "admin" and reset.after == {"username": "town_b", "sessions": 1, "tokens": 1}
    assert ACTION_LABELS["password_reset"] == "重置密码"


def test_changing_a_users_roles_and_unit_is_on_record_and_moves_their_tasks(app, users):
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id, lead="D01", co=())
    task = users["dept_zf2"].task(case_id, "签收")
    assert users["dept_zf2"].post(f"/tasks/{task['id']}/claim").status_code == 200
    admin = web_login(app, "admin")
    bad = post_form(admin, "/admin/users/dept_zf2", "/admin/users/dept_zf2", {"name": "赵鹏", "roles": "department",
                                                                              "org": "T01"})
    assert bad.status_code == 422 and "县级部门角色须属于一个县级部门单位" in bad.get_data(as_text=True)
    r = post_form(admin, "/admin/users/dept_zf2", "/admin/users/dept_zf2",
                  {"name": "赵鹏", "roles": "department", "org": "D02", "email": "zhaopeng@example.cn"})
    assert r.status_code == 302 and "用户信息已保存" in admin.get(r.headers["Location"]).get_data(as_text=True)
    changed = events(app, "user_changed")[-1]
    assert changed.before["org"] == "D01" and changed.after["org"] == "D02"
    assert changed.after["email"] == "zhaopeng@example.cn" and ACTION_LABELS["user_changed"] == "修改用户"
    assert users["dept_zf"].task(case_id, "签收")["assignee"] is None
    assert not users["dept_zf2"].inbox(case_id)
    page = admin.get("/admin/users/dept_zf2").get_data(as_text=True)
    assert '<option value="D02" selected>' in page


def test_the_admin_pages_are_the_admins_alone(app):
    for username in ("town_a", "center", "supervisor", "analyst"):
        browser = web_login(app, username)
        nav = browser.get("/").get_data(as_text=True).split("</nav>")[0]
        assert ">管理<" not in nav, username
        for path in ("/admin", "/admin/users", "/admin/users/new", "/admin/users/town_a", "/admin/units",
                     "/admin/settings", "/admin/weights"):
            assert browser.get(path).status_code == 403, (username, path)
        token = csrf_token(browser.get("/").get_data(as_text=True))
        r = browser.post("/admin/users/town_b/password", data={"password": STRONG, "confirm": STRONG,
                                                               "csrf_token": token})
        assert r.status_code == 403
    admin = web_login(app, "admin")
    nav = admin.get("/").get_data(as_text=True).split("</nav>")[0]
    assert ">管理</a>" in nav
    tabs = admin.get("/admin/users").get_data(as_text=True)
    for label in ("用户", "单位", "督办时限", "考核权重", "工作日历", "通知管理"):
        assert f">{label}</a>" in tabs
    assert admin.get("/admin/users/nobody").status_code == 404


# --- org units -------------------------------------------------------------------------------------------
def test_the_admin_creates_and_renames_a_unit_that_the_forms_then_offer(app):
    admin = web_login(app, "admin")
    tree = admin.get("/admin/units").get_data(as_text=True)
    assert "乡镇（街道）" in tree and "县级部门" in tree and 'id="unit-C00"' in tree
    r = post_form(admin, "/admin/units", "/admin/units", {"kind": "township", "name": "山口镇", "code": "t09"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/admin/units#unit-T09")
    assert "已新建单位：山口镇（T09）" in admin.get("/admin/units").get_data(as_text=True)
    with app.test_request_context():
        assert ("T09", "山口镇") in orgs.form_options("townships")
    assert events(app, "org_unit_created")[-1].after == {"code": "T09", "name": "山口镇", "kind": "township"}
    post_form(admin, "/admin/units", "/admin/units/T09/rename", {"name": "山口街道"})
    assert 'id="unit-T09"' in (page := admin.get("/admin/units").get_data(as_text=True)) and "山口街道" in page
    renamed = events(app, "org_unit_renamed")[-1]
    assert renamed.before == {"code": "T09", "name": "山口镇"} and renamed.after == {"code": "T09", "name": "山口街道"}
    for data, message in (({"kind": "township", "name": "山口街道", "code": "T10"}, "已有名为“山口街道”的单位（T09）"),
                          ({"kind": "township", "name": "新镇", "code": "T09"}, "代码 T09 已被使用"),
                          ({"kind": "village", "name": "新镇", "code": "T10"}, "请选择单位类别"),
                          ({"kind": "township", "name": "新镇", "code": "T 10"}, "代码应为")):
        r = post_form(admin, "/admin/units", "/admin/units", data)
        assert r.status_code == 422 and message in r.get_data(as_text=True), data
    r = post_form(admin, "/admin/units", "/admin/units/T09/rename", {"name": "岱庙街道"})
    assert "已有名为“岱庙街道”的单位（T01）" in admin.get(r.headers["Location"]).get_data(as_text=True)


def test_a_unit_still_in_service_is_not_deactivated_and_says_why(app, users):
    admin = web_login(app, "admin")
    r = post_form(admin, "/admin/units", "/admin/units/D03/deactivate", {})
    said = admin.get(r.headers["Location"]).get_data(as_text=True)
    assert "“生态环境分局”仍有1 名启用的用户（请先停用或调往其他单位）" in said and "现行清单中的" in said
    post_form(admin, "/admin/units", "/admin/units", {"kind": "department", "name": "文化和旅游局", "code": "D15"})
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id, lead="D15", co=())
    r = post_form(admin, "/admin/units", "/admin/units/D15/deactivate", {})
    assert "“文化和旅游局”仍有1 项未办结的任务，不能停用" in admin.get(r.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        task = db.session.execute(select(Task).where(Task.org_code == "D15")).scalar_one()
        task.status = "cancelled"
        db.session.commit()
    r = post_form(admin, "/admin/units", "/admin/units/D15/deactivate", {})
    assert "已停用：文化和旅游局" in admin.get(r.headers["Location"]).get_data(as_text=True)
    with app.test_request_context():
        assert "D15" not in dict(orgs.form_options("departments"))
    assert events(app, "org_unit_deactivated")[-1].after == {"code": "D15", "name": "文化和旅游局", "active": False}
    new = post_form(admin, "/admin/users/new", "/admin/users/new", {
        "username": "wl_user", "name": "文旅", "org": "D15", "roles": "department", "password": STRONG,
        "confirm": STRONG})
    assert new.status_code == 422 and "所选单位不存在或已停用" in new.get_data(as_text=True)
    post_form(admin, "/admin/units", "/admin/units/D15/activate", {})
    with app.app_context():
        assert db.session.execute(select(OrgUnit.active).where(OrgUnit.code == "D15")).scalar_one()
    assert ACTION_LABELS["org_unit_activated"] == "启用单位"
