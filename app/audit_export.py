"""The audit trail as files for auditors: CSV and JSON Lines streamed as the events are read,
XLSX written to a temporary file (a zip needs the whole sheet before it can be sent) and then
sent in chunks with its length. Events are read in keyset pages, so memory stays bounded however
long the trail. The API and the auditors' page answer with the same `response`."""
import csv
import io
import json
import tempfile

from flask import Response, stream_with_context
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy import func, select

from . import audit, policy
from .audit import event_to_dict
from .database import write_transaction
from .extensions import db
from .models import AuditEvent
from .timefmt import iso

FORMATS = ("csv", "jsonl", "xlsx")
# the CSV's header row and the JSON Lines' keys: a public contract
COLUMNS = ["id", "at", "actor", "action", "case_id", "task", "task_id", "org", "ip", "before", "after", "detail",
           "seq", "hash"]
XLSX_TITLES = {"id": "编号", "at": "时间", "actor": "操作人", "action": "事件", "case_id": "案件编号", "task": "环节",
               "task_id": "任务编号", "org": "单位", "ip": "IP 地址", "before": "变更前", "after": "变更后",
               "detail": "说明", "seq": "链序号", "hash": "哈希"}
XLSX_WIDTHS = {"at": 26, "action": 18, "task": 14, "task_id": 38, "before": 40, "after": 40, "detail": 40, "hash": 66}
MIMETYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson; charset=utf-8",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
PAGE = 1000
CHUNK = 64 * 1024


def _where(case_id=None, start=None, end=None, upto=None):
    where = []
    if case_id:
        where.append(AuditEvent.case_id == case_id)
    if start:
        where.append(AuditEvent.at >= start)
    if end:
        where.append(AuditEvent.at < end)
    if upto is not None:
        where.append(AuditEvent.id <= upto)
    return where


def count(user, case_id=None, start=None, end=None):
    """How many events an export by `user` would hold: by case, from `start` (inclusive) to `end` (exclusive)."""
    policy.require(user, "audit.export")
    return _count(case_id, start, end)


def _count(case_id=None, start=None, end=None, upto=None):
    return db.session.execute(select(func.count()).select_from(AuditEvent)
                              .where(*_where(case_id, start, end, upto))).scalar()


def events(case_id=None, start=None, end=None, upto=None):
    """The matching events as dicts, oldest first, read a page at a time (ids ≤ `upto`)."""
    where, last = _where(case_id, start, end, upto), 0
    while True:
        page = db.session.execute(select(AuditEvent).where(*where, AuditEvent.id > last)
                                  .order_by(AuditEvent.id).limit(PAGE)).scalars().all()
        if not page:
            return
        for e in page:
            yield event_to_dict(e)
        last = page[-1].id
        db.session.expunge_all()


def response(user, fmt, case_id=None, start=None, end=None):
    """The matching events as an attachment in `fmt` (csv, jsonl, xlsx); X-Total-Count says how many
    match, for a client's progress. The export holds the events there were when it began, and is
    itself on record (`audit_exported`, by `user`)."""
    policy.require(user, "audit.export")
    upto = db.session.execute(select(func.max(AuditEvent.id))).scalar() or 0
    total = _count(case_id, start, end, upto)
    with write_transaction():
        audit.record("audit_exported", user.username, detail=f"导出 {total} 条留痕（{fmt}）",   # not in the case's own trail
                     after={"format": fmt, "case_id": case_id, "from": iso(start), "to": iso(end), "events": total})
    headers = {"Content-Disposition": f"attachment; filename=audit.{fmt}", "Cache-Control": "no-store",
               "X-Total-Count": str(total)}
    rows = events(case_id, start, end, upto)
    if fmt == "xlsx":
        f = _xlsx(rows)
        headers["Content-Length"] = str(f.seek(0, io.SEEK_END))
        f.seek(0)
        response = Response(_chunks(f), mimetype=MIMETYPES[fmt], headers=headers)
        response.call_on_close(f.close)
        return response
    body = _csv(rows) if fmt == "csv" else (json.dumps(d, ensure_ascii=False) + "\n" for d in rows)
    return Response(stream_with_context(body), content_type=MIMETYPES[fmt], headers=headers)


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value):
    """A CSV cell: JSON for before/after; a text that Excel or WPS would take for a formula (a failed
    login's username "=HYPERLINK(...)", say) gets a leading apostrophe, as OWASP advises — the JSON
    Lines and XLSX exports keep every value exactly."""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _csv(rows):
    """UTF-8 with a BOM (Excel and WPS open it as such); before/after as JSON."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    yield "\ufeff"
    writer.writerow(COLUMNS)
    for d in rows:
        writer.writerow([_csv_cell(d[c]) for c in COLUMNS])
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()
    yield buf.getvalue()


def _xlsx(rows):
    """A temporary file holding the workbook: one sheet, Chinese headers, the CSV's columns."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("全程留痕")
    for i, c in enumerate(COLUMNS):
        ws.column_dimensions[get_column_letter(i + 1)].width = XLSX_WIDTHS.get(c, 12)
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for c in COLUMNS:
        cell = WriteOnlyCell(ws, XLSX_TITLES[c])
        cell.font = bold
        header.append(cell)
    ws.append(header)
    for d in rows:
        ws.append([_cell(ws, d[c]) for c in COLUMNS])
    f = tempfile.TemporaryFile()
    try:
        wb.save(f)
    except BaseException:
        f.close()
        raise
    return f


def _cell(ws, value):
    if isinstance(value, (dict, list)):
        value = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if not isinstance(value, str):
        return value
    value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)     # control characters a sheet cannot hold
    if value.startswith("="):                              # text, never a formula
        cell = WriteOnlyCell(ws, value)
        cell.data_type = "s"
        return cell
    return value


def _chunks(f):
    try:
        while True:
            chunk = f.read(CHUNK)
            if not chunk:
                return
            yield chunk
    finally:
        f.close()
