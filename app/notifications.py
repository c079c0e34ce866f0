"""Notifications that find people: in the app, by e-mail and in their unit's group chat.

`notify` is called inside the write transaction of the change it tells of: it adds the in-app
notifications and the outbox rows (e-mails, group-robot messages) to that transaction, so a change
that rolls back tells nobody anything. `deliver_outbox` (run by the scheduler) sends the outbox:
it claims due rows (SELECT … FOR UPDATE SKIP LOCKED on PostgreSQL, under SQLite's single writer
there) by marking them `sending` with a lease, sends them outside any transaction, and records the
outcome — sent, or pending again after an exponential backoff, or failed after MAX_ATTEMPTS. Two
schedulers never claim the same row, so each message is sent once; only a worker that dies between
sending and recording leaves a row whose lease runs out and is sent again.
"""
import base64
import hashlib
import hmac
import smtplib
import time
import urllib.parse
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formataddr

import requests
from flask import current_app
from sqlalchemy import Text, and_, cast, event, func, or_, select, update
from sqlalchemy.orm import Session

from . import audit, orgs, policy
from .database import write_transaction
from .errors import Invalid, NotFound
from .extensions import db
from .models import Notification, NotificationPreference, OrgUnit, OutboxMessage, UnitRobot, User
from .models.types import utcnow

KINDS = {
    "task_ready": "新待办",
    "deadline_warning": "即将到期",
    "deadline_passed": "已超时",
    "supervision_order": "督办单",
    "comment": "留言",
    "urge": "催办",
    "case_closed": "已办结",
    "case_rejected": "未予受理",
    "case_withdrawn": "已撤回",
    "dispatch_changed": "改派",
}
CHANNELS = {"app": "站内通知", "email": "电子邮件"}
EMAIL_BY_DEFAULT = {"task_ready", "deadline_warning", "deadline_passed", "supervision_order", "urge", "dispatch_changed"}
PLATFORMS = {"wecom": "企业微信", "dingtalk": "钉钉"}
ROBOT_KINDS_BY_DEFAULT = ["task_ready", "deadline_warning", "deadline_passed", "supervision_order", "urge"]
OUTBOX_STATUSES = {"pending": "待发送", "sending": "发送中", "sent": "已发送", "failed": "发送失败"}


def default_enabled(kind, channel):
    return channel == "app" or kind in EMAIL_BY_DEFAULT


# --- telling people: called inside the change's write transaction ---------------------------------
def notify(kind, case, text, *, users=None, orgs=None, queues=None, task=None, actor=None):
    """Tell the users given (User rows or usernames), the users of the units given (org codes) and
    of the task queues given ("role@ORG", or "role@*" for the whole role) — but not `actor`, who
    made it happen — by the channels each has chosen, and post it to their units' group robots.
    Must run inside the write transaction of the change; returns the users told."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind}")
    recipients = [u for u in _recipients(users, orgs, queues) if u.username != actor]
    link = f"/tasks/{task.id}" if task is not None else (f"/cases/{case.id}" if case is not None else None)
    full = _full_text(kind, case, text)
    chosen = _preferences([u.id for u in recipients], kind)
    email_on = bool(current_app.config.get("SMTP_HOST"))
    for u in recipients:
        if chosen.get((u.id, "app"), default_enabled(kind, "app")):
            db.session.add(Notification(user_id=u.id, kind=kind, case_id=getattr(case, "id", None),
                                        task_id=getattr(task, "id", None), text=full, link=link))
        if email_on and u.email and chosen.get((u.id, "email"), default_enabled(kind, "email")):
            db.session.add(OutboxMessage(channel="email", recipient=u.email, kind=kind,
                                         case_id=getattr(case, "id", None), subject=_subject(kind, case),
                                         body=_email_body(u, kind, full, link)))
    units = {u.org_code for u in recipients if u.org_code} | set(orgs or ())
    if units:
        with db.session.no_autoflush:
            robots = db.session.execute(select(UnitRobot).where(UnitRobot.org_code.in_(units),
                                                                UnitRobot.enabled.is_(True))).scalars().all()
        for robot in robots:
            if kind in (robot.kinds or []):
                db.session.add(OutboxMessage(channel="robot", recipient=robot.org_code, kind=kind,
                                             case_id=getattr(case, "id", None), subject=_subject(kind, case),
                                             body=_markdown(kind, case, text, link)))
    return recipients


def task_ready(case, task, actor):
    """A task became ready: its queue's users are told (the actor who made it ready is not)."""
    unit = orgs.org_names().get(task.org_code) if task.org_code else None
    notify("task_ready", case, f"“{task.name}”已到{unit or '您的岗位'}，请及时办理。",
           queues=[task.queue], task=task, actor=actor)


