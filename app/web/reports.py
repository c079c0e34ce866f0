"""The assessment report page (考核报表) for the supervisor, county leaders, the centre and admins:
the three rates and the rest for a month or a year, departments and townships ranked with their
red and black lists, charts of the trend and the scores (app/static/dist/reports.js), and the
same report as a spreadsheet.

The figures are reports.county_report's (formulas: app/metrics.py); this module only lays them out.
The page and the spreadsheet share one list of columns, so they show the same things."""
import io
from fractions import Fraction
from urllib.parse import quote

from flask import Blueprint, Response, render_template, request
from flask_login import current_user, login_required
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill

from .. import metrics, orgs, reports
from ..errors import Invalid
from ..models.types import utcnow
from ..timefmt import local_zone, short

reports_bp = Blueprint("reports", __name__)

LIST_LABELS = {"red": "红榜", "black": "黑榜"}
# (key, title, kind): kind says how a value is shown — pct a rate, score points out of 100,
# rating a 1–5 average, hours a duration, int a count, text as it is
DEPARTMENT_COLUMNS = [
    ("rank", "排名", "int"), ("name", "部门", "text"), ("orders", "工单数", "int"),
    ("response_rate", "响应率", "pct"), ("resolution_rate", "解决率", "pct"), ("satisfaction_rate", "满意率", "pct"),
    ("timely_sign_rate", "及时签收率", "pct"), ("on_time_completion_rate", "按时办结率", "pct"),
    ("return_rate", "回退率", "pct"), ("rework_rate", "重办率", "pct"), ("overdue", "超期", "int"),
    ("reminder_rate", "催办率", "pct"), ("urges", "被催办", "int"), ("supervision_orders", "督办单", "int"),
    ("flags", "督查标记", "int"), ("township_rating", "乡镇评价", "rating"),
    ("stationed_rating", "派驻机构评价", "rating"), ("stationed_ratings", "派驻评价数", "int"),
    ("platform_score", "平台得分", "score"), ("score", "综合得分", "score"), ("list", "榜单", "list"),
]
TOWNSHIP_COLUMNS = [
    ("rank", "排名", "int"), ("name", "乡镇", "text"), ("calls", "呼叫数", "int"), ("rejected", "不予受理", "int"),
    ("withdrawn", "撤回", "int"),
    ("invalid_call_rate", "无效呼叫率", "pct"), ("resolution_rate", "解决率", "pct"),
    ("satisfaction_rate", "满意率", "pct"), ("rating_received", "部门评分", "rating"), ("flags", "督查标记", "int"),
    ("score", "得分", "score"), ("list", "榜单", "list"),
]
STATIONED_COLUMNS = [
    ("name", "派驻机构", "text"), ("township_name", "所在乡镇", "text"), ("home_name", "派出部门", "text"),
    ("events", "办理事件数", "int"), ("ratings", "评价数", "int"), ("rating", "评价均分", "rating"),
    ("satisfied_share", "满意占比", "pct"),
]
TOTAL_ROWS = [
    ("calls", "呼叫数", "int"), ("orders", "工单数", "int"), ("closed", "已办结", "int"), ("open", "办理中", "int"),
    ("rejected", "不予受理", "int"), ("withdrawn", "已撤回", "int"), ("response_rate", "响应率", "pct"),
    ("resolution_rate", "解决率", "pct"),
    ("satisfaction_rate", "满意率", "pct"), ("timely_sign_rate", "及时签收率", "pct"),
    ("on_time_completion_rate", "按时办结率", "pct"), ("return_rate", "回退率", "pct"),
    ("rework_rate", "重办率", "pct"), ("reminder_rate", "催办率", "pct"), ("urges", "被催办次数", "int"),
    ("invalid_call_rate", "无效呼叫率", "pct"),
    ("overdue", "超期件数（红牌）", "int"), ("warnings", "预警件数（黄牌）", "int"),
    ("avg_sign_hours", "平均签收用时（小时）", "hours"), ("avg_completion_hours", "平均办结用时（小时）", "hours"),
    ("township_rating", "乡镇评价均分（1–5）", "rating"), ("rating_received", "部门对乡镇评分均分（1–5）", "rating"),
]
EXCEL_FORMATS = {"pct": "0.0%", "score": "0.0", "rating": "0.00", "hours": "0.0", "int": "0"}


