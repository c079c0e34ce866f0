"""Browser pages of 督办: the supervisor's dashboard of stuck cases with the process diagrams,
flags on units, the centre's extension approvals and the admin's working-day calendar.

Session-authenticated (flask_login) with CSRF on every form; the same domain functions as the
JSON API in app/api/supervision.py."""
import csv
import io
import re
from datetime import date

from flask import (Blueprint, Response, abort, flash, redirect, render_template, request, stream_with_context,
                   url_for)
from flask_login import current_user, login_required

from .. import cases, deadlines, orgs, policy, processes, supervision
from ..assets import compressed
from ..errors import CaseError, Forbidden
from ..models.types import utcnow
from ..timefmt import local_zone, short
from . import URGENCY_LABELS

supervision_bp = Blueprint("supervision", __name__)

REASON_LABELS = {"overdue": "超时", "idle": "长时间无进展", "no_task": "无人待办", "errored": "流程异常", "waiting": "等待消息"}
REASON_TAGS = {"overdue": "超时", "idle": "无进展", "no_task": "无人待办", "errored": "异常",   # in the table's cells
               "waiting": "等待消息"}
CALENDAR_KINDS = {"holiday": "节假日", "workday": "调休上班"}
WEEKDAYS = "一二三四五六日"
DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
LIMIT = 200                       # what the domain functions return at most (per kind of trouble)
MAX_AGE_HOURS = 24 * 3650
CSV_COLUMNS = [("case_id", "案件编号"), ("case_title", "事项"), ("task", "环节"), ("org", "承办单位"),
               ("township", "发起乡镇"), ("urgency", "紧急程度"), ("waiting_since", "等待自"),
               ("due_at", "时限"), ("reason", "原因"), ("detail", "说明")]


def _back(default):
    """A local path the form asked to return to (its own page with its filters), else `default`."""
    target = request.form.get("next", "")
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else default


# --- the dashboard ------------------------------------------------------------------------------
def _filters():
    """The dashboard's filters from the query string; anything not on offer is ignored."""
    args = request.args
    departments = dict(orgs.form_options("departments"))
    townships = dict(orgs.form_options("townships"))
    hours = args.get("min_age_hours", type=int)
    return {"department": args.get("department") if args.get("department") in departments else None,
            "township": args.get("township") if args.get("township") in townships else None,
            "urgency": args.get("urgency") if args.get("urgency") in URGENCY_LABELS else None,
            "min_age_hours": hours if hours is not None and 1 <= hours <= MAX_AGE_HOURS else None}


def _stuck_rows(filters):
    """The stuck rows, with the name of each errored case's failing element instead of its id."""
    rows = supervision.stuck(current_user, limit=LIMIT, **filters)
    definitions = {}
    for key in {(r["process_id"], r["process_version"]) for r in rows}:
        row = processes.version(*key)
        definitions[key] = processes.definition(row) if row is not None else None
    for r in rows:
        definition = definitions.get((r["process_id"], r["process_version"]))
        if r["reason"] == "errored" and r["task"] and definition is not None:
            r["task"] = definition.names.get(r["task"]) or r["task"]
    return rows, definitions


