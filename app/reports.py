"""Reports for people: the caller's own figures (`stats`) and the county's assessment (`county_report`).

The formulas are in app/metrics.py; this module chooses whose records go in (the user's scope),
the period, and the weights in force (defaults, then the app config, then the admin's).
"""
from flask import current_app, has_app_context
from sqlalchemy import func, select, true

from . import audit, metrics, orgs, policy
from .database import write_transaction
from .errors import Invalid
from .extensions import db
from .models import Case, Setting
from .models.types import utcnow
from .timefmt import local_zone

WEIGHT_KEYS = ("response", "resolution", "satisfaction", "township_weight", "stationed_weight", "flag_deduction",
               "order_deduction", "invalid_call_deduction", "list_size", "min_volume")


def weights():
    """The weights in force: app.metrics defaults, then REPORT_WEIGHTS from the config, then the admin's."""
    w = dict(metrics.DEFAULT_WEIGHTS)
    w.update(current_app.config.get("REPORT_WEIGHTS") or {})
    row = db.session.get(Setting, "report_weights")
    if row is not None:
        w.update(row.value)
    return w


SHARE_WEIGHTS = ("response", "resolution", "satisfaction", "township_weight", "stationed_weight")
POINT_WEIGHTS = ("flag_deduction", "order_deduction", "invalid_call_deduction")


def check_weights(value):
    """{field: message} of what is wrong with new weights; empty when they may be saved."""
    if not isinstance(value, dict):
        return {"_": "应为对象"}
    errors = {}
    for k, v in value.items():
        if k not in WEIGHT_KEYS:
            errors[k] = "未知的权重项"
        elif not isinstance(v, (int, float)) or isinstance(v, bool):
            errors[k] = "应为数字"
        elif k == "list_size" and (not isinstance(v, int) or not 1 <= v <= 50):
            errors[k] = "应为 1–50 的整数"
        elif k == "min_volume" and (not isinstance(v, int) or not 0 <= v <= 1000):
            errors[k] = "应为 0–1000 的整数"
        elif k in POINT_WEIGHTS and not 0 <= v <= 100:
            errors[k] = "应在 0–100 之间"
        elif k in SHARE_WEIGHTS and not 0 <= v <= 1:
            errors[k] = "应在 0–1 之间"
    merged = {**weights(), **{k: v for k, v in value.items() if k not in errors}}
    if not errors and merged["response"] + merged["resolution"] + merged["satisfaction"] <= 0:
        errors["response"] = "三率权重之和应大于 0"
    if not errors and merged["township_weight"] + merged["stationed_weight"] > 1:
        errors["stationed_weight"] = "乡镇评价与派驻机构评价所占比例之和不应超过 100%"
    return errors


def save_weights(user, value):
    policy.require(user, "weights.edit")
    errors = check_weights(value)
    if errors:
        raise Invalid("考核权重有误", errors)
    with write_transaction():
        row = db.session.get(Setting, "report_weights")
        before = dict(row.value) if row is not None else None
        if row is None:
            row = Setting(key="report_weights", value={}, updated_by=user.username)
            db.session.add(row)
        row.value = {**(before or {}), **value}
        row.updated_by, row.updated_at = user.username, utcnow()
        audit.record("settings_changed", user.username, before=before, after=row.value, detail="考核权重")
    return weights()


def current_period(now=None):
    local = (now or utcnow()).astimezone(local_zone())
    return f"{local.year:04d}-{local.month:02d}"


def default_period(now=None):
    """The month a report opens on: last month during the first REPORT_LAST_MONTH_DAYS days of a
    month (county dates), else this month. Three by default: on the 1st this month has no figures
    yet, and the calls that closed at the end of last month are still being evaluated — a
    township evaluates within 3 working days — so those days are when last month's report is
    completed and read."""
    local = (now or utcnow()).astimezone(local_zone())
    days = current_app.config.get("REPORT_LAST_MONTH_DAYS", 3) if has_app_context() else 3
    if local.day <= days:
        return metrics.previous_months(local, local_zone(), 1)[0]
    return current_period(now)


