"""What a task's decision rests on, read from its case's own record (issue 12).

A task page shows, beside its form, the sections of `task_context(user, task)`: the replies being
reviewed or evaluated with their files, why the township was dissatisfied or the centre sent the
replies back, why a unit returned a dispatch, the department's part (主办/协办) with the centre's
instructions and the township's contact, what the centre asked for and what the township
supplied, the proposal under review against the list item it changes, the supervisor's orders and
their answers. `GET /api/v1/tasks/{id}` carries the same sections as JSON under `context`.

Sections are chosen by what the case's record holds and by the variables the contract fixes
(CONTRACT.md §3: `accepted`, `lead_department`, `returned`, `satisfied`, `approved`, ...), never by
element ids, so an analyst's renamed step keeps its context.
"""
from dataclasses import dataclass, field

from sqlalchemy import select

from . import conversation, duty_list, evidence, orgs, policy, processes
from .extensions import db
from .models import Case, Task
from .presenters import item_field_text, list_item_label, result_rows, unit_label
from .roles import ROLES
from .timefmt import iso

PARTS = {"lead": "主办", "co": "协办"}
PART_NOTES = {"lead": "本单位牵头办理：联系乡镇、组织协办单位，办结后反馈办理结果。",
              "co": "本单位配合主办单位办理本单位职责内的部分，并反馈办理结果。"}
CHANGE_LABELS = {"added": "新增事项", "removed": "删除事项", "changed": "修改事项"}
ORDER_FLAGS = (("notify_leader", "已抄送分管领导"), ("circulate", "通报批评"))


@dataclass
class Entry:
    """One thing on record: a reply, a decision, a request, an order, a proposed item."""
    title: str
    text: str = None                 # its free text (a reply, a reason, an opinion)
    fields: list = field(default_factory=list)     # [(title, value)] of its other answers
    by: str = None                   # username
    by_name: str = None
    org: str = None
    org_name: str = None
    at: object = None                # when (a datetime)
    files: list = field(default_factory=list)      # Attachment rows
    tone: str = None                 # "warn" for a reason to rework or a return, "ok" for an approval
    part: str = None                 # "lead" | "co" for a department's reply
    diff: list = field(default_factory=list)       # [(field, title, before, after, changed)] of a proposed item
    answers: list = field(default_factory=list)    # [Entry] answering an order
    pending: bool = False            # an order not yet issued, an answer not yet given

    def to_dict(self):
        return {"title": self.title, "text": self.text, "fields": [{"title": t, "value": v} for t, v in self.fields],
                "by": self.by, "by_name": self.by_name, "org": self.org, "org_name": self.org_name,
                "at": iso(self.at), "files": [evidence.to_dict(f) for f in self.files], "tone": self.tone,
                "part": self.part, "part_label": PARTS.get(self.part),
                "diff": [{"field": f, "title": t, "before": b, "after": a, "changed": c}
                         for f, t, b, a, c in self.diff],
                "answers": [a.to_dict() for a in self.answers], "pending": self.pending}


@dataclass
class Section:
    key: str          # rework, returns, asked, supplied, part, instructions, replies, proposal, opinions, orders, call
    title: str
    entries: list
    note: str = None
    earlier: list = field(default_factory=list)    # [Entry] of earlier rounds, shown folded

    def to_dict(self):
        return {"key": self.key, "title": self.title, "note": self.note,
                "entries": [e.to_dict() for e in self.entries], "earlier": [e.to_dict() for e in self.earlier]}


@dataclass
class Context:
    sections: list            # the main column's sections, in the order shown
    call: Section             # what the case was started with (the page's side column)
    other_files: list         # the case's files no section shows (the side column lists them)

    def to_dict(self):
        return {"sections": [s.to_dict() for s in self.sections], "call": self.call.to_dict() if self.call else None}


