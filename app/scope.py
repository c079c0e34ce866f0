"""The org scope as SQL: which cases a user's unit (or role) takes part in, and which tasks are
addressed to them — the mechanism app/policy.py decides with.

A township takes part in the calls it raised; a department in the cases dispatched to it; an
office whose role has a task open to the whole role in that case. Raising a case and receiving
a task both record the unit (or, for a task open to a whole role, the role) in
`case_participants`, which these filters read. Who sees every case is the policy's to say.

A township's platform (乡镇平台) also takes part in every case its township takes part in: the
platforms triage the events the township's grids raise (the township is a participant of those,
app/cases.start_case), find the duplicates to merge (case.merge) and coordinate (统筹) the stationed
agencies and grids on them, which they cannot do on events they do not see. A grid worker sees the
cases their grid raised and a stationed agency the cases handed to it, both by their own unit's
participation; nothing of another township reaches either.
"""
from sqlalchemy import exists, false, or_, select

from .extensions import db
from .models import Case, CaseParticipant


def _units(user):
    """The org codes whose participation is `user`'s: their unit's, and a platform's township's."""
    units = [user.org_code] if user.org_code else []
    township = user.org.parent_code if user.org is not None and user.org.kind == "platform" else None
    if township and user.has_role("platform"):
        units.append(township)
    return units


def participant_filter(user):
    """A WHERE clause on CaseParticipant: the participations of `user`'s unit (a platform's township
    too) or roles."""
    conds = [CaseParticipant.org_code == code for code in _units(user)]
    if user.roles:
        conds.append(CaseParticipant.role.in_(list(user.roles)) & CaseParticipant.org_code.is_(None))
    return or_(*conds) if conds else false()


def participation_keys(user):
    """The participations of participant_filter(user) as keys (participation_key): the search index
    holds each case's keys, so that a search narrows to the cases in scope inside its index."""
    keys = [participation_key(code, None) for code in _units(user)]
    return keys + [participation_key(None, role) for role in sorted(user.roles or ())]


def participation_key(org_code, role):
    """A case's participation as one index term: a unit's (any role) or a role's with no unit."""
    return f"@o:{org_code}" if org_code is not None else f"@r:{role}"


def cases_taken_part_in(user):
    """A WHERE clause on Case: the cases `user`'s unit or roles take part in."""
    return Case.id.in_(select(CaseParticipant.case_id).where(participant_filter(user)))


def took_part(user, case_id):
    stmt = select(exists().where(CaseParticipant.case_id == case_id, participant_filter(user)))
    return bool(db.session.execute(stmt).scalar())


def addressed_to(user, task):
    """Whether the task is addressed to `user` by role and org unit (claims aside)."""
    return task.role in user.roles and (task.org_code is None or task.org_code == user.org_code)
