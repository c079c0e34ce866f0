"""The integrated command view (综合指挥, CONTRACT §8): where matters arise and how late they are, by
township, grid, category and platform, the open events and calls on the map, and 研判预警 — rising
categories, places reported again and again, grids with overdue events, calls found 响应不作为.

Read from the cases' indexed columns (process, status, place, category, created/closed/due times), the
ready tasks' warn_at and the supervisor's flags; never a workflow's state. A township sees its own
figures; the leaders, the centre and the supervisor the whole county (policy `command.county`).
"""
import math
import statistics
from collections import defaultdict

from sqlalchemy import func, or_, select

from . import grid_events, orgs, policy, reports
from .duplicates import METRES_PER_DEGREE, haversine_m
from .extensions import db
from .models import Case, Flag, OrgUnit, Task
from .models.types import utcnow
from .roles import FLAG_KINDS, PLATFORM_KINDS
from .timefmt import iso

EVENT, CALL = grid_events.EVENT_PROCESS, grid_events.CALL_PROCESS
POINTS_LIMIT = 2000          # the map's points at most: more is unreadable on one screen, and slow to send
RISING_MIN = 3               # a category is "rising" only from this many cases in the period ...
RISING_RATIO = 1.5           # ... and at least this many times the previous period's
REPEAT_RADIUS_M = 200        # reports of one category this close together are one place (as duplicates.py)
REPEAT_MIN = 3               # ... and this many of them make a place of repeated reports


def scope_township(user):
    """The township whose figures `user` sees, or None for the whole county."""
    policy.require(user, "command.read")
    if policy.allows(user, "command.county"):
        return None
    return user.org_code or "-"


def _lateness(due_at, warn_at, now):
    if due_at is not None and due_at < now:
        return "overdue"
    if warn_at is not None and warn_at <= now:
        return "warning"
    return "on_time"


def _rows(township, since, start, end):
    """The events and calls that are open, or were raised since `since`, or closed in [start, end)."""
    where = [Case.process_id.in_((EVENT, CALL)),
             or_(Case.status == "open", Case.created_at >= since, Case.closed_at.between(start, end))]
    if township is not None:
        where.append(Case.township_code == township)
    cols = (Case.id, Case.process_id, Case.status, Case.title, Case.category, Case.list_item, Case.township_code,
            Case.grid_code, Case.lat, Case.lng, Case.created_at, Case.closed_at, Case.due_at, Case.data)
    return db.session.execute(select(*cols).where(*where).order_by(Case.id)).all()


def _warn_times(case_ids):
    """{case id: earliest warn_at of its ready tasks}."""
    out = {}
    ids = list(case_ids)
    for i in range(0, len(ids), 500):
        out.update(db.session.execute(select(Task.case_id, func.min(Task.warn_at)).where(
            Task.case_id.in_(ids[i:i + 500]), Task.status == "ready").group_by(Task.case_id)).all())
    return out


def _openable(user, ids):
    """Which of the cases `user` may open: the links of the map and the warnings (a leader sees the
    county's figures but opens only the cases of their scope)."""
    out, ids = set(), list(ids)
    for i in range(0, len(ids), 500):
        out.update(db.session.execute(select(Case.id).where(Case.id.in_(ids[i:i + 500]),
                                                            policy.case_filter(user))).scalars())
    return out


def _called_up(row):
    return isinstance(row.data, dict) and row.data.get("call_case_id") is not None


def _repeated_places(events):
    """Clusters of ≥ REPEAT_MIN events of one category within REPEAT_RADIUS_M of the first of them."""
    clusters = []
    by_category = defaultdict(list)
    for e in events:
        if e.lat is not None and e.lng is not None and e.category:
            by_category[e.category].append(e)
    dlat = REPEAT_RADIUS_M / METRES_PER_DEGREE
    for category, rows in by_category.items():
        taken = set()
        for seed in rows:
            if seed.id in taken:
                continue
            dlng = dlat / max(math.cos(math.radians(seed.lat)), 1e-6)
            near = [r for r in rows if r.id not in taken and abs(r.lat - seed.lat) <= dlat
                    and abs(r.lng - seed.lng) <= dlng and haversine_m(seed.lat, seed.lng, r.lat, r.lng) <= REPEAT_RADIUS_M]
            if len(near) >= REPEAT_MIN:
                taken.update(r.id for r in near)
                clusters.append((category, seed, near))
    return clusters


