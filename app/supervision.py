"""督办 Supervision: what happens when a deadline timer fires, extensions, flags, retries, and
the supervisor's list of stuck cases.

The processes say *when* (timer events whose due times come from `deadlines`) and *what* (each
timer's `escalation` property); this module does it: a reminder (催办) marks the task and goes on
record, a missed deadline (督办单) puts a supervision order in the supervisor's inbox, a deadline
missed for long (挂牌督办) lists the case, and a call reworked too often becomes a 问题工单.
Supervision orders are ordinary tasks of the inbox that no engine step waits for.
"""
import uuid
from datetime import timedelta

from sqlalchemy import exists, func, select

from . import audit, deadlines, notifications, orgs, policy, waits
from .errors import CaseError
from .database import lock_case, write_transaction
from .extensions import db
from .models import Case, ExtensionRequest, Flag, Task, queue_of
from .models.types import utcnow
from .roles import FLAG_KINDS

ORDER_FORM = "supervision_order.schema.json"
ORDER_TITLES = {"order": "督办单", "listed": "挂牌督办", "problem": "问题工单督办"}


# --- escalation -------------------------------------------------------------------------------
def escalate(case, esc, rows, actor):
    """Carry out one fired escalation of a case; `rows` are its task rows by id."""
    now = utcnow()
    subject = rows.get(esc.task_id) if esc.task_id else None
    unit = orgs.org_names().get(subject.org_code, subject.org_code) if subject is not None and subject.org_code else None
    about = f"{subject.name}（{unit}）" if subject is not None and unit else (subject.name if subject is not None else "")
    if esc.kind == "remind":
        if subject is not None:
            subject.reminded_at = now
        audit.record("reminder", actor, case.id, task=subject, org_code=getattr(subject, "org_code", None),
                     detail=f"{esc.name}：{about} 即将到期，已催办")
        if subject is not None:
            notifications.deadline_warning(case, subject, actor)
        return
    if esc.kind == "listed":
        case.listed = True
    if esc.kind == "problem":
        case.problem = True
    audit.record({"order": "overdue", "listed": "case_listed", "problem": "problem_order"}[esc.kind], actor, case.id,
                 task=subject, org_code=getattr(subject, "org_code", None), detail=f"{esc.name}：{about}",
                 after={"listed": case.listed, "problem": case.problem})
    order = Task(id=str(uuid.uuid4()), case_id=case.id, process_id=case.process_id, case_title=case.title,
                 element_id=esc.element_id, name=f"{ORDER_TITLES[esc.kind]}：{about or case.title}",
                 role="supervisor", org_code=None, queue=queue_of("supervisor", None), form=ORDER_FORM,
                 kind="order", subject_task_id=getattr(subject, "id", None), created_at=now,
                 instructions=_order_instructions(esc.kind, subject, unit))
    db.session.add(order)
    audit.record("task_ready", actor, case.id, task=order, after={"role": "supervisor", "kind": esc.kind})
    if subject is not None and esc.kind in ("order", "listed"):
        notifications.deadline_passed(case, subject, actor)
    notifications.supervision_order(case, order, actor)


def _order_instructions(kind, subject, unit):
    if kind == "problem":
        return "该呼叫多次重办仍未解决，已列为问题工单。请提级督办：明确责任单位和办结时限。"
    due = subject.due_at.astimezone(deadlines.local_zone()).strftime("%Y-%m-%d %H:%M") if subject is not None and subject.due_at else "—"
    if kind == "listed":
        return f"{unit or '责任单位'}的“{subject.name if subject else ''}”超过时限（{due}）仍未完成，已挂牌督办。请签发督办意见。"
    return f"{unit or '责任单位'}未在时限（{due}）内完成“{subject.name if subject else ''}”。请签发督办单，明确整改要求。"


# --- extensions -------------------------------------------------------------------------------
class SupervisionError(CaseError):
    def __init__(self, status, code, message, errors=None):
        super().__init__(message, errors)
        self.status, self.code = status, code


def _extension_conflict(task, now):
    """Why no extension may be asked on `task` now, or None."""
    if task.status != "ready" or task.due_at is None:
        return "此任务没有可延长的办理时限"
    if now >= task.due_at:
        return "已超过办理时限，不能再申请延期"
    if db.session.execute(select(exists().where(ExtensionRequest.task_id == task.id,
                                                ExtensionRequest.status == "pending"))).scalar():
        return "此任务已有待审批的延期申请"
    return None


