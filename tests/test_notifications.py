"""Notifications that find people: in the app, by e-mail to a real local SMTP server and as group
robot messages to a local HTTP receiver standing for 企业微信 and 钉钉 — written in the change's
own transaction, delivered once by the outbox worker, retried with backoff, visible when given up."""
import base64
import hashlib
import hmac
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app import cases, deadlines, notifications
from app.database import write_transaction
from app.extensions import db
from app.models import Case, Notification, OutboxMessage, User
from app.models.types import utcnow
from channels import channels  # noqa: F401 - the fixture
from helpers import accept_and_dispatch, post_form, raise_call, wait_for, web_login

SECRET = "SECtest-signing-secret-0123456789"
WECOM_KEY = "KEY-D01-7f3a9c2e"
DING_TOKEN = "TOKEN-D02-5b8d1e4f"


def set_robot(users, org, platform, url, **extra):
    r = users["admin"].put(f"/units/{org}/robot", json=dict(platform=platform, webhook_url=url, **extra))
    assert r.status_code == 200, r.json
    return r.json


def robots(users, receiver):
    set_robot(users, "D01", "wecom", f"{receiver.url}/cgi-bin/webhook/send?key={WECOM_KEY}")
    set_robot(users, "D02", "dingtalk", f"{receiver.url}/robot/send?access_token={DING_TOKEN}", secret=SECRET)


def notes(user, case_id, kind=None):
    r = user.get("/notifications?per_page=200")
    assert r.status_code == 200, r.json
    return [n for n in r.json["items"] if n["case_id"] == case_id and (kind is None or n["kind"] == kind)]


def deliver(app, now=None):
    with app.app_context():
        return notifications.deliver_outbox(now=now)


def outbox_rows(app, case_id):
    with app.app_context():
        return db.session.execute(select(OutboxMessage).where(OutboxMessage.case_id == case_id)
                                  .order_by(OutboxMessage.id)).scalars().all()


def test_a_ready_task_reaches_the_departments_users_in_the_app_by_email_and_in_their_group(app, users, channels):
    mailbox, receiver = channels
    robots(users, receiver)
    r = users["dept_zf2"].put("/notifications/preferences", json={"kinds": {"task_ready": {"email": False}}})
    assert r.status_code == 200 and r.json["kinds"]["task_ready"] == {"app": True, "email": False}, r.json
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id, lead="D01", co=("D02",))

    for name in ("dept_zf", "dept_zf2", "dept_zr"):
        [note] = notes(users[name], case_id, "task_ready")
        assert note["task_id"] == users[name].task(case_id, "签收")["id"]
        assert f"案件 #{case_id}“明珠东路马路市场占道经营”" in note["text"] and "签收" in note["text"], note
        assert note["read"] is False and note["link"] == f"/tasks/{note['task_id']}"
    # the centre's user whose 受理 made 研判派单 ready is not told of it; the other centre user is
    assert not [n for n in notes(users["center"], case_id) if "研判派单" in n["text"]]
    assert [n for n in notes(users["center2"], case_id) if "研判派单" in n["text"]]
    assert notes(users["town_b"], case_id) == []

    assert deliver(app)["failed"] == 0
    sign_mails = lambda who: [m for m in mailbox.to(f"{who}@demo.huying.example")   # noqa: E731
                              if f"#{case_id}" in m["subject"] and "签收" in m["body"]]
    assert len(sign_mails("dept_zf")) == 1 and len(sign_mails("dept_zr")) == 1
    assert sign_mails("dept_zf2") == []                           # chose the app alone
    assert "【呼应·新待办】" in sign_mails("dept_zf")[0]["subject"]

    [wecom] = [q for q in receiver.accepted() if q["path"] == "/cgi-bin/webhook/send"]
    assert wecom["query"] == {"key": WECOM_KEY}
    assert set(wecom["json"]) == {"msgtype", "markdown"} and wecom["json"]["msgtype"] == "markdown"
    assert set(wecom["json"]["markdown"]) == {"content"}
    assert f"#{case_id}" in wecom["json"]["markdown"]["content"] and "签收" in wecom["json"]["markdown"]["content"]

    [ding] = [q for q in receiver.accepted() if q["path"] == "/robot/send"]
    assert set(ding["query"]) == {"access_token", "timestamp", "sign"} and ding["query"]["access_token"] == DING_TOKEN
    expected = base64.b64encode(hmac.new(SECRET.encode(), f"{ding['query']['timestamp']}\n{SECRET}".encode(),
                                         hashlib.sha256).digest()).decode()
    assert ding["query"]["sign"] == expected
    assert ding["json"]["msgtype"] == "markdown" and set(ding["json"]["markdown"]) == {"title", "text"}
    assert f"#{case_id}" in ding["json"]["markdown"]["text"]

    sent = len(receiver.requests), len(mailbox.messages)
    assert deliver(app) == {"sent": 0, "retry": 0, "failed": 0}
    assert (len(receiver.requests), len(mailbox.messages)) == sent        # each message once


