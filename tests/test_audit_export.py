"""Auditors export the trail as CSV, JSON Lines or XLSX, through the API or their page, filtered by
case and time; nobody else may."""
import csv
import io
import json
import re

import pytest
from openpyxl import load_workbook

from app.audit_export import COLUMNS, TITLES
from helpers import closed_call, raise_call, web_login

STEPS = ["受理", "研判派单", "签收", "签收", "办理反馈", "办理反馈", "审核办结", "评价", "一呼一评"]


def today_file(fmt):
    """audit-<the county's date today>.<fmt>"""
    from datetime import datetime
    from zoneinfo import ZoneInfo
    return f"audit-{datetime.now(ZoneInfo('Asia/Shanghai')):%Y-%m-%d}.{fmt}"


def xlsx_rows(body):
    ws = load_workbook(io.BytesIO(body), read_only=True).active
    return [list(r) for r in ws.iter_rows(values_only=True)]


def test_xlsx_export_of_one_case_holds_every_step_in_chinese(users):
    case_id = closed_call(users)
    raise_call(users, township="town_b", title="另一件呼叫")             # not in the export
    r = users["supervisor"].get(f"/audit/export?format=xlsx&case_id={case_id}")
    assert r.status_code == 200
    assert r.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert r.headers["Content-Disposition"] == f"attachment; filename={today_file('xlsx')}"
    assert int(r.headers["Content-Length"]) == len(r.data)

    header, *rows = xlsx_rows(r.data)
    assert header == [TITLES[c] for c in COLUMNS] and header[:4] == ["编号", "时间", "操作人", "操作"]
    events = users["supervisor"].get(f"/cases/{case_id}/audit").json
    assert [row[0] for row in rows] == [e["id"] for e in events]
    assert int(r.headers["X-Total-Count"]) == len(rows)
    assert {row[4] for row in rows} == {case_id}
    cells = [dict(zip(COLUMNS, row)) for row in rows]
    completed = [c for c in cells if c["action"] == "办理"]
    assert [c["task"] for c in completed] == STEPS
    evaluation = next(c for c in completed if c["task"] == "评价")
    assert evaluation["actor"] == "张志刚" and evaluation["org"] == "岱庙街道"     # town_a, by name
    assert set(evaluation["after"].split("；")) == {"是否满意：是", "评分（1–5）：5", "评价意见：摊点已清理，市场秩序良好"}
    started = cells[0]
    assert started["action"] == "发起" and "紧急程度：一般" in started["after"] and "对应清单事项：ZF-01" in started["after"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", started["at"])           # county time
    assert [c["action"] for c in cells][-1] == "办结"
    assert all(c["hash"] and c["seq"] for c in cells)


def test_the_csv_is_in_chinese_and_the_json_lines_keep_the_codes(users):
    case_id = closed_call(users, urgency="urgent")
    events = users["admin"].get(f"/cases/{case_id}/audit").json

    r = users["admin"].get(f"/audit/export?format=csv&case_id={case_id}")
    text = r.get_data(as_text=True)
    assert r.mimetype == "text/csv" and text.startswith("\ufeff编号,时间,操作人,操作,案件编号,环节,任务编号,单位,IP 地址,"
                                                        "变更前,变更后,说明,链序号,哈希\r\n")
    assert r.headers["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(text[1:])))
    assert [int(row["编号"]) for row in rows] == [e["id"] for e in events]
    assert rows[0]["操作"] == "发起" and rows[0]["操作人"] == "张志刚" and "紧急程度：紧急" in rows[0]["变更后"]
    assert {row["操作"] for row in rows} >= {"发起", "待办生成", "办理", "办结"}
    ready = next(row for row in rows if row["操作"] == "待办生成")
    assert ready["变更后"] == "角色：响应中心" and ready["单位"] == ""          # {"role": "center", "org": null}
    dispatched = next(row for row in rows if row["环节"] == "研判派单" and row["操作"] == "办理")
    assert "综合行政执法局" in dispatched["变更后"] and "D01" not in dispatched["变更后"]
    closed = rows[-1]
    assert closed["操作"] == "办结" and closed["变更前"] == "状态：办理中" and closed["变更后"] == "状态：已办结"
    assert r.headers["X-Total-Count"] == str(len(events))
    # no code left but the list item's: the departments' typed replies (办理反馈, "dept_zf 已联合执法…") aside
    texts = [row[k] for row in rows for k in ("操作人", "操作", "单位", "变更前", "变更后") if row["环节"] != "办理反馈"]
    assert {w for t in texts for w in re.findall(r"[A-Za-z_]+", re.sub(r"[A-Z]{2}-\d\d", "", t))} == set()

    r = users["admin"].get(f"/audit/export?format=jsonl&case_id={case_id}")
    lines = [json.loads(line) for line in r.get_data(as_text=True).splitlines()]
    assert r.mimetype == "application/x-ndjson"
    assert lines == [dict(e) for e in events] and list(lines[0]) == COLUMNS


def test_the_default_format_is_still_jsonl_and_bad_filters_are_refused(users):
    raise_call(users)
    r = users["supervisor"].get("/audit/export")
    assert r.mimetype == "application/x-ndjson" and json.loads(r.get_data(as_text=True).splitlines()[0])["id"]
    assert users["supervisor"].get("/audit/export?format=pdf").status_code == 422
    assert users["supervisor"].get("/audit/export?format=xlsx&from=0001-01-01T00:00:00%2B08:00").status_code == 422


def test_time_filters_apply_to_every_format(users):
    raise_call(users)
    for fmt in ("csv", "jsonl", "xlsx"):
        r = users["supervisor"].get(f"/audit/export?format={fmt}&from=2999-01-01T00:00:00%2B08:00")
        assert r.status_code == 200 and r.headers["X-Total-Count"] == "0"
    assert xlsx_rows(r.data) == [[TITLES[c] for c in COLUMNS]]


def test_the_auditors_page_exports_with_dates_of_the_county(app, users):
    case_id = closed_call(users)
    sup = web_login(app, "supervisor")
    page = sup.get(f"/audit?case_id={case_id}")
    html = page.get_data(as_text=True)
    n = len(users["supervisor"].get(f"/cases/{case_id}/audit").json)
    assert page.status_code == 200 and f'<strong id="match-count">{n}</strong>' in html
    assert sup.get(f"/audit/count?case_id={case_id}").json == {"count": n}

    r = sup.get(f"/audit/export?format=csv&case_id={case_id}")
    assert r.headers["X-Total-Count"] == str(n)
    assert r.get_data(as_text=True).count("\r\n") == n + 1
    r = sup.get(f"/audit/export?format=xlsx&case_id={case_id}")
    assert len(xlsx_rows(r.data)) == n + 1
    events = users["supervisor"].get(f"/cases/{case_id}/audit").json
    first_day, last_day = events[0]["at"][:10], events[-1]["at"][:10]       # county dates
    assert sup.get(f"/audit/count?case_id={case_id}&to={first_day}").json["count"] >= 1   # the day given is included
    assert sup.get(f"/audit/count?case_id={case_id}&from={last_day}").json["count"] >= 1
    assert sup.get("/audit/count?to=2000-01-01").json == {"count": 0}
    assert sup.get("/audit/count?from=2999-12-31").json == {"count": 0}
    assert sup.get(f"/audit/count?case_id={case_id}&from=2020-01-01&to=2999-12-31").json == {"count": n}
    assert sup.get("/audit?case_id=abc").status_code == 422 and sup.get("/audit?case_id=0").status_code == 422
    assert sup.get("/audit/export?to=2026-02-30").status_code == 400
    assert sup.get("/audit/verify").json["ok"] is True


@pytest.mark.parametrize("username", ["dept_zf", "town_a"])
def test_departments_and_townships_may_not_export(app, users, username):
    for fmt in ("csv", "jsonl", "xlsx"):
        assert users[username].get(f"/audit/export?format={fmt}").status_code == 403
    browser = web_login(app, username)
    for path in ("/audit", "/audit/export?format=csv", "/audit/export?format=xlsx", "/audit/count", "/audit/verify"):
        assert browser.get(path).status_code == 403, path
    assert "审计" not in browser.get("/").get_data(as_text=True)
    assert ">审计</a>" in web_login(app, "admin").get("/").get_data(as_text=True)


def test_an_export_is_itself_on_record_and_holds_the_events_there_were(users):
    case_id = closed_call(users)
    first = users["supervisor"].get(f"/audit/export?format=jsonl&case_id={case_id}")
    n = int(first.headers["X-Total-Count"])
    assert len(first.get_data(as_text=True).splitlines()) == n
    everything = users["admin"].get("/audit/export?format=jsonl")
    lines = [json.loads(line) for line in everything.get_data(as_text=True).splitlines()]
    assert len(lines) == int(everything.headers["X-Total-Count"])      # its own record is not in it
    exported = [e for e in lines if e["action"] == "audit_exported"]
    assert [(e["actor"], e["after"]["case_id"], e["after"]["events"]) for e in exported] == [("supervisor", case_id, n)]
    assert exported[0]["case_id"] is None and exported[0]["ip"]


def test_a_csv_cell_that_excel_would_run_as_a_formula_is_defused(users, client):
    assert client.post("/api/v1/auth/token", json={"username": "=HYPERLINK(\"http://x\")", "password": "x"}
                       ).status_code == 401
    r = users["supervisor"].get("/audit/export?format=csv")
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True)[1:])))
    failed = [row for row in rows if row["操作"] == "登录失败"]
    assert [row["操作人"] for row in failed] == ["'=HYPERLINK(\"http://x\")"]
    exact = users["supervisor"].get("/audit/export?format=jsonl").get_data(as_text=True)
    assert [json.loads(line)["actor"] for line in exact.splitlines() if '"login_failed"' in line] == \
        ["=HYPERLINK(\"http://x\")"]                       # JSON Lines keep the value exactly


