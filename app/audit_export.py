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
from datetime import datetime, timedelta, timezone

import orjson
import xlsxwriter
from flask import Response, stream_with_context
from sqlalchemy import Text, cast, func, select

from . import audit, orgs, policy, processes
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


# what an export reads of an event, in COLUMNS' order; before and after as their stored JSON text
EXPORT_COLUMNS = (AuditEvent.id, AuditEvent.at, AuditEvent.actor, AuditEvent.action, AuditEvent.case_id,
                  AuditEvent.task_name, AuditEvent.task_id, AuditEvent.org_code, AuditEvent.ip,
                  cast(AuditEvent.before, Text).label("before"), cast(AuditEvent.after, Text).label("after"),
                  AuditEvent.detail, AuditEvent.seq, AuditEvent.hash)


def events(case_id=None, start=None, end=None, upto=None, **more):
    """The matching events as dicts (COLUMNS, as `audit.event_to_dict` writes them), oldest first,
    a list of up to PAGE at a time (ids ≤ `upto`)."""
    local, loads = LocalTimes(local_zone()).iso, audit._loads
    for rows in row_pages(case_id, start, end, upto, **more):
        yield [{"id": r[0], "at": local(r[1]), "actor": r[2], "action": r[3], "case_id": r[4], "task": r[5],
                "task_id": r[6], "org": r[7], "ip": r[8], "before": loads(r[9]), "after": loads(r[10]),
                "detail": r[11], "seq": r[12], "hash": r[13]} for r in rows]


def row_pages(case_id=None, start=None, end=None, upto=None, forms=False, **more):
    """The matching events as rows of EXPORT_COLUMNS (`at` as stored: on SQLite its text in UTC),
    oldest first, a list of up to PAGE at a time, read by keyset: rows, not objects. With `forms`,
    each row also holds what `Reader` titles its change by, read in the same query: its case's
    process version, its task's form and kind."""
    where, last = _where(case_id, start, end, upto, **more), 0
    conn = db.session.connection()
    columns = EXPORT_COLUMNS[:1] + (audit.stored_at(conn.dialect.name),) + EXPORT_COLUMNS[2:]
    stmt = select(*columns)
    if forms:
        stmt = (select(*columns, Case.process_version_id, Task.form, Task.kind).select_from(AuditEvent)
                .outerjoin(Case, Case.id == AuditEvent.case_id).outerjoin(Task, Task.id == AuditEvent.task_id))
    while True:
        rows = conn.execute(stmt.where(*where, AuditEvent.id > last).order_by(AuditEvent.id).limit(PAGE)).all()
        if not rows:
            return
        yield rows
        if len(rows) < PAGE:
            return
        last = rows[-1][0]


class LocalTimes:
    """`timefmt.iso` of stored times (datetimes, or SQLite's text in UTC) in a zone, for millions of
    them: the zone's offset is looked up once an hour of UTC, and used as it is wherever it is the
    same at that hour's start and end (an hour in which the clocks change is converted event by event)."""

    def __init__(self, zone):
        self.zone, self.hours = zone, {}

    def iso(self, at):
        if at is None:
            return None
        if isinstance(at, str):         # 'YYYY-MM-DD HH:MM:SS.ffffff', its hour the first 13 characters
            key, at = at[:13], datetime.fromisoformat(at)
        else:
            if at.tzinfo is not None:
                at = at.astimezone(timezone.utc).replace(tzinfo=None)
            key = at.replace(minute=0, second=0, microsecond=0)
        offset = self.hours.get(key, False)
        if offset is False:
            if len(self.hours) > 10_000:
                self.hours.clear()
            hour = at.replace(minute=0, second=0, microsecond=0)
            start, end = (self._local(hour), self._local(hour + timedelta(hours=1)))
            offset = self.hours[key] = (start.utcoffset(), start.isoformat()[19:]) \
                if start.utcoffset() == end.utcoffset() else None
        if offset is None:
            return self._local(at).isoformat(timespec="seconds")
        return (at + offset[0]).isoformat(timespec="seconds") + offset[1]

    def _local(self, naive_utc):
        return naive_utc.replace(tzinfo=timezone.utc).astimezone(self.zone)


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
    if fmt == "jsonl":
        pages = events(case_id, start, end, upto, **more)
    else:
        pages = Reader().pages(row_pages(case_id, start, end, upto, forms=True, **more))
    if fmt == "xlsx":
        f = _xlsx(pages)
        headers["Content-Length"] = str(f.seek(0, io.SEEK_END))
        f.seek(0)
        response = Response(_chunks(f), mimetype=MIMETYPES[fmt], headers=headers)
        response.call_on_close(f.close)
        return response
    body = _csv(pages) if fmt == "csv" else _jsonl(pages)
    return Response(stream_with_context(body), content_type=MIMETYPES[fmt], headers=headers)


