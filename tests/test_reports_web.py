"""考核报表 as the supervisor, leaders, the centre and admins see it: the three rates and the
ranking with red and black lists for calls driven through the API, the same figures in the
spreadsheet as in /api/v1/reports, townships and departments kept out, a wrong period answered
in Chinese."""
import io
import json
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app import reports
from app.errors import Forbidden
from app.extensions import db
from app.models import User
from helpers import assessment_calls, links_asset, web_login

PERIOD_MESSAGE = "统计期应为年份（如 2026）或年月（如 2026-11）"


def figure(html, metric):
    """The big figure shown for `metric` (its data-metric block's first .n)."""
    match = re.search(rf'data-metric="{metric}">.*?<span class="n">(.*?)</span>', html, re.S)
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


def section(html, element_id):
    """The inner HTML of the element with this id."""
    opening = re.search(rf'<(\w+)[^>]* id="{element_id}"[^>]*>', html)
    tag, depth = opening.group(1), 1
    for m in re.finditer(rf"<(/?){tag}\b[^>]*>", html[opening.end():]):
        depth += -1 if m.group(1) else 1
        if not depth:
            return html[opening.end():opening.end() + m.start()]
    raise AssertionError(f"#{element_id} is not closed")


def row_orgs(html, table_id):
    return re.findall(r'<tr data-org="(\w+)"', section(html, table_id))


def this_month(app):
    with app.app_context():
        return reports.current_period()


def opening_month(app):
    """The month the page opens on (last month during a month's first days)."""
    with app.app_context():
        return reports.default_period()


@pytest.mark.parametrize("username", ["supervisor", "leader", "center", "admin"])
def test_report_roles_open_the_reports_page_from_the_nav(app, username):
    client = web_login(app, username)
    inbox = client.get("/").get_data(as_text=True)
    assert 'href="/reports"' in inbox and "考核报表" in inbox
    r = client.get("/reports")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert f"{opening_month(app)[:4]}年{int(opening_month(app)[5:])}月 · 按呼叫发起时间归期" in page
    assert figure(page, "response_rate") == "—"          # nothing raised yet: nothing to measure


@pytest.mark.parametrize("username", ["legal", "staffing", "analyst"])
def test_units_outside_the_assessment_may_not_open_the_reports(app, username):
    client = web_login(app, username)
    assert "考核报表" not in client.get("/").get_data(as_text=True)
    assert client.get("/reports").status_code == 403
    assert client.get("/reports/export.xlsx").status_code == 403


def test_a_department_sees_its_own_score_and_rank_and_only_the_ranks_of_the_others(app, users):
    assessment_calls(users)
    period = this_month(app)
    page = web_login(app, "dept_zr").get(f"/reports?period={period}").get_data(as_text=True)
    assert "考核报表" in page
    # D02 is third of the ranked departments, on the black list, with 33.3 points
    assert re.search(r'排名第 <strong id="own-rank-n">3</strong> 名', page)
    d02 = re.search(r'<tr data-org="D02" class="l-black">(.*?)</tr>', page, re.S).group(1)
    assert "33.3" in d02 and "自然资源和规划局" in d02
    assert "综合行政执法局" not in page and "生态环境分局" not in page and "95.6" not in page
    # the townships appear only as where the department's own stationed agencies are (派驻机构评价)
    outside = re.sub(r'<table class="list rp-table" id="stationed">.*?</table>', "", page, flags=re.S)
    assert 'id="townships"' not in page and "岱庙街道" not in outside
    others = re.findall(r'<tr data-org=""[^>]*>(.*?)</tr>', page, re.S)
    assert others and all("其他部门" in r and "%" not in r for r in others)
    assert re.search(r'<td class="num c-rank">1</td>\s*<td class="rp-name">其他部门</td>', others[0])
    # its own three rates: D02's one call, evaluated unsatisfied
    assert figure(page, "satisfaction_rate") == "0.0%"
    chart = json.loads(section(page, "report-data"))
    assert chart["departments"] == [{"name": "自然资源和规划局", "score": 33.3, "list": "black"}]
    assert chart["townships"] == []

    api = users["dept_zr"].get(f"/reports?period={period}").json
    assert api["own"] == {"rows": "departments", "org": "D02", "rank": 3, "ranked": 3}
    assert [r["name"] for r in api["departments"] if r["org"]] == ["自然资源和规划局"]
    assert api["townships"] == []