def test_the_clients_address_behind_a_trusted_proxy(app, users):
    client = app.test_client()             # by default the direct peer is the client
    headers = {"X-Forwarded-For": "10.8.8.8"}
    client.post("/api/v1/auth/token", json={"username": "town_a", "password": "demo"}, headers=headers,
                environ_base={"REMOTE_ADDR": "192.168.0.2"})
    from app import create_app
    from werkzeug.middleware.proxy_fix import ProxyFix
    proxied = create_app(dict(app.config, TRUSTED_PROXIES=1))
    assert isinstance(proxied.wsgi_app, ProxyFix)
    proxied.test_client().post("/api/v1/auth/token", json={"username": "town_a", "password": "demo"},
                               headers=headers, environ_base={"REMOTE_ADDR": "192.168.0.2"})
    lines = users["supervisor"].get("/audit/export?format=jsonl").get_data(as_text=True).splitlines()
    logins = [e["ip"] for e in map(json.loads, lines) if e["action"] == "login" and e["actor"] == "town_a"]
    assert logins[-2:] == ["192.168.0.2", "10.8.8.8"]


def test_the_export_is_named_by_the_county_date_not_by_utc(app, users):
    from datetime import datetime, timezone
    from app.audit_export import filename
    with app.app_context():
        # 00:30 on 2 December in Shanghai is still 1 December in UTC
        assert filename("csv", datetime(2026, 12, 1, 16, 30, tzinfo=timezone.utc)) == "audit-2026-12-02.csv"
        assert filename("jsonl", datetime(2026, 12, 1, 15, 59, tzinfo=timezone.utc)) == "audit-2026-12-01.jsonl"
    r = users["supervisor"].get("/audit/export?format=csv")
    assert r.headers["Content-Disposition"] == f"attachment; filename={today_file('csv')}"


