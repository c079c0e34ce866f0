"""The townships rate their stationed agencies event by event (乡镇对派驻机构一事一评, grid_event's
rate_stationed task); the ratings count for the agency's home department with `stationed_weight`,
are listed per agency on the 考核报表 page, its spreadsheet and the API, and a department sees its
own agencies' rows. The grid_event tasks are arranged as rows, as the engine will write them."""
import io
import uuid
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app import metrics, reports
from app.extensions import db
from app.models import Case, Task
from app.models.process import ProcessVersion
from app.models.types import utcnow
from helpers import accept_and_dispatch, raise_call, sign_and_handle, web_login


def _event(app, agency, township, rating, satisfied, when=None):
    """A grid event handled by `agency` and rated by `township`: a completed handle, then rate_stationed."""
    with app.app_context():
        at = when or utcnow()
        version = db.session.execute(select(ProcessVersion).limit(1)).scalar_one()
        case = Case(process_id="grid_event", process_version_id=version.id, process_version=version.version,
                    title="占道经营", initiator="grid_a", initiator_org=township, status="closed",
                    created_at=at - timedelta(hours=3))
        db.session.add(case)
        db.session.flush()
        for element, org, role, result, done in [
                ("handle", agency, "stationed", {"result": "已处置"}, at - timedelta(hours=2)),
                ("rate_stationed", township, "township", {"rating": rating, "satisfied": satisfied,
                                                          "comment": "及时"}, at - timedelta(hours=1))]:
            db.session.add(Task(id=str(uuid.uuid4()), case_id=case.id, process_id="grid_event", element_id=element,
                                name=element, role=role, org_code=org, queue=f"{role}@{org}", status="completed",
                                created_at=done - timedelta(minutes=30), completed_at=done, result=result))
        db.session.commit()
        return case.id


def _dispatched_to_d01(users):
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id)
    sign_and_handle(users, case_id)
    return case_id


def _row(report, code):
    return next(r for r in report["departments"] if r["org"] == code)


def test_stationed_ratings_fold_into_the_home_departments_score_by_the_weight(app, users):
    _dispatched_to_d01(users)
    before = _row(users["supervisor"].get("/reports").json, "D01")
    assert before["stationed_rating"] is None and before["stationed_ratings"] == 0
    _event(app, "T01-ZFZD", "T01", 5, True)       # 岱庙综合执法中队, home D01
    _event(app, "T02-ZFZD", "T02", 2, False)      # 泰前综合执法中队, home D01
    _event(app, "T01-SJS", "T01", 1, False)       # another department's agency (D05): not D01's
    report = users["supervisor"].get("/reports").json
    row = _row(report, "D01")
    w = report["weights"]
    stationed_avg = (5 + 2) / 2
    assert row["stationed_rating"] == pytest.approx(stationed_avg) and row["stationed_ratings"] == 2
    platform, township = row["platform_score"], row["township_rating"]
    wt, ws = w["township_weight"], w["stationed_weight"]
    if township is None:
        expected = ws * stationed_avg * 20 + (1 - ws) * platform
    else:
        expected = wt * township * 20 + ws * stationed_avg * 20 + (1 - wt - ws) * platform
    assert row["score"] == pytest.approx(expected)
    assert row["score"] != pytest.approx(before["score"])
    assert row["platform_score"] == pytest.approx(before["platform_score"])


def test_without_stationed_ratings_the_department_score_is_unchanged(app, users):
    _dispatched_to_d01(users)
    _event(app, "T01-SJS", "T01", 1, False)        # D05's agency only
    row = _row(users["supervisor"].get("/reports").json, "D01")
    w = users["supervisor"].get("/reports").json["weights"]
    assert row["stationed_rating"] is None
    assert row["score"] == pytest.approx(metrics.department_score(row["platform_score"], row["township_rating"], w))


def test_the_formula_weighs_each_part_and_returns_a_missing_parts_share_to_the_platform():
    w = dict(metrics.DEFAULT_WEIGHTS, township_weight=0.3, stationed_weight=0.25)
    platform, town, stationed = 70.0, 4.0, 3.0
    assert metrics.department_score(platform, town, w, stationed) == pytest.approx(
        0.3 * town * 20 + 0.25 * stationed * 20 + (1 - 0.3 - 0.25) * platform)
    assert metrics.department_score(platform, None, w, stationed) == pytest.approx(
        0.25 * stationed * 20 + 0.75 * platform)
    assert metrics.department_score(platform, town, w) == metrics.department_score(
        platform, town, dict(w, stationed_weight=0))