def may_request_extension(user, task):
    """Whether `user` may ask for an extension on `task` now (the task page offers it)."""
    return policy.allows(user, "extension.request", task=task) and _extension_conflict(task, utcnow()) is None


def task_extensions(user, task):
    """The extension requests of a task `user` may see, oldest first."""
    policy.require(user, "task.read", task=task)
    return db.session.execute(select(ExtensionRequest).where(ExtensionRequest.task_id == task.id)
                              .order_by(ExtensionRequest.id)).scalars().all()


def request_extension(user, task, days, reason):
    """A department asks for more working days on its task, before the deadline."""
    policy.require(user, "extension.request", task=task)
    errors = {}
    if not isinstance(days, int) or isinstance(days, bool) or days < 1:
        errors["days"] = "应为正整数（工作日）"
    if not isinstance(reason, str) or len(reason.strip()) < 2:
        errors["reason"] = "请说明延期理由"
    if errors:
        raise SupervisionError(422, "invalid", "申请填写有误", errors)
    with write_transaction():
        case = lock_case(task.case_id)
        task = db.session.get(Task, task.id)
        conflict = _extension_conflict(task, utcnow())
        if conflict:
            raise SupervisionError(409, "conflict", conflict)
        granted = db.session.execute(select(func.coalesce(func.sum(ExtensionRequest.days), 0)).where(
            ExtensionRequest.task_id == task.id, ExtensionRequest.status == "approved")).scalar()
        cap = deadlines.settings()["max_extension_days"]
        if granted + days > cap:
            raise SupervisionError(422, "invalid", "超过延期上限",
                                   {"days": f"延期累计不得超过 {cap} 个工作日（已延 {granted} 个）"})
        ext = ExtensionRequest(task_id=task.id, case_id=case.id, org_code=task.org_code, requested_by=user.username,
                               days=days, reason=reason.strip(), old_due_at=task.due_at)
        db.session.add(ext)
        db.session.flush()
        audit.record("extension_requested", user.username, case.id, task=task, org_code=task.org_code,
                     after={"days": days, "reason": reason.strip(), "due_at": task.due_at.isoformat()})
    return ext


def decide_extension(user, ext_id, approve, opinion, load_run, save_run):
    """The centre approves (the task's timers move by the days asked) or refuses an extension."""
    policy.require(user, "extension.decide")
    if not isinstance(approve, bool):
        raise SupervisionError(422, "invalid", "请选择是否同意", {"approved": "应为是或否"})
    ext = db.session.get(ExtensionRequest, ext_id) if isinstance(ext_id, int) and 0 < ext_id < 2 ** 31 else None
    if ext is None:
        raise SupervisionError(404, "not_found", "延期申请不存在")
    with write_transaction():
        case = lock_case(ext.case_id)
        ext = db.session.get(ExtensionRequest, ext.id)
        task = db.session.get(Task, ext.task_id)
        if ext.status != "pending":
            raise SupervisionError(409, "conflict", "此申请已审批")
        ext.decided_by, ext.decided_at, ext.opinion = user.username, utcnow(), opinion
        if approve and task.status == "ready" and case.status == "open":
            run = load_run(case)
            cal = deadlines.calendar()
            run.move_deadlines(task.id, lambda kind, due: deadlines.add_working_days(due, ext.days, cal))
            timers = run.deadlines(task.id)
            before = {"due_at": task.due_at.isoformat() if task.due_at else None}
            task.due_at, task.warn_at = timers.get("order"), timers.get("remind")
            ext.status, ext.new_due_at = "approved", task.due_at
            save_run(case, run)
            audit.record("extension_approved", user.username, case.id, task=task, org_code=task.org_code,
                         before=before, after={"due_at": task.due_at.isoformat() if task.due_at else None,
                                               "days": ext.days}, detail=opinion)
        else:
            ext.status = "refused"
            audit.record("extension_refused", user.username, case.id, task=task, org_code=task.org_code,
                         after={"days": ext.days}, detail=opinion)
    return ext


def pending_extensions(user, limit=200):
    """The requests waiting for the centre: all of them for those who review them, else those of
    the user's own unit."""
    policy.require(user, "extension.read")
    stmt = select(ExtensionRequest).where(ExtensionRequest.status == "pending").order_by(ExtensionRequest.created_at)
    if not policy.allows(user, "extension.read_all"):
        stmt = stmt.where(ExtensionRequest.org_code == user.org_code)
    return db.session.execute(stmt.limit(limit)).scalars().all()


