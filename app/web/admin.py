"""The admin's pages (管理): users, org units, the supervision limits and the assessment's weights,
beside the calendar (app/web/supervision.py) and the notification channels (app/web/notifications.py);
and every user's own password (我的账号). Thin views over app/accounts.py, app/orgs.py,
app/deadlines.py and app/reports.py, which ask the policy and keep the record."""
import re

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from .. import accounts, deadlines, orgs, policy, reports
from ..errors import CaseError
from ..auth import PASSWORD_RULES
from ..labels import (LIMIT_KIND_HELP, LIMIT_KIND_LABELS, LIMIT_UNIT_LABELS, ORG_KIND_LABELS, SETTING_LABELS,
                      URGENCY_LABELS, WEIGHT_LABELS)
from ..roles import ROLES
from .forms import is_number

admin_bp = Blueprint("admin", __name__, url_prefix="/admin")
account_bp = Blueprint("account", __name__)
PER_PAGE = 20
USER_STATUSES = {"active": "启用", "disabled": "已停用"}


def _page():
    raw = request.args.get("page", "")
    return int(raw) if is_number(raw) and 1 <= int(raw) <= 100000 else 1


def _failed(e):
    """Flash a refusal with its details; the form's errors {field: message} for the page ({"_": message}
    for a refusal of no one field)."""
    errors = dict(e.errors or {})
    flash(e.message + ("：" + "；".join(errors.values()) if errors and len(errors) <= 2 else ""), "error")
    return errors or {"_": e.message}


@admin_bp.route("")
@login_required
def index():
    policy.require(current_user, "users.manage")
    return redirect(url_for("admin.users"))


# --- users -------------------------------------------------------------------------------------------
@admin_bp.route("/users")
@login_required
def users():
    q = request.args.get("q", "").strip()[:100]
    status = request.args.get("status")
    status = status if status in USER_STATUSES else None
    page = _page()
    rows, total = accounts.users_page(current_user, q, page, PER_PAGE, status)
    return render_template("admin_users.html", rows=rows, total=total, page=page, per_page=PER_PAGE, q=q,
                           status=status, statuses=USER_STATUSES)


def _user_form():
    form = request.form
    return {"name": form.get("name", ""), "roles": [r for r in form.getlist("roles") if r], "org_code": form.get("org") or None,
            "email": form.get("email", "")}


@admin_bp.route("/users/new", methods=["GET", "POST"])
@login_required
def new_user():
    policy.require(current_user, "users.manage")
    values, errors = {"roles": []}, {}
    if request.method == "POST":
        values = dict(_user_form(), username=request.form.get("username", ""))
        try:
            user = accounts.create_user(current_user, values["username"], values["name"], values["roles"],
                                        values["org_code"], request.form.get("password", ""), values["email"],
                                        confirm=request.form.get("confirm", ""))
        except CaseError as e:
            errors = _failed(e)
        else:
            flash(f"已新建用户：{user.name}（{user.username}）。请将初始密码当面或电话告知本人。", "ok")
            return redirect(url_for("admin.user", username=user.username))
    return render_template("admin_user_new.html", values=values, errors=errors, roles=ROLES,
                           units=accounts.unit_choices(), kinds=ORG_KIND_LABELS, rules=PASSWORD_RULES), \
        (422 if errors else 200)


@admin_bp.route("/users/<string(maxlength=50):username>", methods=["GET", "POST"])
@login_required
def user(username):
    policy.require(current_user, "users.manage")
    target = accounts.get_user(current_user, username)
    values, errors = None, {}
    if request.method == "POST":
        values = _user_form()
        try:
            accounts.update_user(current_user, username, values["name"], values["roles"], values["org_code"],
                                 values["email"])
        except CaseError as e:
            errors = _failed(e)
        else:
            flash("用户信息已保存", "ok")
            return redirect(url_for("admin.user", username=username))
    if values is None:
        values = {"name": target.name, "roles": list(target.roles or []), "org_code": target.org_code,
                  "email": target.email or ""}
    return render_template("admin_user.html", target=target, values=values, errors=errors, pw_errors={},
                           roles=ROLES, units=accounts.unit_choices(), kinds=ORG_KIND_LABELS, rules=PASSWORD_RULES,
                           own=target.id == current_user.id), (422 if errors else 200)


