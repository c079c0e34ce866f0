"""The admin's supervision limits (督办时限) and assessment weights (考核权重) as Chinese forms: each
step's limit by its step name in minutes, hours or working days, the weights in percent and points;
validated, saved on record, and what the deadlines and the report then use."""
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from app import deadlines, reports
from app.extensions import db
from app.models import AuditEvent
from helpers import post_form, web_login

FORM = {"limits.sign.normal.n": "3", "limits.sign.normal.unit": "H",
        "limits.sign.urgent.n": "1", "limits.sign.urgent.unit": "H",
        "limits.sign.emergency.n": "30", "limits.sign.emergency.unit": "M",
        "limits.handle.normal.n": "4", "limits.handle.normal.unit": "D",
        "limits.handle.urgent.n": "3", "limits.handle.urgent.unit": "D",
        "limits.handle.emergency.n": "1", "limits.handle.emergency.unit": "D",
        "limits.event_triage.normal.n": "4", "limits.event_triage.normal.unit": "H",
        "limits.event_triage.urgent.n": "2", "limits.event_triage.urgent.unit": "H",
        "limits.event_triage.emergency.n": "1", "limits.event_triage.emergency.unit": "H",
        "limits.event_handle.normal.n": "3", "limits.event_handle.normal.unit": "D",
        "limits.event_handle.urgent.n": "1", "limits.event_handle.urgent.unit": "D",
        "limits.event_handle.emergency.n": "4", "limits.event_handle.emergency.unit": "H",
        "limits.event_verify.normal.n": "1", "limits.event_verify.normal.unit": "D",
        "limits.event_verify.urgent.n": "8", "limits.event_verify.urgent.unit": "H",
        "limits.event_verify.emergency.n": "4", "limits.event_verify.emergency.unit": "H",
        "listing_after.n": "5", "listing_after.unit": "D",
        "max_reworks": "3", "max_extension_days": "10", "idle_hours": "72"}

# the weights form as it opens with the defaults in force
WEIGHTS = {"response": "30", "resolution": "35", "satisfaction": "35", "township_weight": "33.33", "stationed_weight": "20",
           "flag_deduction": "2", "order_deduction": "1", "invalid_call_deduction": "2", "list_size": "5",
           "min_volume": "3"}


def last_settings_event(app):
    with app.app_context():
        return db.session.execute(select(AuditEvent).where(AuditEvent.action == "settings_changed")
                                  .order_by(AuditEvent.id.desc()).limit(1)).scalar_one()


def test_the_limits_page_shows_each_step_by_name_in_chinese_units(app):
    html = web_login(app, "admin").get("/admin/settings").get_data(as_text=True)
    for text in ("签收", "办理反馈", "一般", "紧急", "特急", "超时后挂牌督办", "返工次数上限", "工作日", "小时", "分钟"):
        assert text in html, text
    for code in ("PT2H", "P5D", "limits", "sign", "max_reworks"):
        assert f">{code}<" not in html and f"{code}：" not in html
    assert 'name="limits.sign.normal.n" value="2"' in html and '<option value="H" selected>小时</option>' in html
    assert 'name="limits.sign.emergency.n" value="30"' in html


def test_the_admin_changes_a_limit_and_new_deadlines_follow_it(app):
    admin = web_login(app, "admin")
    r = post_form(admin, "/admin/settings", "/admin/settings", dict(FORM, **{"limits.handle.normal.n": "4",
                                                                             "max_reworks": "2"}))
    assert r.status_code == 302 and "督办时限已保存" in admin.get("/admin/settings").get_data(as_text=True)
    with app.test_request_context():
        assert deadlines.settings()["limits"]["sign"]["normal"] == "PT3H"
        assert deadlines.settings()["limits"]["handle"]["normal"] == "P4D" and deadlines.settings()["max_reworks"] == 2
        monday = datetime(2030, 3, 4, 1, 0, tzinfo=timezone.utc)
        assert deadlines.deadline("sign", "normal", None, monday) == datetime(2030, 3, 4, 4, 0, tzinfo=timezone.utc)
    event = last_settings_event(app)
    assert event.actor == "admin" and event.before is None
    assert event.after["limits"]["handle"] == {"normal": "P4D", "urgent": "P3D", "emergency": "P1D"}


