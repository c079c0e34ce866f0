"""The county's user accounts: who may sign in, with which roles, for which unit, and their passwords.

The admin creates, changes, disables and enables users and resets their passwords; every user
changes their own password. Each change is one transaction, asked of the policy first and put on
record with what it was before and after (never a password or its hash). A password must pass
`auth.password_problem`, the rule the command line applies too. Disabling a user or resetting
their password ends their sessions; changing one's own ends one's other sessions.
"""
import re

from sqlalchemy import func, or_, select

from . import audit, auth, orgs, policy
from .database import lock_case, write_transaction
from .errors import Conflict, Invalid, NotFound
from .extensions import db
from .labels import ORG_KIND_LABELS
from .models import OrgUnit, Task, User
from .roles import ROLES

USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{1,49}")
USERNAME_RULE = "2–50 位，字母或数字开头，只用字母、数字、下划线、点和连字符"
# a role whose tasks go to one unit's users needs a unit of that kind
UNIT_KIND_OF_ROLE = {"township": "township", "department": "department"}


def users_page(actor, q="", page=1, per_page=20, status=None):
    """(users, total) of one page, by username; `q` matches the username, the name or the unit's
    name (or code); `status` 'active' or 'disabled' narrows to those."""
    policy.require(actor, "users.manage")
    stmt = select(User).outerjoin(OrgUnit, User.org_id == OrgUnit.id)
    q = (q or "").strip()[:100]
    if q:
        like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(or_(User.username.ilike(like, escape="\\"), User.name.ilike(like, escape="\\"),
                              OrgUnit.name.ilike(like, escape="\\"), OrgUnit.code.ilike(like, escape="\\")))
    if status in ("active", "disabled"):
        stmt = stmt.where(User.active.is_(status == "active"))
    total = db.session.execute(select(func.count()).select_from(stmt.subquery())).scalar()
    rows = db.session.execute(stmt.order_by(User.username).limit(per_page).offset((page - 1) * per_page))
    return rows.scalars().unique().all(), total


def get_user(actor, username):
    policy.require(actor, "users.manage")
    user = _find(username)
    if user is None:
        raise NotFound("用户不存在")
    return user


def unit_choices():
    """[(kind, [(code, name)])] of the active units, by kind, for the forms' unit choice."""
    units = db.session.execute(select(OrgUnit).where(OrgUnit.active.is_(True)).order_by(OrgUnit.code)).scalars()
    grouped = {}
    for u in units:
        grouped.setdefault(u.kind, []).append((u.code, u.name))
    order = list(ORG_KIND_LABELS)
    return sorted(grouped.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order))


def create_user(actor, username, name, roles, org_code=None, password=None, email=None, confirm=None):
    """A new user who signs in with `password` (admin; `confirm`, when given, must repeat it)."""
    policy.require(actor, "users.manage")
    return add_user(actor.username, username, name, roles, org_code, password, email, confirm)


def add_user(by, username, name, roles, org_code=None, password=None, email=None, confirm=None):
    """Create a user, on record as done by `by` (an admin's username, or `cli` for the command
    line, which has no signed-in user to ask the policy about)."""
    username = (username or "").strip() if isinstance(username, str) else ""
    errors = {}
    if not USERNAME.fullmatch(username):
        errors["username"] = f"用户名应为 {USERNAME_RULE}"
    values, more = _check_fields(name, roles, org_code, email)
    errors.update(more)
    problem = auth.password_problem(password, username)
    if problem:
        errors["password"] = problem
    elif confirm is not None and confirm != password:
        errors["confirm"] = "两次输入的密码不一致"
    if errors:
        raise Invalid("用户信息有误", errors)
    with write_transaction():
        if _find(username, fold=True) is not None:
            raise Invalid("用户名已被使用", {"username": f"用户名 {username} 已被使用"})
        unit = _unit(values["org"])
        user = User(username=username, name=values["name"], roles=values["roles"], org_id=unit.id if unit else None,
                    email=values["email"], password_hash=auth.hash_password(password), active=True)
        db.session.add(user)
        audit.record("user_created", by, org_code=values["org"], after={"username": username, **values})
    orgs.invalidate()
    return user


