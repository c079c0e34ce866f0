"""Cases: start one, complete or claim a task — each one transaction, one place.

Each write locks the case (see database.py), runs the engine, projects the ready user tasks into
the `tasks` table, records who takes part, appends the audit events and commits once.
"""
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from . import audit, builtin_tasks, caching, duty_list, evidence, notifications, orgs, policy, processes, search, supervision, waits
from .conversation import checked_text
from .database import lock_case, write_transaction
from .engine import CaseRun, EngineError, clean_data, resolve_options, validate
from .engine import expressions
from .engine.camunda import INITIATOR
from .extensions import db
from .models import Case, CaseParticipant, Task, User, queue_of
from .models.types import utcnow
from .errors import CaseError, Conflict, Forbidden, Invalid, NotFound  # noqa: F401 - re-exported


# --- forms ------------------------------------------------------------------------------------
def form_schema(definition, filename, case_data=None):
    """The JSON Schema of a form as served and checked now (choices filled in, lead suggested)."""
    schema = definition.form(filename)
    if schema is None:
        return None
    schema = resolve_options(schema, lambda kind: orgs.form_options(kind, case_data))
    return _suggest(schema, case_data or {})


def _suggest(schema, case_data):
    """A field marked `x-suggest: list_item_primary` defaults to the list item's primary unit."""
    props = schema.get("properties") or {}
    by_category = [k for k, p in props.items() if isinstance(p, dict) and p.get("x-suggest") == "category_list_item"]
    if by_category:
        from .grid_events import suggested_list_item      # noqa: PLC0415 - grid_events imports this module
        item = suggested_list_item(case_data)
        if item:
            schema = dict(schema, properties=dict(props))
            for k in by_category:
                schema["properties"][k] = dict(props[k], default=item)
            props = schema["properties"]
    wanted = [k for k, p in props.items() if isinstance(p, dict) and p.get("x-suggest") == "list_item_primary"]
    if not wanted:
        return schema
    primary = orgs.primary_org_of(case_data.get("list_item"))
    if primary is None or primary == orgs.TOWNSHIP:
        return schema
    schema = dict(schema, properties=dict(props))
    for k in wanted:
        schema["properties"][k] = dict(props[k], default=primary)
    return schema


def check_form(schema, data):
    """Form data reduced to the form's fields, defaults filled, validated; raises Invalid."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise Invalid("data 应为对象", {"data": "应为对象"})
    if schema is None:
        return {}
    clean = clean_data(schema, data)
    errors = validate(schema, clean)
    if errors:
        raise Invalid("表单填写有误", errors)
    return clean


# --- reading ----------------------------------------------------------------------------------
def get_case(user, case_id):
    case = db.session.get(Case, case_id)
    if case is None:
        raise NotFound("案件不存在或无权查看")
    policy.require(user, "case.read", case=case)
    return case


@dataclass
class History:
    """A case with everything on record about it, for its page and its printed file."""
    case: Case
    tasks: list       # every task of the case, oldest first
    events: list      # its own history on the audit trail, oldest first: no refused requests
    refusals: int = 0     # requests about it that were refused (on the trail, listed on /audit)

    @property
    def current(self):
        return [t for t in self.tasks if t.status == "ready"]

    @property
    def completed(self):
        return sorted((t for t in self.tasks if t.status == "completed"), key=lambda t: (t.completed_at, t.id))


def case_history(user, case_id):
    """The History of a case `user` may see."""
    case = get_case(user, case_id)
    tasks = db.session.execute(select(Task).where(Task.case_id == case_id)
                               .order_by(Task.created_at, Task.id)).scalars().all()
    return History(case, tasks, audit.events_of(case_id, without=(audit.REFUSAL,)), audit.refusals_of(case_id))


def case_trail(user, case_id):
    """The audit events of a case `user` may see, oldest first."""
    get_case(user, case_id)
    return audit.events_of(case_id)


_TASK_ID = re.compile(r"[A-Za-z0-9-]{1,36}")


def _task_row(task_id):
    """The task row of an id as clients send it (anything else is simply not found)."""
    task_id = str(task_id)
    return db.session.get(Task, task_id) if _TASK_ID.fullmatch(task_id) else None


def get_task(user, task_id):
    """The task if `user` may see it: addressed to them, or part of a case they may see."""
    task = _task_row(task_id)
    if task is None:
        raise NotFound("任务不存在或无权查看")
    policy.require(user, "task.read", task=task)
    return task


def task_view(user, task_id):
    """(task, its case, the case's definition, the task's form) of a task `user` may see."""
    task = get_task(user, task_id)
    definition, schema = task_form(task)
    return task, db.session.get(Case, task.case_id), definition, schema


def current_tasks(case_id):
    stmt = select(Task).where(Task.case_id == case_id, Task.status == "ready").order_by(Task.created_at, Task.id)
    return db.session.execute(stmt).scalars().all()


def task_form(task):
    """(definition, schema) of a task's form."""
    case = db.session.get(Case, task.case_id)
    if task.kind == "order":
        return processes.definition(case.definition_row), processes.app_form(task.form)
    definition = processes.definition(case.definition_row)
    return definition, form_schema(definition, task.form, case.data)