def review_queue(user, limit=200):
    """(pending requests, their tasks by id, their cases' titles by id) for the centre's approvals
    page (the supervisor reads it too)."""
    policy.require(user, "extension.read_all")
    pending = pending_extensions(user, limit)
    task_ids, case_ids = {e.task_id for e in pending}, {e.case_id for e in pending}
    tasks = {t.id: t for t in db.session.execute(select(Task).where(Task.id.in_(task_ids))).scalars()} \
        if task_ids else {}
    titles = dict(db.session.execute(select(Case.id, Case.title).where(Case.id.in_(case_ids))).all()) \
        if case_ids else {}
    return pending, tasks, titles


# --- flags ------------------------------------------------------------------------------------
def raise_flag(user, org_code, kind, evidence, case_id=None):
    policy.require(user, "flag.raise")
    errors = {}
    unit_kind = db.session.execute(select(orgs.OrgUnit.kind).where(orgs.OrgUnit.code == org_code)).scalar() \
        if isinstance(org_code, str) else None
    if kind not in FLAG_KINDS:
        errors["kind"] = "应为 " + "、".join(f"{k}（{v[1]}）" for k, v in FLAG_KINDS.items())
    elif unit_kind != FLAG_KINDS[kind][0]:
        errors["org"] = f"“{FLAG_KINDS[kind][1]}”只能标记{'乡镇' if FLAG_KINDS[kind][0] == 'township' else '县级部门'}"
    if not isinstance(evidence, str) or len(evidence.strip()) < 4:
        errors["evidence"] = "请写明事实和证据"
    if case_id is not None and (not isinstance(case_id, int) or db.session.get(Case, case_id) is None):
        errors["case_id"] = "案件不存在"
    if errors:
        raise SupervisionError(422, "invalid", "标记填写有误", errors)
    with write_transaction():
        flag = Flag(org_code=org_code, kind=kind, case_id=case_id, evidence=evidence.strip(), created_by=user.username)
        db.session.add(flag)
        db.session.flush()
        audit.record("flag_raised", user.username, case_id, org_code=org_code,
                     after={"kind": kind, "label": FLAG_KINDS[kind][1], "evidence": evidence.strip()})
    return flag


def flag_automatically(case, kind, actor):
    """A flag the process itself raises (a call rejected as the township's own duty counts as 乱呼叫).

    Deployment refuses an unknown `flagKind`; one in a version deployed before that check raises
    no flag, and says so on the case's record, so that the case still ends."""
    if kind not in FLAG_KINDS:
        audit.record("flag_not_raised", actor, case.id, org_code=case.initiator_org, after={"kind": kind},
                     detail=f"流程结束事件要求标记“{kind}”，但没有这种标记（应为 {'、'.join(FLAG_KINDS)}），未予标记")
        return
    item = f"（清单事项 {case.list_item}）" if case.list_item else ""
    flag = Flag(org_code=case.initiator_org, kind=kind, case_id=case.id, created_by=actor,
                evidence=f"呼叫 #{case.id}“{case.title}”经响应中心核对属乡镇主体责任{item}，不予受理。")
    db.session.add(flag)
    audit.record("flag_raised", actor, case.id, org_code=case.initiator_org,
                 after={"kind": kind, "label": FLAG_KINDS[kind][1], "evidence": flag.evidence})


def flags(user, limit=200):
    policy.require(user, "supervision.read")
    return db.session.execute(select(Flag).order_by(Flag.id.desc()).limit(limit)).scalars().all()