def overview(user, period=None, now=None):
    """The command view for a month ('2026-11', the current month by default) or a year: counts by
    township, grid, category and platform, the open cases on the map, and the warnings."""
    township = scope_township(user)
    now = now or utcnow()
    key, label, start, end = reports._period(period or reports.current_period(now))
    prev_start = start - (end - start)
    names = orgs.org_names()
    rows = _rows(township, prev_start, start, end)
    open_rows = [r for r in rows if r.status == "open"]
    warn = _warn_times(r.id for r in open_rows)
    late = {r.id: _lateness(r.due_at, warn.get(r.id), now) for r in open_rows}
    in_period = [r for r in rows if start <= r.created_at < end]
    closed = [r for r in rows if r.status == "closed" and r.closed_at is not None and start <= r.closed_at < end]
    events = [r for r in rows if r.process_id == EVENT]

    units = select(OrgUnit.code, OrgUnit.name, OrgUnit.parent_code, OrgUnit.kind).where(
        OrgUnit.kind.in_(("township", "grid")), OrgUnit.active.is_(True)).order_by(OrgUnit.code)
    if township is not None:
        units = units.where(or_(OrgUnit.code == township, OrgUnit.parent_code == township))
    units = db.session.execute(units).all()

    def zeros():
        return {"open_events": 0, "open_calls": 0, "overdue": 0, "closed": 0, "handled_in_township": 0, "called_up": 0}
    towns = {u.code: dict(code=u.code, name=u.name, **zeros()) for u in units if u.kind == "township"}
    grids = {u.code: {"code": u.code, "name": u.name, "township": u.parent_code, "events": 0, "open": 0,
                      "overdue": 0, "closed": 0, "median_close_hours": None} for u in units if u.kind == "grid"}
    close_hours = defaultdict(list)
    for r in rows:
        t = towns.get(r.township_code)
        g = grids.get(r.grid_code) if r.process_id == EVENT else None
        if r.status == "open":
            if t is not None:
                t["open_events" if r.process_id == EVENT else "open_calls"] += 1
                t["overdue"] += late[r.id] == "overdue"
            if g is not None:
                g["open"] += 1
                g["overdue"] += late[r.id] == "overdue"
        if g is not None and start <= r.created_at < end:
            g["events"] += 1
        if r in closed:
            if t is not None:
                t["closed"] += 1
            if g is not None:
                g["closed"] += 1
                close_hours[r.grid_code].append((r.closed_at - r.created_at).total_seconds() / 3600)
        if t is not None and r.process_id == EVENT and start <= r.created_at < end:
            t["called_up" if _called_up(r) else "handled_in_township"] += 1
    for code, hours in close_hours.items():
        grids[code]["median_close_hours"] = round(statistics.median(hours), 1)

    cats = grid_events.categories()
    by_category = defaultdict(lambda: {"events": 0, "calls": 0, "previous": 0, "case_ids": []})
    by_platform = {k: {"kind": k, "name": v, "events": 0, "open": 0} for k, v in PLATFORM_KINDS.items()}
    for r in rows:
        code = r.category or (r.list_item and f"list:{r.list_item}")
        if r.process_id == EVENT and r.category in cats and (r.status == "open" or start <= r.created_at < end):
            p = by_platform.get(cats[r.category].get("platform"))
            if p is not None:
                p["events"] += start <= r.created_at < end
                p["open"] += r.status == "open"
        if not code:
            continue
        c = by_category[code]
        if start <= r.created_at < end:
            c["events" if r.process_id == EVENT else "calls"] += 1
            c["case_ids"].append(r.id)
        elif prev_start <= r.created_at < start:
            c["previous"] += 1
    categories = []
    for code, c in by_category.items():
        name = grid_events.category_label(code) if not code.startswith("list:") else orgs.list_item_label(code[5:])
        if c["events"] or c["calls"] or c["previous"]:
            categories.append(dict(code=code, name=name, **c))
    categories.sort(key=lambda c: (-(c["events"] + c["calls"]), c["code"]))

    warnings = _warnings(township, categories, events, open_rows, late, grids, start, end, names, label)
    seen = _openable(user, {i for w in warnings for i in w["case_ids"]} | {r.id for r in open_rows})
    for w in warnings:
        w["openable"] = [i for i in w["case_ids"] if i in seen]
    points = [{"case_id": r.id, "openable": r.id in seen, "kind": "event" if r.process_id == EVENT else "call", "title": r.title,
               "lat": r.lat, "lng": r.lng, "lateness": late[r.id], "due_at": iso(r.due_at)}
              for r in open_rows if r.lat is not None and r.lng is not None]
    return {"period": {"key": key, "label": label, "from": start.isoformat(), "to": end.isoformat()},
            "township": township, "generated_at": iso(now),
            "totals": {"open_events": sum(t["open_events"] for t in towns.values()),
                       "open_calls": sum(t["open_calls"] for t in towns.values()),
                       "overdue": sum(1 for v in late.values() if v == "overdue"),
                       "warning": sum(1 for v in late.values() if v == "warning"),
                       "closed": len(closed), "raised": len(in_period)},
            "by_township": list(towns.values()), "by_grid": list(grids.values()), "by_category": categories,
            "by_platform": list(by_platform.values()),
            "points": points[:POINTS_LIMIT], "points_limit": POINTS_LIMIT, "points_total": len(points),
            "warnings": warnings}