def start_form(user, process_id, capability="case.start"):
    """(newest version, definition, start form) of a process `user` may start."""
    row = processes.latest_version(process_id)
    if row is None:
        raise NotFound(f"没有已部署的流程 {process_id}")
    policy.require(user, capability, process=row)
    definition = processes.definition(row)
    return row, definition, form_schema(definition, definition.start.form)


def start_values(schema, asked):
    """What a start form opens with when a page links to it with some answers (the 清单 item page's
    修改建议: ?change_type=modify&item_code=ZF-01): the form's top-level text fields given in `asked`,
    and each object field marked `x-prefill-item: <field>` filled from the list item that field
    names, as it stands now — so a proposal starts from the item and changes only what it changes."""
    props = (schema or {}).get("properties") or {}
    values = {k: v[:200] for k, v in asked.items()
              if isinstance(v, str) and v and isinstance(props.get(k), dict) and props[k].get("type") == "string"}
    for name, prop in props.items():
        source = prop.get("x-prefill-item") if isinstance(prop, dict) else None
        item = orgs.list_item(values.get(source)) if source else None
        if item is not None:
            current = item.to_dict()
            values[name] = {k: current[k] for k in (prop.get("properties") or {}) if current.get(k) is not None}
    return values


# --- writing ----------------------------------------------------------------------------------
def start_case(user, process_id, data, files=(), event=None):
    """Start a case; `files` (app/evidence.Staged, checked and stored before) are attached to it in
    the same transaction, so a call is raised with its evidence or not at all. `event` (kind, name):
    a message or signal starts it, with its data (checked by app/messages.py) as the start data."""
    row, definition, start_schema = start_form(user, process_id, "case.start" if event is None else "message.send")
    clean = check_form(start_schema, data) if event is None else dict(data)
    with write_transaction():
        case, run = _create(user, row, definition, start_schema, clean, files, event)
    _keep(case, run)
    return case


def start_within(user, process_id, data, on_behalf_of, place, extra):
    """Start a case inside the caller's write transaction, for another case's step (a grid event
    raising a call): the same checks of the start form and the same write path as start_case, but
    in the name of the unit `on_behalf_of` (the township), with where it is (`place`) and `extra`
    variables (the link back) given by the caller, who has checked that `user` may."""
    row = processes.latest_version(process_id)
    if row is None:
        raise NotFound(f"没有已部署的流程 {process_id}")
    definition = processes.definition(row)
    start_schema = form_schema(definition, definition.start.form)
    clean = check_form(start_schema, data)
    case, _run = _create(user, row, definition, start_schema, clean, (), None, on_behalf_of, place, extra)
    return case


def _create(user, row, definition, start_schema, clean, files, event, org_code=None, place=None, extra=None):
    org_code = org_code or user.org_code
    engine_data = {k: None for k in ((start_schema or {}).get("properties") or {})}
    engine_data.update(clean, initiator=user.username, initiator_org=org_code, **(extra or {}))
    place = place or _place(user, clean)
    engine_data.update({k: v for k, v in (("initiator_township", place["township_code"]),
                                          ("initiator_grid", place["grid_code"])) if v is not None})
    in_force = orgs.current_list_version()
    case = Case(process_id=row.process_id, process_version_id=row.id, process_version=row.version,
                title=_title(definition, engine_data), urgency=clean.get("urgency"),
                list_item=clean.get("list_item") or clean.get("item_code"),
                list_version=in_force.version if in_force else None,
                initiator=user.username, initiator_org=org_code, data=engine_data, **place)
    db.session.add(case)
    db.session.flush()
    if org_code:
        db.session.add(CaseParticipant(case_id=case.id, org_code=org_code))
    if place["township_code"] and place["township_code"] != org_code:   # a grid's township sees its events
        db.session.add(CaseParticipant(case_id=case.id, org_code=place["township_code"]))
    if user.org_code and user.org_code != org_code and user.org_code != place["township_code"]:
        db.session.add(CaseParticipant(case_id=case.id, org_code=user.org_code))    # who raised it for the unit
    audit.record("case_started", user.username, case.id, after=clean, org_code=org_code,
                 detail=f"{row.name} 第 {row.version} 版")
    evidence.attach(user, case, files)
    if event is not None:
        audit.record("message_delivered", user.username, case.id, org_code=user.org_code,
                     after={"name": event[1], "kind": event[0]}, detail=f"由“{event[1]}”发起")
    run = CaseRun.start(definition)
    _advance(case, run, user.username, lambda: run.begin(engine_data, event))
    return case, run


