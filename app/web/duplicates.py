"""Duplicates on the case and task pages: the likely duplicates (可能重复), 合并到此件 and 保持独立.

The panel (app/templates/_similar.html) asks `duplicates_panel` itself, so the pages that include
it pass nothing more; each form posts to one domain function (app/duplicates.py) and goes back."""
from flask import flash, redirect, request, url_for
from flask_login import current_user, login_required

from .. import duplicates
from ..errors import Conflict, Invalid
from . import web_bp


@web_bp.app_template_global()
def duplicates_panel(case):
    """What the panel shows of a case: the case it was merged into, its likely duplicates (open
    cases only), whether the user may merge, and the reporters of a case others were merged into."""
    items = duplicates.similar_cases(current_user, case.id)["items"] if case.status == "open" else []
    return {"merged_into": case.merged_into, "similar": items, "can_merge": duplicates.may_merge(current_user, case),
            "reporters": duplicates.reporters(case.id, case)}


def _back(case_id):
    """Back where the form was (a task page or the case page): a path of this site only."""
    target = request.form.get("next", "")
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        target = url_for("web.case_page", case_id=case_id)
    return redirect(target + "#similar")


def _other(field):
    value = request.form.get(field, "")
    return int(value) if value.isdigit() and len(value) < 10 else None


@web_bp.route("/cases/<int(max=2147483647):case_id>/merge", methods=["POST"])
@login_required
def merge_case(case_id):
    try:
        case = duplicates.merge_case(current_user, case_id, _other("into"))
    except (Invalid, Conflict, duplicates.TargetNotFound) as e:
        flash(e.message, "error")
        return _back(case_id)
    flash(f"已将 #{case.id} 合并到本件，照片和上报人已并入", "ok")
    return redirect(url_for("web.case_page", case_id=case.merged_into))


@web_bp.route("/cases/<int(max=2147483647):case_id>/keep-apart", methods=["POST"])
@login_required
def dismiss_duplicate(case_id):
    try:
        duplicates.dismiss(current_user, case_id, _other("other"))
        flash("已记录：两件保持独立，不再作为重复提示", "ok")
    except (Invalid, Conflict, duplicates.TargetNotFound) as e:
        flash(e.message, "error")
    return _back(case_id)