# --- reading the record -------------------------------------------------------------------------------
class _Record:
    """A case's completed steps, files, definition and names, read once for one context."""

    def __init__(self, case, upto=None, exclude=None):
        self.case, self.data = case, case.data or {}
        self.definition = processes.definition(case.definition_row)
        rows = db.session.execute(select(Task).where(Task.case_id == case.id)
                                  .order_by(Task.created_at, Task.id)).scalars().all()
        self.tasks = {t.id: t for t in rows}
        done = [t for t in rows if t.status == "completed" and t.id != exclude
                and (upto is None or t.completed_at <= upto)]
        done.sort(key=lambda t: (t.completed_at, t.id))
        self.done = [t for t in done if t.kind == "engine"]
        self.orders = [t for t in rows if t.kind == "order" and t.status in ("ready", "completed")]
        self.files = evidence.files_of(case.id)
        self.files_by_task = {}
        for f in self.files:
            self.files_by_task.setdefault(f.task_id, []).append(f)
        self.names, self.people = orgs.org_names(), orgs.user_names()
        self.shown_files = set()

    def schema(self, task):
        schema = processes.app_form(task.form) if task.kind == "order" else self.definition.form(task.form)
        return schema or {}

    def files_of(self, task):
        files = self.files_by_task.get(task.id, [])
        self.shown_files.update(f.id for f in files)
        return files

    def part_of(self, org_code):
        if org_code and org_code == self.data.get("lead_department"):
            return "lead"
        if org_code and org_code in (self.data.get("co_departments") or []):
            return "co"
        return None

    def unit(self, task):
        return self.names.get(task.org_code) if task.org_code else None

    def entry(self, task, title=None, text_key=None, tone=None, files=True, skip=()):
        """An Entry of a completed step: its answers as the form titles them, its free text apart."""
        result = task.result or {}
        schema = self.schema(task)
        props = {k: v for k, v in (schema.get("properties") or {}).items() if k != text_key and k not in skip}
        text = result.get(text_key) if text_key else None
        return Entry(title=title or task.name, text=text if isinstance(text, str) and text.strip() else None,
                     fields=result_rows(dict(schema, properties=props), result), by=task.completed_by,
                     by_name=self.people.get(task.completed_by, task.completed_by), org=task.org_code,
                     org_name=self.unit(task), at=task.completed_at, files=self.files_of(task) if files else [],
                     tone=tone)

    def with_key(self, key, steps=None):
        return [t for t in (self.done if steps is None else steps) if key in (t.result or {})]

    def replies(self):
        return [t for t in self.done if t.role == "department" and "result" in (t.result or {})]

    def decisions(self):
        """The reviews and evaluations of the replies: steps deciding `approved` or `satisfied`."""
        return [t for t in self.done if {"approved", "satisfied"} & set(t.result or {})]


def _negative(task):
    r = task.result or {}
    return r.get("satisfied") is False or r.get("approved") is False


def _form_keys(record, task):
    return set((record.schema(task).get("properties") or {}).keys())


# --- the sections -----------------------------------------------------------------------------------
def _rework(record, task, keys):
    """Why the replies are asked for again: the township's dissatisfaction or the centre's return."""
    if "result" not in keys and not ({"approved", "satisfied"} & keys):
        return None
    decisions = record.decisions()
    if not decisions or not _negative(decisions[-1]):
        return None
    last = decisions[-1]
    r = last.result or {}
    if r.get("satisfied") is False:
        title = f"乡镇评价不满意（{last.name}）"
        entry = record.entry(last, title=title, text_key="comment", tone="warn")
    else:
        entry = record.entry(last, title=f"响应中心审核退回（{last.name}）", text_key="opinion", tone="warn")
    entries = [entry]
    if "result" in keys and task.role == "department":
        own = [t for t in record.replies() if t.org_code == task.org_code]
        if own:
            entries.append(record.entry(own[-1], title="本单位上次办理结果", text_key="result"))
    count = record.data.get("rework_count")
    note = f"第 {count} 次重办：请针对以下意见整改后重新反馈。" if r.get("satisfied") is False and count else \
        "请针对以下意见整改后重新反馈。" if "result" in keys else "本轮为重新办理后的结果。"
    return Section("rework", "重办原因" if "result" in keys else "上一轮的意见", entries, note=note)