def update_user(actor, username, name, roles, org_code=None, email=None):
    """Change a user's name, roles, unit and e-mail address (admin). Tasks they had claimed that are
    no longer theirs by role or unit are released for their unit's colleagues."""
    policy.require(actor, "users.manage")
    values, errors = _check_fields(name, roles, org_code, email)
    if errors:
        raise Invalid("用户信息有误", errors)
    with write_transaction():
        user = _locked(username)
        before = _state(user)
        if user.id == actor.id and "admin" in before["roles"] and "admin" not in values["roles"]:
            raise Conflict("不能取消自己的管理员角色（请另一位管理员操作）")
        if "admin" in before["roles"] and "admin" not in values["roles"]:
            _keep_an_admin(user)
        unit = _unit(values["org"])
        user.name, user.roles, user.email = values["name"], values["roles"], values["email"]
        user.org = unit
        after = _state(user)
        if after != before:
            audit.record("user_changed", actor.username, org_code=values["org"] or before["org"],
                         before=before, after=after)
            _release_claims(actor, user, lambda t: t.role not in user.roles
                            or (t.org_code is not None and t.org_code != values["org"]),
                            f"{user.name or user.username}的角色或单位已调整，其认领已释放")
    orgs.invalidate()
    return user


def disable_user(actor, username):
    """The user can no longer sign in: their sessions and tokens end, the tasks they had claimed are
    released for their colleagues (admin). An admin cannot disable themself, nor the last admin."""
    policy.require(actor, "users.manage")
    with write_transaction():
        user = _locked(username)
        if user.id == actor.id:
            raise Conflict("不能停用自己的账号")
        if not user.active:
            return user
        if "admin" in user.roles:
            _keep_an_admin(user)
        user.active = False
        ended = auth.end_sessions(user.id, actor.username)
        audit.record("user_disabled", actor.username, org_code=user.org_code,
                     before={"username": user.username, "active": True},
                     after={"username": user.username, "active": False, **ended})
        _release_claims(actor, user, lambda t: True, f"{user.name or user.username}的账号已停用，其认领已释放")
    return user


def enable_user(actor, username):
    """A disabled user may sign in again with their password (admin)."""
    policy.require(actor, "users.manage")
    with write_transaction():
        user = _locked(username)
        if user.active:
            return user
        if user.org is not None and not user.org.active:
            raise Conflict(f"用户所在单位“{user.org.name}”已停用，请先为其另选单位或启用该单位")
        user.active = True
        audit.record("user_enabled", actor.username, org_code=user.org_code,
                     before={"username": user.username, "active": False},
                     after={"username": user.username, "active": True})
    return user


def reset_password(actor, username, password, confirm):
    """Give a user a new password the admin tells them (admin); their sessions and tokens end."""
    policy.require(actor, "users.manage")
    user = _find(username)
    if user is None:
        raise NotFound("用户不存在")
    _check_new_password(user, password, confirm)
    with write_transaction():
        user = _locked(username)
        user.password_hash = auth.hash_password(password)
        ended = auth.end_sessions(user.id, actor.username)
        audit.record("password_reset", actor.username, org_code=user.org_code,
                     after={"username": user.username, **ended})
    return user


def change_own_password(user, current, password, confirm):
    """A user changes their own password: the current one first, the new one twice. Their other
    sessions and tokens end; the one they are signed in with goes on."""
    policy.require(user, "account.password")
    me = db.session.get(User, user.id)
    errors = {}
    if not auth.check_password(me, current):
        errors["current"] = "当前密码不正确"
    try:
        _check_new_password(me, password, confirm)
    except Invalid as e:
        errors.update(e.errors)
    if not errors and password == current:
        errors["password"] = "新密码不能与当前密码相同"
    if errors:
        raise Invalid("密码未修改", errors)
    with write_transaction():
        me = db.session.execute(select(User).where(User.id == user.id).with_for_update(of=User)).scalar_one()
        me.password_hash = auth.hash_password(password)
        ended = auth.end_sessions(me.id, me.username, keep=user.login_session)
        audit.record("password_changed", me.username, org_code=me.org_code, after={"username": me.username, **ended})
    return me