def test_a_township_sees_its_own_score_and_rank_and_the_supervisor_sees_everyone(app, users):
    assessment_calls(users)
    period = this_month(app)
    api = users["town_b"].get(f"/reports?period={period}").json
    assert api["own"]["rows"] == "townships" and api["own"]["org"] == "T02" and api["own"]["rank"] == 3
    assert api["departments"] == []
    assert {r["name"] for r in api["townships"]} <= {"泰前街道", "其他乡镇"}
    assert sum(1 for r in api["townships"] if r["name"] == "泰前街道") == 1
    page = web_login(app, "town_b").get(f"/reports?period={period}").get_data(as_text=True)
    assert "岱庙街道" not in page and "财源街道" not in page and 'id="own-rank"' in page
    full = users["supervisor"].get(f"/reports?period={period}").json
    assert "own" not in full and len([r for r in full["departments"] if r["org"]]) == len(full["departments"])
    assert {"岱庙街道", "泰前街道", "财源街道"} <= {r["name"] for r in full["townships"]}


@pytest.mark.parametrize("period", ["2026-13", "26-11", "abcd", "２０２６", "2026-+1", "2026-11-01", "x" * 300])
def test_a_wrong_period_is_answered_in_chinese(app, period):
    client = web_login(app, "supervisor")
    r = client.get("/reports", query_string={"period": period})
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert PERIOD_MESSAGE in page and 'id="p-month"' in page         # the pickers stay, to choose again
    export = client.get("/reports/export.xlsx", query_string={"period": period})
    assert export.status_code == 400 and PERIOD_MESSAGE in export.get_data(as_text=True)


def test_three_rates_and_ranking_for_calls_driven_through_the_api(app, users):
    assessment_calls(users)
    period = this_month(app)
    page = web_login(app, "leader").get(f"/reports?period={period}").get_data(as_text=True)

    # 响应率: five orders due for sign-off, all signed in time (the return is left out);
    # 解决率 and 满意率: D02's call was evaluated unsatisfied, the other four satisfied
    assert figure(page, "response_rate") == "100.0%"
    assert figure(page, "resolution_rate") == "80.0%"
    assert figure(page, "satisfaction_rate") == "80.0%"
    assert figure(page, "return_rate") == "16.7%" and figure(page, "overdue") == "0件"
    assert figure(page, "rating_received") == "4.00/ 5"
    assert "共发起呼叫 <strong>6</strong> 件（已办结 3、办理中 2、不予受理 1）" in page

    # departments by 综合得分: D01 95.6 (red list), D03 93.3, D02 33.3 (black list), then the rest unranked
    assert row_orgs(page, "departments")[:3] == ["D01", "D03", "D02"]
    d01 = re.search(r'<tr data-org="D01" class="l-red">(.*?)</tr>', page, re.S).group(1)
    assert "95.6" in d01 and "红榜" in d01
    assert re.search(r'<tr data-org="D02" class="l-black">.*?33\.3.*?黑榜.*?</tr>', page, re.S)
    assert re.search(r'<tr data-org="D04" class="unranked">', page)
    assert row_orgs(page, "townships")[:3] == ["T01", "T03", "T02"]

    red, black = section(page, "red-list"), section(page, "black-list")
    assert "综合行政执法局" in red and "岱庙街道" in red
    assert "自然资源和规划局" in black and "泰前街道" in black
    assert "综合行政执法局" not in black and "自然资源和规划局" not in red

    # the weights in force, the department score explained, and the chart data for reports.js
    assert '<strong id="township-weight">1/3（33.3%）</strong>' in page
    assert "乡镇评价得分 × 1/3（33.3%） + 派驻机构评价得分 × 20% + 平台得分 ×（其余比例，两项评价都有时为 46.7%）" in page
    assert "口径说明" in page and "响应率</dt>" in page and "无效呼叫率</dt>" in page
    chart = json.loads(section(page, "report-data"))
    assert chart["departments"][0] == {"name": "综合行政执法局", "score": 95.6, "list": "red"}
    assert [t["name"] for t in chart["townships"]] == ["岱庙街道", "财源街道", "泰前街道"]
    assert chart["trend"][-1]["label"].endswith(f"{int(period[5:])}月") and chart["trend"][-1]["calls"] == 6
    assert links_asset(page, "dist/reports.js")


def test_a_month_shows_the_twelve_months_up_to_it_and_a_year_its_months(app, users):
    assessment_calls(users)
    period = this_month(app)
    client = web_login(app, "supervisor")
    month = client.get(f"/reports?period={period}").get_data(as_text=True)
    rows = re.findall(r"<tr><td>([^<]+)</td>", section(month, "trend"))
    assert len(rows) == 12 and rows[-1] == f"{period[:4]}年{int(period[5:])}月"
    year = client.get(f"/reports?period={period[:4]}").get_data(as_text=True)
    rows = re.findall(r"<tr><td>([^<]+)</td>", section(year, "trend"))
    assert rows[0] == f"{period[:4]}年1月" and len(rows) == 12
    assert f"{period[:4]}年 · 按呼叫发起时间归期" in year
    assert re.search(rf'<option value="{period[:4]}" selected>', year)


