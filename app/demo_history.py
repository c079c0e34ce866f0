"""Demo history: months of past calls, so that the reports have something to show on `make run`.

Each call is written as the engine leaves a finished one: a closed or rejected case without engine
state, its completed task rows (deadlines, reminders, supervision orders), its participants, flags
and audit events, all at historical times. The audit events are recorded in the order they happened
and given their historical `at` before the commit, which is when the hash chain is sealed, so the
chain verifies. Departments and townships each have their own habits (late sign-for, late
handling, returns, how pleased their callers are, how well they cooperate), so the rankings rank.
"""
import copy
import json
import random
import uuid
from datetime import datetime, time, timedelta, timezone

from sqlalchemy import bindparam, select, update

from . import audit, deadlines, orgs, processes, search, supervision
from .cases import check_form
from .database import write_transaction
from .demo import DEMO_DIR
from .engine import resolve_options
from .extensions import db
from .models import Case, CaseParticipant, Flag, ListItem, Task, User, queue_of
from .models.types import utcnow
from .timefmt import local_zone

PROCESS_ID = "call_response"
DATA_OBJECTS = ("departments", "sign_results", "signed", "handle_results")   # the BPMN's dataObjects
OFFICE_OPEN, OFFICE_HOURS = time(8, 30), 9
URGENCIES = ("normal", "urgent", "emergency")
MAX_REWORKS = 2          # kept below the 问题工单 threshold (deadlines.DEFAULTS["max_reworks"])
STEP = timedelta(milliseconds=1)
CASE_REF = "#{case}"     # replaced by the case's id once it has one


def load_history(months=11, seed=2019, now=None):
    """Add CLOSED and REJECTED calls raised in the `months` full months before the current one
    (county time) to a database holding the demo org and the deployed processes; everything in
    them happened before today (or before the day of `now`). Returns a summary: {calls, closed,
    rejected, tasks, flags, by_month, by_department}."""
    county = _County(seed, now or utcnow())
    calls = []
    for index, (first, last) in enumerate(county.months(months)):
        volume = round(20 + 16 * index / max(1, months - 1) + county.rng.gauss(0, 2.5))
        for created in sorted(county.call_times(first, last, min(40, max(16, volume)))):
            calls.append(_Call(county, created).play())
    kept = [c for c in calls if c.end < county.cutoff]   # everything happened before today
    return _write(county, kept, months, seed)


