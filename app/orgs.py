"""The organisation and the responsibility list as forms and pages need them, and the admin's
changes to the org units (create, rename, take out of service), each on record.

Names and form choices are read once per request (app.caching): a list published or a unit added
by another app process is in the next request's forms.
"""
import re

from sqlalchemy import func, select

from . import audit, policy
from .caching import invalidate, per_request as _cached  # noqa: F401 - invalidate is this module's too
from .database import write_transaction
from .errors import Conflict, Invalid, NotFound
from .extensions import db
from .labels import ORG_KIND_LABELS
from .models import Case, ListItem, ListVersion, OrgUnit, Task, User

TOWNSHIP = "TOWNSHIP"   # primary/supporting unit "the township where the matter arises"
TOWNSHIP_LABEL = "属地乡镇（街道）"


def org_units(kind):
    stmt = select(OrgUnit).where(OrgUnit.kind == kind, OrgUnit.active.is_(True)).order_by(OrgUnit.code)
    return db.session.execute(stmt).scalars().all()


def township_of(org):
    """The township an org unit belongs to: itself, or the township of a grid, platform or stationed agency."""
    if org is None:
        return None
    return org.code if org.kind == "township" else org.parent_code if org.kind in ("grid", "platform", "stationed") \
        else None


def outlines(township=None):
    """GeoJSON of the township and grid outlines: one township's and its grids', or the county's (None)."""
    stmt = select(OrgUnit).where(OrgUnit.kind.in_(("township", "grid")), OrgUnit.outline.is_not(None),
                                 OrgUnit.active.is_(True))
    if township is not None:
        stmt = stmt.where((OrgUnit.code == township) | (OrgUnit.parent_code == township))
    features = []
    for u in db.session.execute(stmt.order_by(OrgUnit.kind.desc(), OrgUnit.code)).scalars():
        geometry = u.outline.get("geometry", u.outline) if isinstance(u.outline, dict) else None
        if isinstance(geometry, dict) and geometry.get("type") in ("Polygon", "MultiPolygon"):
            features.append({"type": "Feature", "geometry": geometry,
                             "properties": {"code": u.code, "name": u.name, "kind": u.kind, "township": u.parent_code}})
    return {"type": "FeatureCollection", "features": features}


def org_names():
    return _cached("names", lambda: dict(db.session.execute(select(OrgUnit.code, OrgUnit.name)).all()))


def unit_codes_by_name():
    """{name: code} of the townships and departments, the units that take part in cases."""
    return _cached("unit_codes", lambda: {name: code for code, name in db.session.execute(
        select(OrgUnit.code, OrgUnit.name).where(OrgUnit.kind.in_(("township", "department")))).all()})


def user_names():
    """{username: display name} for pages that show who did what."""
    return _cached("users", lambda: {u: (n or u) for u, n in db.session.execute(select(User.username, User.name)).all()})


def current_list_version():
    stmt = select(ListVersion).order_by(ListVersion.version.desc()).limit(1)
    return db.session.execute(stmt).scalar_one_or_none()


def primary_org_of(code):
    """The primary unit of a current list item (None if unknown)."""
    def compute():
        lv = current_list_version()
        if lv is None:
            return {}
        return dict(db.session.execute(select(ListItem.code, ListItem.primary_org)
                                       .where(ListItem.list_version_id == lv.id)).all())
    return _cached("primaries", compute).get(code) if code else None


def list_item(code, list_version=None):
    lv = list_version or current_list_version()
    if lv is None or not code:
        return None
    return db.session.execute(select(ListItem).where(
        ListItem.list_version_id == lv.id, ListItem.code == code)).scalar_one_or_none()


def list_item_names():
    """{code: name} of every item the list has ever had, the newest version's name winning."""
    def compute():
        rows = db.session.execute(select(ListItem.code, ListItem.name).join(
            ListVersion, ListVersion.id == ListItem.list_version_id).order_by(ListVersion.version)).all()
        return dict(rows)
    return _cached("item_names", compute)


def list_item_label(code):
    """"ZF-01 马路市场…": a list item's code and its name (the code alone when no version has it)."""
    name = list_item_names().get(code)
    return f"{code} {name}" if name else str(code)


_SOURCES = {}      # kind -> (fn(case data) -> [(value, label)], whether it depends on the case)


def register_options(kind, fn, per_case=False):
    """Another module's choices (a grid event's categories, a township's handlers)."""
    _SOURCES[kind] = (fn, per_case)