@admin_bp.route("/users/<string(maxlength=50):username>/password", methods=["POST"])
@login_required
def reset_password(username):
    policy.require(current_user, "users.manage")
    try:
        accounts.reset_password(current_user, username, request.form.get("password", ""),
                                request.form.get("confirm", ""))
    except CaseError as e:
        if e.status == 404:
            raise
        pw_errors = _failed(e)
        target = accounts.get_user(current_user, username)
        values = {"name": target.name, "roles": list(target.roles or []), "org_code": target.org_code,
                  "email": target.email or ""}
        return render_template("admin_user.html", target=target, values=values, errors={}, pw_errors=pw_errors,
                               roles=ROLES, units=accounts.unit_choices(), kinds=ORG_KIND_LABELS,
                               rules=PASSWORD_RULES, own=target.id == current_user.id), 422
    flash("密码已重置，该用户的所有登录已退出。请将新密码当面或电话告知本人。", "ok")
    return redirect(url_for("admin.user", username=username))


@admin_bp.route("/users/<string(maxlength=50):username>/disable", methods=["POST"])
@login_required
def disable_user(username):
    policy.require(current_user, "users.manage")
    try:
        user = accounts.disable_user(current_user, username)
    except CaseError as e:
        if e.status == 404:
            raise
        flash(e.message, "error")
    else:
        flash(f"已停用：{user.name or user.username}，其登录已全部退出", "ok")
    return redirect(url_for("admin.user", username=username))


@admin_bp.route("/users/<string(maxlength=50):username>/enable", methods=["POST"])
@login_required
def enable_user(username):
    policy.require(current_user, "users.manage")
    try:
        user = accounts.enable_user(current_user, username)
    except CaseError as e:
        if e.status == 404:
            raise
        flash(e.message, "error")
    else:
        flash(f"已启用：{user.name or user.username}", "ok")
    return redirect(url_for("admin.user", username=username))


# --- org units ------------------------------------------------------------------------------------------
@admin_bp.route("/units", methods=["GET", "POST"])
@login_required
def units():
    policy.require(current_user, "orgs.manage")
    values, errors = {}, {}
    if request.method == "POST":
        values = {k: request.form.get(k, "") for k in ("code", "name", "kind")}
        try:
            unit = orgs.create_unit(current_user, values["code"], values["name"], values["kind"])
        except CaseError as e:
            errors = _failed(e)
        else:
            flash(f"已新建单位：{unit.name}（{unit.code}）", "ok")
            return redirect(url_for("admin.units") + f"#unit-{unit.code}")
    under, stationed, people, names = orgs.unit_branches(current_user)
    return render_template("admin_units.html", tree=orgs.unit_tree(current_user), kinds=ORG_KIND_LABELS,
                           under=under, stationed=stationed, people=people, names=names,
                           values=values, errors=errors, code_rule=orgs.UNIT_CODE_RULE), (422 if errors else 200)


@admin_bp.route("/units/<string(maxlength=20):org_code>/rename", methods=["POST"])
@login_required
def rename_unit(org_code):
    return _unit_action(org_code, lambda: orgs.rename_unit(current_user, org_code, request.form.get("name", "")),
                        "已更名为：{}")


@admin_bp.route("/units/<string(maxlength=20):org_code>/deactivate", methods=["POST"])
@login_required
def deactivate_unit(org_code):
    return _unit_action(org_code, lambda: orgs.deactivate_unit(current_user, org_code), "已停用：{}")