@pytest.mark.parametrize("changes, field, message", [
    ({"limits.sign.normal.n": "0"}, "limits.sign.normal", "应为 1 到 8784 的整数（小时）"),
    ({"limits.sign.normal.n": "两"}, "limits.sign.normal", "应为 1 到 8784 的整数（小时）"),
    ({"limits.handle.normal.n": "400"}, "limits.handle.normal", "应为 1 到 366 的整数（工作日）"),
    ({"limits.handle.normal.unit": "Y"}, "limits.handle.normal", "请选择单位"),
    ({"listing_after.n": ""}, "listing_after", "应为 1 到 366 的整数（工作日）"),
    ({"max_reworks": "0"}, "max_reworks", "应为 1 到 100 的整数"),
    ({"idle_hours": "1.5"}, "idle_hours", "应为 1 到 8784 的整数"),
])
def test_a_bad_limit_is_refused_in_chinese_and_nothing_changes(app, changes, field, message):
    admin = web_login(app, "admin")
    r = post_form(admin, "/admin/settings", "/admin/settings", dict(FORM, **changes))
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and f'<div class="error" id="e-{field}" role="alert">{message}</div>' in html
    assert "填写有误，请检查标红的项目" in html
    with app.test_request_context():
        assert deadlines.settings()["limits"] == deadlines.DEFAULTS["limits"]


def test_a_mixed_limit_set_through_the_api_is_shown_in_words(app, users):
    mixed = {"limits": {"sign": {"normal": "P1DT2H"}}}
    assert users["admin"].put("/settings/supervision", json=mixed).status_code == 200
    html = web_login(app, "admin").get("/admin/settings").get_data(as_text=True)
    assert "原设置为 1 个工作日又 2 小时，请改用一种单位填写" in html


def test_the_admin_changes_report_weights_in_percent_and_the_report_follows(app):
    admin = web_login(app, "admin")
    page = admin.get("/admin/weights").get_data(as_text=True)
    assert 'name="response" value="30"' in page and 'name="township_weight" value="33.33"' in page
    assert "响应率权重" in page and "乡镇评价占部门得分" in page and "每张督办单扣分" in page
    values = dict(WEIGHTS, response="40", resolution="30", satisfaction="30", order_deduction="1.5")
    r = post_form(admin, "/admin/weights", "/admin/weights", values)
    assert r.status_code == 302 and "考核权重已保存" in admin.get("/admin/weights").get_data(as_text=True)
    with app.test_request_context():
        w = reports.weights()
    assert (w["response"], w["resolution"], w["satisfaction"], w["order_deduction"]) == (0.4, 0.3, 0.3, 1.5)
    assert w["township_weight"] == 1 / 3                 # shown as 33.33 and left alone, not rounded
    with app.app_context():
        event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "settings_changed",
                                                            AuditEvent.detail == "考核权重")).scalar_one()
    assert event.after == {"response": 0.4, "resolution": 0.3, "satisfaction": 0.3, "order_deduction": 1.5}
    assert "响应率 <strong>40%</strong>" in admin.get("/reports").get_data(as_text=True)


@pytest.mark.parametrize("changes, field, message", [
    ({"response": "150"}, "response", "应在 0–100% 之间"),
    ({"response": "0", "resolution": "0", "satisfaction": "0"}, "response", "三率权重之和应大于 0"),
    ({"list_size": "2.5"}, "list_size", "应为整数"),
    ({"list_size": "80"}, "list_size", "应为 1–50 的整数"),
    ({"flag_deduction": "-1"}, "flag_deduction", "应为数字"),
    ({"min_volume": ""}, "min_volume", "应为整数"),
    ({"order_deduction": "500"}, "order_deduction", "应在 0–100 之间"),
])
def test_bad_weights_are_refused_in_chinese(app, changes, field, message):
    admin = web_login(app, "admin")
    r = post_form(admin, "/admin/weights", "/admin/weights", dict(WEIGHTS, **changes))
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and f'<div class="error" id="e-{field}" role="alert">{message}</div>' in html
    with app.test_request_context():
        assert reports.weights()["response"] == 0.3


def test_the_weights_form_posted_unchanged_changes_nothing(app):
    admin = web_login(app, "admin")
    r = post_form(admin, "/admin/weights", "/admin/weights", WEIGHTS)
    assert r.status_code == 302 and "没有改动" in admin.get("/admin/weights").get_data(as_text=True)
    with app.app_context():
        assert not db.session.execute(select(AuditEvent).where(AuditEvent.action == "settings_changed")).first()
