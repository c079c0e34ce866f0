"""The conversation on a call, through the API: remarks (留言) by everyone taking part, the calling
township's urges (催办, once per unit per working day, counted by the metrics) and its withdrawal
(撤回) before the centre accepts the call."""
from datetime import datetime
from zoneinfo import ZoneInfo

from app import conversation
from helpers import accept_and_dispatch, case_of, post_form, raise_call, web_login

COUNTY = ZoneInfo("Asia/Shanghai")


def _at(day, hour=10):
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00").replace(tzinfo=COUNTY)


def _actions(user, case_id):
    return [e["action"] for e in user.get(f"/cases/{case_id}/audit").json]


def test_everyone_taking_part_remarks_and_the_others_may_not(users):
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id, lead="D01", co=("D02",))
    sign = users["dept_zf"].task(case_id, "签收")
    for who, text in (("town_a", "摊点早上七点最多"), ("center", "已派综合执法局牵头"),
                      ("dept_zf", "明早到场"), ("supervisor", "请按时限办结")):
        r = users[who].post(f"/cases/{case_id}/comments", json={"text": text})
        assert r.status_code == 201, r.json
        assert {"id", "case_id", "author", "text", "at"} <= set(r.json) and r.json["author"] == who
    r = users["dept_zf"].post(f"/cases/{case_id}/comments", json={"text": "签收前需核实地点", "task_id": sign["id"]})
    assert r.status_code == 201 and r.json["task_name"] == "签收" and r.json["author_org"] == "D01", r.json

    # the analyst sees every case but takes part in none; the leader sees figures, not cases
    assert users["analyst"].post(f"/cases/{case_id}/comments", json={"text": "路过"}).status_code == 403
    assert users["analyst"].get(f"/cases/{case_id}/comments").status_code == 200
    for who in ("town_b", "dept_hb", "leader"):        # out of sight
        assert users[who].post(f"/cases/{case_id}/comments", json={"text": "路过"}).status_code == 404
        assert users[who].get(f"/cases/{case_id}/comments").status_code == 404

    other = raise_call(users, township="town_b", title="泰前路违建")
    other_task = users["center"].task(other, "受理")
    for body, field in (({"text": "  "}, "text"), ({"text": "长" * 2001}, "text"),
                        ({"text": "这一步", "task_id": other_task["id"]}, "task_id")):
        r = users["center"].post(f"/cases/{case_id}/comments", json=body)
        assert r.status_code == 422 and field in r.json["errors"], r.json

    page = users["analyst"].get(f"/cases/{case_id}/comments?per_page=2&page=2").json
    assert page["total"] == 5 and [c["author"] for c in page["items"]] == ["dept_zf", "supervisor"]
    assert _actions(users["center"], case_id).count("comment_added") == 5


def test_the_township_urges_each_unit_once_per_working_day(app, users, monkeypatch):
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id, lead="D01", co=("D02",))
    clock = {"now": _at("2026-09-30")}                          # a Wednesday before the National Day holiday
    monkeypatch.setattr(conversation, "utcnow", lambda: clock["now"])

    r = users["town_a"].post(f"/cases/{case_id}/urge", json={"text": "摊点仍在，请尽快处置"})
    assert r.status_code == 201, r.json
    assert sorted(u["org"] for u in r.json["units"]) == ["D01", "D02"] and r.json["working_day"] == "2026-09-30"
    again = users["town_a"].post(f"/cases/{case_id}/urge", json={"text": "再催"})
    assert again.status_code == 409 and "2026-10-08" in again.json["message"], again.json   # the holiday skipped
    clock["now"] = _at("2026-10-08", 9)
    users["dept_zf"].complete(users["dept_zf"].task(case_id, "签收"), {"returned": False})
    r = users["town_a"].post(f"/cases/{case_id}/urge", json={"text": "请尽快签收"})    # only D02 holds the call now
    assert r.status_code == 201, r.json
    assert [(u["org"], u["task_name"]) for u in r.json["units"]] == [("D02", "签收")]

    assert users["town_b"].post(f"/cases/{case_id}/urge", json={"text": "催"}).status_code == 404
    for who in ("dept_zf", "center", "supervisor"):
        assert users[who].post(f"/cases/{case_id}/urge", json={"text": "催"}).status_code == 403
    assert users["town_a"].post(f"/cases/{case_id}/urge", json={"text": " "}).status_code == 422
    assert users["town_a"].post(f"/cases/{case_id}/withdraw", json={"reason": "已解决"}).status_code == 409

    listed = users["dept_zr"].get(f"/cases/{case_id}/urges").json
    assert listed["total"] == 2 and listed["items"][0]["text"] == "摊点仍在，请尽快处置"
    assert _actions(users["supervisor"], case_id).count("case_urged") == 2
    stats = users["center"].get("/stats").json          # 2 orders, both urged: D01 once, D02 twice
    assert stats["urges"] == 3 and stats["reminder_rate"] == 1.0, stats
    assert users["dept_zr"].get("/stats").json["urges"] == 2

    users["town_a"].post(f"/cases/{case_id}/comments", json={"text": "街道已安排人员配合"})
    dossier = web_login(app, "supervisor").get(f"/cases/{case_id}/dossier").get_data(as_text=True)
    assert "街道已安排人员配合" in dossier and "乡镇催办" in dossier and "摊点仍在，请尽快处置" in dossier