def deadline_warning(case, task, actor):
    due = _local(task.due_at)
    notify("deadline_warning", case, f"“{task.name}”将于 {due} 到期，请抓紧办理。", queues=[task.queue], task=task,
           actor=actor)


def deadline_passed(case, task, actor):
    due = _local(task.due_at)
    notify("deadline_passed", case, f"“{task.name}”已超过办理时限（{due}），已转督查室督办。", queues=[task.queue],
           task=task, actor=actor)


def supervision_order(case, order, actor):
    """A 督办单 arrived in the supervisor's inbox."""
    notify("supervision_order", case, f"{order.name}，请签发。", queues=[order.queue], task=order, actor=actor)


def supervision_order_issued(case, order, subject, actor):
    """The supervisor issued a 督办单: the unit whose task it is about is told."""
    if subject is None or not subject.org_code:
        return
    opinion = (order.result or {}).get("opinion") or (order.result or {}).get("requirement") or ""
    notify("supervision_order", case, f"督查室已就“{subject.name}”签发督办单{('：' + str(opinion)[:200]) if opinion else ''}，"
                                      f"请按要求整改。", orgs=[subject.org_code],
           task=subject if subject.status == "ready" else None, actor=actor)


def case_ended(case, actor):
    """A case closed or was not accepted: the unit that raised it is told."""
    if not case.initiator_org:
        return
    if case.status == "closed":
        notify("case_closed", case, "已办结。", orgs=[case.initiator_org], actor=actor)
    elif case.status in ("rejected", "refused"):
        reason = (case.data or {}).get("reason")
        text = ("未予受理" + (f"：{reason}" if reason else "。")) if case.status == "rejected" else "未获同意。"
        notify("case_rejected", case, text, orgs=[case.initiator_org], actor=actor)


def comment_added(case, comment, task, actor):
    """A remark on a case: every unit and role taking part in it, and the centre, are told."""
    from .models import CaseParticipant
    parts = db.session.execute(select(CaseParticipant.org_code, CaseParticipant.role)
                               .where(CaseParticipant.case_id == case.id)).all()
    about = f"（关于“{task.name}”）" if task is not None else ""
    who = orgs.user_names().get(actor, actor)
    notify("comment", case, f"{who}留言{about}：{comment.text[:200]}",
           orgs=sorted({o for o, _ in parts if o}),
           queues=sorted({f"{r}@*" for o, r in parts if r and not o} | {"center@*"}), task=task, actor=actor)


def case_urged(case, urge, targets, tasks, actor):
    """The calling township urged the units holding its call: each of them is told, on its step."""
    township = orgs.org_names().get(urge.urged_org, urge.urged_org or "乡镇")
    for t in targets:
        task = tasks.get(t.task_id)
        notify("urge", case, f"{township}催办“{task.name if task else '本案件'}”：{urge.text[:200]}",
               orgs=[t.org_code] if t.org_code else None, queues=None if t.org_code else [f"{t.role}@*"],
               task=task, actor=actor)


