"""Duplicates (CONTRACT §8): the open cases that are likely the same matter, merging one into another,
and keeping a pair apart.

What counts as "likely the same matter". Grid events are compared with grid events and calls with
calls (the same process), only open ones of the same township (a matter belongs to the township where
it arises, 属地; two townships' reports are two matters, and a merge across townships is refused):
- an event: the same `category`, within `radius_m` (default 200 m: a street market, a stall row or a
  pile of rubbish spans a block, and a phone's position is good to some 10–50 m; farther apart is
  another spot of the same street) and `window_days` (default 7 days: an unhandled matter is reported
  again within days; a report a month later is a new occurrence);
- a call: the same `list_item` and township in the same window, with the distance when both carry a
  `{lat, lng}` location (a call typed by a township has none: then the item and township decide).
Both come from the app config `DUPLICATES` over DEFAULTS.

How it is fast: one indexed query — the category (or list item) and a bounding box of the radius
on lat/lng (ix_cases_category_place: the category, then a band of latitude, then longitude), the status
and the time window — then the exact haversine distance in Python over the few rows in the box. No
spatial extension, so SQLite and PostgreSQL answer alike; the state blobs are never read.

A merge (`merge_case`) ends the duplicate (`merged`, `merged_into` the open one) under the write
path's lock: its ready steps are cancelled, its files carried over to the open case (the same stored
blobs), its reporter made a participant of the open case, and both cases' trails say who merged what,
when. "Keep apart" (`dismiss`) records the decision on both cases (`duplicate_dismissed`), so the pair
is not offered again.
"""
import math
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, select

from . import audit, builtin_tasks, evidence, policy, search
from .database import lock_case, write_transaction
from .errors import Conflict, Invalid, NotFound
from .extensions import db
from .models import AuditEvent, Case, CaseParticipant, Task
from .models.types import utcnow
from .timefmt import iso

DEFAULTS = {"radius_m": 200, "window_days": 7, "limit": 10}
EVENT_PROCESS, CALL_PROCESS = "grid_event", "call_response"
EARTH_M = 6371008.8                                   # mean Earth radius (IUGG), metres
METRES_PER_DEGREE = math.pi * EARTH_M / 180


def settings():
    """The duplicate check's radius (m), time window (days) and how many to offer."""
    out = dict(DEFAULTS)
    out.update({k: v for k, v in (current_app.config.get("DUPLICATES") or {}).items() if k in DEFAULTS})
    return out


class TargetNotFound(NotFound):
    """The other case of a pair is not there (or out of sight): the case itself was found and may be
    acted on, so a page says so where the form was instead of answering 404."""