def form_options(kind, case_data=None):
    """Choices for a form property marked `x-options`: [(value, label)] (some depend on the case:
    the units of its township)."""
    if kind in _SOURCES:
        fn, per_case = _SOURCES[kind]
        key = ("options", kind, (case_data or {}).get("initiator_township")) if per_case else ("options", kind)
        return _cached(key, lambda: fn(case_data))
    return _cached(("options", kind), lambda: _options(kind))


def _options(kind):
    if kind == "departments":
        return [(o.code, o.name) for o in org_units("department")]
    if kind == "townships":
        return [(o.code, o.name) for o in org_units("township")]
    if kind == "list_units":        # the units a list item names: the departments and 属地乡镇（街道）
        return [(o.code, o.name) for o in org_units("department")] + [(TOWNSHIP, TOWNSHIP_LABEL)]
    if kind == "list_items":
        lv = current_list_version()
        if lv is None:
            return []
        rows = db.session.execute(select(ListItem.code, ListItem.domain, ListItem.name)
                                  .where(ListItem.list_version_id == lv.id).order_by(ListItem.code)).all()
        return [(code, f"{code} {domain}·{name}") for code, domain, name in rows]
    return []


# --- the admin's changes to the org units ----------------------------------------------------------
UNIT_CODE = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,19}")
UNIT_CODE_RULE = "1–20 位大写字母、数字、下划线或连字符，如 T09、D15"


def unit_tree(actor):
    """[(kind, [unit row])] of every org unit (active or not) by kind, in ORG_KIND_LABELS' order;
    each row {unit, users, active_users, open_tasks, open_calls} (admin)."""
    policy.require(actor, "orgs.manage")
    units = db.session.execute(select(OrgUnit).order_by(OrgUnit.code)).scalars().all()
    users = dict(db.session.execute(select(User.org_id, func.count()).where(User.org_id.is_not(None))
                                    .group_by(User.org_id)).all())
    active = dict(db.session.execute(select(User.org_id, func.count()).where(User.org_id.is_not(None),
                                                                             User.active.is_(True))
                                     .group_by(User.org_id)).all())
    tasks = dict(db.session.execute(select(Task.org_code, func.count()).where(Task.status.in_(OPEN_TASK_STATUSES),
                                                                              Task.org_code.is_not(None))
                                    .group_by(Task.org_code)).all())
    calls = dict(db.session.execute(select(Case.initiator_org, func.count()).where(Case.status == "open")
                                    .group_by(Case.initiator_org)).all())
    grouped = {}
    for u in units:
        grouped.setdefault(u.kind, []).append({"unit": u, "users": users.get(u.id, 0),
                                               "active_users": active.get(u.id, 0),
                                               "open_tasks": tasks.get(u.code, 0), "open_calls": calls.get(u.code, 0)})
    order = list(ORG_KIND_LABELS)
    return sorted(grouped.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order))


def unit_branches(actor):
    """The org's branches for the tree (admin): {township code: [grid, platform and stationed units
    under it]}, {department code: [its stationed agencies]}, {org code: [its active users' names]}
    and {code: name}."""
    policy.require(actor, "orgs.manage")
    units = db.session.execute(select(OrgUnit).order_by(OrgUnit.kind, OrgUnit.code)).scalars().all()
    under, stationed = {}, {}
    rank = {"grid": 0, "platform": 1, "stationed": 2}
    for u in sorted(units, key=lambda u: (rank.get(u.kind, 3), u.code)):
        if u.parent_code and u.kind in rank:
            under.setdefault(u.parent_code, []).append(u)
        if u.kind == "stationed" and u.home_code:
            stationed.setdefault(u.home_code, []).append(u)
    people = {}
    for code, name, username in db.session.execute(
            select(OrgUnit.code, User.name, User.username).join(User, User.org_id == OrgUnit.id)
            .where(User.active.is_(True)).order_by(User.username)):
        people.setdefault(code, []).append(name or username)
    return under, stationed, people, {u.code: u.name for u in units}


def create_unit(actor, code, name, kind):
    """A new org unit (admin): a township or department is offered in the forms from the next request."""
    policy.require(actor, "orgs.manage")
    code = code.strip().upper() if isinstance(code, str) else ""
    errors = {}
    if not UNIT_CODE.fullmatch(code):
        errors["code"] = f"代码应为 {UNIT_CODE_RULE}"
    name, problem = _unit_name(name)
    if problem:
        errors["name"] = problem
    if kind not in ORG_KIND_LABELS:
        errors["kind"] = "请选择单位类别"
    if errors:
        raise Invalid("单位信息有误", errors)
    with write_transaction():
        if db.session.execute(select(OrgUnit.id).where(OrgUnit.code == code)).first():
            raise Invalid("代码已被使用", {"code": f"代码 {code} 已被使用"})
        _name_free(name)
        unit = OrgUnit(code=code, name=name, kind=kind, active=True)
        db.session.add(unit)
        audit.record("org_unit_created", actor.username, org_code=code,
                     after={"code": code, "name": name, "kind": kind})
    invalidate()
    return unit