def test_the_township_withdraws_its_call_before_the_centre_accepts_it(users):
    waiting = raise_call(users)
    assert users["town_b"].post(f"/cases/{waiting}/withdraw", json={"reason": "误报"}).status_code == 404
    assert users["center"].post(f"/cases/{waiting}/withdraw", json={"reason": "误报"}).status_code == 403
    r = users["town_a"].post(f"/cases/{waiting}/withdraw", json={"reason": "摊贩已自行撤离"})
    assert r.status_code == 200 and r.json["status"] == "withdrawn" and r.json["closed_at"], r.json
    assert users["center"].inbox(waiting) == [] and case_of(users["center"], waiting)["current_tasks"] == []
    event = [e for e in users["supervisor"].get(f"/cases/{waiting}/audit").json if e["action"] == "case_withdrawn"][0]
    assert event["before"] == {"status": "open"} and event["after"] == {"status": "withdrawn", "reason": "摊贩已自行撤离"}
    assert users["town_a"].post(f"/cases/{waiting}/withdraw", json={"reason": "再撤"}).status_code == 409
    assert users["town_a"].post(f"/cases/{waiting}/urge", json={"text": "催"}).status_code == 409

    # sent back for more information is not accepted: the township may still withdraw
    back = raise_call(users, title="村道路灯不亮")
    users["center"].complete(users["center"].task(back, "受理"),
                             {"accepted": False, "more_info_requested": True, "reason": "请补充现场照片"})
    users["town_a"].task(back, "补充材料")
    assert users["town_a"].post(f"/cases/{back}/withdraw", json={"reason": "已由村里修好"}).status_code == 200
    assert users["town_a"].inbox(back) == []

    accepted = raise_call(users, title="岱宗大街夜间施工噪声", list_item="HB-01")
    users["center"].complete(users["center"].task(accepted, "受理"), {"accepted": True})
    r = users["town_a"].post(f"/cases/{accepted}/withdraw", json={"reason": "不需要了"})
    assert r.status_code == 409 and "受理" in r.json["message"], r.json

    # withdrawn calls are neither open, stuck, rejected nor calls of the township's record
    mine = users["town_a"].get("/stats").json
    assert mine["cases"]["withdrawn"] == 2 and mine["calls"] == 1, mine
    assert users["town_a"].get("/cases?status=withdrawn").json["total"] == 2
    assert {r["case_id"] for r in users["supervisor"].get("/supervision/stuck").json} & {waiting, back} == set()
    report = users["supervisor"].get("/reports").json
    town = next(t for t in report["townships"] if t["org"] == "T01")
    assert (town["calls"], town["withdrawn"], town["rejected"]) == (1, 2, 0), town
    assert report["totals"]["withdrawn"] == 2 and report["totals"]["open"] == 1
    today = datetime.now(COUNTY).date().isoformat()      # a withdrawn call does not exempt the township (免责)
    review = users["supervisor"].get("/accountability-reviews/report",
                                     query_string={"item_code": "ZF-01", "township": "T01", "incident_date": today})
    assert review.status_code == 200 and review.json["proposal"] == "review", review.json


def test_the_case_page_offers_withdrawal_to_the_calling_township_only(app, users):
    case_id = raise_call(users)
    assert "撤回呼叫" not in web_login(app, "center").get(f"/cases/{case_id}").get_data(as_text=True)
    town = web_login(app, "town_a")
    assert "撤回呼叫" in town.get(f"/cases/{case_id}").get_data(as_text=True)
    r = post_form(town, f"/cases/{case_id}", f"/cases/{case_id}/withdraw", {"reason": "已协调村里解决"})
    assert r.status_code == 302
    page = town.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "已撤回" in page and "撤回呼叫</summary>" not in page