# --- how values are shown -----------------------------------------------------------------------
def shown(value, kind):
    """A value as the page shows it: rates as percentages with one decimal, nothing to measure as —."""
    if kind == "list":
        return LIST_LABELS.get(value, "")
    if value is None:
        return "—"
    if kind == "pct":
        return f"{value * 100:.1f}%"
    if kind in ("score", "hours"):
        return f"{value:.1f}"
    if kind == "rating":
        return f"{value:.2f}"
    return value


def figure(value, kind):
    """A big figure as (number, unit): 18 件, 4.28 / 5, 2.2 小时, 4.5 天 (two days or more)."""
    if value is None:
        return "—", ""
    if kind == "hours":
        return (f"{value:.1f}", "小时") if value < 48 else (f"{value / 24:.1f}", "天")
    return shown(value, kind), {"rating": "/ 5", "int": "件"}.get(kind, "")


def share(weight):
    """A weight as people say it: 35%, or 1/3（33.3%）when the percentage alone would be rounded."""
    percent = f"{weight * 100:.1f}".removesuffix(".0") + "%"
    fraction = Fraction(weight).limit_denominator(12)
    if abs(weight * 1000 - round(weight * 1000)) > 1e-6 and abs(float(fraction) - weight) < 1e-9:
        return f"{fraction.numerator}/{fraction.denominator}（{percent}）"
    return percent


def month_label(key, first=False):
    """'2026-01' → 2026年1月 on January and on the first point of a chart, else 3月."""
    year, month = key.split("-")
    return f"{year}年{int(month)}月" if first or month == "01" else f"{int(month)}月"


def chart_data(report, trend):
    """What reports.js draws: the monthly trend, and the ranked scores with their lists."""
    def scores(rows):
        return [{"name": r["name"], "score": round(r["score"], 1), "list": r["list"]}
                for r in rows if r["score"] is not None]
    return {"trend": [{"label": month_label(p["month"], i == 0), "calls": p["calls"], "orders": p["orders"],
                       **{k: p[k] for k in ("response_rate", "resolution_rate", "satisfaction_rate")}}
                      for i, p in enumerate(trend)],
            "departments": scores(report["departments"]), "townships": scores(report["townships"])}


# --- the page -----------------------------------------------------------------------------------
def _report(period, now):
    """The report for the period asked (reports.default_period if none), or Invalid with the reason in Chinese."""
    return reports.county_report(current_user, period or reports.default_period(now), now)


def _pickers(key):
    """What the period pickers offer, newest first: this month and the 23 before, this year and the
    four before, and `key` (the period shown) among them."""
    now = utcnow()
    this_month = reports.current_period(now)
    months = [this_month, *reversed(metrics.previous_months(now, local_zone(), 23))]
    years = [str(y) for y in range(int(this_month[:4]), int(this_month[:4]) - 5, -1)]
    quick = {"this_month": months[0], "last_month": months[1], "this_year": years[0], "last_year": years[1]}
    if key and key not in months + years:
        (months if len(key) == 7 else years).append(key)
        months.sort(reverse=True)
        years.sort(reverse=True)
    return {"months": [(m, month_label(m, first=True)) for m in months], "years": years, **quick}


