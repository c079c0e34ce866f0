"""A remark and an urge reach the right people — in the app, by e-mail to a real local SMTP server
and as group-robot messages to a local receiver — a withdrawal tells the centre, and a remark's
words find its call for those who may see it."""

from app import notifications
from channels import channels  # noqa: F401 - the fixture
from helpers import accept_and_dispatch, raise_call

WECOM_KEY = "KEY-D01-remarks"


def notes(user, case_id, kind):
    r = user.get("/notifications?per_page=200")
    assert r.status_code == 200, r.json
    return [n for n in r.json["items"] if n["case_id"] == case_id and n["kind"] == kind]


def mails(mailbox, who, case_id, kind_label):
    return [m for m in mailbox.to(f"{who}@demo.huying.example")
            if f"#{case_id}" in m["subject"] and kind_label in m["subject"]]


def test_a_remark_and_an_urge_reach_the_units_holding_the_call_in_the_app_by_email_and_in_their_group(
        app, users, channels):
    mailbox, receiver = channels
    r = users["admin"].put("/units/D01/robot", json={"platform": "wecom", "kinds": ["comment", "urge"],
                                                     "webhook_url": f"{receiver.url}/cgi-bin/webhook/send?key={WECOM_KEY}"})
    assert r.status_code == 200, r.json
    r = users["dept_zf"].put("/notifications/preferences", json={"kinds": {"comment": {"app": True, "email": True}}})
    assert r.status_code == 200, r.json
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id, lead="D01", co=("D02",))

    r = users["town_a"].post(f"/cases/{case_id}/comments", json={"text": "摊贩傍晚又回来了，附近小学放学时最堵"})
    assert r.status_code == 201, r.json
    for who in ("dept_zf", "dept_zr", "center"):                   # the units taking part, and the centre
        [note] = notes(users[who], case_id, "comment")
        assert "摊贩傍晚又回来了" in note["text"] and note["read"] is False, note
    assert notes(users["town_a"], case_id, "comment") == []         # the author is not told of their own remark
    assert notes(users["town_b"], case_id, "comment") == []
    assert notes(users["dept_hb"], case_id, "comment") == []

    r = users["town_a"].post(f"/cases/{case_id}/urge", json={"text": "请尽快签收处置"})
    assert r.status_code == 201, r.json
    for who, org in (("dept_zf", "D01"), ("dept_zr", "D02")):
        [note] = notes(users[who], case_id, "urge")
        assert "请尽快签收处置" in note["text"] and note["task_id"] == users[who].task(case_id, "签收")["id"], note
    assert notes(users["center"], case_id, "urge") == []           # the centre holds nothing now: not urged
    assert notes(users["town_b"], case_id, "urge") == []

    with app.app_context():
        assert notifications.deliver_outbox()["failed"] == 0
    assert len(mails(mailbox, "dept_zf", case_id, "留言")) == 1      # chose e-mail for remarks
    assert mails(mailbox, "dept_zr", case_id, "留言") == []          # remarks by e-mail only when chosen
    assert len(mails(mailbox, "dept_zf", case_id, "催办")) == 1      # urges by e-mail by default
    assert len(mails(mailbox, "dept_zr", case_id, "催办")) == 1
    group = [q["json"]["markdown"]["content"] for q in receiver.accepted() if q["query"] == {"key": WECOM_KEY}]
    assert len([c for c in group if "摊贩傍晚又回来了" in c]) == 1
    assert len([c for c in group if "请尽快签收处置" in c]) == 1
    with app.app_context():
        assert notifications.deliver_outbox() == {"sent": 0, "retry": 0, "failed": 0}   # each message once


def test_a_withdrawn_call_tells_the_centre_whose_acceptance_it_was_waiting_for(app, users):
    case_id = raise_call(users)
    assert notes(users["center"], case_id, "task_ready")
    r = users["town_a"].post(f"/cases/{case_id}/withdraw", json={"reason": "摊主已自行撤离"})
    assert r.status_code == 200 and r.json["status"] == "withdrawn", r.json
    [note] = notes(users["center"], case_id, "case_withdrawn")
    assert "摊主已自行撤离" in note["text"], note
    assert notes(users["town_a"], case_id, "case_withdrawn") == []


def test_a_remarks_words_find_its_call_for_those_who_see_it_and_not_for_another_township(app, users):
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id, lead="D01", co=("D02",))
    r = users["dept_zf"].post(f"/cases/{case_id}/comments", json={"text": "已联系城管中队夜间巡查"})
    assert r.status_code == 201, r.json
    for who in ("center", "town_a", "dept_zf", "supervisor"):
        found = users[who].get("/cases", query_string={"q": "夜间巡查"}).json
        assert [c["id"] for c in found["items"]] == [case_id], (who, found)
    for who in ("town_b", "dept_hb"):
        assert users[who].get("/cases", query_string={"q": "夜间巡查"}).json["items"] == []