def _place(user, clean):
    """The indexed columns of where and what a matter is: the township and grid of the unit raising
    it (a grid, platform or stationed agency belongs to a township), the category and the location
    (`{lat, lng}`) the start form gave, for the duplicate check and the command view."""
    org = user.org
    township = orgs.township_of(org)
    grid = org.code if org is not None and org.kind == "grid" else None
    loc = clean.get("location") if isinstance(clean.get("location"), dict) else {}
    lat, lng = loc.get("lat"), loc.get("lng")
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (lat, lng))
    category = clean.get("category")
    return {"township_code": township, "grid_code": grid,
            "category": category[:40] if isinstance(category, str) else None,
            "lat": float(lat) if numbers else None, "lng": float(lng) if numbers else None}


def complete_task(user, task_id, data, files=()):
    """Complete a ready task with form data; returns (case, next ready tasks of the case). `files`
    (app/evidence.Staged) are attached to the reply, about this task, in the same transaction."""
    with write_transaction():
        case, task = _lock_for_action(user, task_id, "task.complete")
        if task.kind == "order":
            clean = check_form(processes.app_form(task.form), data)
            _finish(user, case, task, clean, {})
            subject = db.session.get(Task, task.subject_task_id) if task.subject_task_id else None
            notifications.supervision_order_issued(case, task, subject, user.username)
            search.reindex(case)
            return case, current_tasks(case.id)
        definition = processes.definition(case.definition_row)
        clean = check_form(form_schema(definition, task.form, case.data), data)
        run = _load(case, definition)
        if not run.task_is_ready(task.id):
            raise Conflict("任务已不处于待办状态")
        current = run.task_data(task.id)
        evidence.attach(user, case, files, task=task)
        _finish(user, case, task, clean, {k: current.get(k) for k in clean})
        ready = _advance(case, run, user.username, lambda: run.complete(task.id, clean))
    _keep(case, run)
    return case, ready


def load_for_write(case):
    """The workflow of a case locked by the caller, for a change outside task completion."""
    return _load(case, processes.definition(case.definition_row))


def save_run(case, run):
    """Store a workflow changed outside task completion (deadlines moved) with its projections."""
    case.state = run.dump()
    case.next_timer_at = run.next_timer_at()
    dues = [t.due_at for t in db.session.execute(select(Task).where(
        Task.case_id == case.id, Task.status == "ready", Task.kind == "engine")).scalars() if t.due_at]
    case.due_at = min(dues) if dues else None
    case.updated_at = utcnow()


def migration_preview(user, process_id, from_version, to_version):
    """Which open cases of one version could move to another: (old, new, [(case, movable, reason)]);
    none between a version and itself."""
    policy.require(user, "process.preview_migration")
    old, new = processes.version(process_id, from_version), processes.version(process_id, to_version)
    if old is None or new is None:
        raise NotFound("没有这个版本")
    if old.id == new.id:
        return old, new, []
    definition = processes.definition(new)
    out = []
    for case in db.session.execute(select(Case).where(Case.process_version_id == old.id, Case.status == "open")
                                   .order_by(Case.id)).scalars():
        out.append((case, *_fits(case, definition)))
    return old, new, out


def _fits(case, definition):
    ok, missing = CaseRun.fits(definition, case.state)
    if not ok:
        return False, f"新版本中没有案件所处或经过的元素 {missing}"
    for t in current_tasks(case.id):
        if t.kind == "engine" and t.element_id not in definition.tasks:
            return False, f"新版本中没有当前任务 {t.element_id}"
    return True, None