# --- stuck cases ------------------------------------------------------------------------------
def stuck(user, department=None, township=None, urgency=None, min_age_hours=None, limit=200):
    """Overdue tasks, idle open cases, open cases with nothing to do and errored cases, oldest
    trouble first.

    Each row: case, title, step, unit, waiting since, deadline, reason (overdue | idle | no_task | errored)."""
    policy.require(user, "supervision.read")
    now = utcnow()
    case_where = []
    if township:
        case_where.append(Case.initiator_org == township)
    if urgency:
        case_where.append(Case.urgency == urgency)
    since = now - timedelta(hours=min_age_hours) if min_age_hours else None

    overdue = (select(Task.case_id, Case.title, Task.name, Task.id, Task.org_code, Task.created_at, Task.due_at,
                      Task.element_id, Case.process_id, Case.process_version, Case.urgency, Case.initiator_org,
                      Case.listed)
               .join(Case, Case.id == Task.case_id)
               .where(Task.status == "ready", Task.kind == "engine", Task.due_at < now, *case_where))
    if department:
        overdue = overdue.where(Task.org_code == department)
    if since:
        overdue = overdue.where(Task.created_at <= since)
    rows = [_row(r, "overdue", "已挂牌督办" if r.listed else "超过办理时限") for r in
            db.session.execute(overdue.order_by(Task.due_at).limit(limit)).all()]

    idle_before = now - timedelta(hours=deadlines.settings()["idle_hours"])
    if since:
        idle_before = min(idle_before, since)
    # the longest-untouched open cases first (index on status, updated_at), then their open steps
    idle_ids = select(Case.id).where(Case.status == "open", Case.updated_at < idle_before, *case_where) \
        .order_by(Case.updated_at).limit(limit)
    idle_tasks = (select(Task.case_id, Case.title, Task.name, Task.id, Task.org_code, Task.created_at, Task.due_at,
                         Task.element_id, Case.process_id, Case.process_version, Case.urgency, Case.initiator_org,
                         Case.listed)
                  .join(Case, Case.id == Task.case_id)
                  .where(Task.case_id.in_(idle_ids), Task.status == "ready", Task.kind == "engine"))
    if department:
        idle_tasks = idle_tasks.where(Task.org_code == department)
    seen = {r["task_id"] for r in rows}
    rows += [_row(r, "idle", "长时间无进展") for r in
             db.session.execute(idle_tasks.order_by(Task.created_at).limit(limit)).all() if r.id not in seen]

    if not department:
        # open, yet nobody has a task and no timer is due: what an earlier release or a hand edit left
        no_task = (select(Case.id, Case.title, Case.updated_at, Case.process_id, Case.process_version, Case.urgency,
                          Case.initiator_org)
                   .where(Case.status == "open", Case.next_timer_at.is_(None), *case_where, ~waits.waits_outside(),
                          ~exists().where(Task.case_id == Case.id, Task.status == "ready", Task.kind == "engine")))
        if since:
            no_task = no_task.where(Case.updated_at <= since)
        for r in db.session.execute(no_task.order_by(Case.updated_at).limit(limit)).all():
            rows.append({"case_id": r.id, "case_title": r.title, "task": None, "task_id": None, "element_id": None,
                         "org": None, "waiting_since": r.updated_at, "due_at": None, "reason": "no_task",
                         "detail": "没有任何人的待办任务，也没有等待中的定时器", "process_id": r.process_id,
                         "process_version": r.process_version, "urgency": r.urgency, "township": r.initiator_org})
        rows += waits.long_waits(idle_before, case_where, limit)
        errored = (select(Case.id, Case.title, Case.error_element, Case.updated_at, Case.error_message,
                          Case.process_id, Case.process_version, Case.urgency, Case.initiator_org)
                   .where(Case.status == "errored", *case_where))
        if since:
            errored = errored.where(Case.updated_at <= since)
        for r in db.session.execute(errored.order_by(Case.updated_at).limit(limit)).all():
            rows.append({"case_id": r.id, "case_title": r.title, "task": r.error_element, "task_id": None,
                         "element_id": r.error_element, "org": None, "waiting_since": r.updated_at, "due_at": None,
                         "reason": "errored", "detail": r.error_message, "process_id": r.process_id,
                         "process_version": r.process_version, "urgency": r.urgency, "township": r.initiator_org})
    return rows


def _row(r, reason, detail):
    return {"case_id": r.case_id, "case_title": r.title, "task": r.name, "task_id": r.id, "element_id": r.element_id,
            "org": r.org_code, "waiting_since": r.created_at, "due_at": r.due_at, "reason": reason, "detail": detail,
            "process_id": r.process_id, "process_version": r.process_version, "urgency": r.urgency,
            "township": r.initiator_org}


def stuck_counts_by_element(rows):
    """{(process_id, version): {element id: count}} for the diagrams on the dashboard."""
    out = {}
    for r in rows:
        if r["element_id"]:
            per = out.setdefault((r["process_id"], r["process_version"]), {})
            per[r["element_id"]] = per.get(r["element_id"], 0) + 1
    return out


def marks(task, now=None):
    """'red' past the deadline, 'yellow' from the warning on, else None — for inbox rows."""
    now = now or utcnow()
    if task.due_at is not None and now > task.due_at:
        return "red"
    if task.warn_at is not None and now >= task.warn_at:
        return "yellow"
    return None