def age(since, now=None):
    """How long since `since`, as people say it: 3天5小时, 5小时12分钟, 8分钟."""
    if since is None:
        return ""
    minutes = max(0, int(((now or utcnow()) - since).total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days}天{hours}小时" if hours else f"{days}天"
    if hours:
        return f"{hours}小时{minutes}分钟" if minutes else f"{hours}小时"
    return f"{minutes}分钟" if minutes else "不足1分钟"


@supervision_bp.route("/supervision")
@login_required
def dashboard():
    filters = _filters()
    rows, definitions = _stuck_rows(filters)
    summary = {reason: sum(1 for r in rows if r["reason"] == reason) for reason in REASON_LABELS}
    diagrams = []
    for (process_id, version), counts in sorted(supervision.stuck_counts_by_element(rows).items()):
        definition = definitions.get((process_id, version))
        diagrams.append({
            "process_id": process_id, "version": version, "counts": counts,
            "name": definition.name if definition is not None else process_id,
            "elements": [(definition.names.get(e, e) if definition is not None else e, n)
                         for e, n in sorted(counts.items(), key=lambda kv: -kv[1])],
        })
    query = {k: v for k, v in filters.items() if v is not None}
    return render_template("supervision.html", rows=rows, summary=summary, diagrams=diagrams, filters=filters,
                           query=query, now=utcnow(), age=age, capped=any(n >= LIMIT for n in summary.values()),
                           departments=orgs.form_options("departments"), townships=orgs.form_options("townships"),
                           org_names=orgs.org_names(), REASON_LABELS=REASON_LABELS, REASON_TAGS=REASON_TAGS,
                           limit=LIMIT)


@supervision_bp.route("/supervision/export.csv")
@login_required
def export_csv():
    """The dashboard's rows (same filters) as CSV for spreadsheets: UTF-8 with a BOM, Chinese headers."""
    rows, _ = _stuck_rows(_filters())
    names = orgs.org_names()

    def value(r, key):
        v = r[key]
        if key in ("org", "township"):
            return names.get(v, v) or ""
        if key in ("waiting_since", "due_at"):
            return short(v)
        if key == "urgency":
            return URGENCY_LABELS.get(v, v) or ""
        if key == "reason":
            return REASON_LABELS.get(v, v)
        return "" if v is None else v

    def lines():
        buf = io.StringIO()
        writer = csv.writer(buf)
        buf.write("\ufeff")
        writer.writerow([title for _, title in CSV_COLUMNS])
        for r in rows:
            writer.writerow([value(r, key) for key, _ in CSV_COLUMNS])
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
        yield buf.getvalue()

    stamp = utcnow().astimezone(local_zone()).strftime("%Y%m%d-%H%M")
    return Response(stream_with_context(lines()), mimetype="text/csv; charset=utf-8", headers={
        "Content-Disposition": f"attachment; filename=stuck-cases-{stamp}.csv", "Cache-Control": "no-store"})


@supervision_bp.route("/supervision/cases/<int(max=2147483647):case_id>/retry", methods=["POST"])
@login_required
def retry(case_id):
    try:
        case = cases.retry_case(current_user, case_id)
    except Forbidden:
        raise
    except CaseError as e:
        flash(f"重试未成功：{e.message}", "error")
    else:
        if case.status == "errored":
            flash(f"已重试，但流程仍然异常：{case.error_message}", "error")
        else:
            flash(f"已重试：{case.title}（#{case.id}）恢复办理", "ok")
    return redirect(_back(url_for("supervision.dashboard")))


@supervision_bp.route("/processes/<process_id>/versions/<int(max=2147483647):number>.bpmn")
@login_required
def process_xml(process_id, number):
    """A deployed version's BPMN, for the diagrams of the pages (any logged-in user)."""
    row = processes.version(process_id, number)
    if row is None:
        abort(404)
    return compressed(row.bpmn, "application/xml", "private, max-age=3600")


# --- flags --------------------------------------------------------------------------------------
@supervision_bp.route("/supervision/flags", methods=["GET", "POST"])
@login_required
def flag_page():
    values, errors = {}, {}
    if request.method == "POST":
        values = {k: request.form.get(k, "").strip() for k in ("org", "kind", "case_id", "evidence")}
        raw_case = values["case_id"]
        # a number the database can hold, else passed on as given for the domain to refuse
        number = raw_case.isascii() and raw_case.isdigit() and len(raw_case) <= 10 and int(raw_case) < 2 ** 31
        case_id = (int(raw_case) if number else raw_case) if raw_case else None
        try:
            if len(values["evidence"]) > 5000 or "\x00" in values["evidence"]:
                raise supervision.SupervisionError(422, "invalid", "标记填写有误",
                                                   {"evidence": "不超过 5000 字，且不含控制字符"})
            flag = supervision.raise_flag(current_user, values["org"] or None, values["kind"] or None,
                                          values["evidence"], case_id)
        except Forbidden:
            raise
        except CaseError as e:
            errors = dict(e.errors or {})
            if not values["org"]:
                errors["org"] = "请选择单位"
            if "kind" in errors:
                errors["kind"] = "请选择类别"
            if "case_id" in errors and not isinstance(case_id, int):
                errors["case_id"] = "应为案件编号（数字）"
            flash("标记填写有误，请检查标红的项目", "error")
        else:
            label = supervision.FLAG_KINDS[flag.kind][1]
            flash(f"已标记：{orgs.org_names().get(flag.org_code, flag.org_code)} · {label}", "ok")
            return redirect(url_for("supervision.flag_page"))
    units = [("乡镇", orgs.form_options("townships")), ("县级部门", orgs.form_options("departments"))]
    kinds = [(code, label, "乡镇" if unit == "township" else "县级部门")
             for code, (unit, label) in supervision.FLAG_KINDS.items()]
    return render_template("supervision_flags.html", flags=supervision.flags(current_user, limit=LIMIT), values=values,
                           errors=errors, units=units, kinds=kinds, org_names=orgs.org_names(),
                           user_names=orgs.user_names(), limit=LIMIT,
                           FLAG_LABELS={k: v[1] for k, v in supervision.FLAG_KINDS.items()}), (422 if errors else 200)


# --- extensions ---------------------------------------------------------------------------------
@supervision_bp.route("/extensions")
@login_required
def extensions():
    pending, tasks, titles = supervision.review_queue(current_user, limit=LIMIT)
    return render_template("extensions.html", pending=pending, tasks=tasks, titles=titles,
                           may_decide=policy.allows(current_user, "extension.decide"), org_names=orgs.org_names(),
                           user_names=orgs.user_names(), limit=LIMIT)


@supervision_bp.route("/extensions/<int(max=2147483647):ext_id>/decide", methods=["POST"])
@login_required
def decide(ext_id):
    policy.require(current_user, "extension.decide")    # before the form is read: refused whatever it says
    decision = request.form.get("decision")
    opinion = request.form.get("opinion", "").strip()
    if decision not in ("approve", "refuse"):
        flash("请选择同意或不同意", "error")
    elif len(opinion) > 2000 or "\x00" in opinion:
        flash("意见不超过 2000 字，且不含控制字符", "error")
    else:
        try:
            ext = supervision.decide_extension(current_user, ext_id, decision == "approve", opinion,
                                               cases.load_for_write, cases.save_run)
        except CaseError as e:
            flash(e.message, "error")
        else:
            if ext.status == "approved":
                flash(f"已同意延期 {ext.days} 个工作日，新时限 {short(ext.new_due_at) or '—'}", "ok")
            else:
                flash("已不同意此延期申请" if decision == "refuse" else "任务已不在办理中，申请未获同意", "ok")
    return redirect(url_for("supervision.extensions"))


# --- the calendar -------------------------------------------------------------------------------
def _year(value):
    return value if isinstance(value, int) and 2000 <= value <= 2100 else None


@supervision_bp.route("/admin/calendar", methods=["GET", "POST"])
@login_required
def calendar():
    policy.require(current_user, "calendar.edit")       # the admin's editor, even to look at it
    values, errors = {}, {}
    year = _year(request.args.get("year", type=int))
    everything = deadlines.calendar_days(current_user)
    if request.method == "POST":
        values = {k: request.form.get(k, "").strip() for k in ("day", "kind", "name")}
        if values["kind"] not in CALENDAR_KINDS:
            errors["kind"] = "请选择类型"
        if len(values["name"]) > 100 or "\x00" in values["name"]:
            errors["name"] = "名称不超过 100 字"
        try:
            if not DAY.fullmatch(values["day"]):
                raise ValueError(values["day"])
            parsed = date.fromisoformat(values["day"])
        except ValueError:
            errors["day"] = "日期格式应为 YYYY-MM-DD" if values["day"] else "请填写日期"
        else:
            if not _year(parsed.year):
                errors["day"] = "日期应在 2000—2100 年之间"
        if not errors:
            try:
                row = deadlines.set_calendar_day(current_user, values["day"], values["kind"], values["name"])
            except CaseError as e:
                errors = dict(e.errors or {"day": e.message})
            else:
                flash(f"已保存：{row.day} {CALENDAR_KINDS[row.kind]}{(' · ' + row.name) if row.name else ''}", "ok")
                return redirect(url_for("supervision.calendar", year=int(row.day[:4])))
        flash("填写有误，请检查标红的项目", "error")
        year = year or (_year(int(values["day"][:4])) if values["day"][:4].isdigit() else None)
    elif request.args.get("edit"):
        row = next((d for d in everything if d.day == request.args["edit"][:10]), None)
        if row is not None:
            values = {"day": row.day, "kind": row.kind, "name": row.name}
    today = utcnow().astimezone(local_zone()).date()
    year = year or today.year
    years = {int(d.day[:4]) for d in everything if d.day[:4].isdigit()} | {today.year, year}
    days = [d for d in everything if d.day.startswith(f"{year}-")]
    weekdays = {d.day: "周" + WEEKDAYS[date.fromisoformat(d.day).weekday()] for d in days}
    return render_template("calendar.html", days=days, weekdays=weekdays, year=year, years=sorted(years),
                           values=values, errors=errors, kinds=CALENDAR_KINDS), \
        (422 if errors else 200)


@supervision_bp.route("/admin/calendar/<day>/remove", methods=["POST"])
@login_required
def remove_day(day):
    try:
        deadlines.remove_calendar_day(current_user, day[:10])
    except Forbidden:
        raise
    except CaseError as e:
        flash(e.message, "error")
    else:
        flash(f"已删除：{day[:10]}（恢复按星期计算）", "ok")
    year = _year(int(day[:4])) if day[:4].isdigit() else None
    return redirect(url_for("supervision.calendar", year=year))
