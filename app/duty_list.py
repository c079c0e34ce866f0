"""The responsibility list (属地管理事项责任清单): immutable published versions, what changed
between two, the changes an approved process publishes, its XLSX print, and the accountability
review (依单监管问责) that reads the version in force and the township's calls."""
import copy
import io
from datetime import date, datetime, time as dtime

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from sqlalchemy import select

from . import audit, deadlines, orgs, policy
from .database import write_transaction
from .engine import expressions
from .errors import Invalid, NotFound
from .extensions import db
from .models import AccountabilityReview, Case, ListItem, ListVersion, Task
from .models.types import utcnow
from .roles import LIST_ACTIONS
from .timefmt import local_zone

FIELDS = ("domain", "name", "primary_org", "primary_duty", "supporting", "supporting_duty", "legal_basis",
          "instructions", "limits")
FIELD_TITLES = {"domain": "领域", "name": "事项名称", "primary_org": "主体责任单位", "primary_duty": "主体责任",
                "supporting": "配合单位", "supporting_duty": "配合责任", "legal_basis": "法律依据",
                "instructions": "施工图/说明书", "limits": "办理时限"}
DOMAIN_PREFIX = {"自然资源": "ZR", "生态环境": "HB", "城乡建设": "CJ", "应急管理": "YJ", "市场监管": "SC",
                 "综合执法": "ZF", "重点工作": "ZD"}
CALL_PROCESS = "call_response"


# --- reading ----------------------------------------------------------------------------------
def version(number=None):
    if number is None:
        return orgs.current_list_version()
    return db.session.execute(select(ListVersion).where(ListVersion.version == number)).scalar_one_or_none()


def versions():
    return db.session.execute(select(ListVersion).order_by(ListVersion.version.desc())).scalars().all()


def items(list_version):
    return db.session.execute(select(ListItem).where(ListItem.list_version_id == list_version.id)
                              .order_by(ListItem.code)).scalars().all()


def item_calls(user, code, limit=20):
    """The newest calls on a list item that `user` may see."""
    policy.require(user, "list.read")
    return db.session.execute(select(Case).where(Case.list_item == code, policy.case_filter(user))
                              .order_by(Case.created_at.desc(), Case.id.desc()).limit(limit)).scalars().all()


def in_force(on_day):
    """The version in force on a date: the newest published by the end of that day."""
    end = datetime.combine(on_day, dtime.max, tzinfo=local_zone())
    return db.session.execute(select(ListVersion).where(ListVersion.published_at <= end)
                              .order_by(ListVersion.version.desc()).limit(1)).scalar_one_or_none()


def diff(old, new):
    """What changed from version `old` to `new`: added and removed items, and changed fields."""
    a = {i.code: i.to_dict() for i in items(old)}
    b = {i.code: i.to_dict() for i in items(new)}
    changed = []
    for code in sorted(a.keys() & b.keys()):
        fields = {f: {"old": a[code][f], "new": b[code][f]} for f in FIELDS if a[code][f] != b[code][f]}
        if fields:
            changed.append({"code": code, "name": b[code]["name"], "fields": fields})
    return {"from": old.version, "to": new.version,
            "added": [b[c] for c in sorted(b.keys() - a.keys())],
            "removed": [a[c] for c in sorted(a.keys() - b.keys())],
            "changed": changed}


# --- publishing -------------------------------------------------------------------------------
def publish(edit, actor, title=None, note=None, effective_date=None, case_id=None):
    """A new version: the current items copied, `edit(items_by_code)` applied to the copy."""
    current = orgs.current_list_version()
    rows = {i.code: i.to_dict() for i in items(current)} if current else {}
    edit(rows)
    new = ListVersion(version=(current.version + 1) if current else 1,
                      title=title or (current.title if current else "属地管理事项责任清单"),
                      note=note, effective_date=effective_date or _today(), published_by=actor)
    db.session.add(new)
    db.session.flush()
    for code, item in sorted(rows.items()):
        db.session.add(ListItem(list_version_id=new.id, code=code, **{f: item.get(f) for f in FIELDS}))
    db.session.flush()
    audit.record("list_published", actor, case_id, detail=note,
                 before={"version": current.version} if current else None,
                 after={"version": new.version, "items": len(rows)})
    orgs.invalidate()
    deadlines.invalidate()
    return new


