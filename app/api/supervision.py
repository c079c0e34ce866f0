"""Supervision endpoints: stuck cases, flags, retries, extensions, the calendar and settings."""
import csv
import io

from flask import Response, g, request
from flask_smorest import abort

from .. import cases, deadlines, orgs, supervision
from ..presenters import case_detail
from ..timefmt import iso
from . import schemas as s
from .views import blp

STUCK_COLUMNS = [("case_id", "案件编号"), ("case_title", "事项"), ("task", "环节"), ("org", "承办单位"),
                 ("township", "发起乡镇"), ("urgency", "紧急程度"), ("waiting_since", "等待自"),
                 ("due_at", "时限"), ("reason", "原因"), ("detail", "说明")]


def _stuck_dict(r):
    return dict(r, waiting_since=iso(r["waiting_since"]), due_at=iso(r["due_at"]))


@blp.route("/supervision/stuck")
@blp.arguments(s.StuckQuery, location="query")
@blp.response(200, s.StuckRow(many=True))
@blp.alt_response(200, content_type="text/csv", schema=s.TEXT,
                  description="with ?format=csv: the same list as CSV (UTF-8, BOM)")
@blp.errors(403)
def stuck(args):
    """Open cases overdue, idle or errored (supervisor); filters by department, township, urgency, age."""
    rows = [_stuck_dict(r) for r in supervision.stuck(g.user, department=args.get("department"),
                                                        township=args.get("township"), urgency=args.get("urgency"),
                                                        min_age_hours=args.get("min_age_hours"))]
    if args["format"] != "csv":
        return rows
    names = orgs.org_names()
    buf = io.StringIO()
    buf.write("\ufeff")
    writer = csv.writer(buf)
    writer.writerow([title for _, title in STUCK_COLUMNS])
    for r in rows:
        writer.writerow([names.get(r[k], r[k]) if k in ("org", "township") else ("" if r[k] is None else r[k])
                         for k, _ in STUCK_COLUMNS])
    response = Response(buf.getvalue(), mimetype="text/csv")      # Flask adds the charset
    response.headers["Content-Disposition"] = "attachment; filename=stuck-cases.csv"
    return response


def _flag_dict(f):
    return {"id": f.id, "org": f.org_code, "kind": f.kind, "label": supervision.FLAG_KINDS[f.kind][1],
            "case_id": f.case_id, "evidence": f.evidence, "created_by": f.created_by, "created_at": iso(f.created_at)}


@blp.route("/supervision/flags", methods=["POST"])
@blp.arguments(s.FlagIn)
@blp.response(201, s.FlagOut)
@blp.errors(403, 422)
def raise_flag(args):
    """Flag a township (乱呼叫, 应呼未呼) or a department (呼叫不响应, 响应不作为) with evidence (supervisor)."""
    return _flag_dict(supervision.raise_flag(g.user, args["org"], args["kind"], args["evidence"], args.get("case_id")))


@blp.route("/supervision/flags")
@blp.response(200, s.FlagOut(many=True))
@blp.errors(403)
def list_flags():
    """The latest flags (supervisor)."""
    return [_flag_dict(f) for f in supervision.flags(g.user)]


@blp.route("/cases/<int(max=2147483647):case_id>/retry", methods=["POST"])
@blp.response(200, s.CaseDetail)
@blp.errors(403, 409)
def retry(case_id):
    """Run an errored case's failed step again after its cause was fixed (supervisor, admin)."""
    case = cases.retry_case(g.user, case_id)
    return case_detail(case, cases.current_tasks(case.id), orgs.org_names())


def _extension_dict(e):
    return {"id": e.id, "task_id": e.task_id, "case_id": e.case_id, "org": e.org_code, "requested_by": e.requested_by,
            "days": e.days, "reason": e.reason, "status": e.status, "old_due_at": iso(e.old_due_at),
            "new_due_at": iso(e.new_due_at), "decided_by": e.decided_by, "opinion": e.opinion,
            "created_at": iso(e.created_at)}


@blp.route("/tasks/<task_id>/extension", methods=["POST"])
@blp.arguments(s.ExtensionIn)
@blp.response(201, s.ExtensionOut)
@blp.errors(403, 409, 422)
def request_extension(args, task_id):
    """申请延期: ask for more working days on one's own task, before its deadline."""
    task = cases.get_task(g.user, task_id)
    return _extension_dict(supervision.request_extension(g.user, task, args["days"], args["reason"]))


@blp.route("/extensions")
@blp.response(200, s.ExtensionOut(many=True))
def list_extensions():
    """Pending extension requests: all for the centre and the supervisor, one's own unit's for others."""
    return [_extension_dict(e) for e in supervision.pending_extensions(g.user)]


@blp.route("/extensions/<int(max=2147483647):ext_id>/decide", methods=["POST"])
@blp.arguments(s.ExtensionDecision)
@blp.response(200, s.ExtensionOut)
@blp.errors(403, 409, 422)
def decide_extension(args, ext_id):
    """The centre approves (the deadline moves by the days asked) or refuses an extension."""
    ext = supervision.decide_extension(g.user, ext_id, args["approved"], args.get("opinion") or "",
                                       cases.load_for_write, cases.save_run)
    return _extension_dict(ext)


@blp.route("/calendar")
@blp.arguments(s.CalendarQuery, location="query")
@blp.response(200, s.CalendarDayOut(many=True))
def calendar(args):
    """Public holidays and make-up working days (调休); ?year= one year."""
    return [{"day": d.day, "kind": d.kind, "name": d.name} for d in deadlines.calendar_days(g.user, args.get("year"))]


@blp.route("/calendar/<isodate:day>", methods=["PUT"])
@blp.arguments(s.CalendarDayIn)
@blp.response(200, s.CalendarDayOut)
@blp.errors(403, 422)
def set_calendar_day(args, day):
    """Mark a date as a holiday or a make-up working day (admin)."""
    row = deadlines.set_calendar_day(g.user, day, args["kind"], args.get("name") or "")
    return {"day": row.day, "kind": row.kind, "name": row.name}


@blp.route("/calendar/<isodate:day>", methods=["DELETE"])
@blp.response(204)
@blp.errors(403)
def remove_calendar_day(day):
    """Return a date to what its weekday says (admin)."""
    deadlines.remove_calendar_day(g.user, day)


@blp.route("/settings/supervision")
@blp.response(200)
def get_settings():
    """Deadline limits per kind and urgency, listing delay, rework cap, extension cap, idle threshold."""
    return deadlines.settings()


@blp.route("/settings/supervision", methods=["PUT"])
@blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": s.SettingsIn}}})
@blp.response(200)
@blp.errors(403, 422)
def put_settings():
    """Change the supervision settings (admin); ISO 8601 limits: PT2H on the clock, P5D in working days."""
    value = request.get_json(silent=True)
    if not isinstance(value, dict):
        abort(422, message="应为 JSON 对象")
    return deadlines.save_settings(g.user, value)