def test_the_report_lists_each_agency_with_its_township_home_events_rating_and_satisfied_share(app, users):
    _event(app, "T01-ZFZD", "T01", 5, True)
    _event(app, "T01-ZFZD", "T01", 3, False)
    _event(app, "T01-ZFZD", "T01", 4, True)
    report = users["supervisor"].get("/reports").json
    row = next(r for r in report["stationed"] if r["org"] == "T01-ZFZD")
    assert (row["name"], row["township_name"], row["home_name"]) == ("岱庙综合执法中队", "岱庙街道", "综合行政执法局")
    assert row["events"] == 3 and row["ratings"] == 3
    assert row["rating"] == pytest.approx((5 + 3 + 4) / 3)
    assert row["satisfied_share"] == pytest.approx(2 / 3)
    idle = next(r for r in report["stationed"] if r["org"] == "T02-SJS")
    assert idle["events"] == 0 and idle["rating"] is None and idle["satisfied_share"] is None
    page = users["supervisor"].get("/reports").status_code
    assert page == 200


def test_a_rating_outside_the_period_is_not_counted(app, users):
    _event(app, "T01-ZFZD", "T01", 1, False, when=utcnow() - timedelta(days=400))
    row = next(r for r in users["supervisor"].get("/reports").json["stationed"] if r["org"] == "T01-ZFZD")
    assert row["ratings"] == 0 and row["rating"] is None


def test_a_department_sees_its_own_agencies_and_a_township_those_stationed_with_it(app, users):
    _event(app, "T01-ZFZD", "T01", 4, True)
    dept = users["dept_zf"].get("/reports").json["stationed"]
    assert {r["home"] for r in dept} == {"D01"} and {r["org"] for r in dept} >= {"T01-ZFZD", "T02-ZFZD"}
    town = users["town_a"].get("/reports").json["stationed"]
    assert {r["township"] for r in town} == {"T01"} and "T02-ZFZD" not in {r["org"] for r in town}


def test_the_page_and_the_spreadsheet_carry_the_agency_table(app, users):
    _event(app, "T01-ZFZD", "T01", 5, True)
    web = web_login(app, "supervisor")
    with app.app_context():
        period = reports.current_period()      # the page opens on last month in a month's first days
    html = web.get(f"/reports?period={period}").get_data(as_text=True)
    assert 'id="stationed"' in html and "岱庙综合执法中队" in html and "派驻机构评价" in html
    book = load_workbook(io.BytesIO(web.get(f"/reports/export.xlsx?period={period}").data))
    sheet = book["派驻机构"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("派驻机构", "所在乡镇", "派出部门")
    mine = next(r for r in rows if r[0] == "岱庙综合执法中队")
    assert mine[1:3] == ("岱庙街道", "综合行政执法局") and mine[3:] == (1, 1, 5, 1), mine
    assert "派驻机构评价" in [c.value for c in book["部门"][1]]


def test_the_stationed_weight_is_checked_with_the_township_weight(app):
    with app.app_context():
        assert reports.check_weights({"stationed_weight": 0.3}) == {}
        assert "stationed_weight" in reports.check_weights({"stationed_weight": 1.5})
        assert "stationed_weight" in reports.check_weights({"township_weight": 0.6, "stationed_weight": 0.5})


def test_the_org_tree_shows_the_agency_under_its_township_with_its_home_department(app):
    page = web_login(app, "admin").get("/admin/units").get_data(as_text=True)
    town = page.index('id="unit-T01"')
    agency = page.index("岱庙综合执法中队（派驻单位：综合行政执法局）")
    assert town < agency < page.index('id="unit-T02"')
    branch = page[town:page.index('id="unit-T02"')]
    assert 'data-kind="grid"' in branch and 'data-kind="platform"' in branch and 'data-kind="stationed"' in branch
    department = page[page.index('id="unit-D01"'):]
    assert "派驻机构：" in department.split("</li>")[0] and "岱庙综合执法中队（岱庙街道）" in department