def _today():
    """The county's date today: a version published without a date of its own takes effect on it."""
    return utcnow().astimezone(local_zone()).date().isoformat()


def next_code(rows, domain):
    prefix = DOMAIN_PREFIX.get(domain, "QT")
    numbers = [int(c.split("-")[1]) for c in rows if c.startswith(prefix + "-") and c.split("-")[1].isdigit()]
    return f"{prefix}-{(max(numbers) + 1) if numbers else 1:02d}"


def case_edit(case, action):
    """What an approved duty-sinking (`sink_duty`) or list-change (`change_list`) case does to the
    list: edit(items_by_code), applied to a copy of the current items; None for an unknown action.
    The same function publishes the change and shows its reviewers what it would publish."""
    data = case.data or {}
    names = orgs.org_names()
    if action == "sink_duty":
        towns = "、".join(names.get(t, t) for t in data.get("townships") or [])
        extras = "；".join(x for x in (f"费随事转：{data['funding']}" if data.get("funding") else "",
                                       f"随同人员/编制 {data['staff']} 名" if data.get("staff") else "") if x)
        duty = f"{data.get('duty')}（经职责下沉准入程序下沉至：{towns}{'；' + extras if extras else ''}）"

        def edit(rows):
            code = data.get("item_code")
            if code in rows:
                item = rows[code]
                if item["primary_org"] != orgs.TOWNSHIP:
                    item["supporting"] = [item["primary_org"]] + [s for s in item["supporting"] if s != item["primary_org"]
                                                                  and s != orgs.TOWNSHIP]
                    item["supporting_duty"] = f"原主体责任单位转为配合：业务指导、培训和协助。{item.get('supporting_duty') or ''}"
                item["primary_org"], item["primary_duty"] = orgs.TOWNSHIP, duty
            else:
                code = next_code(rows, "重点工作")
                rows[code] = {"domain": "重点工作", "name": data.get("duty"), "primary_org": orgs.TOWNSHIP,
                              "primary_duty": duty, "supporting": [case.initiator_org] if case.initiator_org else [],
                              "supporting_duty": "业务指导、培训和协助", "legal_basis": data.get("legal_basis"),
                              "instructions": None, "limits": {}}
        return edit
    if action == "change_list":
        kind, code, proposed = data.get("change_type"), data.get("item_code"), data.get("item") or {}

        def edit(rows):
            if kind == "remove":
                rows.pop(code, None)
            elif kind == "modify" and code in rows:
                _apply_proposal(rows[code], proposed, _proposal_base(case, code))
            elif kind == "add":
                new_code = next_code(rows, proposed.get("domain"))
                rows[new_code] = {f: None for f in FIELDS} | {k: v for k, v in proposed.items() if k in FIELDS}
                rows[new_code]["supporting"] = rows[new_code].get("supporting") or []
                rows[new_code]["limits"] = rows[new_code].get("limits") or {}
        return edit
    return None


def apply_case_action(case, action, actor):
    """Publish what an approved duty-sinking or list-change case decided (its end event's listAction)."""
    data = case.data or {}
    edit = case_edit(case, action)
    if action == "sink_duty":
        publish(edit, actor, note=f"职责下沉准入（案件 #{case.id}）：{data.get('duty')}",
                effective_date=data.get("start_date"), case_id=case.id)
    elif action == "change_list":
        kind, code, proposed = data.get("change_type"), data.get("item_code"), data.get("item") or {}
        labels = {"add": "新增", "remove": "删除", "modify": "修改"}
        publish(edit, actor, note=f"清单动态调整（案件 #{case.id}）：{labels.get(kind, kind)} {code or proposed.get('name', '')}",
                effective_date=data.get("effective_date"), case_id=case.id)
    else:       # deployment refuses it; a version deployed before that check ends without publishing, on record
        audit.record("list_not_published", actor, case.id,
                     detail=f"流程结束事件要求清单动作“{action}”，但没有这种动作（应为 {'、'.join(LIST_ACTIONS)}），未发布新版清单")