def haversine_m(lat1, lng1, lat2, lng2):
    """The great-circle distance in metres between two points given in degrees."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_M * math.asin(min(1.0, math.sqrt(a)))


def _case(user, case_id, capability="case.read"):
    case = db.session.get(Case, case_id) if isinstance(case_id, int) and not isinstance(case_id, bool) else None
    if case is None:
        raise NotFound("案件不存在或无权查看")
    policy.require(user, capability, case=case)
    return case


def _ago(delta):
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} 分钟前" if minutes else "刚刚"
    if minutes < 60 * 24:
        return f"{minutes // 60} 小时前"
    return f"{minutes // (60 * 24)} 天前"


def _dismissed(case_id):
    """The cases a decision keeps apart from `case_id` (recorded on its own trail)."""
    rows = db.session.execute(select(AuditEvent.after).where(AuditEvent.case_id == case_id,
                                                             AuditEvent.action == "duplicate_dismissed")).scalars()
    return {a.get("other") for a in rows if isinstance(a, dict)}


def candidates(case, conf=None):
    """[(other case, distance in m or None)] of the open cases likely the same matter as `case`."""
    conf = conf or settings()
    is_event = case.process_id == EVENT_PROCESS
    key = (Case.category, case.category) if is_event else (Case.list_item, case.list_item)
    if case.status != "open" or key[1] is None or case.township_code is None:
        return []
    if is_event and case.lat is None:
        return []
    window = timedelta(days=conf["window_days"])
    where = [key[0] == key[1], Case.process_id == case.process_id, Case.status == "open", Case.id != case.id,
             Case.township_code == case.township_code,
             Case.created_at >= case.created_at - window, Case.created_at <= case.created_at + window]
    radius = conf["radius_m"]
    if case.lat is not None and case.lng is not None:
        dlat = radius / METRES_PER_DEGREE
        dlng = radius / (METRES_PER_DEGREE * max(math.cos(math.radians(case.lat)), 1e-6))
        box = and_(Case.lat.between(case.lat - dlat, case.lat + dlat), Case.lng.between(case.lng - dlng, case.lng + dlng))
        where.append(box if is_event else (box | Case.lat.is_(None)))
    rows = db.session.execute(select(Case.id, Case.lat, Case.lng, Case.created_at).where(*where)).all()
    kept = _dismissed(case.id)
    out = []
    for row in rows:
        if row.id in kept:
            continue
        d = None
        if None not in (case.lat, case.lng, row.lat, row.lng):
            d = haversine_m(case.lat, case.lng, row.lat, row.lng)
            if d > radius:
                continue
        out.append((row, d))
    return out


def score(distance, age, conf):
    """0..1: closer in place and time is likelier the same; the same category or item (required) gives
    the base 0.2, an unknown distance counts half."""
    near = 0.5 if distance is None else 1 - min(distance / conf["radius_m"], 1)
    recent = 1 - min(abs(age.total_seconds()) / (conf["window_days"] * 86400), 1)
    return round(0.2 + 0.5 * near + 0.3 * recent, 3)


def similar_cases(user, case_id):
    """The likely duplicates of a case `user` may see, best first:
    [{case_id, score, distance_m, reason, title, created_at}] (CONTRACT §8)."""
    case = _case(user, case_id)
    conf = settings()
    now = utcnow()
    found = candidates(case, conf)
    titles = dict(db.session.execute(select(Case.id, Case.title).where(Case.id.in_([r.id for r, _ in found]))).all()) \
        if found else {}
    items = []
    for row, d in found:
        what = "同类事件" if case.process_id == EVENT_PROCESS else "同一清单事项"
        parts = [what] + ([f"相距 {round(d)} 米"] if d is not None else ["同一乡镇"])
        parts.append(_ago(now - row.created_at) + ("上报" if case.process_id == EVENT_PROCESS else "发起"))
        items.append({"case_id": row.id, "score": score(d, row.created_at - case.created_at, conf),
                      "distance_m": round(d, 1) if d is not None else None, "reason": "，".join(parts),
                      "title": titles.get(row.id, ""), "created_at": iso(row.created_at)})
    items.sort(key=lambda i: (-i["score"], i["case_id"]))
    return {"items": items[:conf["limit"]]}


# --- deciding ------------------------------------------------------------------------------------------
def may_merge(user, case):
    """Whether `user` may merge the case (or keep it apart): the township's platform its events, the
    centre calls (policy `case.merge`)."""
    return policy.allows(user, "case.merge", case=case)


def _pair(user, case_id, into):
    case = _case(user, case_id, "case.merge")          # who may, before what they sent
    if not isinstance(into, int) or isinstance(into, bool):
        raise Invalid("请指定要并入的案件", {"into": "应为案件编号"})
    if into == case.id:
        raise Conflict("不能合并到案件自身")
    other = db.session.get(Case, into)
    if other is None or not policy.allows(user, "case.read", case=other):
        raise TargetNotFound("要并入的案件不存在或无权查看")
    policy.require(user, "case.merge", case=other)
    return case, other


def _check_pair(case, other):
    if case.status != "open":
        raise Conflict("此案件已不在办理中，不能合并")
    if other.status != "open" or other.merged_into is not None:
        raise Conflict("要并入的案件已结束或已被合并，请选择办理中的案件")
    if case.process_id != other.process_id:
        raise Conflict("只能合并同一类案件（事件与事件、呼叫与呼叫）")
    if case.township_code != other.township_code:
        raise Conflict("不能跨乡镇合并")


def merge_case(user, case_id, into):
    """Merge the case into `into` (an open case of the same kind and township): the merged case ends
    `merged` (readable, pointing to the other), its files and reporter are carried over, and both
    trails record it. A merged case is never open, so a chain of merges cannot loop back."""
    case, other = _pair(user, case_id, into)
    _check_pair(case, other)
    with write_transaction():
        first, second = sorted((case.id, other.id))       # one order of locks for every writer: no deadlock
        locked = {first: lock_case(first), second: lock_case(second)}
        case, other = locked[case.id], locked[other.id]
        _check_pair(case, other)
        now = utcnow()
        for row in db.session.execute(select(Task).where(Task.case_id == case.id, Task.status == "ready")).scalars():
            row.status = "cancelled"
            audit.record("task_cancelled", user.username, case.id, task=row, org_code=row.org_code,
                         detail=f"已合并到 #{other.id}")
        before = {"status": case.status}
        case.status, case.merged_into, case.closed_at, case.updated_at = "merged", other.id, now, now
        case.state, case.next_timer_at, case.due_at = None, None, None
        moved = evidence.carry_over(user, case, other, f"来自合并的 #{case.id}")
        if case.initiator_org and not db.session.execute(select(CaseParticipant.id).where(
                CaseParticipant.case_id == other.id, CaseParticipant.org_code == case.initiator_org)).first():
            db.session.add(CaseParticipant(case_id=other.id, org_code=case.initiator_org))
        other.updated_at = now
        audit.record("case_merged", user.username, case.id, org_code=user.org_code, before=before,
                     after={"status": "merged", "merged_into": other.id}, detail=f"合并到 #{other.id}")
        audit.record("case_merged_in", user.username, other.id, org_code=user.org_code,
                     before={"reporters": [r["username"] for r in reporters(other.id, other)]},
                     after={"merged_case": case.id, "reporter": case.initiator, "reporter_org": case.initiator_org,
                            "files": moved}, detail=f"#{case.id} 并入本件")
        builtin_tasks.left_open(case, user.username)
        search.reindex(case)
        search.reindex(other)
    return case


def dismiss(user, case_id, other_id):
    """保持独立: record that the two cases are different matters, on both trails, so the pair is not
    offered again."""
    case, other = _pair(user, case_id, other_id)
    with write_transaction():
        audit.record("duplicate_dismissed", user.username, case.id, org_code=user.org_code,
                     after={"other": other.id}, detail=f"与 #{other.id} 保持独立")
        audit.record("duplicate_dismissed", user.username, other.id, org_code=user.org_code,
                     after={"other": case.id}, detail=f"与 #{case.id} 保持独立")
    return case


# --- what a case page shows -------------------------------------------------------------------------------
def reporters(case_id, case=None):
    """Who reported the matter: the case's own initiator, then those of the cases merged into it."""
    case = case or db.session.get(Case, case_id)
    out = [{"username": case.initiator, "org": case.initiator_org, "case_id": case.id}]
    for e in audit.events_of(case_id, actions=("case_merged_in",)):
        a = e.after or {}
        out.append({"username": a.get("reporter"), "org": a.get("reporter_org"), "case_id": a.get("merged_case")})
    return out