def rename_unit(actor, code, name):
    """A unit's new name, shown wherever the unit is, its past cases included (admin)."""
    policy.require(actor, "orgs.manage")
    name, problem = _unit_name(name)
    if problem:
        raise Invalid(problem, {"name": problem})
    with write_transaction():
        unit = _locked_unit(code)
        if unit.name == name:
            return unit
        _name_free(name, unit.id)
        before = unit.name
        unit.name = name
        audit.record("org_unit_renamed", actor.username, org_code=unit.code,
                     before={"code": unit.code, "name": before}, after={"code": unit.code, "name": name})
    invalidate()
    return unit


def deactivate_unit(actor, code):
    """Take a unit out of service (admin): no longer offered for dispatch, list items or users. Refused
    while it has active users, open tasks, open calls it raised, or current list items it answers for."""
    policy.require(actor, "orgs.manage")
    with write_transaction():
        unit = _locked_unit(code)
        if not unit.active:
            return unit
        reasons = _still_in_use(unit)
        if reasons:
            raise Conflict(f"“{unit.name}”仍有{'、'.join(reasons)}，不能停用")
        unit.active = False
        audit.record("org_unit_deactivated", actor.username, org_code=unit.code,
                     before={"code": unit.code, "name": unit.name, "active": True},
                     after={"code": unit.code, "name": unit.name, "active": False})
    invalidate()
    return unit


def activate_unit(actor, code):
    policy.require(actor, "orgs.manage")
    with write_transaction():
        unit = _locked_unit(code)
        if unit.active:
            return unit
        unit.active = True
        audit.record("org_unit_activated", actor.username, org_code=unit.code,
                     before={"code": unit.code, "name": unit.name, "active": False},
                     after={"code": unit.code, "name": unit.name, "active": True})
    invalidate()
    return unit


OPEN_TASK_STATUSES = ("ready", "suspended")


def _still_in_use(unit):
    """What keeps a unit in service, as the refusal names it (empty when nothing does)."""
    reasons = []
    n = db.session.execute(select(func.count()).select_from(User).where(User.org_id == unit.id,
                                                                        User.active.is_(True))).scalar()
    if n:
        reasons.append(f" {n} 名启用的用户（请先停用或调往其他单位）")
    n = db.session.execute(select(func.count()).select_from(Task).where(Task.org_code == unit.code,
                                                                        Task.status.in_(OPEN_TASK_STATUSES))).scalar()
    if n:
        reasons.append(f" {n} 项未办结的任务")
    n = db.session.execute(select(func.count()).select_from(Case).where(Case.initiator_org == unit.code,
                                                                        Case.status == "open")).scalar()
    if n:
        reasons.append(f" {n} 件办理中的呼叫")
    lv = current_list_version()
    if lv is not None:
        items = [code for code, primary, supporting in db.session.execute(
            select(ListItem.code, ListItem.primary_org, ListItem.supporting)
            .where(ListItem.list_version_id == lv.id).order_by(ListItem.code)).all()
            if primary == unit.code or unit.code in (supporting or [])]
        if items:
            reasons.append(f"现行清单中的 {len(items)} 个事项（{'、'.join(items[:5])}{'等' if len(items) > 5 else ''}，"
                           "请先调整清单）")
    return [r.strip() for r in reasons]


def _unit_name(name):
    name = name.strip() if isinstance(name, str) else ""
    if not name:
        return name, "请填写单位名称"
    if len(name) > 100 or any(ord(c) < 0x20 for c in name):
        return name, "单位名称不超过 100 字"
    return name, None


def _name_free(name, own_id=None):
    stmt = select(OrgUnit.code).where(OrgUnit.name == name)
    if own_id is not None:
        stmt = stmt.where(OrgUnit.id != own_id)
    taken = db.session.execute(stmt).scalar()
    if taken:
        raise Invalid("单位名称已被使用", {"name": f"已有名为“{name}”的单位（{taken}）"})


def _locked_unit(code):
    unit = db.session.execute(select(OrgUnit).where(OrgUnit.code == code).with_for_update()
                              .execution_options(populate_existing=True)).scalar_one_or_none() \
        if isinstance(code, str) and len(code) <= 20 else None
    if unit is None:
        raise NotFound("单位不存在")
    return unit