def case_withdrawn(case, cancelled, reason, actor):
    """The calling township withdrew its call: those whose steps were cancelled are told."""
    if cancelled:
        notify("case_withdrawn", case, f"发起单位已撤回呼叫：{reason[:200]}", queues=sorted({t.queue for t in cancelled}),
               actor=actor)


def dispatch_changed(case, before, after, actor):
    """The centre corrected a dispatch (改派): a department no longer dispatched is told its step was
    cancelled, one whose part changed (主办 ↔ 协办) is told its new part; a department newly
    dispatched hears of it by its new task (task_ready)."""
    def part(d, code):
        if d["lead_department"] == code:
            return "主办"
        return "协办" if code in (d.get("co_departments") or []) else None
    reason = str(after.get("reason") or "")[:200]
    for code in sorted({before["lead_department"], *before["co_departments"]} - {None}):
        old, new = part(before, code), part(after, code)
        if new is None:
            text = f"响应中心已改派，贵单位不再承办（原为{old}），待签收的环节已撤销。改派理由：{reason}"
        elif new != old:
            text = f"响应中心已改派，贵单位现为{new}（原为{old}），请重新签收。改派理由：{reason}"
        else:
            continue
        notify("dispatch_changed", case, text, orgs=[code], actor=actor)


def _recipients(users, org_codes, queues):
    """The active users named, of the units and of the queues given, by id; remembered for the
    rest of the transaction (a fired deadline tells the same queue twice: a warning, then overdue)."""
    key = (tuple(u if isinstance(u, str) else u.id for u in users or ()), tuple(org_codes or ()), tuple(queues or ()))
    memo = db.session.info.setdefault("notify_recipients", {})
    if key not in memo:
        with db.session.no_autoflush:           # users and units: nothing the change itself has pending
            memo[key] = _find_recipients(users, org_codes, queues)
    return memo[key]


@event.listens_for(Session, "after_transaction_end")
def _forget_recipients(session, transaction):
    if transaction.parent is None:
        session.info.pop("notify_recipients", None)


def _find_recipients(users, org_codes, queues):
    found = {}
    names = [u for u in users or () if isinstance(u, str)]
    for u in users or ():
        if not isinstance(u, str):
            found[u.id] = u
    active = select(User).where(User.active.is_(True))
    if names:
        for u in db.session.execute(active.where(User.username.in_(names))).scalars():
            found[u.id] = u
    if org_codes:
        for u in db.session.execute(active.join(OrgUnit, User.org_id == OrgUnit.id)
                                    .where(OrgUnit.code.in_(list(org_codes)))).scalars():
            found[u.id] = u
    for queue in queues or ():
        role, _, org_code = queue.partition("@")
        # the role's holders found by the database (their roles' JSON text names it), then checked exactly
        stmt = active.where(cast(User.roles, Text).like(f'%"{role}"%'))
        if org_code not in ("", "*"):
            stmt = stmt.join(OrgUnit, User.org_id == OrgUnit.id).where(OrgUnit.code == org_code)
        for u in db.session.execute(stmt).scalars():
            if role in (u.roles or []):
                found[u.id] = u
    return sorted(found.values(), key=lambda u: u.id)


def _preferences(user_ids, kind):
    if not user_ids:
        return {}
    with db.session.no_autoflush:
        rows = db.session.execute(select(NotificationPreference.user_id, NotificationPreference.channel,
                                         NotificationPreference.enabled).where(
            NotificationPreference.user_id.in_(user_ids), NotificationPreference.kind == kind)).all()
    return {(user_id, channel): enabled for user_id, channel, enabled in rows}


def _local(dt):
    from .timefmt import short
    return short(dt) if dt else "—"


def _case_ref(case):
    return f"案件 #{case.id}“{case.title}”" if case is not None else ""


def _full_text(kind, case, text):
    """What the user reads in the app (the kind is shown beside it) and in the e-mail."""
    return f"{_case_ref(case)}{'：' if case is not None else ''}{text}"[:2000]