@reports_bp.route("/reports")
@login_required
def page():
    period, now = request.args.get("period", ""), utcnow()
    try:
        report = _report(period, now)
    except Invalid as e:
        return render_template("reports.html", report=None, error=e.message, period=period[:20],
                               pickers=_pickers(None)), 400
    key = report["period"]["key"]
    # a year's report has its months; a month is shown in the twelve months up to it
    trend = report["trend"] if len(key) == 4 else reports.trend(current_user, key, now=now)
    return render_template("reports.html", report=report, trend=trend, period=key, pickers=_pickers(key),
                           chart=chart_data(report, trend), shown=shown, figure=figure, share=share,
                           month_label=month_label, org_names=orgs.org_names(), DEPARTMENT_COLUMNS=DEPARTMENT_COLUMNS,
                           TOWNSHIP_COLUMNS=TOWNSHIP_COLUMNS, STATIONED_COLUMNS=STATIONED_COLUMNS, LIST_LABELS=LIST_LABELS)


# --- the spreadsheet ----------------------------------------------------------------------------
def _sheet(book, title, columns, rows):
    sheet = book.create_sheet(title)
    sheet.append([t for _, t, _ in columns])
    for r in rows:
        sheet.append([LIST_LABELS.get(r[k]) if kind == "list" else r[k] for k, _, kind in columns])
    for i, (_, t, kind) in enumerate(columns, start=1):
        letter = sheet.cell(row=1, column=i).column_letter
        sheet.column_dimensions[letter].width = max(8, len(t) * 2 + 2) if kind != "text" else 22
        for cell in sheet[letter][1:]:
            cell.number_format = EXCEL_FORMATS.get(kind, "General")
    _header(sheet[1])
    sheet.freeze_panes = "C2"


def _header(cells):
    for cell in cells:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="F3F4F6")
        cell.alignment = Alignment(horizontal="center")


def workbook(report, now):
    """The report as an .xlsx: 汇总 (totals and weights), 部门 and 乡镇 (ranked rows); rates as
    numbers formatted as percentages, nothing to measure as an empty cell."""
    book = Workbook()
    summary = book.active
    summary.title = "汇总"
    period, w = report["period"], report["weights"]
    summary.append(["指标", "数值"])
    _header(summary[1])
    summary.append(["统计期", period["label"]])
    summary.append(["归期口径", period["basis"]])
    summary.append(["数据截至", short(now)])
    for key, title, kind in TOTAL_ROWS:
        summary.append([title, report["totals"].get(key)])
        summary.cell(row=summary.max_row, column=2).number_format = EXCEL_FORMATS[kind]
    summary.append([])
    summary.append(["权重", ""])
    for title, value, fmt in [("响应率权重", w["response"], "0.0%"), ("解决率权重", w["resolution"], "0.0%"),
                              ("满意率权重", w["satisfaction"], "0.0%"),
                              ("乡镇评价占部门综合得分", w["township_weight"], "0.0%"),
                              ("派驻机构评价占部门综合得分", w["stationed_weight"], "0.0%"),
                              ("每个督查标记扣分", w["flag_deduction"], "0.0"),
                              ("每张督办单扣分", w["order_deduction"], "0.0"),
                              ("每件不予受理扣乡镇分", w["invalid_call_deduction"], "0.0"),
                              ("红黑榜各取", w["list_size"], "0"), ("参与排名的最少件数", w["min_volume"], "0")]:
        summary.append([title, value])
        summary.cell(row=summary.max_row, column=2).number_format = fmt
    summary.column_dimensions["A"].width = 28
    summary.column_dimensions["B"].width = 22
    _sheet(book, "部门", DEPARTMENT_COLUMNS, report["departments"])
    _sheet(book, "乡镇", TOWNSHIP_COLUMNS, report["townships"])
    _sheet(book, "派驻机构", STATIONED_COLUMNS, report.get("stationed") or [])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@reports_bp.route("/reports/export.xlsx")
@login_required
def export_xlsx():
    now = utcnow()
    try:
        report = _report(request.args.get("period", ""), now)
    except Invalid as e:
        return render_template("error.html", code=400, message=e.message), 400
    key = report["period"]["key"]
    name = quote(f"考核报表-{key}.xlsx")
    return Response(workbook(report, now), mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f"attachment; filename=huying-report-{key}.xlsx; "
                                                    f"filename*=UTF-8''{name}",
                             "Cache-Control": "no-store"})