def test_the_spreadsheet_has_the_figures_of_the_api(app, users):
    assessment_calls(users)
    period = this_month(app)
    api = users["supervisor"].get(f"/reports?period={period}").json
    r = web_login(app, "center").get(f"/reports/export.xlsx?period={period}")
    assert r.status_code == 200
    assert r.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert f"huying-report-{period}.xlsx" in r.headers["Content-Disposition"]

    book = load_workbook(io.BytesIO(r.data))
    assert book.sheetnames == ["汇总", "部门", "乡镇", "派驻机构"]
    summary = {row[0]: row[1] for row in book["汇总"].iter_rows(min_row=2, values_only=True) if row[0]}
    assert summary["统计期"] == api["period"]["label"] and summary["归期口径"] == "按呼叫发起时间归期"
    assert summary["呼叫数"] == api["totals"]["calls"] == 6
    for title, key in [("响应率", "response_rate"), ("解决率", "resolution_rate"), ("满意率", "satisfaction_rate"),
                       ("回退率", "return_rate"), ("乡镇评价均分（1–5）", "township_rating")]:
        assert summary[title] == pytest.approx(api["totals"][key]), title
    assert summary["乡镇评价占部门综合得分"] == pytest.approx(1 / 3)

    sheet = list(book["部门"].iter_rows(values_only=True))
    head = sheet[0]
    assert head[:6] == ("排名", "部门", "工单数", "响应率", "解决率", "满意率") and head[-1] == "榜单"
    by_name = {row[1]: dict(zip(head, row)) for row in sheet[1:]}
    assert [row[1] for row in sheet[1:]] == [d["name"] for d in api["departments"]]
    for d in api["departments"]:
        row = by_name[d["name"]]
        assert row["排名"] == d["rank"] and row["工单数"] == d["orders"]
        assert row["满意率"] == pytest.approx(d["satisfaction_rate"]) if d["satisfaction_rate"] is not None \
            else row["满意率"] is None
        assert row["综合得分"] == pytest.approx(d["score"]) if d["score"] is not None else row["综合得分"] is None
        assert row["榜单"] == {"red": "红榜", "black": "黑榜"}.get(d["list"])
    assert book["部门"]["D2"].number_format == "0.0%"

    towns = list(book["乡镇"].iter_rows(values_only=True))
    by_name = {row[1]: dict(zip(towns[0], row)) for row in towns[1:]}
    for t in api["townships"]:
        row = by_name[t["name"]]
        assert row["呼叫数"] == t["calls"] and row["不予受理"] == t["rejected"]
        assert row["得分"] == pytest.approx(t["score"]) if t["score"] is not None else row["得分"] is None
    assert by_name["岱庙街道"]["榜单"] == "红榜" and by_name["泰前街道"]["榜单"] == "黑榜"


def test_the_trend_of_a_month_is_the_twelve_months_up_to_it(app):
    with app.app_context():
        leader = db.session.execute(select(User).where(User.username == "leader")).scalar_one()
        months = [p["month"] for p in reports.trend(leader, "2026-01")]
        assert months == ["2025-02", "2025-03", "2025-04", "2025-05", "2025-06", "2025-07", "2025-08", "2025-09",
                          "2025-10", "2025-11", "2025-12", "2026-01"]
        assert [p["month"] for p in reports.trend(leader, "2026")] == [f"2026-{m:02d}" for m in range(1, 13)]
        legal = db.session.execute(select(User).where(User.username == "legal")).scalar_one()
        with pytest.raises(Forbidden):
            reports.trend(legal, "2026-01")


def test_the_report_opens_on_last_month_during_a_months_first_three_days(app):
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo
    shanghai = ZoneInfo("Asia/Shanghai")
    with app.app_context():
        assert reports.default_period(datetime(2026, 12, 1, 0, 10, tzinfo=shanghai)) == "2026-11"
        assert reports.default_period(datetime(2026, 12, 3, 23, 59, tzinfo=shanghai)) == "2026-11"
        assert reports.default_period(datetime(2026, 12, 4, 0, 0, tzinfo=shanghai)) == "2026-12"
        assert reports.default_period(datetime(2027, 1, 2, 9, 0, tzinfo=shanghai)) == "2026-12"
        # 17:00 UTC on 30 November is 1 December in the county: last month is November
        assert reports.default_period(datetime(2026, 11, 30, 17, 0, tzinfo=timezone.utc)) == "2026-11"
        assert reports.default_period(datetime(2026, 11, 30, 15, 0, tzinfo=timezone.utc)) == "2026-11"
        assert reports.default_period(datetime(2026, 11, 20, 15, 0, tzinfo=timezone.utc)) == "2026-11"
    app.config["REPORT_LAST_MONTH_DAYS"] = 1
    with app.app_context():
        assert reports.default_period(datetime(2026, 12, 2, 9, 0, tzinfo=shanghai)) == "2026-12"
        assert reports.default_period(datetime(2026, 12, 1, 9, 0, tzinfo=shanghai)) == "2026-11"
