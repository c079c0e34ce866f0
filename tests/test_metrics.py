"""The metric formulas (app/metrics.py) on hand-made records with answers worked out by hand,
then the same figures through /api/v1/stats and /api/v1/reports after calls driven through the API."""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from app import metrics as m
from helpers import accept_and_dispatch, case_of, raise_call, sign_and_handle

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)     # a Monday, 09:00 in the county
NOW = T0 + timedelta(days=30)
H = timedelta(hours=1)
D = timedelta(days=1)


def order(dept="D01", *, sign_after=1 * H, sign_limit=2 * H, returned=False, handlings=((2 * D, 5 * D),),
          evaluation=None, closed=True, reminders=0, orders=0, township="T01", warn=None):
    """An order dispatched at T0: signed off `sign_after` later (None: not yet) against `sign_limit`;
    `handlings` as (reported after, deadline after) from T0, reported None while open."""
    sign = m.Step(created=T0, due=T0 + sign_limit if sign_limit else None,
                  done=T0 + sign_after if sign_after is not None else None, warn=warn)
    hs = [m.Step(created=T0 + H, due=T0 + due, done=T0 + done if done is not None else None) for done, due in handlings]
    return m.Order(case_id=1, department=dept, township=township, month="2026-03", sign=sign, returned=returned,
                   handlings=hs if not returned else [], evaluation=evaluation, closed=closed,
                   reminders=reminders, supervision_orders=orders)


SAT = m.Evaluation(satisfied=True, rating=5)
UNSAT = m.Evaluation(satisfied=False, rating=2)


def test_timely_sign_rate_counts_returns_and_late_or_missing_sign_offs():
    orders = [order(), order(returned=True),                      # both decided within 2 h
              order(sign_after=3 * H),                            # signed late
              order(sign_after=None),                             # never signed, deadline long past
              order(sign_after=None, sign_limit=60 * D)]          # not signed, not yet due: not counted
    assert m.timely_sign_rate(orders, NOW) == pytest.approx(2 / 4)


def test_response_rate_leaves_returns_out():
    orders = [order(), order(returned=True), order(sign_after=3 * H), order(sign_after=None)]
    # of the three not returned and due, one was signed in time
    assert m.response_rate(orders, NOW) == pytest.approx(1 / 3)


def test_return_rate():
    assert m.return_rate([order(), order(returned=True), order(), order()]) == pytest.approx(1 / 4)
    assert m.return_rate([]) is None


def test_on_time_completion_rate_needs_every_handling_in_time():
    orders = [order(handlings=((2 * D, 5 * D),)),                     # on time
              order(handlings=((2 * D, 5 * D), (9 * D, 8 * D))),      # the rework was late
              order(handlings=((6 * D, 5 * D),)),                     # late
              order(handlings=((None, 5 * D),)),                      # still open, past its deadline: due, late
              order(handlings=((None, 60 * D),)),                     # open, not yet due: not counted
              order(returned=True)]                                   # returned: no handling
    assert m.on_time_completion_rate(orders, NOW) == pytest.approx(1 / 4)


def test_resolution_and_satisfaction_rates():
    resolved_unhappy = m.Evaluation(satisfied=False, rating=3, resolved=True)
    orders = [order(evaluation=SAT), order(evaluation=UNSAT), order(evaluation=resolved_unhappy), order()]
    assert m.resolution_rate(orders) == pytest.approx(2 / 3)      # SAT (resolved = satisfied) and the explicit one
    assert m.satisfaction_rate(orders) == pytest.approx(1 / 3)
    assert m.satisfaction_rate([order()]) is None                 # nothing evaluated: no rate


def test_rework_rate_is_over_closed_orders():
    orders = [order(handlings=((1 * D, 5 * D), (3 * D, 8 * D))),   # closed, reworked once
              order(), order(),                                       # closed, no rework
              order(handlings=((1 * D, 5 * D), (2 * D, 8 * D)), closed=False),   # reworked but still open
              order(returned=True)]                                   # returned: not the department's to rework
    assert m.rework_rate(orders) == pytest.approx(1 / 3)


def test_reminder_and_supervision_rates():
    orders = [order(reminders=2), order(orders=1, reminders=1), order(), order()]
    assert m.reminder_rate(orders) == pytest.approx(2 / 4)
    assert m.supervision_rate(orders) == pytest.approx(1 / 4)


