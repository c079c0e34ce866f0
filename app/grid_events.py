"""Grid events (网格事件, CONTRACT §8): what the process `grid_event` asks of the application.

A grid worker reports; the township's platform for the report's category triages it (受理分拨): hands
it to the platform's own staff or to a stationed agency of the township, dismisses it, or raises a
call to the county (乡呼县应). The call is an ordinary `call_response` case in the township's name,
started by the same write path as a township's own call (cases.start_within), prefilled from the
event and carrying its photos; the two are linked both ways (`source_case_id` on the call,
`call_case_id` on the event). The event waits for the call (message `call_ended`) and moves on when
the call stops being open, with `call_status`.

The processes call `platform_for(township, category)`, `org_kind(code)`, `category_label(code)` and
`event_due(deadline, urgency)`; forms use the choices `grid_categories` and `township_handlers`.
"""
import json
from datetime import date, datetime, time
from functools import lru_cache
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from . import audit, builtin_tasks, cases, deadlines, evidence, orgs, policy
from .database import lock_case
from .engine import expressions
from .errors import Invalid
from .extensions import db
from .models import Case, OrgUnit, User
from .roles import PLATFORM_KINDS
from .timefmt import local_zone

EVENT_PROCESS, CALL_PROCESS = "grid_event", "call_response"
RAISE_CALL = "huying.raise_call"
CALL_ENDED = "call_ended"
DEFAULT_CATALOGUE = Path(__file__).resolve().parent / "demo" / "grid_categories.json"
STATUS_WORDS = {"closed": "已办结", "rejected": "不予受理", "withdrawn": "已撤回", "merged": "已合并到另一呼叫"}


# --- the category catalogue --------------------------------------------------------------------------
@lru_cache(maxsize=4)
def _catalogue(path):
    with open(path, encoding="utf-8") as f:
        return {c["code"]: c for c in json.load(f)["categories"]}


def categories():
    """{code: {code, name, platform, list_item}}: the platforms' catalogue of what a grid worker
    reports (a file, `GRID_CATEGORIES` in the config; the same on every app process)."""
    return _catalogue(str(current_app.config.get("GRID_CATEGORIES") or DEFAULT_CATALOGUE))


def category_label(code):
    c = categories().get(code) if isinstance(code, str) else None
    return c["name"] if c else str(code or "事件")


# --- what the process calls ----------------------------------------------------------------------------
def platform_for(township, category):
    """The code of the township's platform that triages a category (the catalogue names its kind);
    the 综合治理 platform when the township has not that one. A township with no platform at all
    cannot take grid reports: the case goes to the supervisor's board with that reason."""
    kind = (categories().get(category) or {}).get("platform") or "zhzl"
    rows = dict(db.session.execute(select(OrgUnit.platform_kind, OrgUnit.code).where(
        OrgUnit.kind == "platform", OrgUnit.parent_code == township, OrgUnit.active.is_(True))).all())
    code = rows.get(kind) or rows.get("zhzl")
    if code is None:
        raise expressions.ExpressionError(
            f"乡镇 {orgs.org_names().get(township, township)} 没有设置{PLATFORM_KINDS.get(kind, kind)}平台或综合治理平台，"
            "无法受理网格事件：请管理员在单位管理中为该乡镇添加平台")
    return code


def org_kind(code):
    """The kind of an org unit (township, department, grid, platform, stationed), or None."""
    if not isinstance(code, str):
        return None
    return db.session.execute(select(OrgUnit.kind).where(OrgUnit.code == code)).scalar_one_or_none()


def event_due(deadline, urgency):
    """The handling deadline: the end of the day the platform set (local time), or the default limit of
    the urgency on the working-day calendar (`event_handle`)."""
    if isinstance(deadline, str) and deadlines.DAY.match(deadline):
        try:
            day = date.fromisoformat(deadline)
        except ValueError:
            day = None
        if day is not None:
            return datetime.combine(day, time(23, 59, 59), tzinfo=local_zone()).isoformat()
    return expressions.SAFE_FUNCTIONS["due_date"]("event_handle", urgency)


expressions.register_functions({"platform_for": platform_for, "org_kind": org_kind,
                                "category_label": category_label, "event_due": event_due})


# --- form choices -------------------------------------------------------------------------------------
def _handlers(case_data):
    """The units of the event's township a platform may hand it to: its platforms, then the stationed
    agencies, each with its home department."""
    township = (case_data or {}).get("initiator_township")
    if not township:
        return []
    rows = db.session.execute(select(OrgUnit).where(OrgUnit.parent_code == township, OrgUnit.active.is_(True),
                                                    OrgUnit.kind.in_(("platform", "stationed")))
                              .order_by(OrgUnit.kind, OrgUnit.code)).scalars().all()
    names = orgs.org_names()
    return [(u.code, f"{u.name}（派驻单位：{names.get(u.home_code, u.home_code)}）" if u.kind == "stationed" and u.home_code
             else u.name) for u in rows]


orgs.register_options("grid_categories", lambda _data: [(c["code"], c["name"]) for c in categories().values()])
orgs.register_options("township_handlers", _handlers, per_case=True)


def suggested_list_item(case_data):
    """The list item a call raised from the event would name: the category's, when the list in force has it."""
    code = (categories().get((case_data or {}).get("category")) or {}).get("list_item")
    return code if code and orgs.list_item(code) is not None else None


