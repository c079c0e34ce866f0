"""Every user changes their own password (我的账号 · 修改密码): the current one first, the new one
twice by the same strength rule as the command line and the admin's pages; their other sessions
and tokens end, the one they are signed in with goes on; the change is on record."""
import pytest
from sqlalchemy import select

from app import auth
from app.extensions import db
from app.labels import ACTION_LABELS
from app.models import AuditEvent
from helpers import post_form, web_login

NEW = "Dongyue#2027"


def change(client, current, password, confirm=None):
    return post_form(client, "/account/password", "/account/password",
                     {"current": current, "password": password, "confirm": password if confirm is None else confirm})


def test_a_user_changes_their_password_and_signs_in_with_the_new_one(app, client, users):
    me = web_login(app, "town_a")
    elsewhere = web_login(app, "town_a")
    token = users["town_a"]
    nav = me.get("/").get_data(as_text=True)
    assert 'href="/account/password"' in nav and "张志刚" in nav
    r = change(me, "demo", NEW)
    assert r.status_code == 302
    assert "密码已修改。您在其他设备上的登录已退出" in me.get(r.headers["Location"]).get_data(as_text=True)
    assert me.get("/").status_code == 200                       # this session goes on
    assert elsewhere.get("/").status_code == 302                # the other browser must sign in again
    assert token.get("/me").status_code == 401
    assert client.post("/api/v1/auth/token", json={"username": "town_a", "password": "demo"}).status_code == 401
    assert client.post("/api/v1/auth/token", json={"username": "town_a", "password": NEW}).status_code == 200
    with app.app_context():
        event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "password_changed")).scalar_one()
        assert event.actor == "town_a" and event.org_code == "T01"
        assert event.after == {"username": "town_a", "sessions": 1, "tokens": 1}
        assert NEW not in str(event.after) and ACTION_LABELS["password_changed"] == "修改密码"


@pytest.mark.parametrize("current, password, confirm, message", [
    ("wrong", NEW, NEW, "当前密码不正确"),
    ("demo", "abc", "abc", "密码至少 8 位"),
    ("demo", "dongyue2027", "dongyue2027", "至少三类"),
    ("demo", "Town_a#2027", "Town_a#2027", "密码不能含用户名"),
    ("demo", NEW, "Dongyue#2028", "两次输入的新密码不一致"),
    ("demo", "", "", "请填写密码"),
])
def test_a_refused_change_says_why_in_chinese_and_keeps_the_old_password(app, client, current, password, confirm,
                                                                          message):
    me = web_login(app, "town_a")
    r = change(me, current, password, confirm)
    assert r.status_code == 422 and message in r.get_data(as_text=True) and "密码未修改" in r.get_data(as_text=True)
    assert client.post("/api/v1/auth/token", json={"username": "town_a", "password": "demo"}).status_code == 200


def test_the_same_rule_holds_for_the_command_line(tmp_path):
    from conftest import _make_app
    import flask_migrate
    app = _make_app(f"sqlite:///{tmp_path / 'fresh.db'}", HUYING_DEMO=False)
    with app.app_context():
        flask_migrate.upgrade()
    runner = app.test_cli_runner()
    weak = runner.invoke(args=["huying", "add-user", "chief", "--role", "admin"], input="Chief-2027\nChief-2027\n")
    assert weak.exit_code != 0 and "密码不能含用户名" in weak.output
    ok = runner.invoke(args=["huying", "add-user", "chief", "--role", "admin"], input="Taishan#2027\nTaishan#2027\n")
    assert ok.exit_code == 0, ok.output
    with app.app_context():
        event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "user_created")).scalar_one()
        assert event.actor == "cli" and event.after["username"] == "chief"


@pytest.mark.parametrize("password, ok", [("Qingshan-2027", True), ("qingshan2027", False), ("QINGSHAN2027!", True),
                                          ("秦山秦山Qs2027", True), ("Aa1!", False), ("Password1", False)])
def test_the_strength_rule(password, ok):
    assert (auth.password_problem(password, "town_a") is None) is ok
