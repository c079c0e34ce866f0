"""The files people open in Excel or WPS speak Chinese like the pages: the assessment report, the
responsibility list, the stuck cases and the audit trail (CSV and XLSX) show labels and names, never
the codes the programs use (JSON Lines and the API keep those)."""
import csv
import io
import re
from datetime import datetime

from openpyxl import load_workbook

from app import deadlines
from app.timefmt import local_zone
from helpers import accept_and_dispatch, assessment_calls, closed_call, raise_call, web_login

# what may stay ASCII in a file for people: list item codes, the grades of the list's own texts (C、D级),
# fingerprints and ids of tasks (hex), and an IP address's digits
ALLOWED = re.compile(r"\b[A-Z]{2,3}-\d{2,3}\b|(?<![A-Za-z])[A-E](?=(?:、[A-E])*级)|\b[0-9a-f]{8,}(?:-[0-9a-f]{4,})*\b")


def ascii_words(values):
    return {w for v in values if isinstance(v, str) for w in re.findall(r"[A-Za-z_]+", ALLOWED.sub(" ", v))}


def workbook_texts(body):
    book = load_workbook(io.BytesIO(body), read_only=True)
    return {ws.title: [v for row in ws.iter_rows(values_only=True) for v in row] for ws in book.worksheets}


def test_the_report_and_list_workbooks_hold_no_code(app, users):
    assessment_calls(users)
    period = datetime.now(local_zone()).strftime("%Y-%m")
    sup = web_login(app, "supervisor")
    report = workbook_texts(sup.get(f"/reports/export.xlsx?period={period}").data)
    assert set(report) == {"汇总", "部门", "乡镇", "派驻机构"}
    assert "综合行政执法局" in report["部门"] and "岱庙街道" in report["乡镇"]
    assert {sheet: ascii_words(values) for sheet, values in report.items()} == {"汇总": set(), "部门": set(), "乡镇": set(),
                                                                                 "派驻机构": set()}
    listed = workbook_texts(sup.get("/list/export.xlsx").data)
    assert {sheet: ascii_words(values) for sheet, values in listed.items()} == {sheet: set() for sheet in listed}


def test_the_stuck_cases_csv_names_units_and_reasons(app, users):
    # overdue as soon as dispatched
    app.config.update(SUPERVISION={"limits": {"sign": {"normal": "P0D", "urgent": "P0D"}}})
    deadlines.invalidate()
    accept_and_dispatch(users, raise_call(users, urgency="urgent"))
    text = web_login(app, "supervisor").get("/supervision/export.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["案件编号", "事项", "环节"] and len(rows) == 3       # the two departments' 签收
    assert {r[3] for r in rows[1:]} == {"综合行政执法局", "自然资源和规划局"} and {r[5] for r in rows[1:]} == {"紧急"}
    assert ascii_words(v for row in rows for v in row) == set()


def test_the_audit_workbook_names_people_units_and_actions(users):
    case_id = closed_call(users)
    body = users["supervisor"].get(f"/audit/export?format=xlsx&case_id={case_id}").data
    header, *rows = load_workbook(io.BytesIO(body), read_only=True).active.iter_rows(values_only=True)
    cells = [dict(zip(header, row)) for row in rows]
    assert [c["操作"] for c in cells][:2] == ["发起", "待办生成"] and cells[0]["操作人"] == "张志刚"
    assert {c["单位"] for c in cells if c["环节"] == "签收"} >= {"综合行政执法局", "自然资源和规划局"}
    people = [c[k] for c in cells for k in ("操作人", "操作", "单位", "环节", "变更前")]
    changes = [c["变更后"] for c in cells if c["环节"] != "办理反馈"]    # the departments' replies are typed text
    assert ascii_words(people + changes) == set()
