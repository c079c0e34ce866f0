"""Demo data: the contract's organisation and users and the illustrative responsibility list.

Loaded by `make run` into an empty database. Every demo user's password is `demo`; outside demo
mode nothing here runs, so no account with a known password exists.
"""
import json
from pathlib import Path

from sqlalchemy import func, select

from . import audit
from .auth import hash_password
from .database import write_transaction
from .extensions import db
from .models import CalendarDay, ListItem, ListVersion, OrgUnit, User

DEMO_DIR = Path(__file__).parent / "demo"


def is_empty():
    return db.session.execute(select(func.count()).select_from(User)).scalar() == 0


def load_demo():
    org = json.loads((DEMO_DIR / "org.json").read_text(encoding="utf-8"))
    duty_list = json.loads((DEMO_DIR / "responsibility_list.json").read_text(encoding="utf-8"))
    calendar = json.loads((DEMO_DIR / "calendar.json").read_text(encoding="utf-8"))
    outlines = {f["properties"]["code"]: f["geometry"] for f in
                json.loads((DEMO_DIR / "geo.json").read_text(encoding="utf-8"))["features"]}
    password = hash_password("demo")   # one hash for all: they share the demo password
    with write_transaction():
        units = {}
        for u in org["org_units"]:
            units[u["code"]] = OrgUnit(code=u["code"], name=u["name"], kind=u["kind"], parent_code=u.get("parent"),
                                       home_code=u.get("home"), platform_kind=u.get("platform_kind"),
                                       outline=outlines.get(u["code"]))
            db.session.add(units[u["code"]])
        db.session.flush()
        for u in org["users"]:
            db.session.add(User(username=u["username"], name=u.get("name", ""), roles=u["roles"],
                                email=u.get("email") or f"{u['username']}@demo.huying.example",
                                org_id=units[u["org"]].id if u.get("org") else None, password_hash=password))
        version = ListVersion(version=1, title=duty_list.get("title", "属地管理事项责任清单"),
                              note=duty_list.get("note"), effective_date=duty_list.get("effective_date"))
        db.session.add(version)
        db.session.flush()
        for item in duty_list["items"]:
            db.session.add(ListItem(list_version_id=version.id, **{k: item.get(k) for k in (
                "code", "domain", "name", "primary_org", "primary_duty", "supporting", "supporting_duty",
                "legal_basis", "instructions", "limits")}))
        for d in calendar["days"]:
            db.session.add(CalendarDay(day=d["day"], kind=d["kind"], name=d["name"]))
        audit.record("demo_loaded", "system", detail=f"{len(org['users'])} 个用户，清单 {len(duty_list['items'])} 项",
                     after={"list_version": 1})