def test_a_sheet_holds_text_as_text_and_the_next_sheet_takes_what_one_cannot(app):
    from app.audit_export import _xlsx
    rows = [[i, "2026-12-01 08:00:00", "=SUM(A1:A2)", "+86 138", None, "a\x01b\x1fc", 3.5, True] for i in range(5)]
    with app.app_context():
        f = _xlsx(iter([rows[:2], rows[2:]]), max_rows=3)       # a header and two rows a sheet
    f.seek(0)
    wb = load_workbook(io.BytesIO(f.read()))
    f.close()
    assert wb.sheetnames == ["全程留痕", "全程留痕 2", "全程留痕 3"]
    sheets = [[list(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets]
    assert [len(rows) for rows in sheets] == [3, 3, 2] and all(rows[0][0] == TITLES["id"] for rows in sheets)
    first = wb.worksheets[0]
    assert first.freeze_panes == "A2" and first["A1"].font.b and first["C2"].data_type == "s"
    assert sheets[0][1][:8] == [0, "2026-12-01 08:00:00", "=SUM(A1:A2)", "+86 138", None, "a\ufffdb\ufffdc", 3.5, "True"]
    assert [row[0] for rows in sheets for row in rows[1:]] == [0, 1, 2, 3, 4]


def test_json_lines_are_utf8_as_written_and_csv_rows_as_people_read_them(users):
    case_id = closed_call(users)
    r = users["supervisor"].get(f"/audit/export?format=jsonl&case_id={case_id}")
    events = users["supervisor"].get(f"/cases/{case_id}/audit").json
    lines = r.get_data(as_text=True).splitlines()
    assert [json.loads(line) for line in lines] == events       # the API's own view of each event, in order
    assert "\\u" not in r.get_data(as_text=True) and any("办理" in line or "签收" in line for line in lines)
    rows = list(csv.DictReader(io.StringIO(users["supervisor"].get(
        f"/audit/export?format=csv&case_id={case_id}").get_data(as_text=True)[1:])))
    assert [int(row["编号"]) for row in rows] == [e["id"] for e in events]
    assert [row["时间"] for row in rows] == [e["at"][:10] + " " + e["at"][11:19] for e in events]
    assert [row["链序号"] for row in rows] == [str(e["seq"]) for e in events]


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "Europe/Berlin", "Australia/Lord_Howe"])
def test_local_times_are_those_of_the_zone_through_a_change_of_the_clocks(zone):
    from datetime import datetime, timedelta, timezone
    from zoneinfo import ZoneInfo
    from app.audit_export import LocalTimes
    times, tz = LocalTimes(ZoneInfo(zone)), ZoneInfo(zone)
    start = datetime(2026, 3, 28, 0, 0, 7, 123456)          # Berlin's clocks go forward on the 29th, Lord Howe's
    for at in (start + timedelta(minutes=17 * i) for i in range(24 * 60 // 17 * 3)):   # back half an hour on 5 April
        expected = at.replace(tzinfo=timezone.utc).astimezone(tz).isoformat(timespec="seconds")
        assert times.iso(at.strftime("%Y-%m-%d %H:%M:%S.%f")) == expected        # SQLite's stored text
        assert times.iso(at.replace(tzinfo=timezone.utc)) == expected            # PostgreSQL's datetime
    lord_howe = datetime(2026, 4, 4, 14, 50, tzinfo=timezone.utc)              # 02:00 local, +11 → +10:30 at 15:00 UTC
    for minutes in range(0, 30, 5):
        at = lord_howe + timedelta(minutes=minutes)
        assert times.iso(at) == at.astimezone(tz).isoformat(timespec="seconds")
    assert times.iso(None) is None