def preview(case, action):
    """What publishing a case's change would do to the current list, item by item, for the people
    who review it: [{code, name, change: added|removed|changed, fields: [(field, before, after)]}],
    every field of the item with its value before and after (None where the item has none)."""
    edit = case_edit(case, action)
    current = orgs.current_list_version()
    if edit is None:
        return []
    before = {i.code: i.to_dict() for i in items(current)} if current else {}
    after = copy.deepcopy(before)
    try:
        edit(after)
    except (TypeError, AttributeError, ValueError):     # a proposal no published change could come from
        return []
    out = []
    for code in sorted(before.keys() | after.keys()):
        a, b = before.get(code), after.get(code)
        if a == b:
            continue
        change = "added" if a is None else "removed" if b is None else "changed"
        out.append({"code": code, "name": (b or a).get("name"), "change": change,
                    "fields": [(f, (a or {}).get(f), (b or {}).get(f)) for f in FIELDS]})
    return out


def _proposal_base(case, code):
    """The item as it stood when the proposal was made (the list version in force then), or None."""
    lv = version(case.list_version) if case.list_version else None
    item = orgs.list_item(code, lv) if lv is not None else None
    return item.to_dict() if item is not None else None


def _apply_proposal(item, proposed, base):
    """Apply a modify proposal to an item as it stands now, changing only what the proposal changed
    against the item it was made on (`base`): a field it left as it was keeps today's value; of the
    cooperating units, those it removed go and those it added come, and the others stay — 属地乡镇
    among them, or a unit another change added since."""
    for k, v in proposed.items():
        if k not in FIELDS or v is None:
            continue
        if k == "supporting":
            before = list((base or {}).get("supporting") or []) if base is not None else list(item.get("supporting") or [])
            removed = set(before) - set(v)
            kept = [u for u in item.get("supporting") or [] if u not in removed]
            item["supporting"] = kept + [u for u in v if u not in before and u not in kept]
        elif base is None or v != base.get(k):
            item[k] = v


def units_concerned(change_type, item_code, item):
    """County departments concerned by a proposed change: the item's primary and supporting ones."""
    codes = []
    current = orgs.list_item(item_code) if item_code and change_type in ("remove", "modify") else None
    if current is not None:
        codes += [current.primary_org] + list(current.supporting or [])
    if isinstance(item, dict) and change_type in ("add", "modify"):
        codes += [item.get("primary_org")] + list(item.get("supporting") or [])
    departments = {o.code for o in orgs.org_units("department")}
    return [c for c in expressions.SAFE_FUNCTIONS["unique"](codes) if c in departments]


def item_label(code):
    """A list item's code and name for a process's expressions (a case title, say); "" for none."""
    return orgs.list_item_label(code) if isinstance(code, str) and code else ""


expressions.register_functions({"units_concerned": units_concerned, "list_item_label": item_label})


# --- printing ---------------------------------------------------------------------------------
def xlsx(list_version):
    """The version as a county office would print it: one sheet, a title, one row per item."""
    names = orgs.org_names()
    wb = Workbook()
    ws = wb.active
    ws.title = f"第{list_version.version}版"
    headers = ["序号", "领域", "事项编码", "事项名称", "主体责任单位", "主体责任", "配合单位", "配合责任", "法律依据",
               "签收时限（小时）", "办结时限（工作日）"]
    ws.append([list_version.title])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers))
    ws["A1"].font = Font(size=16, bold=True)
    ws["A1"].alignment = Alignment(horizontal="center")
    ws.append([f"第 {list_version.version} 版　生效日期：{list_version.effective_on or '—'}　"
               f"发布：{list_version.published_at.astimezone(local_zone()).strftime('%Y-%m-%d')}"])
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=len(headers))
    ws.append(headers)
    thin = Side(style="thin")
    for cell in ws[3]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    unit = lambda c: "属地乡镇（街道）" if c == orgs.TOWNSHIP else names.get(c, c)  # noqa: E731
    order = list(DOMAIN_PREFIX)
    by_domain = sorted(items(list_version), key=lambda i: (order.index(i.domain) if i.domain in order else 99, i.code))
    for n, item in enumerate(by_domain, start=1):
        limits = item.limits or {}
        ws.append([n, item.domain, item.code, item.name, unit(item.primary_org), item.primary_duty,
                   "、".join(unit(c) for c in item.supporting or []), item.supporting_duty, item.legal_basis,
                   limits.get("sign_hours"), limits.get("complete_working_days")])
    for row in ws.iter_rows(min_row=3):
        for cell in row:
            cell.border = Border(top=thin, bottom=thin, left=thin, right=thin)
            if cell.row > 3:
                cell.alignment = Alignment(vertical="top", wrap_text=True)
    for letter, width in zip("ABCDEFGHIJK", (6, 10, 9, 26, 16, 40, 18, 30, 30, 10, 10)):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A4"
    ws.print_title_rows = "3:3"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# --- 依单监管问责 -------------------------------------------------------------------------------
