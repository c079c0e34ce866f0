"""Browser pages of the audit trail: the auditors' page (审计: how many events match, the export
with its progress, the chain's verification) and a case's printable file (卷宗).

Session-authenticated (flask_login); the export answers with the same `audit_export.response` as
the JSON API, the verification with the same `audit.verify`."""
from datetime import datetime, time, timedelta

from flask import Blueprint, abort, jsonify, render_template, request
from flask_login import current_user, login_required

from .. import audit, audit_export, cases, conversation, evidence, orgs, policy, processes
from ..labels import TASK_STATUS_LABELS
from ..models.types import utcnow
from ..presenters import event_note, list_item_label
from ..timefmt import local_zone, short
from . import ACTION_LABELS, result_rows
from .forms import is_number

audit_bp = Blueprint("audit", __name__)

FORMAT_LABELS = {"csv": "CSV（Excel/WPS）", "jsonl": "JSON Lines", "xlsx": "XLSX 工作簿"}
SUPERVISION_ACTIONS = ("reminder", "case_urged", "overdue", "case_listed", "problem_order", "extension_requested",
                       "extension_approved", "extension_refused", "flag_raised")


def _filters():
    """(filters for audit_export, the values as given, errors by field) from the query string.
    The dates are county dates, both included; the actor is a username or a person's name; `kind`
    is one of audit_export.KINDS (on the page, a case's own history unless asked otherwise)."""
    args = request.args
    values = {k: args.get(k, "").strip()[:200] for k in ("case_id", "from", "to", "format", "actor", "action",
                                                         "org", "kind")}
    filters, errors = {"case_id": None, "start": None, "end": None, "actor": None, "action": None,
                       "org_code": None, "kind": "history"}, {}
    if values["case_id"]:
        if is_number(values["case_id"]) and int(values["case_id"]) > 0:
            filters["case_id"] = int(values["case_id"])
        else:
            errors["case_id"] = "应为案件编号（数字）"
    for key, target, days in (("from", "start", 0), ("to", "end", 1)):
        if values[key]:
            try:
                day = datetime.strptime(values[key], "%Y-%m-%d").date()
                if not 1970 <= day.year <= 9000:
                    raise ValueError
                filters[target] = datetime.combine(day + timedelta(days=days), time(), tzinfo=local_zone())
            except ValueError:
                errors[key] = "应为日期，如 2026-05-01"
    if filters["start"] and filters["end"] and filters["start"] >= filters["end"]:
        errors["to"] = "截止日期不能早于起始日期"
    if values["actor"]:
        by_name = {name: username for username, name in orgs.user_names().items()}
        filters["actor"] = by_name.get(values["actor"], values["actor"])
    if values["action"]:
        if values["action"] in ACTION_LABELS:
            filters["action"] = values["action"]
        else:
            errors["action"] = "没有这种事件"
    if values["org"]:
        if values["org"] in orgs.org_names():
            filters["org_code"] = values["org"]
        else:
            errors["org"] = "没有这个单位"
    if values["kind"] not in audit_export.KINDS:
        values["kind"] = "history"
    filters["kind"] = values["kind"]
    if values["format"] not in audit_export.FORMATS:
        values["format"] = "csv"
    return filters, values, errors


def _keyset(name):
    raw = request.args.get(name, "")
    return int(raw) if is_number(raw) else None


@audit_bp.route("/audit")
@login_required
def page():
    """The auditors' page: the events that match the filters, newest first, a page at a time (keyset
    paging by event id: 较早 / 较新), how many match, the export and the chain's verification."""
    policy.require(current_user, "audit.export")       # before the filters are read: refused whatever they say
    filters, values, errors = _filters()
    total, rows, older, newer = None, [], False, False
    if not errors:
        total = audit_export.count(current_user, **filters)
        rows, older, newer = audit_export.browse(current_user, before=_keyset("before"), after=_keyset("after"),
                                                 **filters)
    query = {k: v for k, v in values.items() if v and k != "format"}
    return render_template("audit.html", values=values, errors=errors, total=total, rows=rows, older=older,
                           newer=newer, query=query, FORMAT_LABELS=FORMAT_LABELS, KIND_LABELS=audit_export.KINDS,
                           units=sorted(orgs.org_names().items()), org_names=orgs.org_names(),
                           user_names=orgs.user_names()), (422 if errors else 200)


