"""The performance metrics of 乡呼县应 — the "three rates" and the rest — in one place.

Where the formulas come from: `domain-research.md` §4.2 gives the conventional definitions behind
the indicator names (no primary source fixed them; the client is to confirm). This module applies
them to two kinds of record, built from the task projection by `load()`:

* an **order** (工单): one call dispatched to one department — the department's sign-off
  (签收, or a return 退回), its handlings (办理反馈; a rework adds one), the township's first
  evaluation of the reply, and the reminders and supervision orders it drew — the engine's
  reminder before a deadline (Task.reminded_at) and the calling township's own urges (催办 on the
  case page, app/conversation.py);
* a **call** (呼叫): one township's call — accepted or rejected, the departments' ratings of the
  township (一呼一评).

**Which period a record belongs to**: the month or year in which the call was raised (按呼叫
发起时间归期). A report for a period therefore covers the calls raised in it, with what has
happened to them up to `now`; an order still running counts only where its outcome is known
(e.g. it is "due for sign-off" once signed or once its sign-off deadline has passed).

Every rate is a fraction in [0, 1], or None when its denominator is zero (nothing to measure).
The functions here are pure: they take records and `now` and read nothing else, so each formula
is unit-tested on hand-made records (tests/test_metrics.py).
"""
import re
from dataclasses import dataclass, field
from datetime import datetime
from statistics import mean

from sqlalchemy import and_, select

DEFAULT_WEIGHTS = {
    # the platform's composite score (Zhungeer's weights, domain-research §4.1): response 30 %, resolution 35 %,
    # satisfaction 35 %, in points out of 100, minus deductions
    "response": 0.30, "resolution": 0.35, "satisfaction": 0.35,
    # the townships' evaluation counts one third of a department's score (Changyi rule, §4.2); configurable
    "township_weight": 1 / 3,
    # the townships' rating of the department's stationed agencies (乡镇对派驻机构一事一评) counts 20 %:
    # below the townships' one third on the calls (the county's own work) and taken out of the platform
    # score's share, so a department's score still weighs its own handling most; configurable
    "stationed_weight": 0.2,
    "flag_deduction": 2.0,      # points off per supervisor's flag on the unit (呼叫不响应 / 响应不作为, 乱呼叫 / 应呼未呼)
    "order_deduction": 1.0,     # points off per supervision order (督办单) the department drew
    "invalid_call_deduction": 2.0,   # points off a township per call rejected as improper (不予受理)
    "list_size": 5,             # red list: the best n; black list: the worst n (never overlapping)
    "min_volume": 3,            # a unit with fewer orders (departments) or calls (townships) is not ranked
}


# --- the records ------------------------------------------------------------------------------
@dataclass
class Step:
    """One timed step: when it became due (`due`, may be None), when it was done (None while open)."""
    created: datetime
    due: datetime | None = None
    done: datetime | None = None
    warn: datetime | None = None

    def late(self, now):
        """Done after its deadline, or still open past it."""
        if self.due is None:
            return False
        return (self.done or now) > self.due

    def due_by(self, now):
        """Whether its outcome is known: done, or its deadline has passed."""
        return self.done is not None or (self.due is not None and self.due < now)


@dataclass
class Evaluation:
    satisfied: bool
    rating: int | None = None
    resolved: bool | None = None   # asked separately where the form asks it; otherwise taken as `satisfied`

    @property
    def is_resolved(self):
        return self.satisfied if self.resolved is None else self.resolved


@dataclass
class Order:
    """One call dispatched to one department (工单)."""
    case_id: int
    department: str
    township: str | None
    month: str                       # YYYY-MM of the call (county time): the trend's bucket
    sign: Step                       # the first sign-off (its decision and its deadline)
    returned: bool = False           # the department returned the dispatch as not its duty (退回)
    handlings: list = field(default_factory=list)   # [Step], the first handling and one per rework
    evaluation: Evaluation | None = None            # the township's first evaluation of the reply
    closed: bool = False             # the call has been closed
    reminders: int = 0               # 催办 received from the deadline timers (the engine's reminder)
    urges: int = 0                   # 催办 received from the calling township (被催办次数)
    supervision_orders: int = 0      # 督办单 drawn

    @property
    def signed(self):
        return self.sign.done is not None and not self.returned

    @property
    def reworks(self):
        return max(0, len(self.handlings) - 1)