def _subject(kind, case):
    return f"【呼应·{KINDS[kind]}】{_case_ref(case)}"[:300]


def _absolute(link):
    base = (current_app.config.get("PUBLIC_URL") or "").rstrip("/")
    return f"{base}{link}" if base and link else None


def _email_body(user, kind, full, link):
    url = _absolute(link)
    where = f"\n\n查看：{url}" if url else (f"\n\n请登录呼应平台查看（{link}）。" if link else "")
    return (f"{user.name or user.username}：\n\n【{KINDS[kind]}】{full}{where}\n\n"
            "——呼应 乡呼县应平台（此邮件由系统自动发送，可在“通知设置”中选择接收哪些通知）")


_MD = str.maketrans({"[": "［", "]": "］", "(": "（", ")": "）", "<": "＜", ">": "＞", "*": "＊", "_": "＿",
                     "#": "＃", "`": "｀"})


def _markdown(kind, case, text, link):
    """The group message in the markdown both platforms read; the users' own text cannot make links."""
    lines = [f"### 【{KINDS[kind]}】{(case.title if case is not None else '').translate(_MD)}"]
    if case is not None:
        lines.append(f"> 案件编号：#{case.id}")
    lines.append(str(text).translate(_MD))
    url = _absolute(link)
    if url:
        lines.append(f"[在呼应平台查看]({url})")
    elif link:
        lines.append(f"平台路径：{link}")
    return "\n\n".join(lines)[:3800]     # 企业微信 takes at most 4096 bytes of markdown


# --- reading and marking one's own notifications --------------------------------------------------
def unread_count(user):
    return db.session.execute(select(func.count()).select_from(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))).scalar()


def page(user, page_no=1, per_page=20, unread_only=False):
    """(rows newest first, total, unread) of the user's notifications."""
    policy.require(user, "notification.read")
    where = [Notification.user_id == user.id]
    if unread_only:
        where.append(Notification.read_at.is_(None))
    total = db.session.execute(select(func.count()).select_from(Notification).where(*where)).scalar()
    rows = db.session.execute(select(Notification).where(*where).order_by(Notification.id.desc())
                              .limit(per_page).offset((page_no - 1) * per_page)).scalars().all()
    return rows, total, unread_count(user)


def mark_read(user, notification_id):
    """Mark one of one's own notifications read; anyone else's is not found."""
    row = db.session.get(Notification, notification_id) if isinstance(notification_id, int) \
        and 0 < notification_id < 2 ** 31 else None
    if row is None:
        raise NotFound("通知不存在")
    policy.require(user, "notification.read", notification=row)
    with write_transaction():
        row = db.session.get(Notification, row.id)
        if row.read_at is None:
            row.read_at = utcnow()
    return row


def mark_all_read(user):
    """Mark all of one's notifications read; returns how many were unread."""
    policy.require(user, "notification.read")
    with write_transaction():
        result = db.session.execute(update(Notification).where(Notification.user_id == user.id,
                                                               Notification.read_at.is_(None))
                                    .values(read_at=utcnow()))
    return result.rowcount


def notification_dict(n):
    from .timefmt import iso
    return {"id": n.id, "kind": n.kind, "case_id": n.case_id, "task_id": n.task_id, "text": n.text,
            "at": iso(n.created_at), "read": n.read_at is not None, "link": n.link}


# --- one's own preferences ------------------------------------------------------------------------
def preferences(user):
    """{email, kinds: {kind: {app, email}}} of the user (the defaults where they chose nothing)."""
    policy.require(user, "notification.settings")
    chosen = {(r.kind, r.channel): r.enabled for r in db.session.execute(
        select(NotificationPreference).where(NotificationPreference.user_id == user.id)).scalars()}
    return {"email": user.email, "email_enabled": bool(current_app.config.get("SMTP_HOST")),
            "kinds": {k: {c: chosen.get((k, c), default_enabled(k, c)) for c in CHANNELS} for k in KINDS}}