def test_a_notification_of_a_rolled_back_change_is_never_sent(app, users, channels, monkeypatch):
    mailbox, receiver = channels
    robots(users, receiver)
    case_id = raise_call(users)
    users["center"].complete(users["center"].task(case_id, "受理"), {"accepted": True})
    dispatch = users["center"].task(case_id, "研判派单")
    told = notifications.task_ready

    def told_then_failed(case, task, actor):
        told(case, task, actor)
        raise RuntimeError("the change fails after its notifications were written")
    monkeypatch.setattr(notifications, "task_ready", told_then_failed)
    with app.app_context():
        center = db.session.execute(select(User).where(User.username == "center")).scalar_one()
        with pytest.raises(RuntimeError):
            cases.complete_task(center, dispatch["id"], {"lead_department": "D01", "co_departments": ["D02"]})
    assert deliver(app)["failed"] == 0
    assert notes(users["dept_zf"], case_id) == [] and notes(users["dept_zr"], case_id) == []
    assert not [m for m in mailbox.messages if "签收" in m["body"]] and receiver.requests == []
    assert users["center"].task(case_id, "研判派单")["id"] == dispatch["id"]     # nothing changed

    monkeypatch.setattr(notifications, "task_ready", told)
    users["center"].complete(dispatch, {"lead_department": "D01", "co_departments": ["D02"]})
    deliver(app)
    assert len(notes(users["dept_zf"], case_id, "task_ready")) == 1
    assert len([q for q in receiver.accepted()]) == 2 and len(mailbox.to("dept_zf@demo.huying.example")) == 1


def test_a_channel_down_and_up_again_delivers_everything_once_after_backoff(app, users, channels):
    mailbox, receiver = channels
    robots(users, receiver)
    mailbox.stop()                      # SMTP down: connections refused
    receiver.mode = "http500"           # the robots' endpoint answering 500
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id, lead="D01", co=("D02",))
    messages = outbox_rows(app, case_id)
    assert {m.channel for m in messages} == {"email", "robot"}
    t0 = utcnow()

    assert deliver(app, t0)["retry"] == len(messages)
    rows = outbox_rows(app, case_id)
    assert {(m.status, m.attempts) for m in rows} == {("pending", 1)}
    assert {m.next_attempt_at for m in rows} == {t0 + timedelta(seconds=30)}
    assert any("HTTP 500" in m.last_error for m in rows) and any("SMTP" in m.last_error for m in rows)
    assert deliver(app, t0 + timedelta(seconds=29)) == {"sent": 0, "retry": 0, "failed": 0}   # backing off

    receiver.mode = "errcode"           # up, but refusing: errcode ≠ 0 is a failure too
    assert deliver(app, t0 + timedelta(seconds=30))["retry"] == len(messages)
    rows = outbox_rows(app, case_id)
    assert {m.next_attempt_at for m in rows} == {t0 + timedelta(seconds=30 + 60)}     # doubled
    assert any("errcode 310000" in m.last_error for m in rows)
    assert all(WECOM_KEY not in m.last_error and DING_TOKEN not in m.last_error for m in rows)

    receiver.mode = "ok"
    mailbox.start()
    assert deliver(app, t0 + timedelta(seconds=90)) == {"sent": len(messages), "retry": 0, "failed": 0}
    assert deliver(app, t0 + timedelta(hours=9)) == {"sent": 0, "retry": 0, "failed": 0}
    assert {m.status for m in outbox_rows(app, case_id)} == {"sent"}
    robot_bodies = [q["json"]["markdown"].get("content") or q["json"]["markdown"]["text"] for q in receiver.accepted()]
    assert len(robot_bodies) == len(set(robot_bodies)) == len([m for m in messages if m.channel == "robot"])
    emails = [m for m in mailbox.messages if f"#{case_id}" in m["subject"]]
    assert sorted(a for m in emails for a in m["to"]) == sorted(m.recipient for m in messages if m.channel == "email")