@dataclass
class Call:
    """One township's call."""
    case_id: int
    township: str
    month: str
    status: str                      # open, closed, rejected, errored, withdrawn
    decided: bool = False            # the centre has decided on acceptance
    rating_received: int | None = None   # the lead department's rating of the township (一呼一评)
    evaluation: Evaluation | None = None


# --- the formulas ----------------------------------------------------------------------------
def ratio(numerator, denominator):
    return numerator / denominator if denominator else None


def timely_sign_rate(orders, now):
    """及时签收率 = orders whose sign-off (a signature or a return) was given by its deadline
    ÷ orders due for sign-off (signed off, or past the deadline unsigned)."""
    due = [o for o in orders if o.sign.due_by(now)]
    return ratio(sum(1 for o in due if o.sign.done is not None and not o.sign.late(now)), len(due))


def response_rate(orders, now):
    """响应率 = orders the department took up (signed, not returned) by the sign-off deadline
    ÷ orders due for sign-off that were not returned.

    A return is measured by 回退率, not here; §4.2's "first contact with the caller" has no step of
    its own in this process (the handling report records it), so the sign-off stands for it."""
    due = [o for o in orders if not o.returned and o.sign.due_by(now)]
    return ratio(sum(1 for o in due if o.signed and not o.sign.late(now)), len(due))


def return_rate(orders):
    """回退率 = orders returned by the department as not its duty ÷ orders dispatched to it."""
    return ratio(sum(1 for o in orders if o.returned), len(orders))


def _handling_due(o, now):
    return any(h.due_by(now) for h in o.handlings)


def _handled_on_time(o, now):
    return not any(h.late(now) for h in o.handlings)


def on_time_completion_rate(orders, now):
    """按时办结率 = orders whose every handling (the first and each rework) was reported by its
    deadline, extensions included ÷ orders due (a handling reported, or one past its deadline)."""
    due = [o for o in orders if o.handlings and _handling_due(o, now)]
    return ratio(sum(1 for o in due if _handled_on_time(o, now)), len(due))


def resolution_rate(orders):
    """解决率 = orders whose reply the township evaluated as resolved ÷ orders evaluated (the first
    evaluation counts, see 满意率; "resolved" is the evaluation's own answer 问题是否已解决 where
    given, else its "satisfied"). Over calls (a township's row) the same, per call."""
    evaluated = [o for o in orders if o.evaluation is not None]
    return ratio(sum(1 for o in evaluated if o.evaluation.is_resolved), len(evaluated))


def satisfaction_rate(orders):
    """满意率 = orders whose reply the township evaluated as satisfied ÷ orders evaluated.

    The first evaluation counts: a call closes only after a satisfied one (dissatisfaction sends it
    back for rework), so the last evaluation is always "satisfied"; a rework answers a
    dissatisfaction, it does not erase it."""
    evaluated = [o for o in orders if o.evaluation is not None]
    return ratio(sum(1 for o in evaluated if o.evaluation.satisfied), len(evaluated))


def rework_rate(orders):
    """重办率 = closed orders sent back for rework at least once ÷ closed orders (a returned
    dispatch is not the department's order to rework and is left out)."""
    closed = [o for o in orders if o.closed and not o.returned]
    return ratio(sum(1 for o in closed if o.reworks), len(closed))


def reminder_rate(orders):
    """催办率 = orders that received at least one 催办 ÷ orders dispatched. Either kind counts: the
    reminder the deadline timer sends before a step falls due, or an urge of the calling township
    (an order urged twice, or reminded and urged, counts once; 被催办次数 counts every urge)."""
    return ratio(sum(1 for o in orders if o.reminders or o.urges), len(orders))


def urge_count(orders):
    """被催办次数 = the calling townships' urges the orders received (once per unit and working day at most)."""
    return sum(o.urges for o in orders)


def supervision_rate(orders):
    """督办率 = orders that drew at least one 督办单 ÷ orders dispatched."""
    return ratio(sum(1 for o in orders if o.supervision_orders), len(orders))


def overdue_count(orders, now):
    """超期件数 (red card) = orders with a step (sign-off or handling) still open past its deadline,
    plus orders with a step done after its deadline."""
    return sum(1 for o in orders if _steps_of(o) and any(s.late(now) for s in _steps_of(o)))