def save_preferences(user, kinds=None, email=None):
    """Change one's own choices ({kind: {channel: bool}}, only those given) and e-mail address
    (None: unchanged, "": none)."""
    policy.require(user, "notification.settings")
    errors = {}
    if kinds is not None and not isinstance(kinds, dict):
        errors["kinds"] = "应为对象 {种类: {渠道: 是否}}"
    for k, chans in (kinds or {}).items() if isinstance(kinds, dict) else ():
        if k not in KINDS:
            errors[f"kinds.{k}"] = "没有这种通知"
        elif not isinstance(chans, dict) or any(c not in CHANNELS or not isinstance(v, bool) for c, v in chans.items()):
            errors[f"kinds.{k}"] = "应为 {app: 是否, email: 是否}"
    if email is not None:
        email = email.strip()
        if email and (len(email) > 200 or not _looks_like_email(email)):
            errors["email"] = "电子邮件地址格式不正确"
    if errors:
        raise Invalid("通知设置有误", errors)
    with write_transaction():
        me = db.session.get(User, user.id)
        before = {"email": me.email}
        if email is not None:
            me.email = email or None
            user.email = me.email
        existing = {(r.kind, r.channel): r for r in db.session.execute(
            select(NotificationPreference).where(NotificationPreference.user_id == me.id)).scalars()}
        for k, chans in (kinds or {}).items():
            for c, v in chans.items():
                row = existing.get((k, c))
                if row is None:
                    db.session.add(NotificationPreference(user_id=me.id, kind=k, channel=c, enabled=v))
                else:
                    row.enabled = v
        audit.record("notification_preferences_changed", user.username, before=before,
                     after={"email": me.email, "kinds": kinds or {}})
    return preferences(user)


def _looks_like_email(value):
    local, at, domain = value.rpartition("@")
    return bool(at and local and "." in domain and not any(ch.isspace() or ch in "<>,;\"" for ch in value))


# --- units' group robots (admin) ------------------------------------------------------------------
def allowed_webhook(url):
    """Whether a webhook URL may be posted to: https to the platforms' hosts (HUYING_ROBOT_HOSTS);
    an entry with a scheme (http://127.0.0.1:8080) allows exactly that origin — no requests to
    the app's own network otherwise."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    if parts.username or parts.password or not parts.hostname:
        return False
    for entry in current_app.config.get("ROBOT_HOSTS") or ():
        if "://" in entry:
            allowed = urllib.parse.urlsplit(entry)
            if (parts.scheme, parts.hostname, port) == (allowed.scheme, allowed.hostname, allowed.port):
                return True
        elif parts.scheme == "https" and parts.hostname == entry.lower() and port in (None, 443):
            return True
    return False


def _mask(value, keep=4):
    if not value:
        return None
    return ("•" * 6) + value[-keep:] if len(value) > keep * 2 else "•" * 6


def mask_url(url):
    """A webhook URL with its key (企业微信 key=, 钉钉 access_token=) shown only by its last characters."""
    parts = urllib.parse.urlsplit(url)
    query = "&".join(f"{urllib.parse.quote(k)}={_mask(v)}" for k, v in urllib.parse.parse_qsl(parts.query))
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def robot_dict(robot, org_code=None):
    names = orgs.org_names()
    if robot is None:
        return {"org": org_code, "org_name": names.get(org_code), "configured": False, "platform": None,
                "webhook_url": None, "has_secret": False, "secret": None, "kinds": [], "enabled": False}
    return {"org": robot.org_code, "org_name": names.get(robot.org_code), "configured": True,
            "platform": robot.platform, "webhook_url": mask_url(robot.webhook_url), "has_secret": bool(robot.secret),
            "secret": _mask(robot.secret), "kinds": list(robot.kinds or []), "enabled": robot.enabled}


def _unit(org_code):
    unit = db.session.execute(select(OrgUnit).where(OrgUnit.code == org_code)).scalar_one_or_none() \
        if isinstance(org_code, str) else None
    if unit is None:
        raise NotFound("单位不存在")
    return unit


def robot(user, org_code):
    policy.require(user, "robot.manage")
    _unit(org_code)
    return robot_dict(db.session.get(UnitRobot, org_code), org_code)


def robots(user):
    """Every unit with its robot (or none), for the admin's page."""
    policy.require(user, "robot.manage")
    configured = {r.org_code: r for r in db.session.execute(select(UnitRobot)).scalars()}
    units = db.session.execute(select(OrgUnit).where(OrgUnit.active.is_(True)).order_by(OrgUnit.code)).scalars()
    return [robot_dict(configured.get(u.code), u.code) for u in units]


