"""Counts and rates for a user's scope, and the supervisor's list of stuck cases.

The rates here are the plain first definitions (the full metric set is issue 6):
response rate = calls whose acceptance was decided / calls; resolution rate = closed calls /
calls not rejected; satisfaction rate = satisfied evaluations / evaluations.
"""
from sqlalchemy import func, select

from .extensions import db
from .models import Case, Task
from .models.types import utcnow
from .scope import case_filter


def _ratio(a, b):
    return round(a / b, 4) if b else None


def stats(user):
    visible = case_filter(user)
    by_status = dict(db.session.execute(
        select(Case.status, func.count()).where(visible).group_by(Case.status)).all())
    calls = select(Case.id).where(visible, Case.process_id == "call_response")
    n_calls = db.session.execute(select(func.count()).select_from(calls.subquery())).scalar()
    answered = db.session.execute(select(func.count(func.distinct(Task.case_id))).where(
        Task.case_id.in_(calls), Task.element_id == "accept", Task.status == "completed")).scalar()
    closed = db.session.execute(select(func.count()).where(
        visible, Case.process_id == "call_response", Case.status == "closed")).scalar()
    rejected = db.session.execute(select(func.count()).where(
        visible, Case.process_id == "call_response", Case.status == "rejected")).scalar()
    evaluations = db.session.execute(select(Task.result).where(
        Task.case_id.in_(calls), Task.element_id == "evaluate", Task.status == "completed")).scalars().all()
    satisfied = sum(1 for r in evaluations if (r or {}).get("satisfied"))
    return {"scope": "all" if user.roles and any(r in ("center", "supervisor", "admin", "analyst") for r in user.roles)
            else (user.org_code or "role"),
            "cases": {"total": sum(by_status.values()), **by_status},
            "response_rate": _ratio(answered, n_calls),
            "resolution_rate": _ratio(closed, n_calls - rejected),
            "satisfaction_rate": _ratio(satisfied, len(evaluations))}


def stuck_cases(limit=500):
    """Open cases with an overdue task, and errored cases."""
    now = utcnow()
    rows = []
    overdue = db.session.execute(
        select(Task, Case.title).join(Case, Case.id == Task.case_id)
        .where(Task.status == "ready", Task.due_at.is_not(None), Task.due_at < now)
        .order_by(Task.due_at).limit(limit)).all()
    for t, title in overdue:
        rows.append({"case_id": t.case_id, "case_title": title, "task": t.name, "task_id": t.id, "org": t.org_code,
                     "waiting_since": t.created_at, "due_at": t.due_at, "reason": "overdue"})
    for c in db.session.execute(select(Case).where(Case.status == "errored").order_by(Case.updated_at).limit(limit)).scalars():
        rows.append({"case_id": c.id, "case_title": c.title, "task": c.error_element, "task_id": None, "org": None,
                     "waiting_since": c.updated_at, "due_at": None, "reason": f"errored: {c.error_message}"})
    return rows