@audit_bp.route("/audit/export")
@login_required
def export():
    """The same export as GET /api/v1/audit/export, for the page's session (dates as on the page)."""
    policy.require(current_user, "audit.export")
    filters, values, errors = _filters()
    if errors:
        abort(400)
    return audit_export.response(current_user, values["format"], **filters)


@audit_bp.route("/audit/count")
@login_required
def count():
    policy.require(current_user, "audit.export")
    filters, _values, errors = _filters()
    if errors:
        return jsonify({"error": "invalid", "message": "筛选条件有误", "errors": errors}), 400
    return jsonify({"count": audit_export.count(current_user, **filters)})


@audit_bp.route("/audit/verify")
@login_required
def verify():
    """The same answer as GET /api/v1/audit/verify (?since=checkpoint likewise)."""
    return jsonify(audit.verify_chain(current_user, since_checkpoint=request.args.get("since") == "checkpoint"))


# --- the case file ------------------------------------------------------------------------------
@audit_bp.route("/cases/<int(max=2147483647):case_id>/dossier")
@login_required
def dossier(case_id):
    """卷宗: everything on record about one case, laid out for A4 paper, for anyone who may see it."""
    found = cases.case_history(current_user, case_id)
    case, tasks, events = found.case, found.tasks, found.events
    definition = processes.definition(case.definition_row)
    now = utcnow()
    files = evidence.verify(case_id)
    return render_template(
        "dossier.html", case=case, definition=definition, now=now, org_names=orgs.org_names(),
        files=files, bad_files=sum(1 for _f, problem in files if problem),
        file_labels={f.id: evidence.label_of(f) for f, _p in files},
        step_names={t.id: t.name for t in tasks},
        user_names=orgs.user_names(), events=events, check=audit.verify_case(case_id),
        start_fields=result_rows(definition.form(definition.start.form) or {}, case.data or {}),
        steps=[_step(definition, t, now) for t in tasks],
        supervision=[(e, _supervision_note(e)) for e in events if e.action in SUPERVISION_ACTIONS],
        comments=conversation.comments(current_user, case_id, 1, 10000)[0], tasks_by_id={t.id: t for t in tasks},
        withdrawal=next((e for e in events if e.action == "case_withdrawn"), None),
        list_item=list_item_label(case.list_item) if case.list_item else None,
        event_note=event_note, process_names={case.process_id: definition.name},
        TASK_STATUS_LABELS=TASK_STATUS_LABELS)


def _step(definition, task, now):
    schema = processes.app_form(task.form) if task.kind == "order" else definition.form(task.form)
    return {"task": task, "timeliness": _timeliness(task, now),
            "fields": result_rows(schema or {}, task.result or {})}


def _timeliness(task, now):
    """(label, css class) of a step against its deadline, or None when it had none."""
    if task.due_at is None:
        return None
    if task.completed_at is not None:
        return ("按时", "ok") if task.completed_at <= task.due_at else ("超时", "late")
    if task.status == "ready":
        return ("已超时", "late") if now > task.due_at else ("未到期", "")
    return None


def _supervision_note(e):
    """What a supervision event says, in a sentence."""
    after = e.after or {}
    opinion = f"；意见：{e.detail}" if e.detail else ""
    if e.action == "extension_requested":
        return f"申请延期 {after.get('days')} 个工作日：{after.get('reason', '')}"
    if e.action == "extension_approved":
        return f"同意延期 {after.get('days')} 个工作日{_new_due(after.get('due_at'))}{opinion}"
    if e.action == "extension_refused":
        return f"不同意延期 {after.get('days')} 个工作日{opinion}"
    if e.action == "flag_raised":
        return f"{after.get('label', '')}：{after.get('evidence', '')}"
    return e.detail or ACTION_LABELS.get(e.action, e.action)


def _new_due(value):
    try:
        return f"，新时限 {short(datetime.fromisoformat(value))}" if value else ""
    except (TypeError, ValueError):       # as recorded, even when it is not a time
        return f"，新时限 {value}"
