"""Counts and rates for a user's scope.

The rates here are the plain first definitions (the full metric set is issue 6):
response rate = calls whose acceptance was decided / calls; resolution rate = closed calls /
calls not rejected; satisfaction rate = satisfied evaluations / evaluations.
"""
from sqlalchemy import func, select

from .extensions import db
from .models import Case, Task
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