def migrate_cases(user, process_id, from_version, to_version, case_ids=None):
    """Move the open cases that can move (or the given ones) to another version; each move is one
    locked write, on record. Returns (moved ids, [(id, reason)] left where they are)."""
    policy.require(user, "process.migrate")
    old, new, preview = migration_preview(user, process_id, from_version, to_version)
    definition = processes.definition(new)
    moved, kept = [], []
    for case, ok, reason in preview:
        if case_ids is not None and case.id not in case_ids:
            continue
        if not ok:
            kept.append((case.id, reason))
            continue
        with write_transaction():
            case = lock_case(case.id)
            ok, reason = _fits(case, definition) if case.status == "open" else (False, "案件已不在办理中")
            if not ok:
                kept.append((case.id, reason))
                continue
            run = CaseRun.load(definition, case.state)
            before = {"process_version": case.process_version}
            case.process_version_id, case.process_version = new.id, new.version
            audit.record("case_migrated", user.username, case.id, before=before,
                         after={"process_version": new.version})
            _advance(case, run, user.username, run.advance)
        _keep(case, run)
        moved.append(case.id)
    return moved, kept


# --- withdrawal (撤回) -------------------------------------------------------------------------------
CALL_PROCESS = "call_response"      # a township's call: the one process a township may withdraw


def accepted(case_id):
    """Whether the centre has accepted the call: one of its steps was completed with `accepted` true
    (CONTRACT §3: the centre's 受理 decides `accepted`). Until then — the call waiting at 受理, or
    sent back to the township for 补充材料 (accepted false, more information asked) — it is not."""
    answers = db.session.execute(select(Task.result).where(Task.case_id == case_id, Task.status == "completed",
                                                           Task.kind == "engine")).scalars()
    return any(isinstance(r, dict) and r.get("accepted") is True for r in answers)


def withdraw_conflict(case):
    """Why the case may not be withdrawn now (a message), or None."""
    if case.process_id != CALL_PROCESS:
        return "只有乡镇的呼叫可以撤回"
    if case.status != "open":
        return "案件已不在办理中，不能撤回"
    if accepted(case.id):
        return "响应中心已受理此呼叫，不能再撤回"
    return None


def may_withdraw(user, case):
    """Whether `user` may withdraw the case now (the case page offers it)."""
    return policy.allows(user, "case.withdraw", case=case) and withdraw_conflict(case) is None


def withdraw_case(user, case_id, reason):
    """The calling township withdraws its call before the centre accepted it: the workflow ends
    there (its state is dropped as a closed case's is), its ready steps leave the inboxes, and the
    case is `withdrawn`, on record with the reason."""
    case = db.session.get(Case, case_id) if isinstance(case_id, int) else None
    if case is None:
        raise NotFound("案件不存在或无权查看")
    policy.require(user, "case.withdraw", case=case)
    reason = checked_text(reason, "reason", "撤回理由")
    with write_transaction():
        case = lock_case(case.id)
        conflict = withdraw_conflict(case)
        if conflict:
            raise Conflict(conflict)
        now = utcnow()
        cancelled = db.session.execute(select(Task).where(Task.case_id == case.id, Task.status == "ready")).scalars().all()
        for row in cancelled:
            row.status = "cancelled"
            audit.record("task_cancelled", user.username, case.id, task=row, org_code=row.org_code, detail="呼叫已撤回")
        before = {"status": case.status}
        case.status, case.closed_at, case.updated_at = "withdrawn", now, now
        case.state, case.next_timer_at, case.due_at = None, None, None
        audit.record("case_withdrawn", user.username, case.id, org_code=user.org_code, before=before,
                     after={"status": "withdrawn", "reason": reason}, detail=reason)
        notifications.case_withdrawn(case, cancelled, reason, user.username)
        builtin_tasks.left_open(case, user.username)
        search.reindex(case)
    return case


# --- correcting a dispatch (改派) --------------------------------------------------------------------
DISPATCH_FIELDS = ("lead_department", "co_departments")     # CONTRACT §3: what the centre's dispatch decides


@dataclass
class Dispatch:
    """The dispatch in force of a case, and why it may not be corrected now (or None)."""
    task: Task            # the completed step that decided it (研判派单, or 改派 after a return)
    lead: str
    cooperating: list
    conflict: str = None


def _dispatch_steps(case):
    """The completed steps of a case whose form decides the lead department, oldest first."""
    definition = processes.definition(case.definition_row)
    rows = db.session.execute(select(Task).where(Task.case_id == case.id, Task.kind == "engine",
                                                 Task.status == "completed")
                              .order_by(Task.completed_at, Task.id)).scalars().all()
    return [t for t in rows if "lead_department" in ((definition.form(t.form) or {}).get("properties") or {})], rows