@admin_bp.route("/units/<string(maxlength=20):org_code>/activate", methods=["POST"])
@login_required
def activate_unit(org_code):
    return _unit_action(org_code, lambda: orgs.activate_unit(current_user, org_code), "已启用：{}")


def _unit_action(org_code, act, done):
    policy.require(current_user, "orgs.manage")
    try:
        unit = act()
    except CaseError as e:
        if e.status == 404:
            raise
        _failed(e)
    else:
        flash(done.format(unit.name), "ok")
    return redirect(url_for("admin.units") + (f"#unit-{org_code}" if re.fullmatch(r"[A-Za-z0-9_-]+", org_code)
                                              else ""))


# --- the supervision limits -------------------------------------------------------------------------
UNIT_MOST = {"D": deadlines.MAX_LIMIT_DAYS, "H": 24 * deadlines.MAX_LIMIT_DAYS, "M": 60 * 24 * deadlines.MAX_LIMIT_DAYS}
COUNT_UNITS = {"max_reworks": "次", "max_extension_days": "个工作日", "idle_hours": "小时"}


def _limit_rows(current):
    """[(kind, label, help, [(urgency, label, field name, limit)])] of the form's limits."""
    urgencies = list(URGENCY_LABELS)
    rows = []
    for kind, per_urgency in current["limits"].items():
        cells = [(u, URGENCY_LABELS.get(u, u), f"limits.{kind}.{u}", per_urgency.get(u))
                 for u in urgencies + [u for u in per_urgency if u not in urgencies]]
        rows.append((kind, LIMIT_KIND_LABELS.get(kind, f"其他时限（{kind}）"), LIMIT_KIND_HELP.get(kind, ""), cells))
    return rows


def _read_limit(field, errors):
    """The ISO 8601 limit of the form's `<field>.n` and `<field>.unit`, or None with errors[field] set."""
    n, unit = request.form.get(field + ".n", "").strip(), request.form.get(field + ".unit", "")
    if unit not in LIMIT_UNIT_LABELS:
        errors[field] = "请选择单位"
    elif not COUNT.fullmatch(n) or not 1 <= int(n) <= UNIT_MOST[unit]:
        errors[field] = f"应为 1 到 {UNIT_MOST[unit]} 的整数（{LIMIT_UNIT_LABELS[unit]}）"
    else:
        return deadlines.limit_text(int(n), unit)
    return None


@admin_bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings():
    policy.require(current_user, "settings.edit")
    current = deadlines.settings()
    errors, form = {}, None
    if request.method == "POST":
        form = request.form
        value = {"limits": {}}
        for kind, _label, _help, cells in _limit_rows(current):
            value["limits"][kind] = {u: _read_limit(name, errors) for u, _l, name, _v in cells}
        value["listing_after"] = _read_limit("listing_after", errors)
        for key in COUNT_UNITS:
            raw = form.get(key, "").strip()
            most = deadlines.MAX_COUNTS[key]
            if not COUNT.fullmatch(raw) or not 1 <= int(raw) <= most:
                errors[key] = f"应为 1 到 {most} 的整数"
            else:
                value[key] = int(raw)
        if not errors:
            try:
                deadlines.save_settings(current_user, value)
            except CaseError as e:
                errors = dict(e.errors or {"_": e.message})
            else:
                flash("督办时限已保存，新派出的任务按新时限计算", "ok")
                return redirect(url_for("admin.settings"))
        flash("填写有误，请检查标红的项目", "error")
    return render_template("admin_settings.html", current=current, rows=_limit_rows(current), errors=errors,
                           form=form, parts=deadlines.limit_parts, describe=deadlines.describe_limit,
                           units=LIMIT_UNIT_LABELS, labels=SETTING_LABELS, count_units=COUNT_UNITS,
                           urgencies=URGENCY_LABELS), (422 if errors else 200)


