"""Thin views: parse, call one domain function, answer."""
from flask import Response, g, jsonify, request
from flask_limiter.errors import RateLimitExceeded
from flask_smorest import abort

from .. import audit, auth, cases, duty_list, lists, orgs, policy, processes, reports
from ..audit import event_to_dict
from ..audit_export import response as export_response
from ..errors import error_response
from ..presenters import case_detail, case_dict, task_dict
from ..task_context import task_context
from ..timefmt import iso
from . import ApiBlueprint, schemas as s

blp = ApiBlueprint("api", __name__, url_prefix="/api/v1", description="呼应 JSON API")


@blp.before_request
def authenticate():
    """Every API call but the token exchange needs a valid bearer token (no cookies, so no CSRF)."""
    if policy.rule_of(request.endpoint, request.method) == policy.PUBLIC:
        return None
    header = request.headers.get("Authorization", "")
    user = auth.user_from_token(header[7:].strip()) if header[:7].lower() == "bearer " else None
    if user is None:
        return error_response(401, "unauthorized", "需要有效的 Bearer 令牌", headers={"WWW-Authenticate": "Bearer"})
    g.user = user
    return None


RETRY_AFTER = {"Retry-After": {"description": "seconds until a login may be tried again",
                               "schema": {"type": "integer"}}}


@blp.route("/auth/token", methods=["POST"], endpoint="token")
@auth.limit_login_per_address
@auth.limit_login_per_user
@blp.doc(security=[])
@blp.arguments(s.TokenRequest)
@blp.response(200, s.IssuedToken)
@blp.errors(401)
@blp.alt_response(429, schema=s.ApiError, headers=RETRY_AFTER,
                  description="too many failed logins for this username or from this address")
def token(args):
    """Exchange a username and password for a bearer token, valid until `expires_at` or its revocation.
    Failed attempts are limited per username and per client address (429 with Retry-After)."""
    user = auth.authenticate(args["username"], args["password"])
    if user is None:
        abort(401, message="用户名或密码错误")
    token = auth.sign_in(user, "api")
    return {"token": token, "expires_at": iso(user.login_session.expires_at)}


@blp.errorhandler(RateLimitExceeded)
def login_throttled(error):
    retry_after = auth.throttled(error)
    return error_response(429, "too_many_requests", f"登录失败次数过多，请 {retry_after} 秒后再试",
                          headers={"Retry-After": str(retry_after)})


@blp.route("/auth/logout", methods=["POST"], endpoint="logout")
@blp.response(204)
def logout():
    """Revoke the token this call is made with: from now on it answers 401."""
    auth.sign_out(g.user)


@blp.route("/users/<string(maxlength=50):username>/revoke", methods=["POST"])
@blp.response(200, s.Revoked)
@blp.errors(403)
def revoke_user(username):
    """End every browser session and API token of a user (admin): they must sign in again."""
    return auth.revoke_user(g.user, username)


@blp.route("/me")
@blp.response(200, s.Me)
def me():
    """The signed-in user."""
    u = g.user
    return {"username": u.username, "name": u.name, "roles": u.roles,
            "org": {"code": u.org.code, "name": u.org.name} if u.org else None}


def _process_dict(row):
    return {"process_id": row.process_id, "version": row.version, "name": row.name,
            "start_role": row.start_role, "deployed_at": iso(row.deployed_at), "deployed_by": row.deployed_by}


@blp.route("/processes")
@blp.response(200, s.Process(many=True))
def list_processes():
    """Deployed processes, newest version of each."""
    return [_process_dict(r) for r in processes.latest_versions()]


@blp.route("/processes/<process_id>")
@blp.response(200, s.ProcessDetail)
def get_process(process_id):
    """The newest version of a process, with the JSON Schema of its start form."""
    row = processes.latest_version(process_id)
    if row is None:
        abort(404, message=f"没有已部署的流程 {process_id}")
    definition = processes.definition(row)
    d = _process_dict(row)
    d["start_form"] = cases.form_schema(definition, definition.start.form)
    d["tasks"] = [{"element_id": t.element_id, "name": t.name, "role": t.role, "form": t.form}
                  for t in definition.tasks.values()]
    return d


