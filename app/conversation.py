"""The conversation on a case: remarks (留言) and the calling township's urges (催办).

A remark may be left by whoever takes part in the case (policy `case.take_part`: its township, the
dispatched departments, the centre, the supervisor), optionally about one of its steps; whoever may
see the case may read them. An urge is the calling township's: it reaches the units holding the
call now (the departments or offices with a ready step, the township itself aside), each at most
once per working day (deadlines.working_day_of: what is done on a Sunday counts for Monday).

Both are rows of their own and events of the audit trail (`comment_added`, `case_urged`), the text
included, so that the dossier's chain check covers them. A township's urge feeds the metrics: the
order (call × department) it reached counts as urged (催办率) and as one more 被催办 (app/metrics.py).
"""
from dataclasses import dataclass

from sqlalchemy import func, select

from . import audit, deadlines, notifications, orgs, policy, search
from .database import lock_case, write_transaction
from .errors import Conflict, Invalid, NotFound
from .extensions import db
from .models import Case, Comment, Task, Urge, UrgeTarget
from .models.conversation import MAX_TEXT
from .models.types import utcnow
from .roles import ROLES

WEEKDAYS = "一二三四五六日"


def checked_text(value, field="text", what="内容"):
    """The text as given (CONTRACT §5: stored as given, escaped where shown), if it is more than
    blanks and at most MAX_TEXT characters."""
    if not isinstance(value, str) or not value.strip():
        raise Invalid(f"请填写{what}", {field: f"请填写{what}"})
    if len(value) > MAX_TEXT:
        raise Invalid(f"{what}过长", {field: f"不超过 {MAX_TEXT} 字（现 {len(value)} 字）"})
    if "\x00" in value:
        raise Invalid(f"{what}含有不允许的字符", {field: "含有不允许的字符"})
    return value


def _case(user, case_id, capability):
    case = db.session.get(Case, case_id) if isinstance(case_id, int) else None
    if case is None:
        raise NotFound("案件不存在或无权查看")
    policy.require(user, capability, case=case)
    return case


def unit_name(org_code, role=None):
    return orgs.org_names().get(org_code, org_code) if org_code else ROLES.get(role, role or "—")


# --- remarks ------------------------------------------------------------------------------------
def comments(user, case_id, page=1, per_page=50):
    """(remarks, total) of a case `user` may see, oldest first, one page."""
    _case(user, case_id, "case.read")
    total = db.session.execute(select(func.count()).select_from(Comment).where(Comment.case_id == case_id)).scalar()
    rows = db.session.execute(select(Comment).where(Comment.case_id == case_id).order_by(Comment.id)
                              .limit(per_page).offset((page - 1) * per_page)).scalars().all()
    return rows, total


def add_comment(user, case_id, text, task_id=None):
    """Leave a remark on a case one takes part in, optionally about one of its steps (`task_id`)."""
    case = _case(user, case_id, "case.take_part")
    text = checked_text(text, what="留言内容")
    task = None
    if task_id not in (None, ""):
        task = db.session.get(Task, task_id) if isinstance(task_id, str) and len(task_id) <= 36 else None
        if task is None or task.case_id != case.id:
            raise Invalid("留言所针对的环节不属于本案件", {"task_id": "不是本案件的环节"})
    with write_transaction():
        lock_case(case.id)      # the search document is rewritten from what the case holds now
        comment = Comment(case_id=case.id, task_id=task.id if task else None, author=user.username,
                          author_org=user.org_code, text=text, created_at=utcnow())
        db.session.add(comment)
        db.session.flush()
        audit.record("comment_added", user.username, case.id, task=task, org_code=user.org_code,
                     after={"comment_id": comment.id, "text": text})
        notifications.comment_added(case, comment, task, user.username)
        search.reindex(case)
    return comment


def comment_dict(c, names=None, tasks=None):
    """A remark as the API answers it: the contract's {id, case_id, author, text, at} and who and what it is about."""
    from .timefmt import iso
    names = names if names is not None else orgs.org_names()
    task = (tasks or {}).get(c.task_id) if c.task_id else None
    if c.task_id and task is None:
        task = db.session.get(Task, c.task_id)
    return {"id": c.id, "case_id": c.case_id, "author": c.author,
            "author_name": orgs.user_names().get(c.author, c.author), "author_org": c.author_org,
            "author_org_name": names.get(c.author_org) if c.author_org else None,
            "text": c.text, "at": iso(c.created_at), "task_id": c.task_id, "task_name": task.name if task else None}


# --- urges --------------------------------------------------------------------------------------
@dataclass
class Holder:
    """A unit holding a call now: its org code (or the role, for a step open to the whole role), its step."""
    unit: str
    org_code: str | None
    role: str | None
    task: Task

    @property
    def name(self):
        return unit_name(self.org_code, self.role)


