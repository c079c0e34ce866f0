"""Duplicates (CONTRACT §8): a second report of the same street market is offered as a likely
duplicate (with its distance) and merged by the township's platform — photos and reporter carried
over, the merged case readable and pointing to the other, both on record; keeping a pair apart; the
refusals; another township sees nothing; the centre's view and merge for calls. On both backends.
"""
import pytest

from app import duplicates
from evidence_files import attach, photo
from helpers import raise_call, web_login

MARKET = {"lat": 36.1950, "lng": 117.1280, "address": "明珠东路"}   # 岱庙街道


def report(users, who="grid_a", category="street_market", location=MARKET, text="明珠东路马路市场占道"):
    r = users[who].post("/cases", json={"process_id": "grid_event", "data": {
        "category": category, "description": text, "location": location, "urgency": "normal"}})
    assert r.status_code == 201, r.json
    return r.json["id"]


def moved(location, metres_north):
    return dict(location, lat=location["lat"] + metres_north / duplicates.METRES_PER_DEGREE)


def test_haversine_is_the_great_circle_distance():
    # one degree of latitude is about 111.2 km; one of longitude at 36° N about 90 km
    assert duplicates.haversine_m(36, 117, 37, 117) == pytest.approx(111195, rel=1e-3)
    assert duplicates.haversine_m(36, 117, 36, 118) == pytest.approx(89960, rel=2e-3)


def test_a_second_report_of_the_street_market_is_offered_and_merged_with_its_photo_and_reporter(app, users):
    first = report(users)
    attach(users["grid_a"], first, "市场全景.jpg", photo("red"))
    second = report(users, who="grid_a2", location=moved(MARKET, 35), text="明珠东路又有摊贩占道")
    shot = attach(users["grid_a2"], second, "摊点近景.jpg", photo("blue"))
    far = report(users, location=moved(MARKET, 600), text="六百米外的另一处市场")
    other_kind = report(users, category="noise", location=moved(MARKET, 10), text="同一地点的另一类事件")

    # the reporter sees the likely duplicate right after reporting, with the distance
    items = users["grid_a2"].get(f"/cases/{second}/similar").json["items"]
    assert [i["case_id"] for i in items] == [first]
    assert items[0]["distance_m"] == pytest.approx(35, abs=1)
    assert items[0]["reason"].startswith("同类事件，相距 35 米，") and 0.2 < items[0]["score"] <= 1
    assert first not in [i["case_id"] for i in users["platform_a"].get(f"/cases/{far}/similar").json["items"]]
    assert users["platform_a"].get(f"/cases/{other_kind}/similar").json["items"] == []
    page = web_login(app, "grid_a2").get(f"/cases/{second}")
    assert "可能重复" in page.get_data(as_text=True) and f"/cases/{first}" in page.get_data(as_text=True)

    # the platform sees it on its 分拨 task page and merges the second report into the first
    platform = users["platform_a"]
    triage = platform.task(second, "受理分拨")
    html = web_login(app, "platform_a").get(f"/tasks/{triage['id']}").get_data(as_text=True)
    assert "合并到此件" in html and "保持独立" in html
    r = platform.post(f"/cases/{second}/merge", json={"into": first})
    assert r.status_code == 200, r.json
    assert r.json["status"] == "merged" and r.json["merged_into"] == first and r.json["current_tasks"] == []

    merged = users["grid_a2"].get(f"/cases/{second}").json           # still readable, pointing to the other
    assert merged["status"] == "merged" and merged["merged_into"] == first
    names = [a["name"] for a in users["grid_a"].get(f"/cases/{first}/attachments").json["items"]]
    assert names == ["市场全景.jpg", "摊点近景.jpg"]
    carried = users["grid_a2"].get(f"/cases/{first}/attachments").json["items"][1]   # its reporter sees the open case
    assert carried["sha256"] == shot["sha256"] and carried["uploaded_by"] == "grid_a2"
    page = web_login(app, "grid_a").get(f"/cases/{first}").get_data(as_text=True)
    assert "上报人" in page and f"/cases/{second}" in page
    gone = web_login(app, "grid_a2").get(f"/cases/{second}").get_data(as_text=True)
    assert "已合并到" in gone and f"/cases/{first}" in gone

    trail = users["grid_a2"].get(f"/cases/{second}/audit").json
    done = [e for e in trail if e["action"] == "case_merged"][0]
    assert done["actor"] == "platform_a" and done["before"] == {"status": "open"} \
        and done["after"] == {"status": "merged", "merged_into": first}
    into = [e for e in users["grid_a"].get(f"/cases/{first}/audit").json if e["action"] == "case_merged_in"][0]
    assert into["after"]["merged_case"] == second and into["after"]["reporter"] == "grid_a2" \
        and into["after"]["files"] == 1 and into["before"] == {"reporters": ["grid_a"]}
    assert [i["case_id"] for i in users["grid_a"].get(f"/cases/{first}/similar").json["items"]] == []
    assert platform.get(f"/cases/{second}/similar").json["items"] == []       # a merged case offers nothing