def test_a_townships_urge_counts_as_a_reminder_and_is_counted_apart():
    """催办率 counts an order reminded by the timer or urged by the township once; 被催办次数 every urge."""
    orders = [order(reminders=1), order(), order(), order()]
    orders[1].urges, orders[0].urges = 2, 1
    assert m.reminder_rate(orders) == pytest.approx(2 / 4)
    assert m.urge_count(orders) == 3 and m.order_rates(orders, NOW)["urges"] == 3


def test_withdrawn_calls_are_counted_apart_from_the_townships_calls():
    calls = [m.Call(case_id=1, township="T01", month="2026-03", status="withdrawn"),
             m.Call(case_id=2, township="T01", month="2026-03", status="rejected", decided=True),
             m.Call(case_id=3, township="T01", month="2026-03", status="closed", decided=True)]
    row = m.township_row("T01", calls, [], 0)
    assert (row["calls"], row["withdrawn"], row["rejected"]) == (2, 1, 1)
    assert row["invalid_call_rate"] == pytest.approx(1 / 2)


def test_overdue_and_warning_counts():
    orders = [order(sign_after=3 * H),                                   # late sign-off
              order(handlings=((None, 5 * D),)),                         # open past its deadline
              order(),                                                   # all in time
              order(sign_after=None, sign_limit=40 * D, warn=NOW - H)]  # open, warned, not yet due: yellow
    assert m.overdue_count(orders, NOW) == 2
    assert m.warning_count(orders, NOW) == 1


def test_average_times():
    orders = [order(sign_after=1 * H, handlings=((2 * D, 5 * D),)),
              order(sign_after=3 * H, handlings=((4 * D, 5 * D),)),
              order(sign_after=None, handlings=((None, 5 * D),))]
    assert m.average_sign_hours(orders) == pytest.approx(2.0)
    assert m.average_completion_hours(orders) == pytest.approx(72.0)


def test_scores_weigh_the_townships_evaluation_one_third():
    # platform: 100 × (0.30 × 1.0 + 0.35 × 0.5 + 0.35 × 0.8) = 75.5, minus 2 for one flag
    platform = m.platform_score(1.0, 0.5, 0.8, deductions=2.0)
    assert platform == pytest.approx(73.5)
    # the townships' ratings average 4 → 80 points; score = 80 / 3 + 73.5 × 2 / 3
    assert m.department_score(platform, 4.0) == pytest.approx(80 / 3 + 73.5 * 2 / 3)
    assert m.department_score(platform, 4.0, dict(m.DEFAULT_WEIGHTS, township_weight=0.5)) == pytest.approx(76.75)
    assert m.department_score(platform, None) == pytest.approx(73.5)
    # a rate with nothing to measure leaves the others, scaled: (0.30 × 1 + 0.35 × 0.5) / 0.65
    assert m.platform_score(1.0, 0.5, None) == pytest.approx(100 * 0.475 / 0.65)
    assert m.platform_score(None, None, None) is None
    assert m.platform_score(0.1, 0.0, 0.0, deductions=50) == 0.0


def test_department_row_puts_it_together():
    orders = [order(evaluation=SAT, orders=1), order(evaluation=UNSAT, sign_after=3 * H)]
    row = m.department_row("D01", orders, flags=1, now=NOW)
    assert row["orders"] == 2 and row["response_rate"] == pytest.approx(0.5)
    assert row["satisfaction_rate"] == pytest.approx(0.5) and row["township_rating"] == pytest.approx(3.5)
    assert row["supervision_orders"] == 1
    expected_platform = 100 * (0.30 * 0.5 + 0.35 * 0.5 + 0.35 * 0.5) - 2.0 - 1.0
    assert row["platform_score"] == pytest.approx(expected_platform)
    assert row["score"] == pytest.approx(70 / 3 + expected_platform * 2 / 3)


