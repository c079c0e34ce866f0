"""审计 in a real browser: the supervisor filters the trail by case, sees how many events match,
exports them as CSV and XLSX watching the progress reach the end, gets the file, and checks the
hash chain.

Runs Debian's Chromium (/usr/bin/chromium) through Playwright against the app served by waitress
on a free port, like test_browser_lifecycle.py. Set HUYING_SCREENSHOTS=<folder> to also write
`audit.png` there.
"""
import io
import re
from pathlib import Path

import pytest

from browser_support import base_url, browser, login, require_browser, screenshot  # noqa: F401 - fixtures

sync_api = require_browser()
expect = sync_api.expect

from app.audit_export import COLUMNS, TITLES  # noqa: E402
from helpers import closed_call  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"])]

VIEWPORT = {"width": 1280, "height": 900}


def export(page, fmt):
    """Click 导出 in format `fmt`; returns the saved file's bytes once the progress is complete."""
    page.get_by_label("导出格式").select_option(fmt)
    with page.expect_download() as info:
        page.get_by_role("button", name="导出", exact=True).click()
    download = info.value
    assert download.suggested_filename.endswith("." + fmt)
    return Path(download.path()).read_bytes()


def test_supervisor_exports_a_cases_trail_with_progress_and_verifies_the_chain(app, users, login):
    case_id = closed_call(users)
    n = len(users["supervisor"].get(f"/cases/{case_id}/audit").json)

    sup = login("supervisor")
    sup.get_by_role("link", name="审计", exact=True).click()
    expect(sup).to_have_url(re.compile(r"/audit$"))
    expect(sup.get_by_role("heading", name=re.compile("^审计"))).to_be_visible()
    expect(sup.locator("#match-count")).not_to_have_text(str(n))        # every event so far, logins too
    sup.get_by_label("案件编号").fill(str(case_id))
    expect(sup.locator("#match-count")).to_have_text(str(n))

    body = export(sup, "csv")
    status, progress = sup.locator("#export-status"), sup.locator("#export-progress")
    expect(status).to_contain_text(f"已导出 {n} / {n} 条")
    expect(progress).to_be_visible()
    assert progress.evaluate("p => p.value === p.max")
    assert body.startswith("\ufeff".encode() + ",".join(TITLES[c] for c in COLUMNS).encode() + b"\r\n")
    assert body.count(b"\r\n") == n + 1 and f",{case_id},".encode() in body

    body = export(sup, "xlsx")
    expect(status).to_contain_text(f"已导出 {n} / {n} 条")
    assert progress.evaluate("p => p.value === p.max")
    from openpyxl import load_workbook
    assert len(list(load_workbook(io.BytesIO(body), read_only=True).active.iter_rows())) == n + 1

    sup.get_by_role("button", name="校验哈希链").click()
    expect(sup.locator("#verify-result")).to_contain_text("哈希链完整")
    screenshot(sup, "audit.png")
    assert sup.errors == []


def test_the_case_page_leads_to_its_printable_file(app, users, login):
    case_id = closed_call(users)
    town = login("town_a")
    town.goto(f"/cases/{case_id}")
    town.get_by_role("link", name="打印卷宗").click()
    expect(town).to_have_url(re.compile(rf"/cases/{case_id}/dossier$"))
    expect(town.locator("#verdict")).to_contain_text("均与哈希链一致")
    expect(town.get_by_role("button", name="打印卷宗")).to_be_visible()
    screenshot(town, "dossier.png")
    town.emulate_media(media="print")
    expect(town.get_by_role("button", name="打印卷宗")).to_be_hidden()
    assert town.errors == []