def warning_count(orders, now):
    """Yellow cards = orders with an open step inside its warning window (warned, not yet due)."""
    return sum(1 for o in orders if any(s.done is None and s.warn is not None and s.warn <= now
                                        and (s.due is None or now <= s.due) for s in _steps_of(o)))


def _steps_of(o):
    return [o.sign, *o.handlings]


def average_sign_hours(orders):
    """Average time to sign-off, in hours: from dispatch to the sign-off decision, over orders signed off."""
    spans = [(o.sign.done - o.sign.created).total_seconds() / 3600 for o in orders if o.sign.done is not None]
    return mean(spans) if spans else None


def average_completion_hours(orders):
    """Average time to completion, in hours: from dispatch to the last handling report, over
    orders whose handlings are all reported."""
    spans = [(o.handlings[-1].done - o.sign.created).total_seconds() / 3600 for o in orders
             if o.handlings and all(h.done is not None for h in o.handlings)]
    return mean(spans) if spans else None


def township_rating(orders):
    """乡镇评价均分 = the average of the townships' ratings (1–5) in their evaluations of the orders."""
    return average_rating(o.evaluation.rating for o in orders if o.evaluation is not None)


def average_rating(ratings):
    values = [r for r in ratings if r is not None]
    return mean(values) if values else None


def platform_score(response, resolution, satisfaction, deductions=0.0, weights=None):
    """The composite score out of 100 = 100 × (w_response × 响应率 + w_resolution × 解决率 +
    w_satisfaction × 满意率) − deductions, floored at 0. A rate with nothing to measure (None)
    leaves the score to the others, their weights scaled up; None when none can be measured."""
    w = weights or DEFAULT_WEIGHTS
    parts = [(w["response"], response), (w["resolution"], resolution), (w["satisfaction"], satisfaction)]
    known = [(wt, r) for wt, r in parts if r is not None]
    total = sum(wt for wt, _ in known)
    if not known or not total:
        return None
    return max(0.0, 100 * sum(wt * r for wt, r in known) / total - deductions)


def rating_score(avg_rating):
    """A 1–5 rating average as points out of 100 (× 20)."""
    return None if avg_rating is None else avg_rating * 20


def department_score(platform, township_rating_avg, weights=None, stationed_rating_avg=None):
    """部门得分 = w_t × the townships' evaluation (rating average × 20) + w_s × the townships' rating
    of its stationed agencies (average × 20) + (1 − w_t − w_s) × the platform score, w_t =
    `township_weight` (one third by default), w_s = `stationed_weight`. A part without ratings drops
    out and its weight goes back to the platform score (no stationed ratings: the score is what it was
    without them). Without a platform score, the rating parts by their weights."""
    w = dict(DEFAULT_WEIGHTS, **(weights or {}))
    parts = [(w["township_weight"], rating_score(township_rating_avg)),
             (w.get("stationed_weight", 0.0), rating_score(stationed_rating_avg))]
    known = [(wt, v) for wt, v in parts if v is not None]
    if platform is None:
        total = sum(wt for wt, _ in known)
        if not known:
            return None
        return sum(wt * v for wt, v in known) / total if total else mean(v for _, v in known)
    rest = max(0.0, 1 - sum(wt for wt, _ in known))
    return sum(wt * v for wt, v in known) + rest * platform


def invalid_call_rate(calls):
    """无效呼叫率 = calls rejected as improper (不予受理) ÷ calls whose acceptance was decided (a call
    withdrawn by its township before the centre accepted it was never decided: not counted)."""
    decided = [c for c in calls if c.decided]
    return ratio(sum(1 for c in decided if c.status == "rejected"), len(decided))


def township_score(rating_avg, flags, rejected, weights=None):
    """乡镇得分 = the departments' rating of the township (average × 20) − flag deduction × flags
    (乱呼叫 / 应呼未呼) − invalid-call deduction × calls rejected as improper; None without ratings."""
    w = weights or DEFAULT_WEIGHTS
    if rating_avg is None:
        return None
    return max(0.0, rating_avg * 20 - w["flag_deduction"] * flags - w["invalid_call_deduction"] * rejected)