def dispatch_in_force(case):
    """The Dispatch of a case, or None when it was never dispatched. It may be corrected while the
    case is open and no department has signed for it: every step that followed the first dispatch
    is a department's return (退回, `returned` true) or was cancelled."""
    steps, done = _dispatch_steps(case)
    if not steps:
        return None
    last = steps[-1]
    result = last.result or {}
    d = Dispatch(last, result.get("lead_department"), list(result.get("co_departments") or []))
    if case.status != "open" or case.state is None:
        d.conflict = "案件已不在办理中，不能改派"
        return d
    first = steps[0]
    names = orgs.org_names()
    signed = [t for t in done if t.created_at >= first.completed_at and t not in steps
              and not (isinstance(t.result, dict) and t.result.get("returned") is True)]
    if signed:
        who = "、".join(sorted({names.get(t.org_code, t.org_code or "") for t in signed if t.org_code})) or "部门"
        d.conflict = f"{who}已签收，不能再改派"
    return d


def redispatches(case_id):
    """The corrections of a case's dispatch on record (改派), oldest first."""
    return audit.events_of(case_id, actions=("case_redispatched",))


def may_redispatch(user, case):
    """Whether `user` may correct the case's dispatch now (the case page offers it)."""
    if not policy.allows(user, "case.redispatch", case=case) or case.process_id != CALL_PROCESS:
        return None
    d = dispatch_in_force(case)
    return d if d is not None and d.conflict is None else None


def redispatch(user, case_id, lead, cooperating, reason):
    """改派: the centre corrects a dispatch before any department signed for it. The dispatch step
    is answered again with the new units (checked by its own form: a lead, not also cooperating);
    the departments' waiting steps are cancelled and new ones made ready per the new dispatch,
    with new deadlines; on record with the units before and after, and the departments concerned
    told. Refused (409) once a department signed."""
    case = db.session.get(Case, case_id) if isinstance(case_id, int) else None
    if case is None:
        raise NotFound("案件不存在或无权查看")
    policy.require(user, "case.redispatch", case=case)
    reason = checked_text(reason, "reason", "改派理由")
    with write_transaction():
        case = lock_case(case.id)
        d = dispatch_in_force(case)
        if d is None:
            raise Conflict("案件尚未派单，不能改派")
        if d.conflict:
            raise Conflict(d.conflict)
        definition = processes.definition(case.definition_row)
        schema = form_schema(definition, d.task.form, case.data)
        wanted = dict(d.task.result or {}, lead_department=lead,
                      co_departments=cooperating if cooperating is not None else [])
        clean = check_form(schema, wanted)
        if clean.get("lead_department") == d.lead and set(clean.get("co_departments") or []) == set(d.cooperating):
            raise Invalid("改派后的承办部门与现在的派单相同", {"lead_department": "与现在的派单相同，无需改派"})
        run = _load(case, definition)
        before = {"lead_department": d.lead, "co_departments": d.cooperating}
        after = {"lead_department": clean["lead_department"], "co_departments": clean.get("co_departments") or [],
                 "reason": reason}
        audit.record("case_redispatched", user.username, case.id, task=d.task, org_code=user.org_code,
                     before=before, after=after, detail=reason)
        waiting = {t.id: t for t in current_tasks(case.id)}
        d.task.result = dict(clean)
        _advance(case, run, user.username, lambda: run.redo(d.task.id, clean))
        cancelled = [t for t in waiting.values() if t.status == "cancelled"]
        for order in db.session.execute(select(Task).where(
                Task.case_id == case.id, Task.status == "ready", Task.kind == "order",
                Task.subject_task_id.in_([t.id for t in cancelled] or [""]))).scalars():
            order.status = "cancelled"
            audit.record("task_cancelled", user.username, case.id, task=order, detail="所督办的环节已因改派撤销")
        notifications.dispatch_changed(case, before, after, user.username)
    _keep(case, run)
    return case


def run_step(case, run, actor, step):
    """Another domain module's change to a case locked by the caller (a message delivered, an external
    task completed): run `step` on its workflow and project it, the write path of a task completion."""
    return _advance(case, run, actor, step)


def keep(case, run):
    """After the commit of run_step: keep the workflow for the case's next step."""
    _keep(case, run)


def mark_errored(case, run, actor, message, element_id=None):
    """Put a locked case on the supervisor's board as errored (an external task's incident)."""
    _mark_errored(case, run, actor, EngineError(message, element_id))