# --- the assessment's weights ----------------------------------------------------------------------
PERCENT_KEYS = reports.SHARE_WEIGHTS        # shares kept as 0–1, shown and typed as percent
POINT_KEYS = reports.POINT_WEIGHTS
WEIGHT_UNITS = {**{k: "%" for k in PERCENT_KEYS}, **{k: "分" for k in POINT_KEYS}, "list_size": "个",
                "min_volume": "件"}
WEIGHT_HELP = {"response": "三率按各自权重折算为平台得分，合计不必为 100%",
               "township_weight": "部门综合得分中乡镇评价所占比例，其余为平台得分",
               "stationed_weight": "部门综合得分中乡镇对其派驻机构一事一评所占比例；与乡镇评价之和不超过 100%",
               "invalid_call_deduction": "乡镇得分中每件被不予受理的呼叫所扣分数",
               "list_size": "红榜、黑榜各取的单位数",
               "min_volume": "工单（部门）或呼叫（乡镇）少于此数的单位不参与排名"}
NUMBER = re.compile(r"[0-9]{1,4}(\.[0-9]{1,4})?")
COUNT = re.compile(r"[0-9]{1,7}")


def _shown_weight(key, value):
    if key in PERCENT_KEYS:
        return f"{value * 100:.2f}".rstrip("0").rstrip(".")
    if key in POINT_KEYS:
        return f"{value:g}"
    return str(int(value))


@admin_bp.route("/weights", methods=["GET", "POST"])
@login_required
def weights():
    policy.require(current_user, "weights.edit")
    current = reports.weights()
    shown = {k: _shown_weight(k, current[k]) for k in reports.WEIGHT_KEYS}
    errors, values = {}, dict(shown)
    if request.method == "POST":
        changed = {}
        for key in reports.WEIGHT_KEYS:
            raw = request.form.get(key, "").strip()
            values[key] = raw
            if raw == shown[key]:
                continue                     # unchanged: 1/3 stays 1/3, not the 33.33 % it is shown as
            if not NUMBER.fullmatch(raw) or (key in ("list_size", "min_volume") and "." in raw):
                errors[key] = "应为整数" if key in ("list_size", "min_volume") else "应为数字"
            elif key in PERCENT_KEYS and float(raw) > 100:
                errors[key] = "应在 0–100% 之间"
            else:
                changed[key] = float(raw) / 100 if key in PERCENT_KEYS else \
                    (int(raw) if key in ("list_size", "min_volume") else float(raw))
        if not errors and changed:
            try:
                reports.save_weights(current_user, changed)
            except CaseError as e:
                errors = dict(e.errors or {"_": e.message})
            else:
                flash("考核权重已保存，考核报表按新权重计分", "ok")
                return redirect(url_for("admin.weights"))
        elif not errors:
            flash("没有改动", "ok")
            return redirect(url_for("admin.weights"))
        flash("填写有误，请检查标红的项目", "error")
    return render_template("admin_weights.html", values=values, errors=errors, keys=reports.WEIGHT_KEYS,
                           labels=WEIGHT_LABELS, units=WEIGHT_UNITS, help=WEIGHT_HELP, percent=PERCENT_KEYS), \
        (422 if errors else 200)


# --- one's own password ------------------------------------------------------------------------------
@account_bp.route("/account/password", methods=["GET", "POST"])
@login_required
def password():
    policy.require(current_user, "account.password")
    errors = {}
    if request.method == "POST":
        try:
            accounts.change_own_password(current_user, request.form.get("current", ""),
                                         request.form.get("password", ""), request.form.get("confirm", ""))
        except CaseError as e:
            errors = dict(e.errors or {})
            flash(e.message, "error")
        else:
            flash("密码已修改。您在其他设备上的登录已退出，下次登录请用新密码。", "ok")
            return redirect(url_for("account.password"))
    return render_template("account_password.html", errors=errors, rules=PASSWORD_RULES), (422 if errors else 200)