def test_township_row_and_invalid_call_rate():
    calls = [m.Call(1, "T01", "2026-03", "closed", decided=True, rating_received=4, evaluation=SAT),
             m.Call(2, "T01", "2026-03", "rejected", decided=True),
             m.Call(3, "T01", "2026-03", "open", decided=False),
             m.Call(4, "T01", "2026-03", "closed", decided=True, rating_received=2, evaluation=UNSAT)]
    row = m.township_row("T01", calls, [], flags=1)
    assert row["calls"] == 4 and row["rejected"] == 1
    assert row["invalid_call_rate"] == pytest.approx(1 / 3)
    assert row["rating_received"] == pytest.approx(3.0)
    assert row["satisfaction_rate"] == pytest.approx(0.5)
    assert row["score"] == pytest.approx(3.0 * 20 - 2.0 - 2.0)     # one flag and one rejected call


def test_ranking_marks_red_and_black_lists_without_overlap():
    rows = [{"org": f"D{i:02d}", "score": s, "orders": 5} for i, s in enumerate([70, 90, 50, 80, 60, 85], 1)] + \
           [{"org": "D99", "score": None, "orders": 0}, {"org": "D98", "score": 99, "orders": 2}]
    ranked = m.rank(rows)
    assert [r["org"] for r in ranked[:6]] == ["D02", "D06", "D04", "D01", "D05", "D03"]
    assert [r["list"] for r in ranked] == ["red", "red", None, None, "black", "black", None, None]
    assert {r["org"] for r in ranked if r["rank"] is None} == {"D99", "D98"}   # no score; too few orders
    three = m.rank([{"org": "A", "score": 1, "orders": 3}, {"org": "B", "score": 3, "orders": 3},
                    {"org": "C", "score": 2, "orders": 3}])
    assert [(r["org"], r["list"]) for r in three] == [("B", "red"), ("C", None), ("A", "black")]
    assert m.rank([{"org": "A", "score": 1, "orders": 9}])[0]["list"] is None     # alone: on no list


def test_equal_scores_share_a_rank_and_a_list():
    rows = [{"org": o, "score": s, "calls": 4} for o, s in [("A", 90), ("B", 90), ("C", 70), ("D", 60), ("E", 60),
                                                           ("F", 50)]]
    ranked = m.rank(rows, volume="calls")
    assert [(r["org"], r["rank"], r["list"]) for r in ranked] == [
        ("A", 1, "red"), ("B", 1, "red"), ("C", 3, None), ("D", 4, "black"), ("E", 4, "black"), ("F", 6, "black")]
    same = m.rank([{"org": o, "score": 100, "orders": 3} for o in "XYZ"])
    assert [(r["rank"], r["list"]) for r in same] == [(1, None)] * 3


def test_periods():
    zone = ZoneInfo("Asia/Shanghai")
    key, label, start, end = m.parse_period("2026-12", zone)
    assert (label, start.month, end.year, end.month) == ("2026年12月", 12, 2027, 1)
    assert m.parse_period("2026", zone)[1] == "2026年"
    assert m.months_between(*m.parse_period("2026", zone)[2:]) == [f"2026-{i:02d}" for i in range(1, 13)]
    for bad in ("", "2026-13", "26-1", "abcd", "2026-1x"):
        with pytest.raises(ValueError):
            m.parse_period(bad, zone)


# --- through the API, on calls driven as users would -------------------------------------------
def _close(users, case_id, satisfied=True, rating=5, township="town_a", lead="dept_zf"):
    users["center"].complete(users["center"].task(case_id, "审核办结"), {"approved": True})
    users[township].complete(users[township].task(case_id, "评价"), {"satisfied": satisfied, "rating": rating})
    if satisfied:
        users[lead].complete(users[lead].task(case_id, "一呼一评"), {"rating": 4})


