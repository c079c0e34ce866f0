"""Browser pages: login, inbox, task forms, cases. Chinese first; the same domain functions as the API."""
from flask import Blueprint, flash, jsonify, redirect, render_template, request, session, url_for
from flask_limiter.errors import RateLimitExceeded
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from .. import auth, cases, conversation as talk, deadlines, evidence, grid_events, lists, orgs, policy, processes, scope, waits
# by name: app.web.supervision, the blueprint, takes the module's own name in this package
from ..supervision import (marks as deadline_mark, may_request_extension, request_extension as ask_extension,
                           task_extensions)
from ..errors import CaseError
from ..extensions import db, login_manager
from ..roles import ROLES
from ..timefmt import short
from .forms import is_number, parse_form, task_actions, widgets
from ..task_context import case_orders, task_context
from ..presenters import list_item_label, result_rows  # noqa: F401 - re-exported to the web modules
from ..labels import ACTION_LABELS, STATUS_LABELS, URGENCY_LABELS  # noqa: F401 - re-exported to the web modules

web_bp = Blueprint("web", __name__)

PER_PAGE = 20

login_manager.login_view = "web.login"
login_manager.login_message = "请先登录"


@login_manager.user_loader
def load_user(session_secret):
    """Only a live server-side session signs a cookie's holder in (see app.auth)."""
    return auth.session_user(session_secret, "web")


@web_bp.before_app_request
def _load_session():
    """Check the cookie's session (and note its use) first thing, before any view or error page reads the user."""
    if request.endpoint != "static":
        current_user._get_current_object()


@web_bp.app_template_global()
def can(capability, **target):
    """Whether the signed-in user may (templates ask this, never the roles themselves)."""
    return policy.allows(current_user, capability, **target)


@web_bp.app_context_processor
def labels():
    return {"STATUS_LABELS": STATUS_LABELS, "URGENCY_LABELS": URGENCY_LABELS, "ROLE_LABELS": ROLES,
            "ACTION_LABELS": ACTION_LABELS, "short": short, "human_size": evidence.human_size}


class LoginForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired(), Length(max=50)])
    password = PasswordField("密码", validators=[DataRequired(), Length(max=200)])


@web_bp.route("/healthz")
def healthz():
    """200 only when the database answers; while it does not, app/errors.py answers 503 {status: unavailable}."""
    db.session.execute(select(1))
    return jsonify({"status": "ok"})


@web_bp.route("/login", methods=["GET", "POST"])
@auth.limit_login_per_address
@auth.limit_login_per_user
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = auth.authenticate(form.username.data, form.password.data)
        if user is not None:
            session.clear()                 # nothing from before the login carries over
            auth.sign_in(user, "web")
            login_user(user)
            return redirect(auth.safe_next(request.args.get("next")) or url_for("web.inbox"))
        flash("用户名或密码错误", "error")
    return render_template("login.html", form=form), (401 if request.method == "POST" else 200)


@web_bp.errorhandler(RateLimitExceeded)
def login_throttled(error):
    retry_after = auth.throttled(error)
    flash(f"登录失败次数过多，请 {retry_after} 秒后再试", "error")
    return render_template("login.html", form=LoginForm()), 429, {"Retry-After": str(retry_after)}


@web_bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        auth.sign_out(current_user)
    logout_user()
    return redirect(url_for("web.login"))


def _page():
    raw = request.args.get("page", "")
    return int(raw) if is_number(raw) and int(raw) >= 1 else 1


@web_bp.route("/")
@login_required
def inbox():
    page = _page()
    tasks, total = lists.inbox_page(current_user, page, PER_PAGE)
    return render_template("inbox.html", tasks=tasks, total=total, page=page, per_page=PER_PAGE,
                           org_names=orgs.org_names(), startable=processes.startable(current_user),
                           marks={t.id: deadline_mark(t) for t in tasks}, urgencies=lists.urgencies(tasks))


@web_bp.route("/cases")
@login_required
def case_list():
    status = request.args.get("status")
    status = status if status in STATUS_LABELS else None
    page = _page()
    q = request.args.get("q", "").strip()[:200]
    marks, capped = None, False
    if q:
        found = lists.search_page(current_user, q, page, PER_PAGE, status=status)
        rows, total, marks, capped = found.cases, found.total, found.marks, found.capped
    else:
        rows, total = lists.case_page(current_user, page, PER_PAGE, status=status)
    return render_template("cases.html", cases=rows, total=total, page=page, per_page=PER_PAGE, status=status,
                           q=q, marks=marks, capped=capped, org_names=orgs.org_names())