def save_robot(user, org_code, platform, webhook_url=None, secret=None, kinds=None, enabled=True):
    """Set a unit's group robot (admin). webhook_url and secret None keep the stored ones (they are
    never shown back); secret "" removes it; platform None removes the robot."""
    policy.require(user, "robot.manage")
    _unit(org_code)
    with write_transaction():
        row = db.session.get(UnitRobot, org_code)
        before = robot_dict(row, org_code)
        if platform is None:
            if row is not None:
                db.session.delete(row)
                audit.record("robot_removed", user.username, org_code=org_code, before=_audited(before))
            return robot_dict(None, org_code)
        errors = {}
        if platform not in PLATFORMS:
            errors["platform"] = "应为 wecom（企业微信）或 dingtalk（钉钉）"
        url = webhook_url if webhook_url is not None else (row.webhook_url if row is not None else None)
        if not url:
            errors["webhook_url"] = "请填写群机器人的 Webhook 地址"
        elif not isinstance(url, str) or len(url) > 500 or not allowed_webhook(url):
            errors["webhook_url"] = "Webhook 地址应为企业微信或钉钉的 https 地址（允许的主机：" + \
                "、".join(current_app.config.get("ROBOT_HOSTS") or ()) + "）"
        kinds = list(kinds) if kinds is not None else (list(row.kinds) if row is not None else ROBOT_KINDS_BY_DEFAULT)
        if any(k not in KINDS for k in kinds):
            errors["kinds"] = "应为 " + "、".join(KINDS)
        if secret is not None and (not isinstance(secret, str) or len(secret) > 200):
            errors["secret"] = "签名密钥过长"
        if errors:
            raise Invalid("群机器人设置有误", errors)
        if row is None:
            row = UnitRobot(org_code=org_code)
            db.session.add(row)
        row.platform, row.webhook_url, row.kinds, row.enabled = platform, url, kinds, bool(enabled)
        if secret is not None:
            row.secret = secret.strip() or None
        row.updated_at, row.updated_by = utcnow(), user.username
        db.session.flush()
        after = robot_dict(row)
        audit.record("robot_changed", user.username, org_code=org_code, before=_audited(before), after=_audited(after))
    return after


def _audited(d):
    return {k: d[k] for k in ("platform", "webhook_url", "has_secret", "kinds", "enabled") if k in d}