def _period(text):
    """(key, label, start, end) of a period '2026' or '2026-11', or Invalid saying what it should be."""
    try:
        return metrics.parse_period(text, local_zone())
    except ValueError as e:
        raise Invalid(str(e), {"period": str(e)}) from None


def county_report(user, period, now=None):
    """The assessment report for a month ('2026-11') or a year ('2026'): per department and per
    township, ranked, with the monthly trend. The supervisor, leaders, the centre and admins see
    every unit; a township or a department its own figures, score and rank, and of the others of
    its kind only their ranks (policy.report_view)."""
    policy.require(user, "report.read")
    _period(period)
    args = (period, now or utcnow(), local_zone(), orgs.org_names(), [u.code for u in orgs.org_units("department")],
            [u.code for u in orgs.org_units("township")], weights())
    agencies = [(u.code, u.name, u.parent_code, u.home_code) for u in orgs.org_units("stationed")]
    full = metrics.report(*args, stationed=agencies)
    view = policy.report_view(user)
    if view is None:
        return full
    rows, own, cases, department = view
    mine = metrics.report(*args, case_scope=cases, department=department, stationed=agencies)
    others = {"departments": "其他部门", "townships": "其他乡镇"}[rows]
    seen = [r if r["org"] == own else _rank_only(r, others) for r in full[rows]]
    mine_row = next((r for r in seen if r["org"] == own), None)
    ranked = sum(1 for r in seen if r["rank"] is not None)
    # a department sees its own stationed agencies, a township those stationed with it
    own_agencies = [r for r in full["stationed"] if r["home" if department else "township"] == own]
    out = dict(full, totals=mine["totals"], trend=mine["trend"], departments=[], townships=[], stationed=own_agencies,
               own={"rows": rows, "org": own, "rank": mine_row["rank"] if mine_row else None, "ranked": ranked})
    out[rows] = seen
    return out


def _rank_only(row, name):
    """Another unit's row as a unit sees it: its rank and nothing else."""
    return {k: (row["rank"] if k == "rank" else name if k == "name" else None) for k in row}


def trend(user, end_period, months=12, now=None):
    """The three rates month by month over the `months` months that end with `end_period` (a
    month '2026-11', or a year '2026' ending in its December): the report page's trend."""
    policy.require(user, "report.read")
    zone = local_zone()
    end = _period(end_period)[3]
    window = metrics.previous_months(end, zone, months)
    start = _period(window[0])[2]
    view = policy.report_view(user)
    orders, calls, _flags = metrics.load(start, end, zone, view[2] if view else None)
    if view and view[3]:
        orders = [o for o in orders if o.department == view[3]]
    return metrics.trend(orders, calls, window, now or utcnow())


def stats(user, period=None, now=None):
    """Counts and rates for the caller's scope: a township its own calls, a department the calls
    dispatched to it, the centre, supervisor, leader and admin the whole county. `period` as in
    county_report; the current year by default."""
    policy.require(user, "stats.read")
    now = now or utcnow()
    zone = local_zone()
    visible, department = policy.stats_scope(user)
    by_status = dict(db.session.execute(
        select(Case.status, func.count()).where(visible if visible is not None else true())
        .group_by(Case.status)).all())
    key, label, start, end = _period(period or str(now.astimezone(zone).year))
    orders, calls, _flags = metrics.load(start, end, zone, visible)
    if department:
        orders = [o for o in orders if o.department == department]
    scope = "all" if visible is None else (user.org_code or "role")
    return {"scope": scope, "period": {"key": key, "label": label},
            "cases": {"total": sum(by_status.values()), **by_status},
            "calls": sum(1 for c in calls if c.status != "withdrawn"), **metrics.order_rates(orders, now)}
