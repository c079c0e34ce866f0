"""The command view (综合指挥, CONTRACT §8): counts by township, grid and category, the warnings with
their cases — rising categories, places reported again and again, grids with overdue events, calls
found 响应不作为 — a township's own figures only, the other roles refused, a bad period a 4xx."""
from datetime import timedelta

from app.extensions import db
from app.models import Case, Flag
from app.models.types import utcnow
from helpers import raise_call

MARKET = {"lat": 36.2300, "lng": 117.0900, "address": "岱庙街道明珠东路"}


def report(users, who="grid_a", category="street_market", location=MARKET, text="明珠东路早市占道经营"):
    r = users[who].post("/cases", json={"process_id": "grid_event", "data": {
        "category": category, "description": text, "location": location, "urgency": "normal"}})
    assert r.status_code == 201, r.json
    return r.json["id"]


def north(metres):
    return dict(MARKET, lat=MARKET["lat"] + metres / 111195)


def change(app, case_id, **columns):
    with app.app_context():
        case = db.session.get(Case, case_id)
        for k, v in columns.items():
            setattr(case, k, v)
        db.session.commit()


def overview(user, **query):
    r = user.get("/command/overview", query_string=query)
    assert r.status_code == 200, r.json
    return r.json


def warnings_of(view, kind):
    return [w for w in view["warnings"] if w["kind"] == kind]


def test_counts_by_township_grid_and_category(app, users):
    a = report(users)
    b = report(users, who="grid_a2", category="dumping", location=north(2000))
    c = report(users, who="grid_b", location={"lat": 36.24, "lng": 117.12})
    call = raise_call(users)
    change(app, a, due_at=utcnow() - timedelta(hours=2))
    view = overview(users["leader"])
    towns = {t["code"]: t for t in view["by_township"]}
    assert towns["T01"]["open_events"] == 2 and towns["T01"]["open_calls"] == 1 and towns["T01"]["overdue"] == 1
    assert towns["T02"]["open_events"] == 1 and towns["T02"]["open_calls"] == 0
    grids = {g["code"]: g for g in view["by_grid"]}
    assert (grids["T01-G01"]["events"], grids["T01-G01"]["overdue"]) == (1, 1)
    assert grids["T01-G02"]["events"] == 1 and grids["T02-G01"]["events"] == 1
    cats = {c["code"]: c for c in view["by_category"]}
    assert cats["street_market"]["events"] == 2 and sorted(cats["street_market"]["case_ids"]) == sorted([a, c])
    assert cats["dumping"]["case_ids"] == [b]
    points = {p["case_id"]: p["lateness"] for p in view["points"]}
    assert points[a] == "overdue" and points[b] == "on_time" and call not in points   # a typed call has no place
    assert view["totals"]["overdue"] == 1 and view["points_limit"] == 2000


def test_a_place_reported_three_times_is_a_warning_with_its_cases(app, users):
    ids = [report(users), report(users, who="grid_a2", location=north(60)), report(users, location=north(150))]
    far = report(users, location=north(900))
    other = report(users, category="noise", location=north(10))
    [w] = warnings_of(overview(users["center"]), "repeated_place")
    assert w["case_ids"] == sorted(ids) and far not in w["case_ids"] and other not in w["case_ids"]
    assert "反复上报" in w["text"] and "马路市场" in w["text"]


def test_a_rising_category_is_a_warning_against_the_previous_period(app, users):
    now = utcnow()
    ids = [report(users, category="burning", location=north(1000 * i)) for i in range(4)]
    old = report(users, category="burning", location=north(5000))
    change(app, old, created_at=now - timedelta(days=45))       # the month before last or last: not this month
    view = overview(users["supervisor"])
    [w] = [w for w in warnings_of(view, "rising_category") if "露天焚烧" in w["text"]]
    assert w["case_ids"] == sorted(ids) and old not in w["case_ids"]


def test_grids_with_overdue_events_and_calls_found_inaction_are_warnings(app, users):
    late = report(users)
    report(users, who="grid_a2", location=north(3000))
    change(app, late, due_at=utcnow() - timedelta(days=1))
    call = raise_call(users)
    with app.app_context():
        db.session.add(Flag(org_code="D01", kind="inaction", case_id=call, evidence="敷衍回复", created_by="supervisor"))
        db.session.commit()
    view = overview(users["leader"])
    [grid] = warnings_of(view, "overdue_grid")
    assert grid["case_ids"] == [late] and "第一网格" in grid["text"]
    [flag] = warnings_of(view, "inaction")
    assert flag["case_ids"] == [call] and "响应不作为" in flag["text"]


def test_a_township_sees_its_own_figures_only(app, users):
    mine = report(users)
    theirs = report(users, who="grid_b", location={"lat": 36.24, "lng": 117.12})
    view = overview(users["town_a"])
    assert view["township"] == "T01"
    assert [t["code"] for t in view["by_township"]] == ["T01"]
    assert {g["township"] for g in view["by_grid"]} == {"T01"}
    shown = {p["case_id"] for p in view["points"]}
    assert mine in shown and theirs not in shown


def test_other_roles_are_refused_and_a_bad_period_is_a_client_error(users):
    for name in ("dept_zf", "grid_a", "platform_a", "analyst"):
        assert users[name].get("/command/overview").status_code == 403, name
    for bad in ("2026-13", "abc", "2026-1"):
        r = users["leader"].get("/command/overview", query_string={"period": bad})
        assert r.status_code in (400, 422), (bad, r.status_code)
    assert overview(users["leader"], period="2026-11")["period"]["key"] == "2026-11"


def test_a_leader_sees_the_countys_warnings_but_may_open_only_the_cases_in_scope(app, users):
    ids = [report(users), report(users, who="grid_a2", location=north(60)), report(users, location=north(150))]
    [w] = warnings_of(overview(users["leader"]), "repeated_place")
    assert w["case_ids"] == sorted(ids)
    assert w["openable"] == [i for i in w["case_ids"] if users["leader"].get(f"/cases/{i}").status_code == 200]
    [w] = warnings_of(overview(users["center"]), "repeated_place")
    assert w["openable"] == sorted(ids)