def _returns(record, task, keys):
    """Units that returned the dispatch as not their duty, with their reasons."""
    if not ("lead_department" in keys or "returned" in keys):
        return None
    returned = [t for t in record.with_key("returned") if (t.result or {}).get("returned") is True]
    if "returned" in keys:          # a unit signing: the returns by other units before it
        returned = [t for t in returned if t.org_code != task.org_code]
    if not returned:
        return None
    dispatches = record.with_key("lead_department")
    since = dispatches[-1].completed_at if dispatches else None
    current = [t for t in returned if since is None or t.completed_at >= since]
    earlier = [t for t in returned if t not in current]

    def make(t):
        return record.entry(t, title=f"{record.unit(t) or t.name} 退回", text_key="reason", tone="warn",
                            skip=("returned",))
    return Section("returns", "退回理由", [make(t) for t in (current or earlier)],
                   earlier=[make(t) for t in earlier] if current else [],
                   note="以下单位认为不属于本部门职责，退回了派单。" if "lead_department" in keys else
                   "此前承办单位退回了派单，响应中心已改派到本单位。")


def _asked_and_supplied(record, task, keys):
    """补充材料: what the centre asked for (to the township), and what came back (to the centre)."""
    accepts = record.with_key("accepted")
    if not accepts:
        return None
    rounds = []                 # [(the centre's request, the township's answers to it)]
    for i, a in enumerate(accepts):
        r = a.result or {}
        if r.get("accepted") is False and r.get("more_info_requested"):
            nxt = accepts[i + 1].completed_at if i + 1 < len(accepts) else None
            supplied = [t for t in record.done if t.role == "township" and t.completed_at >= a.completed_at
                        and (nxt is None or t.completed_at <= nxt) and t.id != a.id]
            rounds.append((a, supplied))
    if not rounds:
        return None
    if "accepted" in keys:          # the centre accepting again: what it asked and what it got
        entries = []
        for ask, supplied in rounds:
            entries.append(record.entry(ask, title="响应中心要求补充", text_key="reason", tone="warn",
                                        skip=("accepted", "more_info_requested", "own_duty")))
            for s in supplied:
                entries.append(record.entry(s, title=f"乡镇补充（{s.name}）", tone="ok"))
            if not supplied:
                entries.append(Entry(title="乡镇尚未补充", pending=True))
        return Section("supplied", "补充材料", entries, note="此前要求乡镇补充材料，以下为要求和乡镇补充的内容。")
    if task.role == "township" and "satisfied" not in keys:
        ask, _supplied = rounds[-1]
        if accepts[-1] is not ask:
            return None
        return Section("asked", "响应中心要求补充的内容",
                       [record.entry(ask, title="响应中心要求补充", text_key="reason", tone="warn",
                                     skip=("accepted", "more_info_requested", "own_duty"))])
    return None


def _part(record, task):
    """A department's part in the call (主办/协办), the units dispatched, the township's contact."""
    if task.role != "department" or not task.org_code:
        return None
    part = record.part_of(task.org_code)
    lead = record.data.get("lead_department")
    co = record.data.get("co_departments") or []
    if part is None and not lead:
        return None
    contact = record.data.get("contact")
    initiator = record.people.get(record.case.initiator, record.case.initiator)
    town = record.names.get(record.case.initiator_org, record.case.initiator_org or "")
    fields = [("主办单位", unit_label(lead, record.names) if lead else "—"),
              ("协办单位", "、".join(unit_label(c, record.names) for c in co) or "无"),
              ("乡镇联系人", f"{contact}（{town}）" if contact else f"{initiator}（{town}，呼叫未留电话）")]
    title = f"本单位为{PARTS[part]}单位" if part else "本单位不在当前派单中"
    return Section("part", "承办分工", [Entry(title=title, text=PART_NOTES.get(part), fields=fields, part=part,
                                              org=task.org_code, org_name=record.unit(task))])


def _instructions(record, task):
    """The centre's 研判意见 and 改派说明, for the departments."""
    if task.role != "department":
        return None
    shown_apart = ("list_item", "lead_department", "co_departments")     # the part section names the units
    entries = [record.entry(t, title=t.name, text_key="opinion", skip=shown_apart, files=False)
               for t in record.with_key("lead_department")]
    entries = [e for e in entries if e.text]
    if not entries:
        return None
    return Section("instructions", "响应中心研判意见", entries[-1:], earlier=entries[:-1][::-1])