# --- the outbox (admin) ---------------------------------------------------------------------------
def outbox(user, status=None, page_no=1, per_page=50):
    """(messages newest first, total, counts by status) — the failed and waiting ones for the admin."""
    policy.require(user, "outbox.read")
    where = [OutboxMessage.status == status] if status else []
    total = db.session.execute(select(func.count()).select_from(OutboxMessage).where(*where)).scalar()
    rows = db.session.execute(select(OutboxMessage).where(*where).order_by(OutboxMessage.id.desc())
                              .limit(per_page).offset((page_no - 1) * per_page)).scalars().all()
    counts = dict(db.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
    return rows, total, {s: counts.get(s, 0) for s in OUTBOX_STATUSES}


def retry_message(user, message_id, now=None):
    """Send a failed (or waiting) message again at the next sweep, with its attempts counted afresh."""
    policy.require(user, "outbox.retry")
    row = db.session.get(OutboxMessage, message_id) if isinstance(message_id, int) and 0 < message_id < 2 ** 31 \
        else None
    if row is None:
        raise NotFound("消息不存在")
    with write_transaction():
        row = db.session.execute(select(OutboxMessage).where(OutboxMessage.id == row.id).with_for_update()
                                 .execution_options(populate_existing=True)).scalar_one()
        if row.status in ("failed", "pending"):
            before = {"status": row.status, "attempts": row.attempts, "last_error": row.last_error}
            row.status, row.attempts, row.next_attempt_at = "pending", 0, now or utcnow()
            audit.record("outbox_retried", user.username, row.case_id, before=before,
                         after={"status": "pending", "message": row.id})
    return row


def outbox_dict(m):
    from .timefmt import iso
    return {"id": m.id, "channel": m.channel, "recipient": m.recipient, "kind": m.kind, "case_id": m.case_id,
            "subject": m.subject, "status": m.status, "attempts": m.attempts,
            "next_attempt_at": iso(m.next_attempt_at), "last_error": m.last_error, "created_at": iso(m.created_at),
            "sent_at": iso(m.sent_at)}


# --- delivering the outbox (the scheduler) --------------------------------------------------------
class DeliveryError(Exception):
    """A channel refused or could not take a message; the text goes to last_error (never a secret)."""


def deliver_outbox(now=None, limit=50):
    """Send the due messages of the outbox once each; returns {sent, retry, failed}. `now` is the
    clock the backoff counts on (tests move it instead of sleeping)."""
    now = now or utcnow()
    figures = {"sent": 0, "retry": 0, "failed": 0}
    for message in _claim(now, limit):
        try:
            _send(message)
            error = None
        except DeliveryError as e:
            error = str(e)[:1000]
        except Exception as e:  # noqa: BLE001 - a channel's surprise is a failed attempt, not a dead worker
            error = f"{type(e).__name__}"
        figures[_settle(message, error, now)] += 1
    return figures


def _claim(now, limit):
    """Take up to `limit` due messages for this worker: pending ones whose time has come, and ones a
    worker claimed but whose lease ran out (it died mid-way)."""
    lease = timedelta(seconds=current_app.config["NOTIFY_LEASE_SECONDS"])
    with write_transaction():
        rows = db.session.execute(
            select(OutboxMessage).where(or_(
                and_(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now),
                and_(OutboxMessage.status == "sending", OutboxMessage.claimed_until < now)))
            .order_by(OutboxMessage.id).limit(limit).with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)).scalars().all()
        for row in rows:
            row.status, row.claimed_until, row.attempts = "sending", now + lease, row.attempts + 1
    return rows


def _settle(message, error, now):
    """Record one attempt's outcome — unless the lease was lost to another worker meanwhile."""
    if error is None:
        values, outcome = {"status": "sent", "sent_at": utcnow(), "last_error": None, "claimed_until": None}, "sent"
    elif message.attempts >= current_app.config["NOTIFY_MAX_ATTEMPTS"]:
        values, outcome = {"status": "failed", "last_error": error, "claimed_until": None}, "failed"
    else:
        delay = min(current_app.config["NOTIFY_RETRY_SECONDS"] * 2 ** (message.attempts - 1),
                    current_app.config["NOTIFY_RETRY_MAX_SECONDS"])
        values = {"status": "pending", "last_error": error, "claimed_until": None,
                  "next_attempt_at": now + timedelta(seconds=delay)}
        outcome = "retry"
    with write_transaction():
        db.session.execute(update(OutboxMessage).where(OutboxMessage.id == message.id,
                                                       OutboxMessage.status == "sending",
                                                       OutboxMessage.attempts == message.attempts).values(**values))
    return outcome


