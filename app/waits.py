"""What an open case waits for from outside, projected after every engine step (cases._advance):
the messages and signals it waits for by name (`case_waits`) and its external tasks
(`external_tasks`), so that delivery, the case page, the workers' fetch and the supervisor's board
read indexed rows, never a workflow. Every change of an external task is on the audit trail."""
import json

from sqlalchemy import exists, select

from . import audit
from .extensions import db
from .models import Case, CaseWait, ExternalTask, Task
from .models.types import utcnow

KIND_LABELS = {"message": "消息", "signal": "信号", "external": "外部任务"}


def project(case, run, actor):
    """Rewrite the case's waits and external tasks from its workflow after a step. An errored case
    keeps them as they were (it is retried from there); an ended one waits for nothing."""
    if case.status == "errored":
        return
    ended = case.status != "open"
    wanted = set() if ended else {(k, n[:200], e) for k, n, e in run.waiting()}
    now = utcnow()
    for row in db.session.execute(select(CaseWait).where(CaseWait.case_id == case.id)).scalars():
        key = (row.kind, row.name, row.element_id)
        if key in wanted:
            wanted.discard(key)
        else:
            db.session.delete(row)
    for kind, name, element_id in sorted(wanted, key=str):
        db.session.add(CaseWait(case_id=case.id, kind=kind, name=name, element_id=element_id, since=now))

    ready = {} if ended else {t[0]: t for t in run.external_tasks()}
    rows = {r.id: r for r in db.session.execute(select(ExternalTask).where(
        ExternalTask.case_id == case.id, ExternalTask.status.in_(("open", "incident")))).scalars()}
    for task_id, row in rows.items():
        if task_id not in ready:
            row.status, row.updated_at, row.worker_id, row.locked_until = "cancelled", now, None, None
            audit.record("external_task_cancelled", actor, case.id, task=row, before={"status": "open"},
                         after={"status": "cancelled"}, detail="案件已不再等待此外部任务")
        elif row.status == "incident":        # the supervisor retried the case: the task is free again
            row.status, row.retries, row.worker_id, row.locked_until, row.available_at = "open", None, None, None, None
            row.updated_at = now
            audit.record("external_task_retried", actor, case.id, task=row, before={"status": "incident"},
                         after={"status": "open"}, detail=f"主题 {row.topic}")
    for task_id, (_id, element_id, name, topic, variables) in ready.items():
        if task_id in rows or db.session.get(ExternalTask, task_id) is not None:
            continue
        row = ExternalTask(id=task_id, case_id=case.id, process_id=case.process_id, element_id=element_id,
                           name=name[:200], topic=topic[:200], status="open", variables=_plain(variables),
                           created_at=now, updated_at=now)
        db.session.add(row)
        audit.record("external_task_created", actor, case.id, task=row, after={"topic": topic, "status": "open"},
                     detail=f"等待集成系统处理（主题 {topic}）")


def _plain(data):
    return json.loads(json.dumps(data, ensure_ascii=False, default=str))


def waiting_of(case_id):
    """[{kind, name, element_id, since}] of what a case waits for from outside: messages, signals and
    its external tasks (kind `external`, name the topic)."""
    out = [{"kind": w.kind, "name": w.name, "element_id": w.element_id, "since": w.since}
           for w in db.session.execute(select(CaseWait).where(CaseWait.case_id == case_id)
                                       .order_by(CaseWait.id)).scalars()]
    for t in db.session.execute(select(ExternalTask).where(
            ExternalTask.case_id == case_id, ExternalTask.status.in_(("open", "incident")))
            .order_by(ExternalTask.created_at)).scalars():
        out.append({"kind": "external", "name": t.topic, "element_id": t.element_id, "since": t.created_at,
                    "status": t.status, "error": t.error_message})
    return out


def waits_outside():
    """A WHERE clause on Case: it waits for a message, a signal or an external task (so it is not a
    case nobody can move)."""
    return exists().where(CaseWait.case_id == Case.id) | exists().where(
        ExternalTask.case_id == Case.id, ExternalTask.status == "open")


def long_waits(before, case_where=(), limit=200):
    """Rows for the supervisor's board (supervision.stuck): open cases that wait only for a message or
    signal (no one's task is ready) since before `before`."""
    stmt = (select(CaseWait.case_id, CaseWait.kind, CaseWait.name, CaseWait.element_id, CaseWait.since, Case.title,
                   Case.process_id, Case.process_version, Case.urgency, Case.initiator_org)
            .join(Case, Case.id == CaseWait.case_id)
            .where(Case.status == "open", CaseWait.since < before, *case_where,
                   ~exists().where(Task.case_id == Case.id, Task.status == "ready", Task.kind == "engine"))
            .order_by(CaseWait.since).limit(limit))
    rows, seen = [], set()
    for r in db.session.execute(stmt).all():
        if r.case_id in seen:
            continue
        seen.add(r.case_id)
        rows.append({"case_id": r.case_id, "case_title": r.title, "task": None, "task_id": None,
                     "element_id": r.element_id, "org": None, "waiting_since": r.since, "due_at": None,
                     "reason": "waiting", "detail": f"等待{KIND_LABELS[r.kind]}“{r.name}”",
                     "process_id": r.process_id, "process_version": r.process_version, "urgency": r.urgency,
                     "township": r.initiator_org})
    return rows