# --- the county: units, their habits, users, the deployed process ------------------------------
class _County:
    def __init__(self, seed, now):
        self.rng = random.Random(seed)
        self.tz = local_zone()
        self.cal = deadlines.calendar()
        self.catalogue = json.loads((DEMO_DIR / "history.json").read_text(encoding="utf-8"))
        self.row = processes.latest_version(PROCESS_ID)
        if self.row is None:
            raise RuntimeError("call_response is not deployed: run `flask huying setup` first")
        self.definition = processes.definition(self.row)
        self.list_version = orgs.current_list_version()
        self.items = {i.code: i for i in db.session.execute(
            select(ListItem).where(ListItem.list_version_id == self.list_version.id)).scalars()}
        self.names = orgs.org_names()
        self.schemas = {f: resolve_options(s, orgs.form_options) for f, s in self.definition.forms.items()}
        self.schemas[supervision.ORDER_FORM] = processes.app_form(supervision.ORDER_FORM)
        now = now.astimezone(self.tz)
        self.cutoff = datetime.combine(now.date(), time(0), tzinfo=self.tz)
        self.this_month = now.date().replace(day=1)

        users = [u for u in db.session.execute(select(User).order_by(User.username)).scalars()
                 if u.roles != ["integration"]]       # programs (the SMS gateway) take no part in calls
        self.by_unit, self.by_role, self.person, self.ip = {}, {}, {}, {}
        for i, u in enumerate(users):
            for role in u.roles:
                self.by_role.setdefault(role, []).append(u.username)
                if u.org_code:
                    self.by_unit.setdefault((role, u.org_code), []).append(u.username)
            self.person[u.username] = u.name or u.username
            self.ip[u.username] = f"10.38.{20 + i // 200}.{11 + i % 200}"
        rng = self.rng
        self.phone = {u.username: f"0538-{rng.randint(6000000, 8999999)}" for u in users}
        self.townships = [o.code for o in orgs.org_units("township") if ("township", o.code) in self.by_unit]
        departments = [o.code for o in orgs.org_units("department") if ("department", o.code) in self.by_unit]
        # habits: chances of a late sign-for, a late reply, a return; how much the callers dislike the
        # work (poor), how quickly they work (speed)
        self.dept = {d: {"late_sign": rng.uniform(0.02, 0.22), "late_handle": rng.uniform(0.02, 0.25),
                         "returns": rng.uniform(0.01, 0.14), "poor": rng.uniform(0.0, 0.14),
                         "speed": rng.uniform(0.7, 1.4)} for d in departments}
        # how many calls, how many of them improper, how well they cooperate, how hard to please
        self.town = {t: {"weight": rng.uniform(0.6, 1.4) * (1.6 if i < 2 else 1.0),
                         "improper": rng.uniform(0.0, 0.08), "cooperation": rng.uniform(3.3, 4.8),
                         "strict": rng.uniform(0.0, 0.07)} for i, t in enumerate(self.townships)}
        self.villages = self.catalogue["villages"]

    def months(self, n):
        """[(first day, first day of the next month)] of the n full months before this one, oldest first."""
        out, first = [], self.this_month
        for _ in range(n):
            prev = (first - timedelta(days=1)).replace(day=1)
            out.append((prev, first))
            first = prev
        return out[::-1]

    def working(self, d):
        return deadlines.is_working_day(d, self.cal)

    def call_times(self, first, last, n):
        days = [d for d in (first + timedelta(days=k) for k in range((last - first).days)) if self.working(d)]
        return [datetime.combine(self.rng.choice(days), OFFICE_OPEN, tzinfo=self.tz)
                + timedelta(minutes=self.rng.uniform(0, 60 * (OFFICE_HOURS - 1))) for _ in range(n)]

    def user(self, role, org=None):
        return self.rng.choice(self.by_unit[(role, org)] if org else self.by_role[role])

    def uuid(self):
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))


