"""External tasks: service tasks with a topic, done by integration workers (CONTRACT §7).

A worker (a user with the role `integration`, naming itself by `worker_id`) fetches and locks
tasks of its topics for `lock_seconds`, then completes them with variables (they land in the
case, which advances through the locked write path of a task completion, cases.run_step) or
reports a failure: with retries left the task is free again after `retry_seconds`; with none it
is an incident and its case errored, on the supervisor's board with the worker's message, until a
supervisor or admin retries the case. A lock held by another worker is a 409; an expired lock is
free again, and the scheduler's sweep releases it on record. Two workers fetching at once never
get the same task: rows are taken with SELECT ... FOR UPDATE SKIP LOCKED on PostgreSQL, under
the database's write lock on SQLite (database.write_transaction)."""
from datetime import timedelta

from sqlalchemy import or_, select

from . import audit, cases, policy
from .database import lock_case, write_transaction
from .errors import Conflict, NotFound
from .extensions import db
from .messages import check_data
from .models import Case, ExternalTask
from .models.types import utcnow
from .timefmt import iso

STATUS_LABELS = {"open": "待处理", "completed": "已完成", "cancelled": "已取消", "incident": "故障"}


def fetch_and_lock(user, worker_id, topics, max_tasks=10):
    """Lock up to `max_tasks` free tasks of the topics ({name: lock_seconds}) for `worker_id`,
    oldest first; returns the rows."""
    policy.require(user, "external_task.work")
    now = utcnow()
    with write_transaction():
        stmt = (select(ExternalTask).join(Case, Case.id == ExternalTask.case_id)
                .where(ExternalTask.status == "open", ExternalTask.topic.in_(sorted(topics)), Case.status == "open",
                       or_(ExternalTask.locked_until.is_(None), ExternalTask.locked_until <= now),
                       or_(ExternalTask.available_at.is_(None), ExternalTask.available_at <= now))
                .order_by(ExternalTask.created_at, ExternalTask.id).limit(max_tasks)
                .with_for_update(skip_locked=True, of=ExternalTask)
                .execution_options(populate_existing=True))
        rows = db.session.execute(stmt).scalars().all()
        for row in rows:
            before = {"worker_id": row.worker_id, "locked_until": iso(row.locked_until)}
            row.worker_id, row.updated_at = worker_id, now
            row.locked_until = now + timedelta(seconds=topics[row.topic])
            audit.record("external_task_locked", user.username, row.case_id, task=row, before=before,
                         after={"worker_id": worker_id, "locked_until": iso(row.locked_until)},
                         detail=f"{worker_id} 领取（主题 {row.topic}）")
    return rows


def complete(user, task_id, worker_id, variables):
    """Complete a task the worker holds: its variables land in the case, which advances."""
    policy.require(user, "external_task.work")
    variables = check_data(variables, "variables")
    with write_transaction():
        case, row = _locked(task_id, worker_id)
        run = cases.load_for_write(case)
        now = utcnow()
        row.status, row.completed_at, row.updated_at, row.locked_until = "completed", now, now, None
        audit.record("external_task_completed", user.username, case.id, task=row, before={"status": "open"},
                     after={"status": "completed", "worker_id": worker_id, "variables": variables},
                     detail=f"{worker_id} 完成（主题 {row.topic}）")
        cases.run_step(case, run, user.username, lambda: run.complete_external(row.id, variables))
    cases.keep(case, run)
    return case


def fail(user, task_id, worker_id, message, retries, retry_seconds):
    """A worker could not do the task: free again after `retry_seconds` while `retries` are left,
    else an incident that errors the case (the stuck board shows it, a retry frees the task)."""
    policy.require(user, "external_task.work")
    with write_transaction():
        case, row = _locked(task_id, worker_id)
        now = utcnow()
        before = {"status": row.status, "retries": row.retries}
        row.error_message, row.retries, row.updated_at = message, retries, now
        row.worker_id, row.locked_until = None, None
        if retries > 0:
            row.available_at = now + timedelta(seconds=retry_seconds)
            audit.record("external_task_failed", user.username, case.id, task=row, before=before,
                         after={"retries": retries, "available_at": iso(row.available_at)},
                         detail=f"{worker_id} 报告失败，剩余重试 {retries} 次：{message}")
            return row
        row.status = "incident"
        audit.record("external_task_incident", user.username, case.id, task=row, before=before,
                     after={"status": "incident", "retries": 0}, detail=f"{worker_id} 报告失败，已无重试次数：{message}")
        run = cases.load_for_write(case)
        cases.mark_errored(case, run, user.username,
                           f"外部任务“{row.name}”（主题 {row.topic}）失败，已无重试次数：{message}", row.element_id)
    return row


def release_expired_locks(limit=500):
    """Free the tasks whose lock expired (the scheduler's sweep); returns how many, each on record."""
    now = utcnow()
    with write_transaction():
        rows = db.session.execute(select(ExternalTask).where(
            ExternalTask.status == "open", ExternalTask.locked_until <= now)
            .order_by(ExternalTask.locked_until).limit(limit).with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)).scalars().all()
        for row in rows:
            audit.record("external_task_lock_expired", "system", row.case_id, task=row,
                         before={"worker_id": row.worker_id, "locked_until": iso(row.locked_until)},
                         after={"worker_id": None}, detail=f"{row.worker_id} 的锁已过期，任务可再领取")
            row.worker_id, row.locked_until, row.updated_at = None, None, now
    return len(rows)


def _locked(task_id, worker_id):
    """(case, task) locked for the worker's answer; 404 for no such task, 409 when the worker does
    not hold its lock (another does, it expired, or the task is done)."""
    row = db.session.get(ExternalTask, task_id) if isinstance(task_id, str) and len(task_id) <= 36 else None
    if row is None:
        raise NotFound("外部任务不存在")
    case = lock_case(row.case_id)
    row = db.session.execute(select(ExternalTask).where(ExternalTask.id == row.id).with_for_update()
                             .execution_options(populate_existing=True)).scalar_one()
    now = utcnow()
    if row.status != "open":
        raise Conflict(f"外部任务{STATUS_LABELS.get(row.status, row.status)}，不能再处理")
    if case.status != "open":
        raise Conflict(f"案件状态为 {case.status}，不能处理其外部任务")
    held = row.worker_id is not None and row.locked_until is not None and row.locked_until > now
    if held and row.worker_id != worker_id:
        raise Conflict(f"外部任务已被 {row.worker_id} 锁定至 {iso(row.locked_until)}")
    if not held:
        raise Conflict("外部任务未被此工作者锁定（或锁已过期）：请先领取（fetch-and-lock）")
    return case, row


def to_dict(row):
    return {"id": row.id, "case_id": row.case_id, "process_id": row.process_id, "element_id": row.element_id,
            "name": row.name, "topic": row.topic, "status": row.status, "variables": row.variables or {},
            "worker_id": row.worker_id, "lock_expires_at": iso(row.locked_until), "retries": row.retries,
            "error_message": row.error_message}


def get(task_id):
    return db.session.get(ExternalTask, task_id)