def _finish(user, case, task, clean, before):
    task.status, task.completed_at, task.completed_by, task.result = "completed", utcnow(), user.username, clean
    task.assignee = task.assignee or user.username
    audit.record("task_completed", user.username, case.id, task=task, before=before, after=clean,
                 org_code=task.org_code)


def retry_case(user, case_id):
    """Run an errored case's failed step again, after its cause was fixed (supervisor, admin)."""
    policy.require(user, "case.retry")
    with write_transaction():
        case = lock_case(case_id) if isinstance(case_id, int) else None
        if case is None:
            raise NotFound("案件不存在")
        if case.status != "errored":
            raise Conflict("案件不处于异常状态")
        definition = processes.definition(case.definition_row)
        run = CaseRun.load(definition, case.state)
        before = {"status": "errored", "error": case.error_message, "element": case.error_element}
        case.status, case.error_message, case.error_element = "open", None, None
        for row in db.session.execute(select(Task).where(Task.case_id == case.id, Task.status == "suspended")).scalars():
            row.status = "ready"
        audit.record("case_retried", user.username, case.id, before=before, after={"status": "open"})
        _advance(case, run, user.username, run.retry)
    _keep(case, run)
    return case


def repair_case(case_id, problems, actor="system"):
    """Re-project an open case from its stored state (inbox rows, next timer; a stall becomes an
    error), merging children a lost merge left behind; on record. Returns the status after."""
    with write_transaction():
        case = lock_case(case_id)
        if case is None or case.status != "open" or case.state is None:
            return None
        run = CaseRun.load(processes.definition(case.definition_row), case.state)
        audit.record("case_repaired", actor, case.id, before={"problems": list(problems)},
                     detail="按保存的流程状态重新投影待办和定时器")
        _advance(case, run, actor, run.repair)
    return case.status


def claim_task(user, task_id):
    with write_transaction():
        case, task = _lock_for_action(user, task_id, "task.claim")
        if task.assignee != user.username:
            task.assignee = user.username
            audit.record("task_claimed", user.username, case.id, task=task, org_code=task.org_code,
                         before={"assignee": None}, after={"assignee": user.username})
    return task


def unclaim_task(user, task_id):
    with write_transaction():
        case, task = _lock_for_action(user, task_id, "task.claim")
        if task.assignee == user.username:
            task.assignee = None
            audit.record("task_unclaimed", user.username, case.id, task=task, org_code=task.org_code,
                         before={"assignee": user.username}, after={"assignee": None})
    return task


# --- internals --------------------------------------------------------------------------------
def _lock_for_action(user, task_id, capability):
    """(case, task) for a user acting on a task: checked, with the case row locked."""
    task = _task_row(task_id)
    if task is None:
        raise NotFound("任务不存在")
    policy.require(user, capability, task=task)
    case = lock_case(task.case_id)
    if db.engine.dialect.name != "sqlite":   # on SQLite every read in write_transaction is under the lock
        task = db.session.execute(select(Task).where(Task.id == task.id)
                                  .execution_options(populate_existing=True)).scalar_one()
    _check_open(user, case, task)
    return case, task


def _check_open(user, case, task):
    if task.status == "completed":
        raise Conflict("任务已完成")
    if task.status != "ready":
        raise Conflict("任务已不处于待办状态")
    if case.status != "open":
        raise Conflict(f"案件状态为 {case.status}，不能办理")
    if task.assignee and task.assignee != user.username:
        raise Conflict(f"任务已由 {task.assignee} 认领")


# Workflows this process saved last, by case id, with the row version they were saved as: the
# next step on the same case skips deserialising when nobody else has changed the case since.
# A workflow is taken out while a step runs on it and put back only after its commit.
_recent = OrderedDict()
_recent_lock = threading.Lock()


def _recent_key(case):
    return str(db.engine.url), case.created_at, case.row_version


def _load(case, definition):
    with _recent_lock:
        hit = _recent.pop(case.id, None)
    if hit is not None and hit[0] == _recent_key(case) and hit[1].definition is definition:
        return hit[1]
    return CaseRun.load(definition, case.state)


def _keep(case, run):
    size = current_app.config["WORKFLOW_CACHE_SIZE"] if current_app.config["PROCESS_CACHES"] else 0
    if case.status != "open" or size <= 0:
        return
    with _recent_lock:
        _recent[case.id] = (_recent_key(case), run)
        while len(_recent) > size:
            _recent.popitem(last=False)