def _replies(record, task):
    """The departments' replies: the newest of each unit, earlier rounds folded."""
    if task.role == "department" and task.kind == "engine":
        return None
    replies = record.replies()
    if not replies:
        return None
    newest = {}
    for t in replies:
        newest[t.org_code] = t
    current = sorted(newest.values(), key=lambda t: (record.part_of(t.org_code) != "lead", t.completed_at))
    earlier = [t for t in replies if newest.get(t.org_code) is not t][::-1]

    def make(t):
        part = record.part_of(t.org_code)
        e = record.entry(t, title=f"{record.unit(t) or t.name}{'（' + PARTS[part] + '）' if part else ''}",
                         text_key="result")
        e.part = part
        return e
    reviews = [t for t in record.decisions() if "approved" in (t.result or {}) and (t.result or {}).get("approved")
               and (t.result or {}).get("opinion")]
    entries = [make(t) for t in current]
    if reviews and task.role != "center":
        entries.append(record.entry(reviews[-1], title=f"响应中心审核意见（{reviews[-1].name}）", text_key="opinion",
                                    tone="ok", skip=("approved",)))
    return Section("replies", "各部门办理结果", entries, earlier=[make(t) for t in earlier],
                   note=f"{len(current)} 个单位已反馈。")


def _proposal(record):
    """A list change or duty sinking: the proposal and what it would change in the list."""
    actions = [p.get("listAction") for p in record.definition.end_props.values() if p.get("listAction")]
    if not actions:
        return None
    definition, data = record.definition, record.data
    start = definition.form(definition.start.form) or {}   # the item itself is in the diff below
    props = {k: v for k, v in (start.get("properties") or {}).items() if k != "item"}
    head = Entry(title=record.case.title, fields=result_rows(dict(start, properties=props), data),
                 by=record.case.initiator, by_name=record.people.get(record.case.initiator, record.case.initiator),
                 org=record.case.initiator_org, org_name=record.names.get(record.case.initiator_org),
                 at=record.case.created_at, files=[f for f in record.files_by_task.get(None, [])])
    record.shown_files.update(f.id for f in head.files)
    entries = [head]
    for item in duty_list.preview(record.case, actions[0]):
        rows = []
        for f, before, after in item["fields"]:
            b, a = item_field_text(f, before, record.names), item_field_text(f, after, record.names)
            if item["change"] == "changed" and b == a:
                rows.append((f, duty_list.FIELD_TITLES[f], b, a, False))
            elif b != "—" or a != "—":
                rows.append((f, duty_list.FIELD_TITLES[f], b, a, True))
        entries.append(Entry(title=f"{CHANGE_LABELS[item['change']]}：{item['code']} {item['name'] or ''}".strip(),
                             diff=rows, tone=item["change"]))
    if len(entries) == 1:
        entries.append(Entry(title="按此建议，清单不会有变化", pending=True))
    title = "职责下沉申请" if "sink_duty" in actions else "清单调整建议"
    return Section("proposal", title, entries, note="对照现行清单：左为现行内容，右为批准后的内容。")


def _opinions(record, task):
    """In a list change or duty sinking: the opinions and decisions of the steps before."""
    if not any(p.get("listAction") for p in record.definition.end_props.values()):
        return None
    entries = []
    for t in record.done:
        r = t.result or {}
        negative = any(r.get(k) is False for k in ("approved", "agree", "consent"))
        text_key = next((k for k in ("opinion", "reason") if isinstance(r.get(k), str) and r[k].strip()), None)
        title = f"{t.name}（{record.unit(t) or ROLES.get(t.role, t.role or '')}）"
        entries.append(record.entry(t, title=title, text_key=text_key, tone="warn" if negative else "ok"))
    if not entries:
        return None
    return Section("opinions", "此前各环节意见", entries)