def _jsonl(pages):
    """One JSON object a line, UTF-8 as it is (no \\u escapes); a page of lines at a time."""
    for page in pages:
        out = bytearray()
        for d in page:
            try:
                out += orjson.dumps(d)
            except (orjson.JSONEncodeError, TypeError):     # what only Python's json writes (a 70-digit number)
                out += json.dumps(d, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            out += b"\n"
        yield bytes(out)


# the first characters that make Excel or WPS take a text for a formula
FORMULA_FIRST = frozenset(("=", "+", "-", "@", "\t", "\r"))


def _csv_row(row):
    """A CSV row: a text that Excel or WPS would take for a formula (a failed login's username
    "=HYPERLINK(...)", say) gets a leading apostrophe, as OWASP advises — the JSON Lines and XLSX
    exports keep every value exactly. (None is an empty cell.)"""
    return [("'" + v) if v.__class__ is str and v[:1] in FORMULA_FIRST else v for v in row]


def _csv(pages):
    """UTF-8 with a BOM (Excel and WPS open it as such), the rows `Reader.pages` writes; a page at a time."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    buf.write("\ufeff")
    writer.writerow([TITLES[c] for c in COLUMNS])
    for page in pages:
        writer.writerows(map(_csv_row, page))
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()
    yield buf.getvalue()


XLSX_MAX_ROWS = 1_048_576           # a sheet's rows, the header's among them
# control characters a sheet cannot hold (XML 1.0 has no place for them)
ILLEGAL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _xlsx(pages, max_rows=XLSX_MAX_ROWS):
    """A temporary file holding the workbook: the CSV's columns under bold Chinese headers, frozen,
    and a new sheet (全程留痕 2, 3 …) each time one is full. XlsxWriter in constant memory writes each
    row as it comes; every text stays text (never a formula, a number or a link)."""
    f = tempfile.TemporaryFile()
    try:
        wb = xlsxwriter.Workbook(f, {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                                     "strings_to_numbers": False, "tmpdir": tempfile.gettempdir()})
        bold = wb.add_format({"bold": True})
        ws, row, sheets = None, max_rows, 0
        for page in pages:
            for values in page:
                if row == max_rows:
                    sheets += 1
                    ws, row = _sheet(wb, "全程留痕" + (f" {sheets}" if sheets > 1 else ""), bold), 1
                for c, v in enumerate(values):
                    if v is None:
                        continue
                    if isinstance(v, str):
                        ws.write_string(row, c, ILLEGAL_CHARACTERS.sub("\ufffd", v))
                    elif isinstance(v, (int, float)) and not isinstance(v, bool):
                        ws.write_number(row, c, v)
                    else:
                        ws.write_string(row, c, str(v))
                row += 1
        if ws is None:
            _sheet(wb, "全程留痕", bold)
        wb.close()
    except BaseException:
        f.close()
        raise
    return f


def _sheet(wb, name, bold):
    ws = wb.add_worksheet(name)
    for i, c in enumerate(COLUMNS):
        ws.set_column(i, i, XLSX_WIDTHS.get(c, 12))
    ws.freeze_panes(1, 0)
    ws.write_row(0, 0, [TITLES[c] for c in COLUMNS], bold)
    return ws


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
        self.users, self.units, self.zone = orgs.user_names(), orgs.org_names(), local_zone()
        self.fields = _form_fields()
        self.processes = {row.process_id: row.name for row in processes.latest_versions()}
        self.definitions, self.forms, self.said = {}, {}, {}

    def pages(self, pages):
        """Each page of `row_pages(..., forms=True)` as a page of rows to read, in COLUMNS' order."""
        users, units, props, said, local = self.users, self.units, self._props, self._said, LocalTimes(self.zone).iso
        for page in pages:
            rows = []
            for (id_, at, actor, action, case_id, task, task_id, org, ip, before, after, detail, seq, hash_,
                 version, form, kind) in page:
                form = props(version, form, kind, action)
                at = local(at) or ""
                rows.append([id_, f"{at[:10]} {at[11:19]}".strip(),
                             "系统" if actor == "system" else users.get(actor, actor),
                             ACTION_LABELS.get(action, action), case_id, task, task_id, units.get(org, org), ip,
                             said(before, form), said(after, form), detail, seq, hash_])
            yield rows

    def _said(self, text, form):
        """`change` of a before or after stored as `text`, remembered for the short ones that recur (a
        task's role and unit, a claim)."""
        if text is None:
            return None
        if len(text) > 200:
            return self.change(audit._loads(text), form)
        key = (text, id(form))
        said = self.said.get(key, self)
        if said is self:
            if len(self.said) > 10_000:         # bounded: a few MB whatever the export
                self.said.clear()
            said = self.said[key] = self.change(audit._loads(text), form)
        return said

    def _props(self, version, form, kind, action):
        """The properties of the form an event's change was made with: its task's own form, or for the
        case's start the start form of its process version; None for no form."""
        if version is None:
            return None
        key = (version, form, kind) if kind is not None else (version, action == "case_started")
        if key not in self.forms:
            definition = self._definition(version)
            if kind is not None:
                schema = processes.app_form(form) if kind == "order" else definition.form(form)
            else:
                schema = definition.form(definition.start.form) if action == "case_started" else None
            self.forms[key] = (schema or {}).get("properties") or None
        return self.forms[key]

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
            return _local(v, "%Y-%m-%d %H:%M", self.zone)
        return self.units.get(v, v)


def _local(value, fmt, zone):
    try:
        return datetime.fromisoformat(value).astimezone(zone).strftime(fmt)
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