def _title(definition, data):
    try:
        value = expressions.evaluate(definition.title_expr, data)
    except expressions.ExpressionError:
        value = None
    return str(value)[:200] if value else definition.name


def _advance(case, run, actor, step):
    """Run one engine step and project its outcome onto the case, or mark the case errored.

    Returns the case's ready task rows after the step, oldest first."""
    since = time.time()
    try:
        step()
        _run_builtin_tasks(case, run, actor)
        ready = [] if run.is_completed() else run.ready_tasks()
        fired = run.escalations_since(since)
    except EngineError as e:
        _mark_errored(case, run, actor, e)
        search.reindex(case)
        return []
    now = utcnow()
    open_rows = {t.id: t for t in db.session.execute(
        select(Task).where(Task.case_id == case.id, Task.status == "ready", Task.kind == "engine")).scalars()}
    ready_ids = {t.id for t in ready}
    live = []
    for row in open_rows.values():
        if row.id not in ready_ids:
            row.status = "cancelled"
            audit.record("task_cancelled", actor, case.id, task=row, org_code=row.org_code)
        else:
            live.append(row)
    known = {(p.org_code, p.role) for p in db.session.execute(
        select(CaseParticipant).where(CaseParticipant.case_id == case.id)).scalars()}
    rows = dict(open_rows)
    # a row the engine has ready again that the inbox lost (found by `flask huying check --repair`)
    lost = ready_ids - open_rows.keys()
    revived = {r.id: r for r in db.session.execute(select(Task).where(Task.id.in_(lost), Task.case_id == case.id,
                                                                      Task.status != "completed")).scalars()} \
        if lost else {}
    for t in ready:
        if t.role is None:          # a process drawn without lanes: the task is the starter's own
            t.role, t.org_code = _starter_place(case)
        if t.id in open_rows:       # still waiting; a migration may have changed its name, lane or form
            row = open_rows[t.id]
            row.due_at, row.warn_at, row.name, row.form, row.instructions = t.due_at, t.warn_at, t.name, t.form, \
                t.instructions
            row.role, row.org_code, row.queue = t.role, t.org_code, queue_of(t.role, t.org_code)
            continue
        row = revived.get(t.id)
        if row is not None:
            row.status, row.due_at, row.warn_at = "ready", t.due_at, t.warn_at
        else:
            row = Task(id=t.id, case_id=case.id, process_id=case.process_id, case_title=case.title,
                       element_id=t.element_id, name=t.name, role=t.role, org_code=t.org_code,
                       queue=queue_of(t.role, t.org_code), form=t.form, instructions=t.instructions,
                       created_at=now, due_at=t.due_at, warn_at=t.warn_at)
            db.session.add(row)
            _preassign(run.definition, case, row, actor)
            notifications.task_ready(case, row, actor)
        rows[row.id] = row
        live.append(row)
        key = (t.org_code, None) if t.org_code else (None, t.role)
        if key not in known:
            known.add(key)
            db.session.add(CaseParticipant(case_id=case.id, org_code=key[0], role=key[1]))
        audit.record("task_ready", actor, case.id, task=row, org_code=t.org_code,
                     after={"role": t.role, "org": t.org_code})
    for esc in fired:
        supervision.escalate(case, esc, rows, actor)
    case.data = run.case_data()
    case.updated_at = now
    deadlines = [r.due_at for r in live if r.due_at is not None]
    case.due_at = min(deadlines) if deadlines else None
    if run.is_completed():
        before = case.status
        case.status = run.final_status()
        _on_end(case, run, actor)
        builtin_tasks.left_open(case, actor)
        case.closed_at = now
        case.state = None              # a finished workflow is never loaded again
        case.next_timer_at = None
        for order in db.session.execute(select(Task).where(Task.case_id == case.id, Task.status == "ready",
                                                           Task.kind == "order")).scalars():
            order.status = "cancelled"
            audit.record("task_cancelled", actor, case.id, task=order, detail="案件已结束")
        audit.record("case_" + case.status, actor, case.id, before={"status": before},
                     after={"status": case.status})
        notifications.case_ended(case, actor)
    else:
        case.state = run.dump()
        case.next_timer_at = run.next_timer_at()
        stalled = None if live else run.stall()
        if stalled:     # what the step did stays done; the case goes to the supervisor's board
            _mark_errored(case, run, actor, EngineError(*stalled))
    waits.project(case, run, actor)
    search.reindex(case)
    return sorted(live, key=lambda r: (r.created_at, r.id))