@blp.route("/processes/<process_id>/versions/<int(max=2147483647):number>/bpmn")
@blp.alt_response(200, content_type="application/xml", schema=s.TEXT, description="the BPMN XML of that version")
def process_bpmn(process_id, number):
    """The BPMN XML of one deployed version."""
    row = processes.version(process_id, number)
    if row is None:
        abort(404, message="没有这个版本")
    return Response(row.bpmn, mimetype="application/xml")


@blp.route("/cases", methods=["POST"])
@blp.arguments(s.CaseCreate)
@blp.response(201, s.CaseDetail)
@blp.errors(403, 404, 422)
def create_case(args):
    """Start a case of a process with its start data."""
    case = cases.start_case(g.user, args["process_id"], args["data"])
    return case_detail(case, cases.current_tasks(case.id), orgs.org_names())


@blp.route("/cases")
@blp.arguments(s.CaseQuery, location="query")
@blp.response(200, s.CasePage)
def list_cases(args):
    """The cases the caller may see, newest first; with `q`, those matching its words, best first, each with
    its `highlight`."""
    filters = dict(process_id=args.get("process_id"), status=args.get("status"), stuck=args.get("stuck", False))
    if "q" in args:
        found = lists.search_page(g.user, args["q"], args["page"], args["per_page"], **filters)
        items = [dict(case_dict(c), highlight=vars(found.marks[c.id])) for c in found.cases]
        page = {"items": items, "total": found.total, "page": args["page"], "per_page": args["per_page"]}
        return dict(page, total_capped=True) if found.capped else page
    rows, total = lists.case_page(g.user, args["page"], args["per_page"], **filters)
    return {"items": [case_dict(c) for c in rows], "total": total, "page": args["page"], "per_page": args["per_page"]}


@blp.route("/cases/<int(max=2147483647):case_id>")
@blp.response(200, s.CaseDetail)
def get_case(case_id):
    """One case: its data, status and current tasks."""
    case = cases.get_case(g.user, case_id)
    return case_detail(case, cases.current_tasks(case.id), orgs.org_names())


@blp.route("/cases/<int(max=2147483647):case_id>/audit")
@blp.response(200, s.AuditEvent(many=True))
def case_audit(case_id):
    """The case's audit events, oldest first."""
    return [event_to_dict(e) for e in cases.case_trail(g.user, case_id)]


@blp.route("/tasks")
@blp.arguments(s.TaskQuery, location="query")
@blp.response(200, s.TaskPage)
def inbox(args):
    """The caller's inbox: ready tasks for the caller's roles and org unit."""
    rows, total = lists.inbox_page(g.user, args["page"], args["per_page"], case_id=args.get("case_id"),
                             process_id=args.get("process_id"))
    names = orgs.org_names()
    return {"items": [task_dict(t, names) for t in rows], "total": total, "page": args["page"],
            "per_page": args["per_page"]}


@blp.route("/tasks/<task_id>")
@blp.response(200, s.TaskDetail)
def get_task(task_id):
    """A task with the JSON Schema of its form and its current data."""
    task, case, _definition, schema = cases.task_view(g.user, task_id)
    d = task_dict(task, orgs.org_names())
    d.update(form=schema, instructions=task.instructions, result=task.result,
             completed_by=task.completed_by, completed_at=iso(task.completed_at), data=case.data or {},
             context=task_context(g.user, task).to_dict())
    return d


@blp.route("/tasks/<task_id>/claim", methods=["POST"])
@blp.response(200, s.Task)
@blp.errors(403, 409)
def claim(task_id):
    """Take a task so that no one else in the unit works on it."""
    return task_dict(cases.claim_task(g.user, task_id))