# --- one call, played from the township's call to its end ----------------------------------
class _Call:
    def __init__(self, county, created):
        self.c, self.rng, self.created = county, county.rng, created
        self.tasks, self.events, self.participants, self.flags, self.orders = [], [], [], [], []
        self.row_version = 1     # as the mapper counts: 1 at the insert, +1 per engine step
        self.reworks, self.reviewed_back, self.late_handling = 0, False, False

    # --- the story ---
    def play(self):
        c, rng = self.c, self.rng
        self.township = rng.choices(c.townships, [c.town[t]["weight"] for t in c.townships])[0]
        habits = c.town[self.township]
        draw = rng.random()
        kind = "own_duty" if draw < habits["improper"] else "out_of_scope" if draw < habits["improper"] + 0.025 \
            else "normal"
        self.matter = self.choose_matter(c.catalogue["own_duty"] if kind == "own_duty" else
                                         c.catalogue["out_of_scope"] if kind == "out_of_scope" else
                                         c.catalogue["matters"])
        t = self.start()
        t = self.accept(t, more_info=kind == "normal" and rng.random() < 0.06, kind=kind)
        if kind != "normal":
            return self
        self.item = c.items[self.matter["item"]]
        t, actor = self.dispatch(t)
        t, actor = self.sign_for(t, actor)
        t, actor = self.handle(t, actor)
        while True:
            t, actor = self.review(t, actor)
            t, satisfied, actor = self.evaluate(t, actor)
            if satisfied:
                break
            self.reworks += 1
            self.ctx["rework_count"] = self.reworks
            t, actor = self.handle(t, actor, rework=True)
        t = self.rate_township(t, actor)
        return self

    def choose_matter(self, matters):
        month = self.created.month
        rural = self.c.names.get(self.township, "").endswith("镇")
        weights = [(3 if month in m.get("months", ()) else 1 if not m.get("months") else 0.4)
                   * ({"any": 1, "rural": 2 if rural else 0.35, "urban": 0.35 if rural else 2}[m.get("area", "any")])
                   for m in matters]
        return self.rng.choices(matters, weights)[0]

    def text(self, template, place=None):
        return template.format(place=place or self.place, n=self.rng.randint(2, 9))

    def start(self):
        c, rng, m = self.c, self.rng, self.matter
        place = rng.choice(m["places"])
        if place.startswith("村"):
            place = rng.choice(c.villages) + place[1:]
        self.place = place
        self.caller = c.user("township", self.township)
        data = {"title": self.text(rng.choice(m["titles"])), "description": self.text(m["description"],
                                                                                       c.names[self.township] + place),
                "location": c.names[self.township] + place,
                "urgency": rng.choices(URGENCIES, m.get("urgency", (1, 0, 0)))[0],
                "contact": f"{c.person[self.caller]} {c.phone[self.caller]}"}
        if m.get("item"):
            data["list_item"] = m["item"]
        start = c.definition.start
        clean = check_form(c.schemas[start.form], data)
        self.ctx = {"data_objects": {k: None for k in DATA_OBJECTS}}
        self.ctx.update({k: None for k in c.schemas[start.form]["properties"]})
        self.ctx.update(clean, initiator=self.caller, initiator_org=self.township)
        self.case = Case(process_id=c.row.process_id, process_version_id=c.row.id, process_version=c.row.version,
                         title=clean["title"][:200], urgency=clean.get("urgency"), list_item=clean.get("list_item"),
                         list_version=c.list_version.version, initiator=self.caller, initiator_org=self.township,
                         state=None, next_timer_at=None, due_at=None, created_at=self.created)
        self.urgency, self.item_code = clean.get("urgency"), clean.get("list_item")
        self.participate(self.township, None)
        self.event(self.created, "case_started", self.caller, after=clean, org_code=self.township,
                   detail=f"{c.row.name} 第 {c.row.version} 版")
        self.row_version += 1
        self.ready("accept", self.created, self.caller)
        return self.created

    def accept(self, t, more_info, kind):
        c, rng = self.c, self.rng
        t = self.later(t, 5, 90)
        if more_info:
            ask = rng.choice(c.catalogue["supplement_requests"])
            self.complete(self.task("accept"), c.user("center"), t, {"accepted": False, "more_info_requested": True,
                                                                    "reason": ask})
            self.ready("supplement", t, self.actor, org=self.township)
            t = self.later(t, 60, 1200)
            self.complete(self.task("supplement"), self.caller, t,
                          {"supplement": self.text(rng.choice(c.catalogue["supplements"]))})
            self.ready("accept", t, self.caller)
            t = self.later(t, 5, 60)
        if kind == "normal":
            self.complete(self.task("accept"), c.user("center"), t, {"accepted": True})
            return t
        own = kind == "own_duty"
        reason = (f"经核对属地管理事项责任清单（{self.matter['item']}），所呼事项属乡镇主体责任，不予受理。"
                  if own else self.matter["reason"])
        self.complete(self.task("accept"), c.user("center"), t, {"accepted": False, "own_duty": own, "reason": reason})
        if own:
            item = f"（清单事项 {self.case.list_item}）" if self.case.list_item else ""
            self.flag(t + 2 * STEP, self.township, "improper_call", self.actor,
                      f"呼叫 {CASE_REF}“{self.case.title}”经响应中心核对属乡镇主体责任{item}，不予受理。")
        self.finish(t, "rejected")
        return t

    def dispatch(self, t):
        c, rng = self.c, self.rng
        self.ready("dispatch", t, self.actor)
        t = self.later(t, 5, 60)
        lead = self.item.primary_org
        pool = [d for d in (self.item.supporting or []) if d in c.dept and d != lead]
        co = rng.sample(pool, k=min(len(pool), rng.choices((0, 1, 2), (3, 5, 1))[0]))
        helpers = f"，{'、'.join(c.names[d] for d in co)}协办" if co else ""
        opinion = f"按清单事项 {self.item.code} 由{c.names[lead]}主办{helpers}，请按时限签收办理。"
        self.complete(self.task("dispatch"), c.user("center"), t,
                      {"lead_department": lead, "co_departments": co, "opinion": opinion})
        self.ctx.update(departments=_unique([lead] + co), signed=[], sign_results=[], handle_results=[], rework_count=0)
        return t, self.actor

    def sign_for(self, t, actor):
        departments = self.ctx["departments"]
        t, actor, returned = self.sign_round(departments, t, actor, may_return=True)
        if not returned:
            return t, actor
        c, rng = self.c, self.rng
        self.ready("redispatch", t, actor)
        t = self.later(t, 10, 120)
        lead, co = self.ctx["lead_department"], list(self.ctx["co_departments"])
        involved = set(departments)
        notes = []
        for d in returned:
            if d == lead:
                notes.append(f"经核对清单事项 {self.item.code}，{c.names[d]}为主办单位，维持原派单")
                continue
            pool = [x for x in (self.item.supporting or []) if x in c.dept and x not in involved] \
                or [x for x in sorted(c.dept) if x not in involved]
            new = rng.choice(pool)
            involved.add(new)
            co = [new if x == d else x for x in co]
            notes.append(f"改由{c.names[new]}协办")
        self.complete(self.task("redispatch"), c.user("center"), t,
                      {"lead_department": lead, "co_departments": co, "opinion": "；".join(notes) + "。"})
        self.ctx["departments"] = [d for d in _unique([lead] + co) if d not in self.ctx["signed"]]
        t, actor, _ = self.sign_round(self.ctx["departments"], t, self.actor, may_return=False)
        return t, actor

    def sign_round(self, departments, t, actor, may_return):
        c, rng = self.c, self.rng
        tasks = [self.ready("sign", t, actor, org=d, limit="sign") for d in departments]
        done, returned = {}, []
        for task in tasks:
            habits = c.dept[task.org_code]
            done[task.id] = self.sign_time(task, late=rng.random() < habits["late_sign"])
            if may_return and rng.random() < habits["returns"]:
                returned.append(task.org_code)
        self.fire_timers(tasks, done)
        for task in sorted(tasks, key=lambda x: done[x.id]):
            d = task.org_code
            data = {}
            if d in returned:
                primary = c.names.get(self.item.primary_org, self.item.primary_org)
                data = {"returned": True, "reason": (
                    f"经核对清单事项 {self.item.code}，主办单位为{primary}，本部门非主责单位，请核实后改派。"
                    if d != self.item.primary_org else
                    f"该事项主要涉及其他部门职责，本部门仅能配合，建议改派（清单事项 {self.item.code}）。")}
            self.complete(task, c.user("department", d), done[task.id], data)
        last = max(tasks, key=lambda x: done[x.id])
        returned = [d for d in departments if d in returned]
        self.ctx.update(returned_departments=returned, sign_results=[],
                        signed=_unique(self.ctx["signed"] + [d for d in departments if d not in returned]))
        return done[last.id], last.completed_by, returned

    def handle(self, t, actor, rework=False):
        c, rng = self.c, self.rng
        tasks = [self.ready("handle", t, actor, org=d, limit="handle") for d in self.ctx["signed"]]
        done = {task.id: self.handle_time(task, late=rng.random() < c.dept[task.org_code]["late_handle"])
                for task in tasks}
        self.fire_timers(tasks, done)
        results = {}
        for task in sorted(tasks, key=lambda x: done[x.id]):
            d = task.org_code
            if rework:
                text = rng.choice(c.catalogue["rework_results"])
            elif d == self.ctx["lead_department"]:
                text = self.text(rng.choice(self.matter["results"]))
            else:
                text = c.catalogue["co_results"].get(d, "已配合主办部门完成处置。")
            who = c.user("department", d)
            data = {"result": text}
            if rng.random() < 0.8:
                data["contact_person"] = f"{c.person[who]} {c.phone[who]}"
            results[d] = self.complete(task, who, done[task.id], data)["result"]
        self.late_handling = any(done[x.id] > x.due_at for x in tasks)
        self.ctx.update(replies=[{"department": d, "result": results[d]} for d in self.ctx["signed"]],
                        handle_results=[])
        last = max(tasks, key=lambda x: done[x.id])
        return done[last.id], last.completed_by

    def review(self, t, actor):
        c, rng = self.c, self.rng
        while True:
            self.ready("review", t, actor)
            t = self.later(t, 20, 480)
            back = not self.reworks and not self.reviewed_back and rng.random() < 0.05
            if not back:
                self.complete(self.task("review"), c.user("center"), t,
                              {"approved": True, "opinion": rng.choice(c.catalogue["review_opinions"])})
                return t, self.actor
            self.reviewed_back = True
            self.complete(self.task("review"), c.user("center"), t,
                          {"approved": False, "opinion": rng.choice(c.catalogue["review_back"])})
            t, actor = self.handle(t, self.actor, rework=True)

    def evaluate(self, t, actor):
        c, rng = self.c, self.rng
        self.ready("evaluate", t, actor, org=self.township)
        t = self.later(t, 60, 2000)
        lead = c.dept[self.ctx["lead_department"]]
        unhappy = 0.05 + lead["poor"] + c.town[self.township]["strict"] + (0.12 if self.late_handling else 0)
        satisfied = self.reworks >= MAX_REWORKS or rng.random() >= unhappy * (0.35 if self.reworks else 1)
        if satisfied:
            quality = 1 - lead["poor"] / 0.14
            data = {"satisfied": True, "rating": rng.choices((5, 4, 3), (2 + 4 * quality, 3, 1.4 - quality))[0],
                    "comment": rng.choice(c.catalogue["satisfied_comments"])}
        else:
            data = {"satisfied": False, "rating": rng.choices((1, 2, 3), (1, 3, 2))[0],
                    "comment": rng.choice(c.catalogue["unsatisfied_comments"]),
                    "resolved": rng.random() < 0.35}   # some replies solve the matter but too slowly or roughly
        self.complete(self.task("evaluate"), self.caller, t, data)
        return t, satisfied, self.caller

    def rate_township(self, t, actor):
        c, rng = self.c, self.rng
        lead = self.ctx["lead_department"]
        self.ready("rate_township", t, actor, org=lead)
        t = self.later(t, 30, 1200)
        rating = min(5, max(1, round(rng.gauss(c.town[self.township]["cooperation"], 0.7))))
        grade = "good" if rating >= 4 else "fair" if rating == 3 else "poor"
        comment = rng.choice(c.catalogue["township_comments"][grade])
        self.complete(self.task("rate_township"), c.user("department", lead), t,
                      dict({"rating": rating}, **({"comment": comment} if comment else {})))
        self.finish(t, "closed")
        return t

    def finish(self, t, status):
        """The end event: the case closes (as in cases._advance). The supervisor issued each order
        within hours of its deadline, long before the call closed."""
        closer = self.actor
        for order, planned, subject in self.orders:
            self.issue_order(order, planned, subject)
        self.case.status = status
        self.case.updated_at = self.case.closed_at = t + STEP
        self.case.data = copy.deepcopy(self.ctx)
        self.event(t + 3 * STEP, "case_" + status, closer, before={"status": "open"}, after={"status": status})
        self.end = max(e["at"] for e in self.events)

    # --- deadlines and supervision ---
    def sign_time(self, task, late):
        if late:
            return self.office(task.due_at + timedelta(minutes=self.rng.uniform(10, 150)))
        span = task.due_at - task.created_at - timedelta(minutes=2)
        return task.created_at + timedelta(minutes=2) + span * self.rng.betavariate(1.3, 3.0)

    def handle_time(self, task, late):
        rng = self.rng
        if late:
            day = deadlines.add_working_days(task.due_at, rng.choice((0, 1, 1, 2, 3)), self.c.cal).date()
            t = self.at_office(day)
            return t if t > task.due_at + timedelta(minutes=30) else \
                self.office(task.due_at + timedelta(minutes=rng.uniform(30, 240)))
        span = task.due_at - task.created_at
        share = min(0.98, rng.betavariate(1.5, 3.2) / self.c.dept[task.org_code]["speed"])
        t = self.office(task.created_at + span * share)
        if t >= task.due_at:
            t = task.due_at - timedelta(minutes=rng.uniform(5, 90))
        return max(t, task.created_at + timedelta(minutes=30))

    def fire_timers(self, tasks, done):
        """The sweeps of the scheduler while `tasks` waited: a reminder at each task's warning time,
        a supervision order at its deadline — for the tasks still open when the sweep came."""
        for moment in sorted({m for x in tasks for m in (x.warn_at, x.due_at) if m is not None}):
            sweep = moment + timedelta(seconds=self.rng.uniform(0.5, 9.5))
            fired = [(kind, x) for x in tasks for kind, at in (("remind", x.warn_at), ("order", x.due_at))
                     if at == moment and done[x.id] > sweep]
            if not fired:
                continue
            self.row_version += 1
            self.event(sweep, "timer_fired", "system",
                       before={"next_timer_at": moment.astimezone(timezone.utc).isoformat()})
            for kind, subject in fired:
                self.escalate(kind, subject, sweep)

    def escalate(self, kind, subject, at):
        """What supervision.escalate records for a fired timer."""
        c = self.c
        element_id = c.definition.boundary_escalations[(subject.element_id, kind)]
        unit = c.names.get(subject.org_code, subject.org_code)
        about = f"{subject.name}（{unit}）"
        name = c.definition.names.get(element_id, element_id)
        if kind == "remind":
            subject.reminded_at = at + STEP
            self.event(at + STEP, "reminder", "system", task=subject, org_code=subject.org_code,
                       detail=f"{name}：{about} 即将到期，已催办")
            return
        self.event(at + STEP, "overdue", "system", task=subject, org_code=subject.org_code,
                   detail=f"{name}：{about}", after={"listed": False, "problem": False})
        order = Task(id=c.uuid(), process_id=PROCESS_ID, case_title=self.case.title, element_id=element_id,
                     name=f"{supervision.ORDER_TITLES['order']}：{about}", role="supervisor", org_code=None,
                     queue=queue_of("supervisor", None), form=supervision.ORDER_FORM, kind="order",
                     subject_task_id=subject.id, status="ready", created_at=at + 2 * STEP,
                     instructions=supervision._order_instructions("order", subject, unit))
        self.tasks.append(order)
        self.event(at + 3 * STEP, "task_ready", "system", task=order, after={"role": "supervisor", "kind": "order"})
        self.orders.append((order, self.later(at, 20, 240), subject))

    def issue_order(self, order, at, subject):
        c, rng = self.c, self.rng
        step = subject.element_id if subject.element_id in c.catalogue["order_opinions"] else "handle"
        data = {"opinion": rng.choice(c.catalogue["order_opinions"][step]), "notify_leader": rng.random() < 0.3}
        supervisor = c.user("supervisor")
        self.complete(order, supervisor, at, data)
        if rng.random() < 0.25:
            unit = c.names.get(subject.org_code, subject.org_code)
            due = subject.due_at.astimezone(c.tz).strftime("%Y-%m-%d %H:%M")
            call = f"呼叫 {CASE_REF}“{self.case.title}”"
            if subject.element_id == "sign":
                kind, evidence = "no_response", f"{call}派单后，{unit}超过签收时限（{due}）仍未签收，经督办后签收。"
            else:
                kind, evidence = "inaction", f"{call}，{unit}超过办理时限（{due}）仍未办结，已签发督办单。"
            self.flag(self.later(at, 5, 60), subject.org_code, kind, supervisor, evidence)

    def flag(self, at, org, kind, actor, evidence):
        self.flags.append(Flag(org_code=org, kind=kind, evidence=evidence, created_by=actor, created_at=at))
        self.event(at, "flag_raised", actor, org_code=org,
                   after={"kind": kind, "label": supervision.FLAG_KINDS[kind][1], "evidence": evidence})

    # --- tasks, participants, events as cases._advance / cases._finish write them ---
    def ready(self, element_id, at, actor, org=None, limit=None):
        c = self.c
        td = c.definition.tasks[element_id]
        created = at + STEP
        task = Task(id=c.uuid(), process_id=PROCESS_ID, case_title=self.case.title, element_id=element_id,
                    name=td.name, role=td.role, org_code=org, queue=queue_of(td.role, org), form=td.form,
                    instructions=td.instructions, status="ready", kind="engine", created_at=created)
        if limit:
            task.due_at = deadlines.deadline(limit, self.urgency, self.item_code, created)
            task.warn_at = deadlines.warning(limit, self.urgency, self.item_code, created)
        self.tasks.append(task)
        self.participate(org, None if org else td.role)
        self.event(created + STEP, "task_ready", actor, task=task, org_code=org, after={"role": td.role, "org": org})
        return task

    def task(self, element_id):
        return next(x for x in reversed(self.tasks) if x.element_id == element_id and x.status == "ready")

    def complete(self, task, user, at, data):
        clean = check_form(self.c.schemas[task.form], data)
        before = {} if task.kind == "order" else {k: self.ctx.get(k) for k in clean}
        task.status, task.completed_at, task.completed_by, task.assignee, task.result = \
            "completed", at, user, user, clean
        self.event(at, "task_completed", user, task=task, before=before, after=clean, org_code=task.org_code)
        if task.kind == "engine":
            self.row_version += 1
            if task.element_id not in ("sign", "handle"):    # those run in the multi-instance's own scope
                self.ctx.update(clean)
        self.actor = user
        return clean

    def participate(self, org, role):
        if (org, role) not in self.participants:
            self.participants.append((org, role))

    def event(self, at, action, actor, **fields):
        self.events.append(dict(fields, at=at, action=action, actor=actor))

    # --- office hours ---
    def office(self, t):
        """`t`, or the start of the next office hours when `t` falls outside them."""
        local = t.astimezone(self.c.tz)
        d, start = local.date(), datetime.combine(local.date(), OFFICE_OPEN, tzinfo=self.c.tz)
        if self.c.working(d) and start <= local < start + timedelta(hours=OFFICE_HOURS):
            return t
        if not (self.c.working(d) and local < start):
            d += timedelta(days=1)
            while not self.c.working(d):
                d += timedelta(days=1)
        return datetime.combine(d, OFFICE_OPEN, tzinfo=self.c.tz) + timedelta(minutes=self.rng.uniform(0, 50))

    def at_office(self, d):
        opening = datetime.combine(d, OFFICE_OPEN, tzinfo=self.c.tz)
        return opening + timedelta(minutes=self.rng.uniform(0, 60 * OFFICE_HOURS))

    def later(self, t, low, high):
        return self.office(t + timedelta(minutes=self.rng.uniform(low, high)))


