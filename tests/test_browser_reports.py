"""考核报表 in a real browser: the supervisor opens the reports from the nav, picks a period,
and finds the three rates, the red and black lists and the three charts drawn by Chart.js
(app/static/dist/reports.js) — with the figures of /api/v1/reports for the same period.

Runs Debian's Chromium (/usr/bin/chromium) through Playwright against the app served by waitress
on a free port, like test_browser_supervision.py. Set HUYING_SCREENSHOTS=<folder> to also write
`reports.png` (last month's report over the demo history, 1280 wide, full page) there.
"""
import re
from datetime import datetime

import pytest
from sqlalchemy import update

from browser_support import base_url, browser, login, require_browser, screenshot  # noqa: F401 - fixtures

sync_api = require_browser()
expect = sync_api.expect

from app import metrics  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Case  # noqa: E402
from app.models.types import utcnow  # noqa: E402
from app.timefmt import local_zone  # noqa: E402
from helpers import assessment_calls  # noqa: E402

BUNDLES = ("reports.js",)
pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"])]

VIEWPORT = {"width": 1280, "height": 900}


def calls_over_the_year(app, users):
    """Twelve calls driven through the API (assessment_calls twice), their dates spread over this
    year's months so far (a call belongs to the month it was raised in). Returns the year."""
    ids = sorted([*assessment_calls(users).values(), *assessment_calls(users).values()])
    with app.app_context():
        zone = local_zone()
        now = utcnow().astimezone(zone)
        for i, case_id in enumerate(ids):
            month = 1 + i * now.month // len(ids)
            day = min(now.day, 15) if month == now.month else 15
            db.session.execute(update(Case).where(Case.id == case_id)
                               .values(created_at=datetime(now.year, month, day, 0, 30, tzinfo=zone)))
        db.session.commit()
        return str(now.year)


def percent(value):
    return "—" if value is None else f"{value * 100:.1f}%"


def drawn_pixels(page, selector):
    """How many pixels of the canvas are not transparent (none before Chart.js draws)."""
    return page.eval_on_selector(selector, """canvas => {
        const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let n = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i]) n++;
        return n;
    }""")


def expect_report(page, report):
    """The page shows the API's report: the three rates, the red and black lists, the ranking."""
    for metric in ("response_rate", "resolution_rate", "satisfaction_rate"):
        expect(page.locator(f"#rates [data-metric={metric}] .n")).to_have_text(percent(report["totals"][metric]))
    for list_ in ("red", "black"):
        names = [r["name"] for rows in (report["departments"], report["townships"]) for r in rows
                 if r["list"] == list_]
        assert names, list_
        for name in names:
            expect(page.locator(f"#{list_}-list").get_by_text(name, exact=True)).to_be_visible()
    first = report["departments"][0]
    expect(page.locator("#departments tbody tr").first).to_contain_text(first["name"])
    expect(page.locator("#departments tbody tr").first.locator(".rp-badge")).to_have_text("红榜")


def expect_charts(page):
    """Three canvases drawn by Chart.js, each with something on it."""
    expect(page.locator("canvas[data-drawn='1']")).to_have_count(3)
    for canvas in ("#chart-trend", "#chart-departments", "#chart-townships"):
        assert page.eval_on_selector(canvas, "c => c.width > 0 && c.height > 0"), canvas
        assert drawn_pixels(page, canvas) > 1000, canvas


def test_supervisor_picks_the_year_and_reads_the_rates_lists_and_charts(app, users, login):
    year = calls_over_the_year(app, users)
    report = users["supervisor"].get(f"/reports?period={year}").json

    sup = login("supervisor")
    sup.get_by_role("link", name="考核报表", exact=True).click()
    expect(sup).to_have_url(re.compile(r"/reports$"))
    sup.get_by_label("年度").select_option(year)
    sup.locator("form", has=sup.get_by_label("年度")).get_by_role("button", name="查看").click()
    expect(sup).to_have_url(re.compile(rf"/reports\?period={year}$"))
    expect(sup.get_by_role("heading", name=re.compile(f"^考核报表 {year}年 · 按呼叫发起时间归期"))).to_be_visible()

    expect_report(sup, report)
    expect(sup.locator("#rates [data-metric=satisfaction_rate] .n")).to_have_text("80.0%")
    expect(sup.locator("#red-list")).to_contain_text("综合行政执法局")
    expect(sup.locator("#black-list")).to_contain_text("自然资源和规划局")
    expect_charts(sup)
    assert sup.errors == []

    with sup.expect_download() as download:
        sup.locator("#export-xlsx").click()
    assert download.value.suggested_filename == f"考核报表-{year}.xlsx"


def test_leader_reads_last_months_report_over_the_demo_history(app, users, login):
    demo_history = pytest.importorskip("app.demo_history", reason="app/demo_history.py is not there")
    with app.app_context():
        demo_history.load_history()
        month = metrics.previous_months(utcnow(), local_zone(), 1)[0]
    report = users["leader"].get(f"/reports?period={month}").json
    assert report["totals"]["calls"] > 0

    leader = login("leader")
    leader.goto(f"/reports?period={month}")
    expect(leader.get_by_role("heading", name=re.compile("^考核报表"))).to_contain_text(report["period"]["label"])
    expect(leader.get_by_role("link", name="上月")).to_have_attribute("aria-current", "page")
    expect_report(leader, report)
    expect_charts(leader)
    assert leader.errors == []
    screenshot(leader, "reports.png")
