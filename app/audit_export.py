"""The audit trail as files for auditors: CSV and JSON Lines streamed as the events are read,
XLSX written to a temporary file (a zip needs the whole sheet before it can be sent) and then
sent in chunks with its length. Events are read in keyset pages, so memory stays bounded however
long the trail. The API and the auditors' page answer with the same `response`.

JSON Lines are for programs: the events' own keys and codes. CSV and XLSX are for people: Chinese
headers, and each value as a person reads it — names for users and units, labels for actions,
statuses and urgencies, county times, and a change as "标签：值" with the forms' own titles."""
import csv
import io
import json
import re
import tempfile
from datetime import datetime

from flask import Response, stream_with_context
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy import func, select

from . import audit, orgs, policy, processes
from .audit import event_to_dict
from .database import write_transaction
from .extensions import db
from .labels import (ACTION_LABELS, DECISION_LABELS, FIELD_LABELS, STATUS_LABELS, TASK_KIND_LABELS, TASK_STATUS_LABELS,
                     URGENCY_LABELS)
from .models import AuditEvent, Case, ProcessVersion, Task
from .models.types import utcnow
from .roles import FLAG_KINDS, ROLES
from .supervision import ORDER_FORM
from .timefmt import iso, local_zone

FORMATS = ("csv", "jsonl", "xlsx")
# the JSON Lines' keys, in the order of the CSV's and the XLSX's columns
COLUMNS = ["id", "at", "actor", "action", "case_id", "task", "task_id", "org", "ip", "before", "after", "detail",
           "seq", "hash"]
# the CSV's and the XLSX's header row
TITLES = {"id": "编号", "at": "时间", "actor": "操作人", "action": "操作", "case_id": "案件编号", "task": "环节",
          "task_id": "任务编号", "org": "单位", "ip": "IP 地址", "before": "变更前", "after": "变更后",
          "detail": "说明", "seq": "链序号", "hash": "哈希"}
XLSX_TITLES = TITLES
XLSX_WIDTHS = {"at": 26, "action": 18, "task": 14, "task_id": 38, "before": 40, "after": 40, "detail": 40, "hash": 66}
MIMETYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson; charset=utf-8",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
PAGE = 1000
CHUNK = 64 * 1024


# which events a filter's `kind` selects: a case's own history, the refused requests, or both
KINDS = {"history": "办理留痕（不含无权访问）", "refused": "无权访问", "all": "全部"}


def _where(case_id=None, start=None, end=None, upto=None, actor=None, action=None, org_code=None, kind="all"):
    where = []
    if case_id:
        where.append(AuditEvent.case_id == case_id)
    if start:
        where.append(AuditEvent.at >= start)
    if end:
        where.append(AuditEvent.at < end)
    if upto is not None:
        where.append(AuditEvent.id <= upto)
    if actor:
        where.append(AuditEvent.actor == actor)
    if org_code:
        where.append(AuditEvent.org_code == org_code)
    if action:
        where.append(AuditEvent.action == action)
    elif kind == "history":
        where.append(AuditEvent.action != audit.REFUSAL)
    elif kind == "refused":
        where.append(AuditEvent.action == audit.REFUSAL)
    return where


def count(user, case_id=None, start=None, end=None, **more):
    """How many events an export by `user` would hold: by case, from `start` (inclusive) to `end`
    (exclusive), and by actor, action, unit and kind (see KINDS) when given."""
    policy.require(user, "audit.export")
    return _count(case_id, start, end, **more)


def _count(case_id=None, start=None, end=None, upto=None, **more):
    return db.session.execute(select(func.count()).select_from(AuditEvent)
                              .where(*_where(case_id, start, end, upto, **more))).scalar()


BROWSE_PAGE = 50


def browse(user, before=None, after=None, per_page=None, **filters):
    """One page of the matching events for the auditors' page, newest first, by keyset: those older
    than event `before`, or newer than event `after`, or the newest. Returns (events, older, newer):
    whether there are more on either side. Each page is one indexed read of per_page + 1 rows."""
    policy.require(user, "audit.export")
    per_page = per_page or BROWSE_PAGE
    where = _where(**filters)
    if after is not None:
        rows = db.session.execute(select(AuditEvent).where(*where, AuditEvent.id > after)
                                  .order_by(AuditEvent.id).limit(per_page + 1)).scalars().all()
        newer = len(rows) > per_page
        rows = list(reversed(rows[:per_page]))
        return rows, _exists(where, AuditEvent.id < (rows[-1].id if rows else after + 1)), newer
    stmt = select(AuditEvent).where(*where)
    if before is not None:
        stmt = stmt.where(AuditEvent.id < before)
    rows = db.session.execute(stmt.order_by(AuditEvent.id.desc()).limit(per_page + 1)).scalars().all()
    older = len(rows) > per_page
    rows = rows[:per_page]
    newer = before is not None and _exists(where, AuditEvent.id > (rows[0].id if rows else before - 1))
    return rows, older, newer