def _warnings(township, categories, events, open_rows, late, grids, start, end, names, label):
    out = []
    for c in categories:
        now_n = c["events"] + c["calls"]
        if now_n >= RISING_MIN and now_n >= RISING_RATIO * c["previous"] and now_n > c["previous"]:
            was = f"上期 {c['previous']} 件" if c["previous"] else "上期没有"
            out.append({"kind": "rising_category", "text": f"「{c['name']}」{label}已有 {now_n} 件，{was}，呈上升趋势",
                        "case_ids": sorted(c["case_ids"])})
    recent = [e for e in events if e.status == "open" or start <= e.created_at < end]
    for category, seed, near in _repeated_places(recent):
        place = names.get(seed.grid_code) or names.get(seed.township_code) or ""
        out.append({"kind": "repeated_place",
                    "text": f"{place}同一地点 {REPEAT_RADIUS_M} 米内反复上报「{grid_events.category_label(category)}」{len(near)} 次",
                    "case_ids": sorted(r.id for r in near)})
    overdue = defaultdict(list)
    for r in open_rows:
        if r.process_id == EVENT and late[r.id] == "overdue" and r.grid_code:
            overdue[r.grid_code].append(r.id)
    for code, ids in sorted(overdue.items()):
        out.append({"kind": "overdue_grid", "text": f"{names.get(code, code)}有 {len(ids)} 件事件超期未办结",
                    "case_ids": sorted(ids)})
    flags = select(Flag.org_code, Flag.case_id).join(Case, Case.id == Flag.case_id).where(
        Flag.kind == "inaction", Flag.created_at >= start, Flag.created_at < end)
    if township is not None:
        flags = flags.where(Case.township_code == township)
    by_org = defaultdict(set)
    for org, case_id in db.session.execute(flags).all():
        by_org[org].add(case_id)
    for org, ids in sorted(by_org.items()):
        out.append({"kind": "inaction", "text": f"{names.get(org, org)}的 {len(ids)} 件呼叫被认定为{FLAG_KINDS['inaction'][1]}",
                    "case_ids": sorted(ids)})
    return out


def outlines(user):
    """The township and grid outlines the user's command map draws (GeoJSON FeatureCollection)."""
    return orgs.outlines(scope_township(user))