def _unique(values):
    return list(dict.fromkeys(values))


# --- writing it all in one transaction ------------------------------------------------------
def _write(county, calls, months, seed):
    calls.sort(key=lambda x: x.created)
    with write_transaction():
        for call in calls:
            db.session.add(call.case)
        db.session.flush()
        for call in calls:
            case_id, ref = call.case.id, f"#{call.case.id}"
            for task in call.tasks:
                task.case_id = case_id
            db.session.add_all(call.tasks)
            db.session.add_all(CaseParticipant(case_id=case_id, org_code=o, role=r) for o, r in call.participants)
            for f in call.flags:
                f.case_id, f.evidence = case_id, f.evidence.replace(CASE_REF, ref)
            db.session.add_all(call.flags)
            for e in call.events:
                e["case_id"] = case_id
                if e.get("after") and "evidence" in e["after"]:
                    e["after"] = dict(e["after"], evidence=e["after"]["evidence"].replace(CASE_REF, ref))
        search.reindex_many(c.case.id for c in calls)
        db.session.execute(update(Case.__table__).where(Case.__table__.c.id == bindparam("b_id"))
                           .values(row_version=bindparam("b_version")),
                           [{"b_id": c.case.id, "b_version": c.row_version} for c in calls])
        events = sorted(((e, i) for i, e in enumerate(e for c in calls for e in c.events)),
                        key=lambda pair: (pair[0]["at"], pair[1]))
        for e, _ in events:
            row = audit.record(e["action"], e["actor"], e["case_id"], task=e.get("task"), before=e.get("before"),
                               after=e.get("after"), detail=e.get("detail"), org_code=e.get("org_code"))
            row.at, row.ip = e["at"], county.ip.get(e["actor"])
        summary = _summary(calls, county)
        audit.record("demo_history_loaded", "system", after=dict(summary, seed=seed),
                     detail=f"过去 {months} 个月的呼叫 {summary['calls']} 件（办结 {summary['closed']} 件，"
                            f"不予受理 {summary['rejected']} 件），随机种子 {seed}")
    return summary


def _summary(calls, county):
    by_month, by_department = {}, {}
    for call in calls:
        month = call.created.astimezone(county.tz).strftime("%Y-%m")
        by_month[month] = by_month.get(month, 0) + 1
        for d in sorted({x.org_code for x in call.tasks if x.element_id == "sign"}):
            by_department[d] = by_department.get(d, 0) + 1
    closed = sum(1 for c in calls if c.case.status == "closed")
    return {"calls": len(calls), "closed": closed, "rejected": len(calls) - closed,
            "tasks": sum(len(c.tasks) for c in calls), "flags": sum(len(c.flags) for c in calls),
            "by_month": by_month, "by_department": dict(sorted(by_department.items()))}