def holders(case, caller_org=None):
    """The units with a ready step of the case (supervision orders and the caller's own steps aside),
    one per unit, by the order their steps arrived."""
    out = {}
    for t in db.session.execute(select(Task).where(Task.case_id == case.id, Task.status == "ready",
                                                   Task.kind == "engine").order_by(Task.created_at, Task.id)).scalars():
        if caller_org and t.org_code == caller_org:
            continue
        unit = t.org_code or t.role
        out.setdefault(unit, Holder(unit, t.org_code, None if t.org_code else t.role, t))
    return list(out.values())


def _day_label(d):
    return f"{d.isoformat()}（星期{WEEKDAYS[d.weekday()]}）"


def urge_conflict(case, caller_org, now=None):
    """(units to urge now, why none may be urged: a message, or None)."""
    if case.status != "open":
        return [], "案件已不在办理中，不能催办"
    held = holders(case, caller_org)
    if not held:
        return [], "当前没有其他单位在办理此呼叫，无需催办"
    day = deadlines.working_day_of(now or utcnow())
    done = set(db.session.execute(select(UrgeTarget.unit).where(UrgeTarget.case_id == case.id,
                                                                 UrgeTarget.working_day == day.isoformat())).scalars())
    fresh = [h for h in held if h.unit not in done]
    if fresh:
        return fresh, None
    again = deadlines.next_working_day(day)
    return [], (f"同一单位每个工作日只能催办一次：{'、'.join(h.name for h in held)}已于本工作日 {_day_label(day)}"
                f"催办过，请于 {_day_label(again)} 起再催办")


def urge_case(user, case_id, text, now=None):
    """The calling township urges the units holding its call; answers the Urge and its UrgeTargets.
    A unit urged already this working day is skipped; when every holder was, a Conflict says when
    the township may urge again. `now` for tests; the real now otherwise."""
    case = _case(user, case_id, "case.urge")
    text = checked_text(text, what="催办内容")
    with write_transaction():
        case = lock_case(case.id)
        now = now or utcnow()
        fresh, conflict = urge_conflict(case, user.org_code, now)
        if conflict:
            raise Conflict(conflict)
        day = deadlines.working_day_of(now).isoformat()
        urge = Urge(case_id=case.id, urged_by=user.username, urged_org=user.org_code, text=text, working_day=day,
                    created_at=now)
        db.session.add(urge)
        db.session.flush()
        targets = [UrgeTarget(urge_id=urge.id, case_id=case.id, unit=h.unit, org_code=h.org_code, role=h.role,
                              task_id=h.task.id, working_day=day) for h in fresh]
        db.session.add_all(targets)
        audit.record("case_urged", user.username, case.id, org_code=user.org_code,
                     after={"urge_id": urge.id, "text": text, "working_day": day,
                            "units": [{"unit": h.unit, "task_id": h.task.id, "task_name": h.task.name} for h in fresh]},
                     detail=f"催办{'、'.join(h.name for h in fresh)}：{text}")
        notifications.case_urged(case, urge, targets, {h.task.id: h.task for h in fresh}, user.username)
    return urge, targets


def urges(user, case_id):
    """[(urge, [its targets])] of a case `user` may see, oldest first."""
    _case(user, case_id, "case.read")
    rows = db.session.execute(select(Urge).where(Urge.case_id == case_id).order_by(Urge.id)).scalars().all()
    by_urge = {}
    for t in db.session.execute(select(UrgeTarget).where(UrgeTarget.case_id == case_id)
                                .order_by(UrgeTarget.id)).scalars():
        by_urge.setdefault(t.urge_id, []).append(t)
    return [(u, by_urge.get(u.id, [])) for u in rows]


def urge_dict(urge, targets):
    from .timefmt import iso
    tasks = {t.id: t for t in db.session.execute(select(Task).where(
        Task.id.in_([x.task_id for x in targets if x.task_id]))).scalars()} if targets else {}
    return {"id": urge.id, "case_id": urge.case_id, "text": urge.text, "urged_by": urge.urged_by,
            "urged_by_name": orgs.user_names().get(urge.urged_by, urge.urged_by), "urged_org": urge.urged_org,
            "at": iso(urge.created_at), "working_day": urge.working_day,
            "units": [{"unit": t.unit, "org": t.org_code, "role": t.role, "name": unit_name(t.org_code, t.role),
                       "task_id": t.task_id, "task_name": tasks[t.task_id].name if t.task_id in tasks else None}
                      for t in targets]}



@search.text_source
def _remarks(case_ids):
    """The remarks on the cases, searchable like the replies."""
    names = orgs.user_names()
    return [(c.case_id, "body", f"留言（{names.get(c.author, c.author)}）", c.text)
            for c in db.session.execute(select(Comment).where(Comment.case_id.in_(case_ids))
                                        .order_by(Comment.id)).scalars()]