def test_keeping_a_pair_apart_is_recorded_and_not_offered_again(app, users):
    first = report(users)
    second = report(users, who="grid_a2", location=moved(MARKET, 50))
    platform = users["platform_a"]
    r = platform.post(f"/cases/{second}/keep-apart", json={"other": first})
    assert r.status_code == 200 and r.json["items"] == []
    assert platform.get(f"/cases/{first}/similar").json["items"] == []
    kept = [e for e in users["grid_a"].get(f"/cases/{first}/audit").json if e["action"] == "duplicate_dismissed"]
    assert kept[0]["actor"] == "platform_a" and kept[0]["after"] == {"other": second}


def test_merging_is_refused_into_itself_a_closed_case_across_townships_and_without_scope(app, users):
    first = report(users)
    second = report(users, who="grid_a2", location=moved(MARKET, 20))
    platform = users["platform_a"]
    assert platform.post(f"/cases/{second}/merge", json={"into": second}).status_code == 409
    assert platform.post(f"/cases/{second}/merge", json={"into": "x"}).status_code == 422
    assert platform.post(f"/cases/{second}/merge", json={}).status_code == 422
    assert platform.post(f"/cases/{second}/merge", json={"into": 2147483647}).status_code == 404
    assert users["grid_a"].post(f"/cases/{second}/merge", json={"into": first}).status_code == 403   # a grid worker
    assert users["platform_b"].post(f"/cases/{second}/merge", json={"into": first}).status_code == 404
    assert users["center"].post(f"/cases/{second}/merge", json={"into": first}).status_code == 403   # events: the platform
    elsewhere = report(users, who="grid_b", location=MARKET)
    assert users["platform_b"].get(f"/cases/{elsewhere}/similar").json["items"] == []   # another township: nothing
    assert users["platform_b"].get(f"/cases/{second}/similar").status_code == 404
    assert users["grid_b"].get(f"/cases/{second}/similar").status_code == 404
    assert platform.post(f"/cases/{second}/merge", json={"into": elsewhere}).status_code == 404
    call = raise_call(users)
    assert platform.post(f"/cases/{second}/merge", json={"into": call}).status_code == 403   # its township's call: the centre's
    # closed: finish the first, then it cannot receive the second; a merged case cannot be merged again
    platform.complete(platform.task(first, "受理分拨"), {"route": "dismiss", "opinion": "已自行清理"})
    assert platform.post(f"/cases/{second}/merge", json={"into": first}).status_code == 409
    third = report(users, who="grid_a2", location=moved(MARKET, 30))
    assert platform.post(f"/cases/{third}/merge", json={"into": second}).status_code == 200
    assert platform.post(f"/cases/{third}/merge", json={"into": second}).status_code == 409
    assert platform.post(f"/cases/{second}/merge", json={"into": third}).status_code == 409   # no cycle


def test_the_centre_sees_and_merges_a_second_call_on_the_same_list_item(app, users):
    first = raise_call(users, title="明珠东路马路市场占道经营")
    attach(users["town_a"], first, "市场.jpg", photo("red"))
    second = raise_call(users, title="明珠东路马路市场又占道", description="群众再次反映马路市场占道经营问题。")
    other_item = raise_call(users, title="河道垃圾", list_item="HB-01")
    elsewhere = raise_call(users, township="town_b", title="泰前马路市场")
    center = users["center"]
    items = center.get(f"/cases/{second}/similar").json["items"]
    assert [i["case_id"] for i in items] == [first] and items[0]["distance_m"] is None
    assert items[0]["reason"].startswith("同一清单事项，同一乡镇，")
    assert center.get(f"/cases/{other_item}/similar").json["items"] == []
    assert center.get(f"/cases/{elsewhere}/similar").json["items"] == []
    accept = center.task(second, "受理")
    html = web_login(app, "center").get(f"/tasks/{accept['id']}").get_data(as_text=True)
    assert "可能重复" in html and "合并到此件" in html
    assert users["town_a"].post(f"/cases/{second}/merge", json={"into": first}).status_code == 403
    r = center.post(f"/cases/{first}/merge", json={"into": second})
    assert r.status_code == 200 and r.json["status"] == "merged" and r.json["merged_into"] == second
    assert center.get(f"/cases/{second}/tasks") is not None
    names = [a["name"] for a in center.get(f"/cases/{second}/attachments").json["items"]]
    assert names == ["市场.jpg"]
    assert [t["name"] for t in center.get(f"/cases/{second}").json["current_tasks"]] == ["受理"]
