"""The case page's forms for the conversation: a remark (留言), an urge (催办), a withdrawal (撤回),
the centre's correction of a dispatch (改派).

Each posts to one domain function and goes back to the case page; what the domain refuses for the
input or the case's state (422, 409) is said there, a refusal by the policy is the error page."""
from flask import flash, redirect, request, url_for
from flask_login import current_user, login_required

from .. import cases, conversation
from ..errors import Conflict, Invalid
from . import web_bp


def _back(case_id, anchor):
    return redirect(url_for("web.case_page", case_id=case_id) + anchor)


def _refused(e):
    details = "；".join((e.errors or {}).values())
    flash(f"{e.message}{'：' + details if details and details != e.message else ''}", "error")


@web_bp.route("/cases/<int(max=2147483647):case_id>/comments", methods=["POST"])
@login_required
def add_comment(case_id):
    try:
        conversation.add_comment(current_user, case_id, request.form.get("text", ""),
                                 request.form.get("task_id") or None)
        flash("留言已发布", "ok")
    except (Invalid, Conflict) as e:
        _refused(e)
    return _back(case_id, "#comments")


@web_bp.route("/cases/<int(max=2147483647):case_id>/urge", methods=["POST"])
@login_required
def urge_case(case_id):
    try:
        _urge, targets = conversation.urge_case(current_user, case_id, request.form.get("text", ""))
        flash("已催办：" + "、".join(conversation.unit_name(t.org_code, t.role) for t in targets), "ok")
    except (Invalid, Conflict) as e:
        _refused(e)
    return _back(case_id, "#urges")


@web_bp.route("/cases/<int(max=2147483647):case_id>/withdraw", methods=["POST"])
@login_required
def withdraw_case(case_id):
    try:
        cases.withdraw_case(current_user, case_id, request.form.get("reason", ""))
        flash("呼叫已撤回", "ok")
    except (Invalid, Conflict) as e:
        _refused(e)
    return _back(case_id, "")


@web_bp.route("/cases/<int(max=2147483647):case_id>/redispatch", methods=["POST"])
@login_required
def redispatch_case(case_id):
    try:
        cases.redispatch(current_user, case_id, request.form.get("lead_department", ""),
                         [v for v in request.form.getlist("co_departments") if v], request.form.get("reason", ""))
        flash("已改派，新的派单已送达各承办部门", "ok")
    except (Invalid, Conflict) as e:
        _refused(e)
        return _back(case_id, "#redispatch")
    return _back(case_id, "")
