"""Notifications: one's own (the bell), one's preferences, units' group robots and the outbox (admin)."""
from flask import g, request
from flask_smorest import abort

from .. import notifications
from . import schemas as s
from .views import blp


@blp.route("/notifications")
@blp.arguments(s.NotificationQuery, location="query")
@blp.response(200, s.NotificationPage)
def list_notifications(args):
    """The caller's notifications, newest first (?unread=true: only those not yet read), with the unread count."""
    rows, total, unread = notifications.page(g.user, args["page"], args["per_page"], args["unread"])
    return {"items": [notifications.notification_dict(n) for n in rows], "total": total, "unread": unread,
            "page": args["page"], "per_page": args["per_page"]}


@blp.route("/notifications/<int(max=2147483647):notification_id>/read", methods=["POST"])
@blp.response(200, s.NotificationOut)
def read_notification(notification_id):
    """Mark one of one's own notifications read (anyone else's: 404)."""
    return notifications.notification_dict(notifications.mark_read(g.user, notification_id))


@blp.route("/notifications/read-all", methods=["POST"])
@blp.response(200, s.ReadAll)
def read_all_notifications():
    """Mark all of one's notifications read."""
    return {"marked": notifications.mark_all_read(g.user), "unread": 0}


@blp.route("/notifications/preferences")
@blp.response(200, s.Preferences)
def get_notification_preferences():
    """Which kinds reach the caller by which channel (app, email), and the caller's e-mail address."""
    return notifications.preferences(g.user)


@blp.route("/notifications/preferences", methods=["PUT"])
@blp.arguments(s.PreferencesIn)
@blp.response(200, s.Preferences)
@blp.errors(422)
def put_notification_preferences(args):
    """Change some of one's choices ({kinds: {kind: {app, email}}}) and one's e-mail address."""
    if not request.get_data(cache=True):
        abort(422, message="请求体应为 JSON 对象")
    email = args.get("email")
    return notifications.save_preferences(g.user, args.get("kinds"), "" if "email" in args and email is None else email)


@blp.route("/units/<string(maxlength=20):org_code>/robot")
@blp.response(200, s.RobotOut)
@blp.errors(403)
def get_unit_robot(org_code):
    """A unit's 企业微信 or 钉钉 group robot (admin); its webhook key and secret are shown masked."""
    return notifications.robot(g.user, org_code)


@blp.route("/units/<string(maxlength=20):org_code>/robot", methods=["PUT"])
@blp.arguments(s.RobotIn)
@blp.response(200, s.RobotOut)
@blp.errors(403, 422)
def put_unit_robot(args, org_code):
    """Set a unit's group robot (admin): platform wecom or dingtalk, its https webhook on the platform's host,
    for 钉钉 the signing secret, the kinds it posts; platform null removes it."""
    return notifications.save_robot(g.user, org_code, args["platform"], args.get("webhook_url"), args.get("secret"),
                                    args.get("kinds"), args["enabled"])


@blp.route("/notifications/outbox")
@blp.arguments(s.OutboxQuery, location="query")
@blp.response(200, s.OutboxPage)
@blp.errors(403)
def list_outbox(args):
    """The e-mails and robot messages to send and sent, newest first, with their last error (admin)."""
    rows, total, counts = notifications.outbox(g.user, args.get("status"), args["page"], args["per_page"])
    return {"items": [notifications.outbox_dict(m) for m in rows], "total": total, "counts": counts,
            "page": args["page"], "per_page": args["per_page"]}


@blp.route("/notifications/outbox/<int(max=2147483647):message_id>/retry", methods=["POST"])
@blp.response(200, s.OutboxMessageOut)
@blp.errors(403)
def retry_outbox_message(message_id):
    """Send a failed message again at the next sweep, its attempts counted afresh (admin)."""
    return notifications.outbox_dict(notifications.retry_message(g.user, message_id))
