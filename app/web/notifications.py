"""Notification pages: one's own list (the bell leads here), one's preferences, and the admin's page
of units' group robots and the outbox."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from .. import notifications, orgs
from ..errors import CaseError
from .forms import is_number

notifications_bp = Blueprint("notifications", __name__)
PER_PAGE = 20


@notifications_bp.app_template_global()
def unread_notifications():
    """The bell's count on every page (0 for nobody signed in)."""
    return notifications.unread_count(current_user) if current_user.is_authenticated else 0


def _page():
    raw = request.args.get("page", "")
    return int(raw) if is_number(raw) and 1 <= int(raw) <= 100000 else 1


@notifications_bp.route("/notifications")
@login_required
def index():
    unread_only = request.args.get("unread") == "1"
    page = _page()
    rows, total, unread = notifications.page(current_user, page, PER_PAGE, unread_only)
    return render_template("notifications.html", rows=rows, total=total, unread=unread, page=page,
                           per_page=PER_PAGE, unread_only=unread_only, KINDS=notifications.KINDS)


@notifications_bp.route("/notifications/<int(max=2147483647):notification_id>/read", methods=["POST"])
@login_required
def read(notification_id):
    """Mark one read; with open=1 go on to its task or case."""
    row = notifications.mark_read(current_user, notification_id)
    if request.form.get("open") == "1" and row.link:
        return redirect(row.link)
    return redirect(url_for("notifications.index", page=request.form.get("page", type=int) or 1))


@notifications_bp.route("/notifications/read-all", methods=["POST"])
@login_required
def read_all():
    n = notifications.mark_all_read(current_user)
    flash(f"已将 {n} 条通知标为已读" if n else "没有未读通知", "ok")
    return redirect(url_for("notifications.index"))


@notifications_bp.route("/notifications/preferences", methods=["GET", "POST"])
@login_required
def preferences():
    errors = {}
    if request.method == "POST":
        notifications.preferences(current_user)        # the policy first, before the form is read
        kinds = {k: {c: request.form.get(f"{k}.{c}") == "on" for c in notifications.CHANNELS}
                 for k in notifications.KINDS}
        try:
            notifications.save_preferences(current_user, kinds, request.form.get("email", ""))
            flash("通知设置已保存", "ok")
            return redirect(url_for("notifications.preferences"))
        except CaseError as e:
            errors = e.errors or {}
            flash(e.message, "error")
    prefs = notifications.preferences(current_user)
    return render_template("notification_preferences.html", prefs=prefs, errors=errors,
                           email=request.form.get("email", prefs["email"] or "") if errors else prefs["email"] or "",
                           KINDS=notifications.KINDS, CHANNELS=notifications.CHANNELS), (422 if errors else 200)


@notifications_bp.route("/admin/notifications", methods=["GET", "POST"])
@login_required
def admin():
    """Units' group robots (set one with the form) and the outbox's waiting and failed messages."""
    errors, form = {}, {}
    if request.method == "POST":
        notifications.robots(current_user)               # the policy first
        form = request.form
        platform = form.get("platform") or None
        try:
            notifications.save_robot(current_user, form.get("org", ""), None if platform == "none" else platform,
                                     form.get("webhook_url") or None,
                                     "" if form.get("clear_secret") == "on" else (form.get("secret") or None),
                                     form.getlist("kinds"), form.get("enabled") == "on")
            flash("群机器人设置已保存", "ok")
            return redirect(url_for("notifications.admin"))
        except CaseError as e:
            errors = e.errors or {}
            flash(e.message + ("：" + "；".join(errors.values()) if errors else ""), "error")
    status = request.args.get("status")
    status = status if status in notifications.OUTBOX_STATUSES else None
    page = _page()
    shown = status or "unsent"
    rows, total, counts = notifications.outbox(current_user, status, page, PER_PAGE) if status else \
        _unsent(page)
    return render_template("notifications_admin.html", robots=notifications.robots(current_user), rows=rows,
                           total=total, counts=counts, status=status, shown=shown, page=page, per_page=PER_PAGE,
                           form=form, errors=errors, KINDS=notifications.KINDS, PLATFORMS=notifications.PLATFORMS,
                           STATUSES=notifications.OUTBOX_STATUSES, org_names=orgs.org_names(),
                           robot_kinds=notifications.ROBOT_KINDS_BY_DEFAULT), (422 if errors else 200)


def _unsent(page):
    """By default the page shows what needs the admin: failed messages first, then the waiting ones."""
    failed, n_failed, counts = notifications.outbox(current_user, "failed", 1, PER_PAGE)
    pending, n_pending, _ = notifications.outbox(current_user, "pending", 1, PER_PAGE)
    return failed + pending, n_failed + n_pending, counts


@notifications_bp.route("/admin/notifications/outbox/<int(max=2147483647):message_id>/retry", methods=["POST"])
@login_required
def retry(message_id):
    notifications.retry_message(current_user, message_id)
    flash(f"消息 #{message_id} 将在下一轮重新发送", "ok")
    return redirect(url_for("notifications.admin"))
