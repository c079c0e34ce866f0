"""Who may see which case and act on which task — the one place both the web and the API ask.

A township sees the calls it raised; a department sees the cases dispatched to it; an office
whose role has a task open to the whole role sees that case; the centre, the supervisor, the
analyst and the admin see all. Raising a case and receiving a task both record the unit (or,
for a task open to a whole role, the role) in `case_participants`, which these filters read.
A request refused a case or task that exists is noted (`refuse`) for the audit trail.
"""
from flask import g, has_request_context
from sqlalchemy import exists, false, or_, select, true

from .extensions import db
from .models import Case, CaseParticipant
from .roles import SEE_ALL_ROLES


def sees_all(user):
    return any(r in SEE_ALL_ROLES for r in user.roles)


def case_filter(user):
    """A WHERE clause on Case selecting the cases `user` may see."""
    if sees_all(user):
        return true()
    return Case.id.in_(select(CaseParticipant.case_id).where(participant_filter(user)))


def participant_filter(user):
    """A WHERE clause on CaseParticipant: the participations that make a case visible to `user`."""
    conds = []
    if user.org_code:
        conds.append(CaseParticipant.org_code == user.org_code)
    if user.roles:
        conds.append(CaseParticipant.role.in_(list(user.roles)) & CaseParticipant.org_code.is_(None))
    return or_(*conds) if conds else false()


def can_see_case(user, case_id):
    if sees_all(user):
        return True
    stmt = select(exists().where(Case.id == case_id, case_filter(user)))
    return bool(db.session.execute(stmt).scalar())


def may_act_on(user, task):
    """Whether the task is addressed to `user` by role and org unit (claims aside)."""
    return task.role in user.roles and (task.org_code is None or task.org_code == user.org_code)


def refuse(case_id, task=None):
    """Note that this request is refused a case (or a task of it) that exists, however the refusal
    is answered (404 as if it did not exist, 403), so that it goes on record (audit.record_refusals)."""
    if has_request_context():
        g.refused = {"case_id": case_id, "task_id": getattr(task, "id", None), "task_name": getattr(task, "name", None)}