@blp.route("/tasks/<task_id>/unclaim", methods=["POST"])
@blp.response(200, s.Task)
@blp.errors(403, 409)
def unclaim(task_id):
    """Give a claimed task back to the unit."""
    return task_dict(cases.unclaim_task(g.user, task_id))


@blp.route("/tasks/<task_id>/complete", methods=["POST"])
@blp.arguments(s.Complete)
@blp.response(200, s.CompleteResult)
@blp.errors(403, 409, 422)
def complete(args, task_id):
    """Complete a task with its form data; answers the case and its next tasks."""
    case, next_tasks = cases.complete_task(g.user, task_id, args["data"])
    names = orgs.org_names()
    tasks = [task_dict(t, names) for t in next_tasks]
    detail = case_detail(case, [], names)
    detail["current_tasks"] = tasks
    return jsonify({"case": detail, "next_tasks": tasks})   # already in the schema's shape


@blp.route("/stats")
@blp.arguments(s.StatsQuery, location="query")
@blp.response(200, s.Stats)
def stats(args):
    """Counts and rates for the caller's scope — a township its calls, a department the calls
    dispatched to it, the centre, supervisor, leader and admin the county — for ?period=2026 or
    2026-11 (by the month the call was raised; the current year by default). Rates: app/metrics.py."""
    return reports.stats(g.user, args.get("period"))


@blp.route("/reports")
@blp.arguments(s.CountyReportQuery, location="query")
@blp.response(200, s.Report)
@blp.errors(403, 422)
def county_report(args):
    """The assessment report for a month or a year: per department and per township, ranked with
    red and black lists, and the monthly trend of the three rates (supervisor, leader, centre, admin)."""
    return reports.county_report(g.user, args.get("period") or reports.current_period())


@blp.route("/reports/weights", methods=["GET"])
@blp.response(200, s.Weights)
def report_weights():
    """The assessment's weights in force."""
    return reports.weights()


@blp.route("/reports/weights", methods=["PUT"])
@blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": s.WeightsIn}}})
@blp.response(200, s.Weights)
@blp.errors(403, 422)
def save_report_weights():
    """Change some of the weights (admin): a JSON object of the keys to change."""
    return reports.save_weights(g.user, request.get_json(silent=True))


@blp.route("/responsibility-list")
@blp.arguments(s.ListQuery, location="query")
@blp.response(200, s.ResponsibilityList)
@blp.errors(404)
def responsibility_list(args):
    """The published responsibility list, or an earlier version with ?version=n."""
    lv = duty_list.version(args.get("version") or None)
    if lv is None:
        abort(404, message="没有这个版本的清单")
    return {"version": lv.version, "title": lv.title, "published_at": iso(lv.published_at),
            "effective_date": lv.effective_on, "items": [i.to_dict() for i in duty_list.items(lv)]}


@blp.route("/audit/verify")
@blp.arguments(s.AuditVerifyQuery, location="query")
@blp.response(200, s.AuditVerify)
@blp.errors(403)
def audit_verify(args):
    """Whether the audit trail's hash chain is intact, and if not the first event altered or removed
    (supervisor, admin); ?since=checkpoint walks only what was written since the last intact walk."""
    return audit.verify_chain(g.user, since_checkpoint=args.get("since") == "checkpoint")


@blp.route("/audit/export")
@blp.arguments(s.AuditQuery, location="query")
@blp.alt_response(200, content_type="application/x-ndjson", schema=s.TEXT, headers=s.TOTAL_COUNT,
                  description="JSON Lines (format=jsonl, the default), CSV (UTF-8 with BOM) or XLSX; "
                              "the header X-Total-Count says how many events match")
@blp.alt_response(200, content_type="text/csv", schema=s.TEXT, headers=s.TOTAL_COUNT)
@blp.alt_response(200, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                  schema=s.BINARY, headers=s.TOTAL_COUNT)
@blp.errors(403)
def audit_export(args):
    """The audit trail, streamed, filtered by case and time (supervisor, admin)."""
    return export_response(g.user, args["format"], args.get("case_id"), args.get("from_"), args.get("to"))