@web_bp.route("/cases/new/<process_id>", methods=["GET", "POST"])
@login_required
def new_case(process_id):
    _row, definition, schema = cases.start_form(current_user, process_id)
    values, errors = cases.start_values(schema, request.args.to_dict()), {}
    status = 200
    if request.method == "POST":
        values = parse_form(schema, request.form)
        try:
            # the files first: one refused leaves no case, and the page keeps what was typed
            staged = evidence.stage(evidence.uploads_of(request.files, "photos", "files"))
            case = cases.start_case(current_user, process_id, values, files=staged)
        except evidence.FileRefused as e:
            flash(f"{e.message}。已填写的内容已保留，请重新选择文件后提交。", "error")
            status = e.status
        except cases.Invalid as e:
            errors = e.errors or {}
            flash("表单填写有误，请检查标红的项目", "error")
        except cases.CaseError as e:
            flash(e.message, "error")
        else:
            flash(f"已提交：{case.title}", "ok")
            return redirect(url_for("web.case_page", case_id=case.id))
    return render_template("new_case.html", definition=definition, schema=schema, values=values,
                           prefill_from=_prefill_source(schema),
                           errors=errors, fields=widgets(schema, values, errors),
                           upload=evidence.upload_settings()), (422 if errors else status)


def _prefill_source(schema):
    """(object field, the field naming its list item, that field's choices) when a start form can be
    filled from a list item (x-prefill-item), for the page's 按现有事项填写 picker; else None."""
    for name, prop in ((schema or {}).get("properties") or {}).items():
        source = prop.get("x-prefill-item") if isinstance(prop, dict) else None
        if source:
            choices = [(c.get("const"), c.get("title")) for c in
                       ((schema["properties"].get(source) or {}).get("oneOf") or []) if isinstance(c, dict)]
            return {"field": name, "source": source, "choices": choices}
    return None


@web_bp.app_template_global()
def linked_cases(case):
    """The cases linked to this one (an event and the call raised from it) the user may see."""
    return grid_events.linked_cases(current_user, case)


@web_bp.app_template_global()
def grid_event_panel(case):
    return grid_events.panel(current_user, case)


@web_bp.route("/geo/outlines.json")
@login_required
def grid_outlines():
    """The township and grid outlines of the user's maps (GeoJSON), cached briefly by the browser."""
    response = jsonify(grid_events.outlines(current_user))
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


@web_bp.route("/cases/<int(max=2147483647):case_id>")
@login_required
def case_page(case_id):
    found = cases.case_history(current_user, case_id)
    case, current, history = found.case, found.current, found.completed
    definition = processes.definition(case.definition_row)
    start_schema = definition.form(definition.start.form) or {}
    names = orgs.org_names()
    return render_template("case.html", case=case, current=current, history=history,
                           file_groups=evidence.by_step(evidence.files_of(case.id), found.tasks, names),
                           upload=evidence.upload_settings(),
                           own_tasks=[t for t in found.tasks
                                      if t.kind == "engine" and scope.addressed_to(current_user, t)],
                           current_elements=sorted({t.element_id for t in current if t.kind == "engine"}),
                           done_elements=sorted({t.element_id for t in history if t.kind == "engine"}),
                           marks={t.id: deadline_mark(t) for t in current},
                           events=found.events, refusals=found.refusals, org_names=orgs.org_names(),
                           user_names=orgs.user_names(),
                           definition=definition,
                           start_fields=result_rows(start_schema, case.data),
                           results={t.id: result_rows(definition.form(t.form) or {}, t.result or {}) for t in history},
                           orders=case_orders(current_user, case.id),
                           list_item=list_item_label(case.list_item) if case.list_item else None,
                           waiting=waits.waiting_of(case.id), WAIT_LABELS=waits.KIND_LABELS,
                           **_conversation(case, found.tasks))


def _conversation(case, tasks):
    """What the case page shows and offers of the conversation: remarks, urges, withdrawal."""
    comments, _total = talk.comments(current_user, case.id, 1, 10000)
    can_urge = policy.allows(current_user, "case.urge", case=case)
    to_urge, urge_block = talk.urge_conflict(case, current_user.org_code) if can_urge and case.status == "open" \
        else ([], None)
    return {"comments": comments, "tasks_by_id": {t.id: t for t in tasks},
            "remark_steps": [t for t in tasks if t.kind == "engine" and t.status in ("ready", "completed")],
            "can_remark": policy.allows(current_user, "case.take_part", case=case),
            "urges": talk.urges(current_user, case.id), "can_urge": can_urge and case.status == "open",
            "to_urge": to_urge, "urge_block": urge_block,
            "can_withdraw": cases.may_withdraw(current_user, case),
            "redispatch": cases.may_redispatch(current_user, case),
            "redispatches": cases.redispatches(case.id),
            "departments": orgs.form_options("departments")}