def order_entries(user, record, orders):
    """Supervision orders (督办单) with their answers: the step they are about, done after the order,
    and the remarks its unit left on that step since."""
    comments = conversation.comments(user, record.case.id, 1, 10000)[0] if orders else []
    out = []
    for order in orders:
        subject = record.tasks.get(order.subject_task_id) if order.subject_task_id else None
        unit = record.unit(subject) if subject is not None else None
        if order.status != "completed":
            out.append(Entry(title=order.name, text="已超时，已转督查室，待签发督办意见。", pending=True,
                             org=subject.org_code if subject else None, org_name=unit, at=order.created_at))
            continue
        r = order.result or {}
        e = record.entry(order, text_key="opinion", skip=tuple(k for k, _label in ORDER_FLAGS))
        e.fields = [("督办环节", f"{subject.name}（{unit}）" if subject is not None and unit else
                     (subject.name if subject is not None else "整个案件"))] + \
            [("处理", label) for k, label in ORDER_FLAGS if r.get(k)]
        if subject is not None:
            if subject.status == "completed" and subject.completed_at and subject.completed_at >= order.completed_at:
                e.answers.append(record.entry(subject, title=f"{unit or ''}已办理“{subject.name}”",
                                              text_key="result" if "result" in (subject.result or {}) else None,
                                              tone="ok"))
            elif subject.status == "completed":
                e.answers.append(Entry(title=f"“{subject.name}”已于签发前办理", by=subject.completed_by,
                                       by_name=record.people.get(subject.completed_by, subject.completed_by),
                                       at=subject.completed_at, tone="ok"))
            for c in comments:
                if c.task_id == subject.id and c.created_at >= order.completed_at:
                    e.answers.append(Entry(title="留言", text=c.text, by=c.author,
                                           by_name=record.people.get(c.author, c.author), org=c.author_org,
                                           org_name=record.names.get(c.author_org), at=c.created_at))
            if not e.answers:
                e.answers.append(Entry(title=f"{unit or ''}尚未答复", pending=True))
        out.append(e)
    return out


def _orders(user, record, task):
    if task.kind == "order":
        orders = [o for o in record.orders if o.id != task.id]
    elif task.role == "department":
        orders = [o for o in record.orders if o.subject_task_id is None      # about the whole case (问题工单)
                  or (o.subject_task_id in record.tasks and record.tasks[o.subject_task_id].org_code == task.org_code)]
    else:
        return None
    if not orders:
        return None
    return Section("orders", "督办意见", order_entries(user, record, orders))


def _call(record):
    """What the case was started with, as its start form titles it, with who raised it."""
    definition, case = record.definition, record.case
    start = definition.form(definition.start.form) or {}
    fields = [("发起单位", record.names.get(case.initiator_org, case.initiator_org or "—")),
              ("发起人", record.people.get(case.initiator, case.initiator))]
    if not _proposal_process(record):       # a proposal's own fields are in its section
        fields = result_rows(start, record.data) + fields
        if case.list_item and not any(t == "对应清单事项" for t, _v in fields):
            fields.append(("对应清单事项", list_item_label(case.list_item)))
    return Section("call", start.get("title") or definition.start.name or definition.name,
                   [Entry(title=case.title, fields=fields, at=case.created_at)])


def _proposal_process(record):
    return any(p.get("listAction") for p in record.definition.end_props.values())


# --- the one entry point ------------------------------------------------------------------------------
def task_context(user, task):
    """The Context of a task `user` may see: its sections from the case's record up to the task's
    completion (for a completed task, what its decision rested on then)."""
    policy.require(user, "task.read", task=task)
    case = db.session.get(Case, task.case_id)
    if case is None or not policy.allows(user, "case.read", case=case):
        return Context([], None, [])
    record = _Record(case, upto=task.completed_at, exclude=task.id)
    keys = _form_keys(record, task) if task.kind == "engine" else set()
    builders = (lambda: _rework(record, task, keys), lambda: _returns(record, task, keys),
                lambda: _asked_and_supplied(record, task, keys), lambda: _part(record, task),
                lambda: _instructions(record, task), lambda: _replies(record, task), lambda: _proposal(record),
                lambda: _opinions(record, task), lambda: _orders(user, record, task))
    sections = [s for s in (b() for b in builders) if s is not None]
    call = _call(record)
    return Context(sections, call, [f for f in record.files if f.id not in record.shown_files])


def case_orders(user, case_id):
    """The supervision orders of a case `user` may see, with their answers (the case page's 督办 card)."""
    case = db.session.get(Case, case_id)
    if case is None:
        return []
    policy.require(user, "case.read", case=case)
    record = _Record(case)
    return order_entries(user, record, record.orders)