def _exists(where, *more):
    return db.session.execute(select(AuditEvent.id).where(*where, *more).limit(1)).first() is not None


def events(case_id=None, start=None, end=None, upto=None, **more):
    """The matching events as dicts, oldest first, read a page at a time (ids ≤ `upto`)."""
    where, last = _where(case_id, start, end, upto, **more), 0
    while True:
        page = db.session.execute(select(AuditEvent).where(*where, AuditEvent.id > last)
                                  .order_by(AuditEvent.id).limit(PAGE)).scalars().all()
        if not page:
            return
        for e in page:
            yield event_to_dict(e)
        last = page[-1].id
        db.session.expunge_all()


def filename(fmt, now=None):
    """audit-YYYY-MM-DD.<fmt>, the county's date (not UTC's: just after midnight in Shanghai it is
    still yesterday in UTC)."""
    return f"audit-{(now or utcnow()).astimezone(local_zone()):%Y-%m-%d}.{fmt}"


def response(user, fmt, case_id=None, start=None, end=None, **more):
    """The matching events as an attachment in `fmt` (csv, jsonl, xlsx); X-Total-Count says how many
    match, for a client's progress. The export holds the events there were when it began, and is
    itself on record (`audit_exported`, by `user`)."""
    policy.require(user, "audit.export")
    upto = db.session.execute(select(func.max(AuditEvent.id))).scalar() or 0
    total = _count(case_id, start, end, upto, **more)
    chosen = {k: v for k, v in more.items() if v and not (k == "kind" and v == "all")}
    with write_transaction():
        audit.record("audit_exported", user.username, detail=f"导出 {total} 条留痕（{fmt}）",   # not in the case's own trail
                     after={"format": fmt, "case_id": case_id, "from": iso(start), "to": iso(end), **chosen,
                            "events": total})
    headers = {"Content-Disposition": f"attachment; filename={filename(fmt)}", "Cache-Control": "no-store",
               "X-Total-Count": str(total)}
    rows = events(case_id, start, end, upto, **more)
    if fmt != "jsonl":
        rows = Reader().rows(rows)
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
    """A CSV cell: a text that Excel or WPS would take for a formula (a failed login's username
    "=HYPERLINK(...)", say) gets a leading apostrophe, as OWASP advises — the JSON Lines and XLSX
    exports keep every value exactly."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _csv(rows):
    """UTF-8 with a BOM (Excel and WPS open it as such), the rows as `Reader.row` writes them."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    yield "\ufeff"
    writer.writerow([TITLES[c] for c in COLUMNS])
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
        cell = WriteOnlyCell(ws, TITLES[c])
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
    if not isinstance(value, str):
        return value
    value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)     # control characters a sheet cannot hold
    if value.startswith("="):                              # text, never a formula
        cell = WriteOnlyCell(ws, value)
        cell.data_type = "s"
        return cell
    return value


# --- an event as a person reads it --------------------------------------------------------------
ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
VALUE_LABELS = {"status": {**TASK_STATUS_LABELS, **STATUS_LABELS}, "urgency": URGENCY_LABELS, "role": ROLES,
                "roles": ROLES, "decision": DECISION_LABELS, "proposal": DECISION_LABELS,
                "kind": {**TASK_KIND_LABELS, **{k: label for k, (_role, label) in FLAG_KINDS.items()}}}
USER_KEYS = ("uploaded_by", "decided_by", "published_by", "username", "author")


