"""The long lists people page through — the inbox and the case list — read from the projections
alone, never from a workflow.

The inbox: a user's ready tasks, oldest first.

Each ready task sits in one queue ("role@ORG", or "role@*" when open to the whole role); a user
reads a few queues. The partial index on ready tasks (queue, created_at, id, assignee) answers
both the count and each queue's oldest tasks without touching the table, and the page is the
merge of the queues' heads — so a centre with tens of thousands of open calls pages as fast as a
small office.
"""
from sqlalchemy import func, select, text, union_all

from . import policy, search
from .extensions import db
from .models import Case, CaseParticipant, Task, queues_of
from .models.types import utcnow

READY = text("tasks.status = 'ready'")   # a literal, so that SQLite uses the partial index


def _mine(user):
    """Unclaimed, or claimed by `user`. Written on coalesce() so that no planner takes the
    assignee index for it: once closed cases' tasks (each with its assignee) fill the table,
    SQLite's statistics make that index look selective, and the inbox would scan it."""
    return func.coalesce(Task.assignee, "").in_(("", user.username))


def inbox_page(user, page=1, per_page=50, case_id=None, process_id=None):
    """(tasks, total) of the page of `user`'s inbox."""
    policy.require(user, "inbox.read")
    queues = queues_of(user)
    if not queues:
        return [], 0
    where = [READY, Task.queue.in_(queues), _mine(user)]
    if case_id is not None:
        where.append(Task.case_id == case_id)
    if process_id:
        where.append(Task.process_id == process_id)
    total = db.session.execute(select(func.count()).select_from(Task).where(*where)).scalar()
    if total == 0:
        return [], 0
    offset = (page - 1) * per_page
    heads = []
    for q in queues:
        head = (select(Task.id, Task.created_at).where(READY, Task.queue == q, *where[2:])
                .order_by(Task.created_at, Task.id).limit(offset + per_page).subquery())
        heads.append(select(head.c.id, head.c.created_at))
    merged = (union_all(*heads) if len(heads) > 1 else heads[0]).subquery()
    ids = select(merged.c.id).order_by(merged.c.created_at, merged.c.id).limit(per_page).offset(offset)
    rows = db.session.execute(select(Task).where(Task.id.in_(ids))).scalars().all()
    rows.sort(key=lambda t: (t.created_at, t.id))
    return rows, total


def urgencies(tasks):
    """{case id: urgency code} of the cases of some tasks (one query, for an inbox page)."""
    ids = {t.case_id for t in tasks}
    if not ids:
        return {}
    return dict(db.session.execute(select(Case.id, Case.urgency).where(Case.id.in_(ids))).all())


def _case_where(user, process_id=None, status=None, stuck=False):
    where = [policy.case_filter(user)]
    if process_id:
        where.append(Case.process_id == process_id)
    if status:
        where.append(Case.status == status)
    if stuck:
        where.append((Case.status == "errored") | ((Case.status == "open") & (Case.due_at < utcnow())))
    return where


def case_page(user, page=1, per_page=50, process_id=None, status=None, stuck=False):
    """(cases, total) of the page of the cases `user` may see, newest first."""
    policy.require(user, "case.read")
    where = _case_where(user, process_id, status, stuck)
    participations = policy.participation_filter(user)
    if len(where) == 1 and participations is not None:
        # unfiltered: count the unit's participations straight from their covering index
        total = db.session.execute(select(func.count(func.distinct(CaseParticipant.case_id)))
                                   .where(participations)).scalar()
    else:
        total = db.session.execute(select(func.count()).select_from(Case).where(*where)).scalar()
    rows = db.session.execute(select(Case).where(*where).order_by(Case.id.desc())
                              .limit(per_page).offset((page - 1) * per_page)).scalars().all()
    return rows, total


def search_page(user, q, page=1, per_page=50, process_id=None, status=None, stuck=False):
    """search.Found: the page of the cases `user` may see that match the words of `q`, best first,
    with the words marked in their titles and snippets."""
    policy.require(user, "case.read")
    filters = _case_where(user, process_id, status, stuck)[1:]
    return search.find(policy.participation_filter(user), filters, q, page, per_page,
                       scope_keys=policy.participation_keys(user))