def rank(rows, weights=None, volume="orders"):
    """Rank units by `score`, best first, equal scores sharing a rank (1, 2, 2, 4). Units without
    a score, or with fewer than `min_volume` records (`volume`: orders or calls), are not ranked.
    The red list (红榜) is the units ranked within the best `list_size`, the black list (黑榜)
    those within the worst `list_size`; with few units each list shrinks to a third of the ranked
    units (at least one), a tie at a list's edge joins the list, and no unit is on both."""
    w = weights or DEFAULT_WEIGHTS
    size, least = int(w["list_size"]), int(w["min_volume"])
    ranked = sorted((r for r in rows if r.get("score") is not None and (r.get(volume) or 0) >= least),
                    key=lambda r: (-r["score"], r["org"]))
    n = min(size, max(1, len(ranked) // 3)) if len(ranked) >= 2 else 0
    scores = [r["score"] for r in ranked]
    for r in ranked:
        r["rank"] = scores.index(r["score"]) + 1
        from_bottom = sum(1 for x in scores if x < r["score"]) + 1     # 1 = the worst, ties shared
        r["list"] = "red" if r["rank"] <= n else ("black" if from_bottom <= n else None)
    if ranked and ranked[0]["score"] == ranked[-1]["score"]:
        for r in ranked:          # all equal: nobody is better or worse than another
            r["list"] = None
    for r in rows:
        r.setdefault("rank", None)
        r.setdefault("list", None)
    return ranked + [r for r in rows if r.get("rank") is None]


def order_rates(orders, now):
    """The rates of a set of orders, as a report row shows them."""
    return {
        "orders": len(orders),
        "response_rate": response_rate(orders, now),
        "resolution_rate": resolution_rate(orders),
        "satisfaction_rate": satisfaction_rate(orders),
        "timely_sign_rate": timely_sign_rate(orders, now),
        "on_time_completion_rate": on_time_completion_rate(orders, now),
        "return_rate": return_rate(orders),
        "rework_rate": rework_rate(orders),
        "reminder_rate": reminder_rate(orders),
        "urges": urge_count(orders),
        "supervision_rate": supervision_rate(orders),
        "overdue": overdue_count(orders, now),
        "warnings": warning_count(orders, now),
        "avg_sign_hours": average_sign_hours(orders),
        "avg_completion_hours": average_completion_hours(orders),
        "township_rating": township_rating(orders),
    }


def department_row(org, orders, flags, now, weights=None, stationed=None):
    """A department's row; `stationed` the ratings [Rating] of its stationed agencies in the period."""
    w = weights or DEFAULT_WEIGHTS
    row = {"org": org, **order_rates(orders, now)}
    stationed = stationed or []
    row["stationed_rating"] = average_rating(r.rating for r in stationed)
    row["stationed_ratings"] = sum(1 for r in stationed if r.rating is not None)
    row["flags"] = flags
    row["supervision_orders"] = sum(o.supervision_orders for o in orders)
    deductions = w["flag_deduction"] * flags + w["order_deduction"] * row["supervision_orders"]
    row["platform_score"] = platform_score(row["response_rate"], row["resolution_rate"], row["satisfaction_rate"],
                                           deductions, w) if orders else None
    row["score"] = department_score(row["platform_score"], row["township_rating"], w,
                                    row["stationed_rating"]) if orders else None
    return row


# --- the stationed agencies (派驻机构), rated by their townships event by event (一事一评) ------------
@dataclass
class Rating:
    """A township's rating of a stationed agency's handling of one event (grid_event's rate_stationed)."""
    case_id: int
    agency: str
    township: str | None
    rating: int | None
    satisfied: bool | None


def load_stationed(start, end, agencies=None):
    """([Rating], {agency: events handled}) for the rate_stationed tasks completed in [start, end):
    the agency rated is the org of the case's latest completed 'handle' task (before the rating).
    `agencies` limits both to those codes. Read from the task projection only."""
    from sqlalchemy import or_

    from .extensions import db
    from .models import Task

    r = Task.result
    rated = db.session.execute(
        select(Task.id, Task.case_id, Task.org_code, Task.completed_at, r["rating"].as_integer().label("rating"),
               r["satisfied"].as_boolean().label("satisfied"))
        .where(Task.process_id == "grid_event", Task.element_id == "rate_stationed", Task.status == "completed",
               Task.completed_at >= start, Task.completed_at < end)).all()
    handled = db.session.execute(
        select(Task.id, Task.case_id, Task.org_code, Task.completed_at)
        .where(Task.process_id == "grid_event", Task.element_id == "handle", Task.status == "completed",
               or_(Task.case_id.in_({t.case_id for t in rated}),
                   and_(Task.completed_at >= start, Task.completed_at < end)))
        .order_by(Task.completed_at, Task.id)).all()
    by_case = {}
    events = {}
    for h in handled:
        by_case.setdefault(h.case_id, []).append(h)
        if start <= h.completed_at < end:
            events.setdefault(h.org_code, set()).add(h.case_id)
    ratings = []
    for t in rated:
        before = [h for h in by_case.get(t.case_id, []) if h.completed_at <= t.completed_at] or by_case.get(t.case_id)
        if not before:
            continue
        agency = before[-1].org_code
        if agencies is not None and agency not in agencies:
            continue
        rating = t.rating if t.rating is not None and 1 <= t.rating <= 5 else None
        ratings.append(Rating(t.case_id, agency, t.org_code, rating, t.satisfied))
    counts = {a: len(c) for a, c in events.items() if agencies is None or a in agencies}
    return ratings, counts


def stationed_rows(agencies, ratings, events):
    """One row per stationed agency: `agencies` [(code, name, township, home department)]."""
    rows = []
    for code, name, township, home in agencies:
        mine = [r for r in ratings if r.agency == code]
        answered = [r for r in mine if r.satisfied is not None]
        rows.append({"org": code, "name": name, "township": township, "home": home,
                     "events": events.get(code, 0), "ratings": sum(1 for r in mine if r.rating is not None),
                     "rating": average_rating(r.rating for r in mine),
                     "satisfied_share": ratio(sum(1 for r in answered if r.satisfied), len(answered))})
    return rows


def township_row(org, calls, orders, flags, weights=None):
    """A township's row: its calls, how many were rejected, the departments' rating of it, and the
    resolution and satisfaction of its calls (from its own evaluations). A call the township
    withdrew before acceptance is counted apart (`withdrawn`), not among its calls."""
    withdrawn = sum(1 for c in calls if c.status == "withdrawn")
    calls = [c for c in calls if c.status != "withdrawn"]
    rejected = sum(1 for c in calls if c.status == "rejected")
    rating = average_rating(c.rating_received for c in calls)
    return {
        "org": org, "calls": len(calls), "withdrawn": withdrawn,
        "closed": sum(1 for c in calls if c.status == "closed"),
        "rejected": rejected, "invalid_call_rate": invalid_call_rate(calls),
        "orders": len(orders),
        "resolution_rate": resolution_rate(calls), "satisfaction_rate": satisfaction_rate(calls),
        "rating_received": rating, "flags": flags,
        "score": township_score(rating, flags, rejected, weights) if calls else None,
    }


# --- periods ---------------------------------------------------------------------------------
PERIOD = re.compile(r"(19|20)[0-9]{2}(-[0-9]{2})?")   # years 1900–2099: a county time the database can hold


def parse_period(text, zone):
    """'2026' or '2026-11' → (key, label, start, end) with start/end aware datetimes in `zone`."""
    text = (text or "").strip()
    try:
        if not PERIOD.fullmatch(text):      # ASCII digits only: int() would take "+1" or "２０２６"
            raise ValueError(text)
        if len(text) == 4:
            y = int(text)
            start, end = datetime(y, 1, 1, tzinfo=zone), datetime(y + 1, 1, 1, tzinfo=zone)
            return text, f"{y}年", start, end
        if len(text) == 7 and text[4] == "-":
            y, m = int(text[:4]), int(text[5:])
            start = datetime(y, m, 1, tzinfo=zone)
            end = datetime(y + (m == 12), m % 12 + 1, 1, tzinfo=zone)
            return text, f"{y}年{m}月", start, end
    except ValueError:
        pass
    raise ValueError("统计期应为年份（如 2026）或年月（如 2026-11）")


def months_between(start, end):
    out, d = [], start
    while d < end:
        out.append(f"{d.year:04d}-{d.month:02d}")
        d = datetime(d.year + (d.month == 12), d.month % 12 + 1, 1, tzinfo=d.tzinfo)
    return out


# --- building the records from the database --------------------------------------------------


ELEMENTS = ("accept", "sign", "handle", "evaluate", "rate_township")   # the call_response steps the metrics read


def load(start, end, zone, case_scope=None):
    """(orders, calls, flags_by_org) for the calls raised in [start, end), read from the projection
    (cases, tasks, flags): no engine state is read. `case_scope`: an extra WHERE on Case.

    One pass over the period's tasks in case order, with the few form answers the metrics need
    taken out of the JSON in SQL (no row's whole `result` is parsed)."""
    from sqlalchemy import case as when, func, or_, type_coerce

    from .extensions import db
    from .models import Case, Flag, Task, UrgeTarget
    from .models.types import UTCDateTime

    conds = [Case.process_id == "call_response", Case.created_at >= start, Case.created_at < end]
    if case_scope is not None:
        conds.append(case_scope)
    calls = {}
    for cid, org, status, created in db.session.execute(
            select(Case.id, Case.initiator_org, Case.status, Case.created_at).where(and_(*conds))):
        local = created.astimezone(zone)
        calls[cid] = Call(case_id=cid, township=org, month=f"{local.year:04d}-{local.month:02d}", status=status)
    r = Task.result
    stmt = (select(Task.id, Task.case_id, Task.element_id, Task.org_code, Task.kind, Task.subject_task_id,
                   Task.status, Task.created_at, Task.due_at, Task.completed_at,
                   type_coerce(when((Task.status == "ready", Task.warn_at)), UTCDateTime).label("warn_at"),
                   Task.reminded_at.isnot(None).label("reminded"),
                   r["returned"].as_boolean().label("returned"), r["accepted"].as_boolean().label("accepted"),
                   r["more_info_requested"].as_boolean().label("more_info"),
                   r["satisfied"].as_boolean().label("satisfied"), r["resolved"].as_boolean().label("resolved"),
                   r["rating"].as_integer().label("rating"))
            .join(Case, Case.id == Task.case_id)
            .where(and_(*conds), Task.status != "cancelled", or_(Task.element_id.in_(ELEMENTS), Task.kind == "order"))
            .order_by(Task.case_id, Task.created_at, Task.id))
    urges = {(cid, org): n for cid, org, n in db.session.execute(
        select(UrgeTarget.case_id, UrgeTarget.org_code, func.count()).join(Case, Case.id == UrgeTarget.case_id)
        .where(and_(*conds), UrgeTarget.org_code.isnot(None)).group_by(UrgeTarget.case_id, UrgeTarget.org_code))}
    orders = []
    current, tasks = None, []
    for t in db.session.execute(stmt.execution_options(yield_per=5000)):
        if t.case_id != current:
            if tasks:
                orders.extend(_records_of_call(calls[current], tasks, urges))
            current, tasks = t.case_id, []
        tasks.append(t)
    if tasks:
        orders.extend(_records_of_call(calls[current], tasks, urges))
    flags = {}
    for org, in db.session.execute(select(Flag.org_code).where(Flag.created_at >= start, Flag.created_at < end)):
        flags[org] = flags.get(org, 0) + 1
    return orders, list(calls.values()), flags


def _records_of_call(call, tasks, urges=None):
    """Fill in `call` from its task rows (oldest first) and answer its orders; `urges` {(case id,
    department): township urges}."""
    orders, evaluation, by_id = {}, None, {}
    for t in tasks:
        if t.kind == "order":
            continue
        by_id[t.id] = t
        done = t.status == "completed"
        if t.element_id == "accept" and done:
            call.decided = call.decided or bool(t.accepted) or not t.more_info
        elif t.element_id == "evaluate" and done and evaluation is None:   # the first evaluation
            evaluation = Evaluation(bool(t.satisfied), t.rating, t.resolved)
        elif t.element_id == "rate_township" and done:
            call.rating_received = t.rating
        elif t.element_id == "sign" and t.org_code:
            o = orders.get(t.org_code)
            if o is None:
                o = orders[t.org_code] = Order(case_id=call.case_id, department=t.org_code, township=call.township,
                                               month=call.month, sign=_step(t), closed=call.status == "closed")
            if done and t.returned:
                o.returned = True
        elif t.element_id == "handle" and t.org_code in orders:
            orders[t.org_code].handlings.append(_step(t))
    call.evaluation = evaluation
    for t in tasks:
        if t.kind == "order":
            subject = by_id.get(t.subject_task_id)
            if subject is not None and subject.org_code in orders:
                orders[subject.org_code].supervision_orders += 1
        elif t.reminded and t.org_code in orders:
            orders[t.org_code].reminders += 1
    for o in orders.values():
        o.urges = (urges or {}).get((call.case_id, o.department), 0)
        if o.signed:
            o.evaluation = evaluation
    return orders.values()


def _step(t):
    return Step(created=t.created_at, due=t.due_at, done=t.completed_at if t.status == "completed" else None,
                warn=t.warn_at)


def report(period, now, zone, names, departments, townships, weights=None, case_scope=None, department=None,
           stationed=None):
    """The whole report for a period: totals, one row per department and per township (ranked,
    with red and black lists), and the monthly trend of the three rates.

    `names` {org code: name}; `departments` / `townships` the org codes to list even without
    records; `case_scope` restricts the calls (a user's scope), `department` the orders to that
    department's own; `stationed` [(code, name, township code, home department code)] the stationed
    agencies (派驻机构) whose ratings count for their home departments and are listed."""
    w = dict(DEFAULT_WEIGHTS, **(weights or {}))
    key, label, start, end = parse_period(period, zone)
    orders, calls, flags = load(start, end, zone, case_scope)
    if department:
        orders = [o for o in orders if o.department == department]
    by_dept, by_town_orders, by_town_calls = {}, {}, {}
    for o in orders:
        by_dept.setdefault(o.department, []).append(o)
        by_town_orders.setdefault(o.township, []).append(o)
    for c in calls:
        by_town_calls.setdefault(c.township, []).append(c)
    agencies = [a for a in (stationed or []) if not department or a[3] == department]
    home = {a[0]: a[3] for a in agencies}
    ratings, events = load_stationed(start, end, set(home))
    by_home = {}
    for r in ratings:
        by_home.setdefault(home[r.agency], []).append(r)
    dept_rows = [department_row(org, by_dept.get(org, []), flags.get(org, 0), now, w, by_home.get(org))
                 for org in sorted(set(departments) | set(by_dept))]
    town_rows = [township_row(org, by_town_calls.get(org, []), by_town_orders.get(org, []), flags.get(org, 0), w)
                 for org in sorted(set(townships) | set(by_town_calls))]
    for r in dept_rows + town_rows:
        r["name"] = names.get(r["org"], r["org"])
    totals = order_rates(orders, now)
    totals.update(calls=sum(1 for c in calls if c.status != "withdrawn"),
                  withdrawn=sum(1 for c in calls if c.status == "withdrawn"),
                  rejected=sum(1 for c in calls if c.status == "rejected"),
                  closed=sum(1 for c in calls if c.status == "closed"),
                  open=sum(1 for c in calls if c.status == "open"),
                  invalid_call_rate=invalid_call_rate(calls),
                  rating_received=average_rating(c.rating_received for c in calls))
    return {"period": {"key": key, "label": label, "from": start.isoformat(), "to": end.isoformat(),
                       "basis": "按呼叫发起时间归期"},
            "weights": w, "totals": totals,
            "departments": rank(dept_rows, w, "orders"), "townships": rank(town_rows, w, "calls"),
            "stationed": [dict(r, township_name=names.get(r["township"], r["township"]),
                               home_name=names.get(r["home"], r["home"]))
                          for r in stationed_rows(agencies, ratings, events)],
            "trend": trend(orders, calls, months_between(start, end), now)}


def trend(orders, calls, months, now):
    """The calls, the orders and the three rates of each month in `months` (keys 'YYYY-MM', a
    record in the month its call was raised), in the order given."""
    out = []
    for m in months:
        mo = [o for o in orders if o.month == m]
        out.append({"month": m, "calls": sum(1 for c in calls if c.month == m and c.status != "withdrawn"),
                    "orders": len(mo),
                    "response_rate": response_rate(mo, now), "resolution_rate": resolution_rate(mo),
                    "satisfaction_rate": satisfaction_rate(mo)})
    return out


def previous_months(now, zone, n):
    """The keys of the n months before `now`'s month, oldest first (for pickers)."""
    local = now.astimezone(zone)
    out, y, m = [], local.year, local.month
    for _ in range(n):
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
        out.append(f"{y:04d}-{m:02d}")
    return list(reversed(out))

