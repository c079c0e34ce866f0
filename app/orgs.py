"""The organisation and the responsibility list as forms and pages need them.

Names and form choices are read once per request (app.caching): a list published or a unit added
by another app process is in the next request's forms.
"""
from sqlalchemy import select

from .caching import invalidate, per_request as _cached  # noqa: F401 - invalidate is this module's too
from .extensions import db
from .models import ListItem, ListVersion, OrgUnit, User

TOWNSHIP = "TOWNSHIP"   # primary/supporting unit "the township where the matter arises"


def org_units(kind):
    stmt = select(OrgUnit).where(OrgUnit.kind == kind, OrgUnit.active.is_(True)).order_by(OrgUnit.code)
    return db.session.execute(stmt).scalars().all()


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


def form_options(kind):
    """Choices for a form property marked `x-options`: [(value, label)]."""
    return _cached(("options", kind), lambda: _options(kind))


def _options(kind):
    if kind == "departments":
        return [(o.code, o.name) for o in org_units("department")]
    if kind == "townships":
        return [(o.code, o.name) for o in org_units("township")]
    if kind == "list_items":
        lv = current_list_version()
        if lv is None:
            return []
        rows = db.session.execute(select(ListItem.code, ListItem.domain, ListItem.name)
                                  .where(ListItem.list_version_id == lv.id).order_by(ListItem.code)).all()
        return [(code, f"{code} {domain}·{name}") for code, domain, name in rows]
    return []