# --- raising the call ----------------------------------------------------------------------------------
def _call_data(event, v, user):
    loc = v.get("location") if isinstance(v.get("location"), dict) else {}
    where = (loc.get("address") or "").strip() or (
        f"北纬 {loc['lat']:.5f}，东经 {loc['lng']:.5f}" if isinstance(loc.get("lat"), (int, float))
        and isinstance(loc.get("lng"), (int, float)) else "")
    label = category_label(v.get("category"))
    text = str(v.get("description") or "").strip()
    description = (f"{text}\n\n乡镇平台意见：{str(v.get('opinion') or '').strip()}\n"
                   f"（由网格事件 #{event.id} 呼叫县级，网格员现场上报，照片随附）")
    item = v.get("list_item") or suggested_list_item(v)
    data = {"title": f"{label}：{text}"[:100], "description": description[:5000],
            "urgency": v.get("urgency") or "normal", "contact": (user.name or user.username)[:100]}
    if where:
        data["location"] = where[:200]
    if item:
        data["list_item"] = item
    return data


@builtin_tasks.serves(RAISE_CALL)
def raise_call(event, element_id, variables, actor):
    """The event's service task 呼叫县级: start the call in the township's name, with the event's text,
    place, photos and suggested list item, linked both ways and on both trails."""
    user = db.session.execute(select(User).where(User.username == actor)).scalar_one_or_none()
    if user is None:
        raise Invalid("呼叫须由乡镇平台的工作人员在分拨时发起")
    policy.require(user, "case.raise_call", case=event)
    township = event.township_code
    if not township:
        raise Invalid("事件没有所属乡镇，无法以乡镇名义呼叫")
    place = {"township_code": township, "grid_code": event.grid_code, "category": event.category,
             "lat": event.lat, "lng": event.lng}
    call = cases.start_within(user, CALL_PROCESS, _call_data(event, variables, user), township, place,
                              {"source_case_id": event.id})
    files = evidence.carry_over(user, event, call, f"来自网格事件 #{event.id}")
    audit.record("call_raised", actor, event.id, org_code=user.org_code, before={"call_case_id": None},
                 after={"call_case_id": call.id, "files": files}, detail=f"已呼叫县级：呼叫 #{call.id}")
    audit.record("raised_from_event", actor, call.id, org_code=user.org_code,
                 after={"source_case_id": event.id, "files": files}, detail=f"由网格事件 #{event.id} 发起")
    return {"call_case_id": call.id, "call_status": "open"}


@builtin_tasks.on_left_open
def resume_event(call, actor):
    """A call raised from an event stopped being open: the event moves on (message `call_ended`), in
    the call's transaction. An event that no longer waits (merged, dismissed meanwhile) is noted on
    the call's trail, so nothing is left unsaid."""
    source = (call.data or {}).get("source_case_id") if call.process_id == CALL_PROCESS else None
    if not isinstance(source, int):
        return
    event = lock_case(source)
    run = cases.load_for_write(event) if event is not None and event.status == "open" and event.state else None
    if run is None or not any(n == CALL_ENDED for _k, n, _e in run.waiting()):
        audit.record("event_not_resumed", actor, call.id, after={"source_case_id": source},
                     detail=f"网格事件 #{source} 已不在等待本呼叫，未予推进")
        return
    word = STATUS_WORDS.get(call.status, call.status)
    audit.record("call_ended", actor, event.id, before={"call_status": "open"},
                 after={"call_case_id": call.id, "call_status": call.status}, detail=f"呼叫 #{call.id} {word}")
    cases.run_step(event, run, actor, lambda: run.deliver("message", CALL_ENDED,
                                                          {"call_status": call.status, "call_case_id": call.id}))


def linked_cases(user, case):
    """[(label, case id, status)] of the cases linked to this one that `user` may see: the call raised
    from an event, the event a call was raised from (the case page, the task pages and the dossier)."""
    data = case.data or {}
    out = []
    if isinstance(data.get("call_case_id"), int):
        out.append(("已呼叫县级", data["call_case_id"]))
    if isinstance(data.get("source_case_id"), int):
        out.append(("来自网格事件", data["source_case_id"]))
    shown = []
    for label, cid in out:
        other = db.session.get(Case, cid)
        if other is not None and policy.allows(user, "case.read", case=other):
            shown.append((label, cid, other.status))
    return shown


def panel(user, case):
    """What the case and task pages show of a grid event (or of a call raised from one), or None."""
    data = case.data or {}
    if case.process_id != EVENT_PROCESS and not isinstance(data.get("source_case_id"), int):
        return None
    source = case
    if case.process_id != EVENT_PROCESS:
        source = db.session.get(Case, data["source_case_id"]) or case
    sdata = source.data or {}
    loc = sdata.get("location") if isinstance(sdata.get("location"), dict) else {}
    names = orgs.org_names()
    return {"is_event": case.process_id == EVENT_PROCESS,
            "category": category_label(source.category) if source.category else None,
            "grid": names.get(source.grid_code) if source.grid_code else None,
            "address": loc.get("address"), "lat": source.lat, "lng": source.lng,
            "description": sdata.get("description"), "linked": linked_cases(user, case)}


# --- the map ------------------------------------------------------------------------------------------
def outlines(user):
    """The GeoJSON outlines a map shows `user`: their township and its grids (a grid worker, a
    platform, a stationed agency, a township), or every township and grid for the county's roles."""
    policy.require(user, "geo.read")
    return orgs.outlines(orgs.township_of(user.org))