def test_a_message_given_up_is_shown_to_the_admin_with_its_error_and_sent_on_retry(app, users, channels):
    mailbox, receiver = channels
    app.config["NOTIFY_MAX_ATTEMPTS"] = 2
    set_robot(users, "C00", "wecom", f"{receiver.url}/cgi-bin/webhook/send?key=KEY-C00-secretpart",
              kinds=["task_ready"])
    shown = users["admin"].get("/units/C00/robot").json
    assert "secretpart" not in shown["webhook_url"] and shown["webhook_url"].endswith("part")
    assert users["admin"].put("/units/C00/robot", json={"platform": "wecom",
                                                        "webhook_url": "http://10.0.0.5/hook"}).status_code == 422
    assert users["admin"].put("/units/C00/robot", json={"platform": "dingtalk", "webhook_url":
                              "https://oapi.dingtalk.com.evil.example/robot/send"}).status_code == 422
    assert users["dept_zf"].put("/units/C00/robot", json={"platform": None}).status_code == 403
    receiver.mode = "http500"
    case_id = raise_call(users)
    t0 = utcnow()
    deliver(app, t0)
    assert deliver(app, t0 + timedelta(minutes=5))["failed"] == 1

    r = users["admin"].get("/notifications/outbox?status=failed")
    assert r.status_code == 200 and r.json["counts"]["failed"] == 1, r.json
    [dead] = r.json["items"]
    assert dead["channel"] == "robot" and dead["recipient"] == "C00" and dead["attempts"] == 2
    assert "HTTP 500" in dead["last_error"] and f"#{case_id}" in dead["subject"]
    assert users["center"].get("/notifications/outbox").status_code == 403
    page = web_login(app, "admin").get("/admin/notifications").get_data(as_text=True)
    assert f'data-message-id="{dead["id"]}"' in page and "HTTP 500" in page and "secretpart" not in page

    receiver.mode = "ok"
    r = users["admin"].post(f"/notifications/outbox/{dead['id']}/retry")
    assert r.status_code == 200 and r.json["status"] == "pending" and r.json["attempts"] == 0
    assert deliver(app)["sent"] == 1
    assert len(receiver.accepted()) == 1
    assert users["admin"].get("/notifications/outbox?status=failed").json["total"] == 0


def test_two_workers_at_once_send_each_message_once(app, users, channels):
    _mailbox, receiver = channels
    set_robot(users, "C00", "wecom", f"{receiver.url}/cgi-bin/webhook/send?key=KEY-C00", kinds=["comment"])
    receiver.delay = 0.01                  # slow enough for the two workers' claims to overlap
    case_id = raise_call(users)
    with app.app_context():
        case = db.session.get(Case, case_id)
        with write_transaction():
            for i in range(60):
                notifications.notify("comment", case, f"第 {i} 条留言", orgs=["C00"])
    figures, errors = [], []

    def worker():
        try:
            with app.app_context():
                mine = {"sent": 0}
                while sum((got := notifications.deliver_outbox(limit=4)).values()):
                    mine["sent"] += got["sent"]
                figures.append(mine["sent"])
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)
    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    texts = [q["json"]["markdown"]["content"] for q in receiver.accepted()]
    assert len(texts) == 60 and len(set(texts)) == 60, len(texts)
    with app.app_context():
        total = db.session.execute(select(func.count()).select_from(OutboxMessage)).scalar()
        assert db.session.execute(select(func.count()).select_from(OutboxMessage)
                                  .where(OutboxMessage.status != "sent")).scalar() == 0
    assert sum(figures) == total and all(n > 0 for n in figures), figures       # both took part, none twice


def test_deadlines_warn_and_pass_and_supervision_orders_reach_the_supervisor_then_the_unit(app, users):
    app.config.update(SUPERVISION={"limits": {"sign": {"normal": "PT1S"}}})
    deadlines.invalidate()
    case_id = raise_call(users, list_item=None)
    accept_and_dispatch(users, case_id, co=())

    def swept():
        with app.app_context():
            cases.fire_due_timers()
        return notes(users["supervisor"], case_id, "supervision_order")
    [order_note] = wait_for(swept, seconds=60)   # returns as soon as it is there; the window is for a loaded CI machine
    kinds = {n["kind"] for n in notes(users["dept_zf"], case_id)}
    assert {"task_ready", "deadline_warning", "deadline_passed"} <= kinds
    [passed] = notes(users["dept_zf2"], case_id, "deadline_passed")
    assert "签收" in passed["text"] and "超过办理时限" in passed["text"]
    order = users["supervisor"].task(case_id)
    assert order_note["task_id"] == order["id"] and "督办单" in order_note["text"]
    users["supervisor"].complete(order, {"opinion": "限一个工作日内完成签收"})
    [issued] = notes(users["dept_zf"], case_id, "supervision_order")
    assert "限一个工作日内完成签收" in issued["text"]