def _send(message):
    if message.channel == "email":
        send_email(message.recipient, message.subject, message.body)
    elif message.channel == "robot":
        robot_row = db.session.get(UnitRobot, message.recipient)
        db.session.commit()           # no transaction stays open while the platform answers
        if robot_row is None or not robot_row.enabled:
            raise DeliveryError("该单位已没有启用的群机器人")
        send_robot(robot_row, message.subject, message.body)
    else:
        raise DeliveryError(f"未知的渠道 {message.channel}")


def send_email(to, subject, body):
    """One e-mail through the configured SMTP server (HUYING_SMTP_*)."""
    cfg = current_app.config
    if not cfg.get("SMTP_HOST"):
        raise DeliveryError("未配置 SMTP 服务器（HUYING_SMTP_HOST）")
    msg = EmailMessage()
    msg["From"] = formataddr(("呼应平台", cfg["SMTP_FROM"]))
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body)
    smtp_class = smtplib.SMTP_SSL if cfg["SMTP_SSL"] else smtplib.SMTP
    try:
        with smtp_class(cfg["SMTP_HOST"], cfg["SMTP_PORT"], timeout=cfg["NOTIFY_TIMEOUT_SECONDS"]) as smtp:
            if cfg["SMTP_STARTTLS"] and not cfg["SMTP_SSL"]:
                smtp.starttls()
            if cfg.get("SMTP_USER"):
                smtp.login(cfg["SMTP_USER"], cfg.get("SMTP_PASSWORD") or "")
            smtp.send_message(msg)
    except smtplib.SMTPResponseException as e:
        raise DeliveryError(f"SMTP 服务器拒绝：{e.smtp_code} {e.smtp_error.decode('utf-8', 'replace')[:200]}") from e
    except (smtplib.SMTPException, OSError) as e:
        raise DeliveryError(f"SMTP 连接失败：{type(e).__name__}") from e


def dingtalk_sign(secret, timestamp_ms):
    """钉钉's 加签: base64(HMAC-SHA256(secret, "timestamp\\nsecret")), URL-encoded."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode("utf-8"), hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest))


def robot_payload(platform, title, markdown):
    if platform == "wecom":
        return {"msgtype": "markdown", "markdown": {"content": markdown}}
    return {"msgtype": "markdown", "markdown": {"title": title[:100], "text": markdown}}


def send_robot(robot_row, title, markdown):
    """Post one message to a unit's group robot; success is the platforms' errcode 0."""
    url = robot_row.webhook_url
    if not allowed_webhook(url):
        raise DeliveryError("Webhook 地址不在允许的主机之列（HUYING_ROBOT_HOSTS）")
    if robot_row.platform == "dingtalk" and robot_row.secret:
        timestamp = str(round(time.time() * 1000))     # 钉钉 refuses a timestamp an hour off the real clock
        url += ("&" if urllib.parse.urlsplit(url).query else "?") + \
            f"timestamp={timestamp}&sign={dingtalk_sign(robot_row.secret, timestamp)}"
    host = urllib.parse.urlsplit(url).hostname
    try:
        r = requests.post(url, json=robot_payload(robot_row.platform, title, markdown),
                          timeout=current_app.config["NOTIFY_TIMEOUT_SECONDS"], allow_redirects=False)
    except requests.RequestException as e:
        raise DeliveryError(f"无法连接 {host}：{type(e).__name__}") from e
    if r.status_code != 200:
        raise DeliveryError(f"{host} 答复 HTTP {r.status_code}")
    try:
        answer = r.json()
    except ValueError as e:
        raise DeliveryError(f"{host} 的答复不是 JSON") from e
    if not isinstance(answer, dict) or answer.get("errcode") != 0:
        errcode = answer.get("errcode") if isinstance(answer, dict) else None
        errmsg = str(answer.get("errmsg", ""))[:200] if isinstance(answer, dict) else ""
        raise DeliveryError(f"{PLATFORMS.get(robot_row.platform, '')}答复 errcode {errcode}：{errmsg}")