def test_stats_and_report_after_calls(users):
    a = raise_call(users)
    accept_and_dispatch(users, a)                   # D01 leads, D02 co-operates
    sign_and_handle(users, a)
    _close(users, a, satisfied=True, rating=5)
    b = raise_call(users, township="town_b")
    accept_and_dispatch(users, b, co=())
    users["dept_zf"].complete(users["dept_zf"].task(b, "签收"), {"returned": True, "reason": "不属于本部门职责"})
    c = raise_call(users)
    users["center"].complete(users["center"].task(c, "受理"), {"accepted": False, "reason": "属乡镇自身职责"})

    county = users["center"].get("/stats").json
    assert county["scope"] == "all" and county["calls"] == 3 and county["orders"] == 3
    assert county["return_rate"] == pytest.approx(1 / 3)
    assert county["response_rate"] == pytest.approx(1.0)            # both signed in time; the return is left out
    assert county["satisfaction_rate"] == pytest.approx(1.0) and county["resolution_rate"] == pytest.approx(1.0)
    d01 = users["dept_zf"].get("/stats").json
    assert d01["orders"] == 2 and d01["return_rate"] == pytest.approx(0.5)
    t02 = users["town_b"].get("/stats").json
    assert t02["calls"] == 1 and t02["orders"] == 1 and t02["satisfaction_rate"] is None
    assert users["center"].get("/stats?period=2020-01").json["calls"] == 0
    assert users["center"].get("/stats?period=2026-13").status_code == 422

    report = users["supervisor"].get("/reports").json
    rows = {r["org"]: r for r in report["departments"]}
    assert rows["D01"]["orders"] == 2 and rows["D02"]["orders"] == 1 and rows["D03"]["orders"] == 0
    assert rows["D02"]["satisfaction_rate"] == pytest.approx(1.0) and rows["D03"]["score"] is None
    assert all(r["rank"] is None for r in report["departments"])        # fewer than 3 orders each: not ranked
    assert users["admin"].put("/reports/weights", json={"min_volume": 1}).status_code == 200
    ranked = {r["org"]: r for r in users["supervisor"].get("/reports").json["departments"]}
    # both answered in time and satisfied the township: equal scores share first place, and neither is on a list
    assert (ranked["D01"]["rank"], ranked["D02"]["rank"], ranked["D03"]["rank"]) == (1, 1, None)
    assert ranked["D01"]["score"] == ranked["D02"]["score"] and ranked["D01"]["list"] is None
    towns = {r["org"]: r for r in report["townships"]}
    assert towns["T01"]["calls"] == 2 and towns["T01"]["rejected"] == 1
    assert towns["T01"]["invalid_call_rate"] == pytest.approx(0.5) and towns["T01"]["rating_received"] == 4
    assert report["totals"]["calls"] == 3 and len(report["trend"]) == 1
    own = users["dept_zf"].get("/reports").json          # a department: its own row, the others' ranks alone
    assert own["own"]["org"] == "D01" and [r["org"] for r in own["departments"] if r["org"]] == ["D01"]
    assert users["supervisor"].get("/reports?period=2026").json["period"]["label"] == "2026年"


def test_admin_changes_the_weights(users):
    assert users["center"].get("/reports/weights").json["township_weight"] == pytest.approx(1 / 3)
    assert users["center"].put("/reports/weights", json={"township_weight": 0.5}).status_code == 403
    bad = users["admin"].put("/reports/weights", json={"township_weight": 2, "colour": 1})
    assert bad.status_code == 422 and set(bad.json["errors"]) == {"township_weight", "colour"}
    assert users["admin"].put("/reports/weights", json=[1]).status_code == 422
    ok = users["admin"].put("/reports/weights", json={"township_weight": 0.5})
    assert ok.status_code == 200 and ok.json["township_weight"] == 0.5
    assert users["supervisor"].get("/reports").json["weights"]["township_weight"] == 0.5
    events = users["admin"].get("/audit/export?format=jsonl").get_data(as_text=True)
    assert '"settings_changed"' in events and "考核权重" in events


def test_the_first_evaluation_counts_and_resolved_is_asked_apart(users):
    a = raise_call(users)
    accept_and_dispatch(users, a, co=())
    sign_and_handle(users, a, departments=("dept_zf",))
    users["center"].complete(users["center"].task(a, "审核办结"), {"approved": True})
    users["town_a"].complete(users["town_a"].task(a, "评价"),
                             {"satisfied": False, "resolved": True, "rating": 2, "comment": "处置慢，摊点仍有回潮"})
    users["dept_zf"].complete(users["dept_zf"].task(a, "办理反馈"), {"result": "再次联合执法，设立临时便民市场"})
    _close(users, a, satisfied=True, rating=5)
    assert case_of(users["center"], a)["status"] == "closed"
    stats = users["dept_zf"].get("/stats").json
    assert stats["satisfaction_rate"] == 0.0        # the first verdict: not satisfied
    assert stats["resolution_rate"] == 1.0          # but resolved, as the township answered
    assert stats["rework_rate"] == 1.0 and stats["township_rating"] == 2