def _prefill(definition, schema, case_data):
    """A task form opens with the call's own fields (the list item, say) and the fields its form
    marks `x-prefill` (the current lead on a re-dispatch) — never with another unit's answers, nor with
    a field its form marks `"x-prefill": false` (a township's own opinion, named like the proposal's reason)."""
    if not schema:
        return {}
    start = (definition.form(definition.start.form) or {}).get("properties") or {}
    props = schema.get("properties") or {}
    return {k: v for k, v in case_data.items()
            if k in props and (props[k] or {}).get("x-prefill", k in start)}


@web_bp.route("/tasks/<task_id>", methods=["GET", "POST"])
@login_required
def task_page(task_id):
    task, case, definition, schema = cases.task_view(current_user, task_id)
    values, errors = _prefill(definition, schema, case.data or {}), {}
    status = 200
    if request.method == "POST":
        values = parse_form(schema, request.form) if schema else {}
        shortcut = request.form.get("_shortcut", type=int)
        shortcuts = (schema or {}).get("x-shortcuts") or []
        if shortcut is not None and 0 <= shortcut < len(shortcuts):
            values = dict(shortcuts[shortcut].get("data") or {})     # a one-click answer the form offers
        actions = task_actions(schema)
        chosen = actions.chosen(request.form.get("_action", type=int))
        if chosen is not None:
            values = actions.values(chosen, values)     # 签收 or 退回: the button answers `returned`
        try:
            staged = evidence.stage(evidence.uploads_of(request.files, "photos", "files"))
            case, _next = cases.complete_task(current_user, task_id, values, files=staged)
        except evidence.FileRefused as e:
            flash(f"{e.message}。已填写的内容已保留，请重新选择文件后提交。", "error")
            status = e.status
        except cases.Invalid as e:
            errors = e.errors or {}
            flash("表单填写有误，请检查标红的项目", "error")
        except cases.CaseError as e:
            flash(e.message, "error")
            return redirect(url_for("web.task_page", task_id=task_id))
        else:
            flash(f"已办理：{task.name}", "ok")
            if case.status == "errored":
                flash(f"但案件随后出现异常：{case.error_message}。已列入督办看板，由督查室处理。", "error")
            return redirect(url_for("web.inbox"))
    actions = task_actions(schema)
    fields = widgets(actions.main_schema(), values, errors) if schema else []
    return render_template("task.html", task=task, case=case, schema=schema, fields=fields,
                           actions=actions.widgets(values, errors), chosen_action=request.form.get("_action", type=int),
                           context=task_context(current_user, task),
                           org_names=orgs.org_names(), mark=deadline_mark(task),
                           extensions=task_extensions(current_user, task),
                           can_extend=may_request_extension(current_user, task),
                           max_extension=deadlines.settings()["max_extension_days"],
                           ext_errors={}, upload=evidence.upload_settings(),
                           files=evidence.files_of(case.id), user_names=orgs.user_names()), \
        (422 if errors else status)


@web_bp.route("/tasks/<task_id>/extension", methods=["POST"])
@login_required
def request_extension(task_id):
    task = cases.get_task(current_user, task_id)
    try:
        ask_extension(current_user, task, request.form.get("days", type=int), request.form.get("reason", ""))
        flash("延期申请已提交，等待响应中心审批", "ok")
    except CaseError as e:
        details = "；".join((e.errors or {}).values())
        flash(f"{e.message}{'：' + details if details else ''}", "error")
    return redirect(url_for("web.task_page", task_id=task_id))


@web_bp.route("/tasks/<task_id>/claim", methods=["POST"])
@login_required
def claim(task_id):
    try:
        cases.claim_task(current_user, task_id)
        flash("已认领", "ok")
    except cases.CaseError as e:
        flash(e.message, "error")
    return redirect(url_for("web.task_page", task_id=task_id))


@web_bp.route("/tasks/<task_id>/unclaim", methods=["POST"])
@login_required
def unclaim(task_id):
    try:
        cases.unclaim_task(current_user, task_id)
        flash("已取消认领", "ok")
    except cases.CaseError as e:
        flash(e.message, "error")
    return redirect(url_for("web.task_page", task_id=task_id))


from . import conversation, duplicates, files  # noqa: E402,F401 - the case page's files, conversation and duplicates join this blueprint