EXEMPT_WINDOW_DAYS = 0   # a call on or before the incident day counts as "called in time"


def accountability_report(user, item_code, township, incident_date):
    """What the record says about an incident on a list item in a township (for the supervisor)."""
    policy.require(user, "accountability.read")
    errors = {}
    try:
        day = date.fromisoformat(incident_date) if isinstance(incident_date, str) else None
    except ValueError:
        day = None
    if day is None:
        errors["incident_date"] = "日期格式应为 YYYY-MM-DD"
    if not isinstance(township, str) or township not in {o.code for o in orgs.org_units("township")}:
        errors["township"] = "不是乡镇（街道）代码"
    lv = in_force(day) if day else None
    item = orgs.list_item(item_code, lv) if lv and isinstance(item_code, str) else None
    if day and item is None:
        errors["item_code"] = "事发时施行的清单中没有此事项"
    if errors:
        raise Invalid("请检查填写", errors)
    end = datetime.combine(day, dtime.max, tzinfo=local_zone())
    calls = db.session.execute(select(Case).where(Case.process_id == CALL_PROCESS, Case.list_item == item_code,
                                                  Case.initiator_org == township, Case.created_at <= end)
                               .order_by(Case.created_at)).scalars().all()
    handling = {}
    if calls:
        for t in db.session.execute(select(Task).where(Task.case_id.in_([c.id for c in calls]),
                                                       Task.status == "completed").order_by(Task.completed_at)).scalars():
            handling.setdefault(t.case_id, []).append({"step": t.name, "org": t.org_code, "by": t.completed_by,
                                                        "at": t.completed_at.isoformat()})
    township_primary = item.primary_org == orgs.TOWNSHIP
    called = [c for c in calls if c.status not in ("rejected", "withdrawn")]   # a withdrawn call was not made
    proposal = "exempt" if called and not township_primary else "review"
    reason = ("乡镇已在事发前按清单呼叫县级部门，且该事项主体责任在县级部门，建议免责" if proposal == "exempt" else
              "该事项属乡镇主体责任，不适用呼叫免责，需审查履职情况" if township_primary else
              "事发前未见乡镇就此事项呼叫，需审查是否应呼未呼")
    return {"item": item.to_dict(), "list_version": lv.version, "township": township, "incident_date": day.isoformat(),
            "calls": [{"case_id": c.id, "title": c.title, "raised_at": c.created_at.isoformat(), "status": c.status,
                       "handling": handling.get(c.id, [])} for c in calls],
            "proposal": proposal, "proposal_reason": reason}


def record_review(user, item_code, township, incident_date, description, decision, reason):
    policy.require(user, "accountability.decide")
    errors = {}
    if decision not in ("exempt", "accountable"):
        errors["decision"] = "应为 exempt（免责）或 accountable（问责）"
    if not isinstance(reason, str) or len(reason.strip()) < 2:
        errors["reason"] = "请写明认定理由"
    if not isinstance(description, str) or len(description.strip()) < 2:
        errors["description"] = "请描述事件"
    report = accountability_report(user, item_code, township, incident_date)
    if errors:
        raise Invalid("请检查填写", errors)
    with write_transaction():
        review = AccountabilityReview(item_code=item_code, township=township, incident_date=report["incident_date"],
                                      description=description.strip(), report=report, proposal=report["proposal"],
                                      decision=decision, reason=reason.strip(), decided_by=user.username)
        db.session.add(review)
        db.session.flush()
        audit.record("accountability_decided", user.username, org_code=township,
                     after={"review": review.id, "item": item_code, "decision": decision, "proposal": report["proposal"]},
                     detail=reason.strip())
    return review


def reviews(user, limit=100):
    policy.require(user, "accountability.read")
    return db.session.execute(select(AccountabilityReview).order_by(AccountabilityReview.id.desc())
                              .limit(limit)).scalars().all()



def require_version(number):
    lv = version(number)
    if lv is None:
        raise NotFound("没有这个版本的清单")
    return lv