class Reader:
    """Turns events' dicts into the rows people read (see the module's docstring). A change is titled
    by the form it was made with: a step's own form, the start form of the case's process version."""

    def __init__(self):
        self.users, self.units = orgs.user_names(), orgs.org_names()
        self.fields = _form_fields()
        self.processes = {row.process_id: row.name for row in processes.latest_versions()}
        self.definitions = {}

    def rows(self, dicts):
        batch = []
        for d in dicts:
            batch.append(d)
            if len(batch) == PAGE:
                yield from self._page(batch)
                batch = []
        yield from self._page(batch)

    def _page(self, batch):
        forms = self._forms(batch)
        for d in batch:
            props = forms.get((d["case_id"], d["task_id"]))
            yield dict(d, at=_local(d["at"], "%Y-%m-%d %H:%M:%S"), action=ACTION_LABELS.get(d["action"], d["action"]),
                       actor="系统" if d["actor"] == "system" else self.users.get(d["actor"], d["actor"]),
                       org=self.units.get(d["org"], d["org"]), before=self.change(d["before"], props),
                       after=self.change(d["after"], props))

    def _forms(self, batch):
        """{(case id, task id or None): the properties of the form its changes were made with} for a page of events."""
        case_ids = {d["case_id"] for d in batch if d["case_id"]}
        task_ids = {d["task_id"] for d in batch if d["task_id"]}
        if not case_ids:
            return {}
        versions = dict(db.session.execute(select(Case.id, Case.process_version_id).where(Case.id.in_(case_ids))).all())
        tasks = {t.id: t for t in db.session.execute(
            select(Task.id, Task.form, Task.kind).where(Task.id.in_(task_ids)))} if task_ids else {}
        out = {}
        for d in batch:
            key = (d["case_id"], d["task_id"])
            if key in out or d["case_id"] not in versions:
                continue
            definition = self._definition(versions[d["case_id"]])
            task = tasks.get(d["task_id"])
            if task is not None:
                schema = processes.app_form(task.form) if task.kind == "order" else definition.form(task.form)
            else:
                schema = definition.form(definition.start.form) if d["action"] == "case_started" else None
            out[key] = (schema or {}).get("properties") or None
        return out

    def _definition(self, version_id):
        if version_id not in self.definitions:
            self.definitions[version_id] = processes.definition(db.session.get(ProcessVersion, version_id))
        return self.definitions[version_id]

    def change(self, value, props=None):
        """A before/after: "标签：值；…" for an object (its empty values left out), else the value.
        Keys are titled by `props` (a form's properties), else by FIELD_LABELS, else by any deployed form."""
        if not isinstance(value, dict):
            return self.value(None, value, {})
        parts = []
        for key, v in value.items():
            if v is None or v == "" or v == [] or v == {}:
                continue
            prop = (props or {}).get(key) or {}
            title = prop.get("title") or FIELD_LABELS.get(key)
            if not prop and not title:
                prop = self.fields.get(key) or {}
                title = prop.get("title")
            parts.append(f"{title or self.units.get(key) or key}：{self.value(key, v, prop)}")
        return "；".join(parts) or None

    def value(self, key, v, prop):
        if isinstance(v, bool):
            return "是" if v else "否"
        if isinstance(v, dict):
            return "（" + (self.change(v, prop.get("properties")) or "") + "）"
        if isinstance(v, list):
            return "、".join(str(self.value(key, x, prop.get("items") or {})) for x in v)
        if not isinstance(v, str):
            return v
        for choice in prop.get("oneOf") or []:
            if isinstance(choice, dict) and choice.get("const") == v and choice.get("title"):
                return choice["title"]
        if key in VALUE_LABELS and v in VALUE_LABELS[key]:
            return VALUE_LABELS[key][v]
        if key == "process_id":
            return self.processes.get(v, v)
        if key in USER_KEYS:
            return "系统" if v == "system" else self.users.get(v, v)
        if v == orgs.TOWNSHIP:
            return "属地乡镇（街道）"
        if ISO_TIME.match(v):
            return _local(v, "%Y-%m-%d %H:%M")
        return self.units.get(v, v)

def _local(value, fmt):
    try:
        return datetime.fromisoformat(value).astimezone(local_zone()).strftime(fmt)
    except (TypeError, ValueError):
        return value


def _form_fields():
    """{field name: its JSON Schema} over the forms of the deployed processes, newest first, and the app's own."""
    fields = {}
    for row in processes.latest_versions():
        for schema in processes.definition(row).forms.values():
            for name, prop in ((schema or {}).get("properties") or {}).items():
                fields.setdefault(name, prop)
    for name, prop in (processes.app_form(ORDER_FORM).get("properties") or {}).items():
        fields.setdefault(name, prop)
    return fields


def _chunks(f):
    try:
        while True:
            chunk = f.read(CHUNK)
            if not chunk:
                return
            yield chunk
    finally:
        f.close()
