"""Auditors export the trail as CSV, JSON Lines or XLSX, through the API or their page, filtered by
case and time; nobody else may."""
import csv
import io
import json

import pytest
from openpyxl import load_workbook

from app.audit_export import COLUMNS, XLSX_TITLES
from helpers import closed_call, raise_call, web_login

STEPS = ["受理", "研判派单", "签收", "签收", "办理反馈", "办理反馈", "审核办结", "评价", "一呼一评"]


def xlsx_rows(body):
    ws = load_workbook(io.BytesIO(body), read_only=True).active
    return [list(r) for r in ws.iter_rows(values_only=True)]


def test_xlsx_export_of_one_case_holds_every_step_with_chinese_headers(users):
    case_id = closed_call(users)
    raise_call(users, township="town_b", title="另一件呼叫")             # not in the export
    r = users["supervisor"].get(f"/audit/export?format=xlsx&case_id={case_id}")
    assert r.status_code == 200
    assert r.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert r.headers["Content-Disposition"] == "attachment; filename=audit.xlsx"
    assert int(r.headers["Content-Length"]) == len(r.data)

    header, *rows = xlsx_rows(r.data)
    assert header == [XLSX_TITLES[c] for c in COLUMNS] and header[:4] == ["编号", "时间", "操作人", "事件"]
    events = users["supervisor"].get(f"/cases/{case_id}/audit").json
    assert [row[0] for row in rows] == [e["id"] for e in events]
    assert int(r.headers["X-Total-Count"]) == len(rows)
    assert {row[4] for row in rows} == {case_id}
    cells = [dict(zip(COLUMNS, row)) for row in rows]
    completed = [c for c in cells if c["action"] == "task_completed"]
    assert [c["task"] for c in completed] == STEPS
    evaluation = next(c for c in completed if c["task"] == "评价")
    assert evaluation["actor"] == "town_a"
    assert json.loads(evaluation["after"]) == {"satisfied": True, "rating": 5, "comment": "摊点已清理，市场秩序良好"}
    assert ", " not in evaluation["after"]           # compact JSON
    assert [c["action"] for c in cells][-1] == "case_closed"
    assert all(c["hash"] and c["seq"] for c in cells)


def test_csv_and_jsonl_keep_their_columns(users):
    case_id = closed_call(users)
    events = users["admin"].get(f"/cases/{case_id}/audit").json

    r = users["admin"].get(f"/audit/export?format=csv&case_id={case_id}")
    text = r.get_data(as_text=True)
    assert r.mimetype == "text/csv" and text.startswith("\ufeff" + ",".join(COLUMNS) + "\r\n")
    assert r.headers["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(text[1:])))
    assert [int(row["id"]) for row in rows] == [e["id"] for e in events]
    assert json.loads(rows[0]["after"]) == events[0]["after"] and rows[0]["action"] == "case_started"
    assert r.headers["X-Total-Count"] == str(len(events))

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
    assert xlsx_rows(r.data) == [[XLSX_TITLES[c] for c in COLUMNS]]


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
    failed = [row for row in rows if row["action"] == "login_failed"]
    assert [row["actor"] for row in failed] == ["'=HYPERLINK(\"http://x\")"]
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
    logins = [json.loads(line)["ip"] for line in lines if '"action": "login"' in line and '"town_a"' in line]
    assert logins[-2:] == ["192.168.0.2", "10.8.8.8"]