# --- internals --------------------------------------------------------------------------------------
def _find(username, fold=False):
    if not isinstance(username, str) or not username or len(username) > 50:
        return None
    column = func.lower(User.username) if fold else User.username
    return db.session.execute(select(User).where(column == (username.lower() if fold else username))) \
        .scalars().first()


def _locked(username):
    user = db.session.execute(select(User).where(User.username == username).with_for_update(of=User)
                              .execution_options(populate_existing=True)).scalar_one_or_none() \
        if isinstance(username, str) and len(username) <= 50 else None
    if user is None:
        raise NotFound("用户不存在")
    return user


def _state(user):
    return {"username": user.username, "name": user.name, "roles": list(user.roles or []),
            "org": user.org.code if user.org else None, "email": user.email}


def _unit(code):
    return db.session.execute(select(OrgUnit).where(OrgUnit.code == code)).scalar_one_or_none() if code else None


def _check_fields(name, roles, org_code, email):
    """({name, roles, org, email}, {field: message}) of a user's form."""
    errors = {}
    name = name.strip() if isinstance(name, str) else ""
    if not name:
        errors["name"] = "请填写姓名"
    elif len(name) > 100 or any(ord(c) < 0x20 for c in name):
        errors["name"] = "姓名不超过 100 字"
    given = list(roles) if isinstance(roles, (list, tuple)) else []
    roles = [r for r in ROLES if r in given]          # in the roles' own order, each once
    if any(not isinstance(r, str) or r not in ROLES for r in given):
        errors["roles"] = "有不存在的角色"
    elif not roles:
        errors["roles"] = "请至少选择一个角色"
    org_code = org_code.strip() if isinstance(org_code, str) and org_code.strip() else None
    unit = _unit(org_code) if org_code and len(org_code) <= 20 and org_code.isprintable() else None
    if org_code and (unit is None or not unit.active):
        errors["org"] = "所选单位不存在或已停用"
    for role, kind in UNIT_KIND_OF_ROLE.items():
        if role in roles and (unit is None or unit.kind != kind) and "org" not in errors:
            errors["org"] = f"{ROLES[role]}角色须属于一个{ORG_KIND_LABELS[kind]}单位"
    email = email.strip() if isinstance(email, str) and email.strip() else None
    if email and (len(email) > 200 or not _looks_like_email(email)):
        errors["email"] = "电子邮件地址格式不正确"
    return {"name": name, "roles": roles, "org": org_code, "email": email}, errors


def _looks_like_email(value):
    local, at, domain = value.rpartition("@")
    return bool(at and local and "." in domain.strip(".") and value.isprintable()
                and not any(ch.isspace() or ch in "<>,;\"" for ch in value))


def _check_new_password(user, password, confirm):
    problem = auth.password_problem(password, user.username)
    if problem:
        raise Invalid("新密码不符合要求", {"password": problem})
    if password != confirm:
        raise Invalid("两次输入的新密码不一致", {"confirm": "两次输入的新密码不一致"})


def _keep_an_admin(user):
    """Refuse a change that would leave no active admin (the others' rows locked while counting)."""
    others = db.session.execute(select(User).where(User.active.is_(True), User.id != user.id)
                                .with_for_update(of=User)).scalars().all()
    if not any("admin" in (u.roles or []) for u in others):
        raise Conflict("至少要保留一名启用的管理员")


def _release_claims(actor, user, no_longer_theirs, why):
    """Release the ready tasks `user` had claimed that `no_longer_theirs(task)`, each case locked and
    the release on its record."""
    claimed = db.session.execute(select(Task.id, Task.case_id).where(Task.assignee == user.username,
                                                                     Task.status == "ready")).all()
    for task_id, case_id in claimed:
        lock_case(case_id)
        task = db.session.execute(select(Task).where(Task.id == task_id)
                                  .execution_options(populate_existing=True)).scalar_one()
        if task.assignee == user.username and task.status == "ready" and no_longer_theirs(task):
            task.assignee = None
            audit.record("task_unclaimed", actor.username, case_id, task=task, org_code=task.org_code,
                         before={"assignee": user.username}, after={"assignee": None}, detail=why)