def test_the_calling_township_is_told_when_its_call_is_not_accepted(app, users):
    case_id = raise_call(users)
    users["center"].complete(users["center"].task(case_id, "受理"), {"accepted": False, "reason": "属乡镇自身职责"})
    [note] = notes(users["town_a"], case_id, "case_rejected")
    assert "属乡镇自身职责" in note["text"] and note["link"] == f"/cases/{case_id}"
    assert notes(users["town_b"], case_id) == []


def test_only_the_recipient_marks_a_notification_read(app, users):
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id, lead="D01", co=())
    zf = users["dept_zf"]
    [note] = notes(zf, case_id, "task_ready")
    before = zf.get("/notifications").json["unread"]
    assert users["dept_zr"].post(f"/notifications/{note['id']}/read").status_code == 404
    assert users["dept_zf2"].post(f"/notifications/{note['id']}/read").status_code == 404
    assert zf.get("/notifications").json["unread"] == before
    r = zf.post(f"/notifications/{note['id']}/read")
    assert r.status_code == 200 and r.json["read"] is True
    assert zf.get("/notifications").json["unread"] == before - 1
    assert all(n["id"] != note["id"] for n in zf.get("/notifications?unread=true").json["items"])
    assert not users["dept_zf2"].get("/notifications?unread=true").json["items"][0]["read"]
    first, second = (users["center2"].get(f"/notifications?per_page=1&page={n}").json for n in (1, 2))
    assert first["total"] == second["total"] == 2 and second["page"] == 2          # 受理, then 研判派单
    assert "研判派单" in first["items"][0]["text"] and "受理" in second["items"][0]["text"]     # newest first
    r = users["dept_zf2"].post("/notifications/read-all")
    assert r.status_code == 200 and r.json["marked"] >= 1
    assert users["dept_zf2"].get("/notifications").json["unread"] == 0
    assert zf.get("/notifications").json["unread"] == before - 1         # someone else's read-all is theirs alone


def test_the_bell_counts_and_the_notifications_page_marks_read(app, users):
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id, lead="D01", co=())
    client = web_login(app, "dept_zf")
    unread = users["dept_zf"].get("/notifications").json["unread"]
    assert f'data-unread="{unread}"' in client.get("/").get_data(as_text=True)
    page = client.get("/notifications").get_data(as_text=True)
    with app.app_context():
        note = db.session.execute(select(Notification).where(Notification.case_id == case_id,
                                                             Notification.kind == "task_ready")
                                  .join(User, User.id == Notification.user_id)
                                  .where(User.username == "dept_zf")).scalar_one()
    assert f'data-notification-id="{note.id}"' in page and "签收" in page
    r = post_form(client, "/notifications", f"/notifications/{note.id}/read", {"open": "1"})
    assert r.status_code == 302 and r.headers["Location"] == f"/tasks/{note.task_id}"
    bell = client.get("/").get_data(as_text=True)
    assert (f'data-unread="{unread - 1}"' in bell) if unread > 1 else ("data-unread" not in bell)
    r = post_form(client, "/notifications/preferences", "/notifications/preferences",
                  {"email": "chen@example.gov.cn", "task_ready.app": "on"})
    assert r.status_code == 302
    prefs = users["dept_zf"].get("/notifications/preferences").json
    assert prefs["email"] == "chen@example.gov.cn" and prefs["kinds"]["task_ready"] == {"app": True, "email": False}
    assert prefs["kinds"]["urge"] == {"app": False, "email": False}
    r = post_form(client, "/notifications/preferences", "/notifications/preferences", {"email": "不是地址"})
    assert r.status_code == 422 and "电子邮件地址格式不正确" in r.get_data(as_text=True)
    post_form(client, "/notifications", "/notifications/read-all", {})
    assert users["dept_zf"].get("/notifications").json["unread"] == 0