def _run_builtin_tasks(case, run, actor):
    """The service tasks whose topic the application serves itself (app/builtin_tasks.py: raising a
    call from a grid event) run at once, in this step's transaction: done with the case's step or
    not at all. A refusal puts the case on the supervisor's board with the reason."""
    for _round in range(10):           # a handler's completion may reach another built-in task
        todo = [t for t in run.external_tasks() if t[3] in builtin_tasks.HANDLERS]
        if not todo:
            return
        for task_id, element_id, name, topic, variables in todo:
            try:
                out = builtin_tasks.HANDLERS[topic](case, element_id, variables, actor)
            except CaseError as e:
                raise EngineError(f"“{name}”未能完成：{e.message}", element_id) from e
            run.complete_external(task_id, out)
    raise EngineError("内置服务任务循环次数过多", None)


def _starter(case):
    """The user who started `case` (None for a program or a name no longer known), read once per request."""
    return caching.per_request(("starter", case.initiator), lambda: db.session.execute(
        select(User).where(User.username == case.initiator)).scalar_one_or_none())


def _starter_place(case):
    """(role, unit) under which the person who started `case` sees a task of theirs: their first
    role and their unit (the task is also claimed for them, see _preassign). A case started by no
    known user (a message from a program without roles) goes to the response centre."""
    user = _starter(case)
    roles = [r for r in (user.roles or []) if r != "integration"] if user is not None else []
    if not roles:
        return "center", None
    return roles[0], user.org_code


def _preassign(definition, case, row, actor):
    """A task whose process names its assignee (camunda:assignee) is claimed for them when ready."""
    td = definition.tasks.get(row.element_id)
    wanted = getattr(td, "assignee", None)
    if wanted == INITIATOR:
        starter = _starter(case)
        if starter is None or row.role not in (starter.roles or []):
            return                 # a program started it, or the starter lacks the task's role: left open to the role
    if wanted:
        row.assignee = case.initiator if wanted == INITIATOR else wanted
        audit.record("task_claimed", actor, case.id, task=row, org_code=row.org_code, before={"assignee": None},
                     after={"assignee": row.assignee}, detail="流程指定的处理人，任务就绪时自动认领")


def _on_end(case, run, actor):
    """What the end event reached asks of the application: publish a list change, flag a unit."""
    props = run.definition.end_props.get(run.final_end()) or {}
    if props.get("listAction") and case.status == "closed":
        duty_list.apply_case_action(case, props["listAction"], actor)
    if props.get("flagKind") and case.initiator_org:
        try:
            due = not props.get("flagWhen") or bool(expressions.evaluate(props["flagWhen"], case.data or {}))
        except expressions.ExpressionError as e:
            audit.record("flag_not_raised", actor, case.id, detail=f"flagWhen 无法计算（{e}），未予标记")
            due = False
        if due:
            supervision.flag_automatically(case, props["flagKind"], actor)


def _mark_errored(case, run, actor, error):
    """An engine step failed: keep the state for a retry, take the case out of the inboxes."""
    before = case.status
    case.status = "errored"
    case.error_message = str(error)
    case.error_element = error.element_id
    case.updated_at = utcnow()
    try:
        case.state = run.dump()
    except Exception:  # noqa: BLE001 - an unserialisable state keeps the last good one
        pass
    for row in db.session.execute(select(Task).where(Task.case_id == case.id, Task.status == "ready")).scalars():
        row.status = "suspended"
    audit.record("case_errored", actor, case.id, before={"status": before},
                 after={"status": "errored", "element": error.element_id}, detail=str(error))



def fire_due_timers(limit=100):
    """Advance the open cases whose next timer is due now; returns how many were advanced.

    Finds them through the indexed `next_timer_at` column and fires each through the same
    locked write path as a task completion. (The engine reads the wall clock itself, so "now"
    is always the real now.)"""
    now = utcnow()
    due = db.session.execute(select(Case.id).where(Case.status == "open", Case.next_timer_at <= now)
                             .order_by(Case.next_timer_at).limit(limit)).scalars().all()
    fired = 0
    for case_id in due:
        with write_transaction():
            case = lock_case(case_id, skip_locked=True)
            if case is None or case.status != "open" or case.next_timer_at is None or case.next_timer_at > now:
                continue
            definition = processes.definition(case.definition_row)
            run = _load(case, definition)
            audit.record("timer_fired", "system", case.id, before={"next_timer_at": case.next_timer_at.isoformat()})
            _advance(case, run, "system", run.advance)
            fired += 1
        _keep(case, run)
    return fired
