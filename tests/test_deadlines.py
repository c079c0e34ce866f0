"""Deadlines: working days with holidays and make-up days, limits by urgency and list item."""
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app import deadlines

CST = ZoneInfo("Asia/Shanghai")
# an illustrative National Day week: 1–7 October off, Saturday 10 October worked instead (调休)
CAL = {date(2026, 10, d): "holiday" for d in range(1, 8)} | {date(2026, 10, 10): "workday"}


def test_working_days_skip_the_holiday_and_count_the_make_up_day():
    start = datetime(2026, 9, 30, 10, 0, tzinfo=CST)          # a Wednesday
    assert deadlines.add_working_days(start, 1, CAL) == datetime(2026, 10, 8, 10, 0, tzinfo=CST)
    assert deadlines.add_working_days(start, 3, CAL) == datetime(2026, 10, 10, 10, 0, tzinfo=CST)   # Saturday, worked
    assert deadlines.add_working_days(start, 4, CAL) == datetime(2026, 10, 12, 10, 0, tzinfo=CST)   # Sunday skipped
    assert deadlines.working_days_between(start, datetime(2026, 10, 12, 9, 0, tzinfo=CST), CAL) == 4


def test_a_call_on_a_weekend_counts_from_the_next_working_day():
    saturday = datetime(2026, 11, 28, 15, 30, tzinfo=CST)
    assert deadlines.add_working_days(saturday, 5, {}) == datetime(2026, 12, 4, 15, 30, tzinfo=CST)


def test_limits_mix_working_days_and_clock_time():
    start = datetime(2026, 9, 30, 10, 0, tzinfo=CST)
    assert deadlines.apply_limit(start, "PT2H", CAL) == start + timedelta(hours=2)
    assert deadlines.apply_limit(start, "P1DT2H", CAL) == datetime(2026, 10, 8, 12, 0, tzinfo=CST)
    with pytest.raises(deadlines.DeadlineError):
        deadlines.apply_limit(start, "two days", CAL)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_limits_follow_urgency_list_item_and_settings(app):
    with app.app_context():
        start = datetime(2026, 11, 24, 9, 0, tzinfo=CST)   # a Tuesday
        assert deadlines.deadline("sign", "urgent", None, start) == start + timedelta(hours=1)
        assert deadlines.deadline("sign", "emergency", None, start) == start + timedelta(minutes=30)
        assert deadlines.deadline("handle", "normal", None, start) == datetime(2026, 12, 1, 9, 0, tzinfo=CST)
        # the list item's own limits replace the normal ones
        assert deadlines.limit_for("handle", "normal", "ZR-02") == "P3D"
        assert deadlines.limit_for("sign", "normal", "ZR-02") == "PT1H"
        assert deadlines.limit_for("handle", "urgent", "ZR-05") == "P3D"   # urgency's limit when not normal
        assert deadlines.warning("handle", "normal", None, start) == datetime(2026, 11, 30, 9, 0, tzinfo=CST)
        assert deadlines.warning("sign", "normal", None, start) == start + timedelta(hours=1)
        assert deadlines.listing("handle", "normal", None, start) == datetime(2026, 12, 8, 9, 0, tzinfo=CST)
        with pytest.raises(deadlines.DeadlineError):
            deadlines.deadline("inspect", "normal", None, start)


@pytest.mark.parametrize("limit", ["P100000D", "PT999999999H", "P366DT9000H", "P" + "9" * 400 + "D", "PT"])
def test_an_absurd_limit_is_refused_not_computed(limit):
    with pytest.raises(deadlines.DeadlineError):
        deadlines.apply_limit(datetime(2026, 9, 30, 10, 0, tzinfo=CST), limit, CAL)


def test_the_longest_limits_still_compute():
    start = datetime(2026, 9, 30, 10, 0, tzinfo=CST)
    assert deadlines.apply_limit(start, "PT8784H", CAL) == start + timedelta(days=366)
    assert deadlines.apply_limit(start, "P366D", {}) - start < timedelta(days=2 * 366)


def test_absurd_settings_are_refused_naming_the_key(users):
    r = users["admin"].put("/settings/supervision", json={
        "limits": {"sign": {"normal": "PT99999999H", "urgent": "PT1H"}, "handle": {"normal": "P30000000D"}},
        "listing_after": "P10000D", "max_reworks": 10 ** 9, "max_extension_days": 0, "idle_hours": 10 ** 6})
    assert r.status_code == 422
    assert set(r.json["errors"]) == {"limits.sign.normal", "limits.handle.normal", "listing_after", "max_reworks",
                                     "max_extension_days", "idle_hours"}
    assert users["admin"].put("/settings/supervision", json={"limits": ["PT1H"]}).status_code == 422
    assert users["admin"].get("/settings/supervision").json["limits"]["sign"]["normal"] == "PT2H"
