"""Deadlines: limits per urgency and list item, the working-day calendar, and the functions the
processes' timer expressions call (`due_date("sign", urgency, list_item)` ...).

Limits are ISO 8601 durations. Their time part runs on the clock ("PT2H": two hours); their day
part counts working days ("P5D": five working days), which skip weekends and public holidays and
include make-up working days (调休), as the admin's calendar says. Nothing here is a constant of
the code: `SUPERVISION` in the config gives the defaults and the admin's settings override them.
"""
import re
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import select

from . import audit, policy
from .caching import invalidate, per_request as _cached  # noqa: F401 - invalidate is this module's too
from .database import write_transaction
from .engine import expressions
from .errors import CaseError, Invalid, NotFound
from .extensions import db
from .models import CalendarDay, ListItem, Setting
from .models.types import utcnow
from .orgs import current_list_version
from .timefmt import local_zone

DEFAULTS = {
    # per kind of deadline and urgency; a list item's own limits replace the `normal` ones
    "limits": {
        "sign": {"normal": "PT2H", "urgent": "PT1H", "emergency": "PT30M"},
        "handle": {"normal": "P5D", "urgent": "P3D", "emergency": "P1D"},
        # a grid event's steps in the township (数字城管's loop runs in hours to a few days)
        "event_triage": {"normal": "PT4H", "urgent": "PT2H", "emergency": "PT1H"},
        "event_handle": {"normal": "P3D", "urgent": "P1D", "emergency": "PT4H"},
        "event_verify": {"normal": "P1D", "urgent": "PT8H", "emergency": "PT4H"},
    },
    "listing_after": "P5D",        # 挂牌督办 this long after a deadline still missed
    "max_reworks": 3,              # a call reworked this often becomes a 问题工单
    "max_extension_days": 10,      # working days an extension may add, in all, to one task
    "idle_hours": 72,              # an open case untouched this long counts as stuck
}
KINDS_FROM_ITEM = {"sign": ("sign_hours", "PT{}H"), "handle": ("complete_working_days", "P{}D")}
# the most a limit may count, so that no deadline lands years ahead: working days in its day part,
# days of clock time in its time part; and the most of the settings that are counts
MAX_LIMIT_DAYS = 366
MAX_COUNTS = {"max_reworks": 100, "max_extension_days": MAX_LIMIT_DAYS, "idle_hours": 24 * MAX_LIMIT_DAYS}
_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")      # date.fromisoformat would also take 20261001


class DeadlineError(expressions.ExpressionError):
    """A deadline that cannot be computed (unknown kind, malformed limit)."""


# --- settings (read once per request, see app.caching) ---------------------------------------
def settings():
    """The supervision settings in force: defaults, then the app config, then the admin's."""
    def compute():
        merged = _merge(DEFAULTS, current_app.config.get("SUPERVISION") or {})
        row = db.session.get(Setting, "supervision")
        return _merge(merged, row.value) if row is not None else merged
    return _cached("settings", compute)


def _merge(base, over):
    out = dict(base)
    for k, v in (over or {}).items():
        out[k] = _merge(base[k], v) if isinstance(v, dict) and isinstance(base.get(k), dict) else v
    return out


def check_settings(value):
    """{field: message} of what is wrong with new settings; empty when they may be saved."""
    errors = {}
    if not isinstance(value, dict):
        return {"_": "应为对象"}
    limits = value.get("limits", {})
    if not isinstance(limits, dict):      # null too: the settings in force would have no limits at all
        return {"limits": "应为对象"}
    for kind, per_urgency in limits.items():
        if not isinstance(per_urgency, dict):
            errors[f"limits.{kind}"] = "应为对象"
            continue
        for urgency, limit in per_urgency.items():
            reason = _limit_problem(limit)
            if reason:
                errors[f"limits.{kind}.{urgency}"] = reason
    if "listing_after" in value:
        reason = _limit_problem(value["listing_after"])
        if reason:
            errors["listing_after"] = reason
    for key, most in MAX_COUNTS.items():
        if key in value and (not isinstance(value[key], int) or isinstance(value[key], bool)
                             or not 1 <= value[key] <= most):
            errors[key] = f"应为 1 到 {most} 的整数"
    return errors


def _limit_problem(limit):
    try:
        parse_limit(limit)
    except DeadlineError:
        return f"应为 ISO 8601 时长，如 PT2H 或 P5D，最长 {MAX_LIMIT_DAYS} 个工作日或 {MAX_LIMIT_DAYS} 天"
    return None


# --- the calendar -----------------------------------------------------------------------------
def calendar():
    """{date: 'holiday' | 'workday'} for the dates that differ from their weekday."""
    return _cached("calendar", lambda: {date.fromisoformat(d): k for d, k in
                                        db.session.execute(select(CalendarDay.day, CalendarDay.kind)).all()})


def calendar_days(user, year=None):
    """The calendar's holidays and make-up working days (of one year when given), in date order."""
    policy.require(user, "calendar.read")
    stmt = select(CalendarDay).order_by(CalendarDay.day)
    if year:
        stmt = stmt.where(CalendarDay.day.like(f"{year}-%"))
    return db.session.execute(stmt).scalars().all()


def is_working_day(d, cal=None):
    kind = (cal if cal is not None else calendar()).get(d)
    if kind == "holiday":
        return False
    if kind == "workday":
        return True
    return d.weekday() < 5


def working_day_of(moment, cal=None):
    """The working day a moment counts for: its county date when that is a working day, else the
    next working day (what is done on a Sunday counts for Monday)."""
    d = moment.astimezone(local_zone()).date()
    while not is_working_day(d, cal):
        d += timedelta(days=1)
    return d


def next_working_day(d, cal=None):
    """The first working day after the date `d`."""
    d += timedelta(days=1)
    while not is_working_day(d, cal):
        d += timedelta(days=1)
    return d


def add_working_days(moment, n, cal=None):
    """`moment` plus n working days, at the same time of day (county time)."""
    cal = cal if cal is not None else calendar()
    local = moment.astimezone(local_zone())
    d = local.date()
    for _ in range(n):
        d += timedelta(days=1)
        while not is_working_day(d, cal):
            d += timedelta(days=1)
    return datetime.combine(d, local.timetz())


def working_days_between(start, end, cal=None):
    """How many working days lie after `start`'s date up to and including `end`'s date."""
    cal = cal if cal is not None else calendar()
    d, last, n = start.astimezone(local_zone()).date(), end.astimezone(local_zone()).date(), 0
    while d < last:
        d += timedelta(days=1)
        n += is_working_day(d, cal)
    return n


def parse_limit(text):
    """(working days, clock timedelta) of an ISO 8601 duration, at most MAX_LIMIT_DAYS of each
    (an admin's setting or a list item's limit is data: a typo must not put a deadline decades out)."""
    m = _DURATION.match(text) if isinstance(text, str) and len(text) <= 40 else None
    if not m or text in ("P", "PT"):
        raise DeadlineError(f"时限格式不正确：{str(text)[:40]!r}（应如 PT2H、P5D）")
    days, hours, minutes, seconds = (int(x or 0) for x in m.groups())
    if days > MAX_LIMIT_DAYS or hours * 3600 + minutes * 60 + seconds > MAX_LIMIT_DAYS * 86400:
        raise DeadlineError(f"时限过长：{text}（最长 {MAX_LIMIT_DAYS} 个工作日或 {MAX_LIMIT_DAYS} 天）")
    return days, timedelta(hours=hours, minutes=minutes, seconds=seconds)


def limit_parts(text):
    """(number, unit) of a limit a person reads: 'PT2H' is (2, 'H') hours, 'PT30M' (30, 'M') minutes,
    'P5D' (5, 'D') working days; None for one that mixes days and clock time or is malformed."""
    try:
        days, clock = parse_limit(text)
    except DeadlineError:
        return None
    seconds = int(clock.total_seconds())
    if days and seconds:
        return None
    if days:
        return days, "D"
    if seconds and seconds % 3600 == 0:
        return seconds // 3600, "H"
    if seconds and seconds % 60 == 0:
        return seconds // 60, "M"
    return None


def limit_text(number, unit):
    """The ISO 8601 limit of (number, unit) as limit_parts gives them: (2, 'H') is 'PT2H'."""
    return f"P{number}D" if unit == "D" else f"PT{number}{unit}"


def describe_limit(text):
    """A limit as a person says it: '2 小时', '5 个工作日', '1 个工作日又 2 小时'."""
    try:
        days, clock = parse_limit(text)
    except DeadlineError:
        return str(text)
    minutes = int(clock.total_seconds()) // 60
    parts = [f"{days} 个工作日"] if days else []
    if minutes >= 60:
        parts.append(f"{minutes // 60} 小时")
    if minutes % 60:
        parts.append(f"{minutes % 60} 分钟")
    return "又 ".join(parts) or "0 分钟"


def apply_limit(moment, text, cal=None):
    days, clock = parse_limit(text)
    return add_working_days(moment, days, cal) + clock if days else moment + clock


# --- limits -----------------------------------------------------------------------------------
def limit_for(kind, urgency, list_item):
    """The limit of a deadline kind for a case's urgency and list item."""
    limits = settings()["limits"].get(kind)
    if not limits:
        raise DeadlineError(f"没有配置“{kind}”的办理时限")
    urgency = urgency if urgency in limits else "normal"
    if urgency == "normal" and list_item and kind in KINDS_FROM_ITEM:
        own = _item_limits().get(list_item, {})
        field, pattern = KINDS_FROM_ITEM[kind]
        if isinstance(own.get(field), int) and own[field] > 0:
            return pattern.format(own[field])
    if urgency not in limits:
        raise DeadlineError(f"没有配置“{kind}”在“{urgency}”紧急程度下的时限")
    return limits[urgency]


def _item_limits():
    def compute():
        lv = current_list_version()
        if lv is None:
            return {}
        return dict(db.session.execute(select(ListItem.code, ListItem.limits)
                                       .where(ListItem.list_version_id == lv.id)).all())
    return _cached("item_limits", compute)


def deadline(kind, urgency, list_item, start=None):
    return apply_limit(start or utcnow(), limit_for(kind, urgency, list_item))


def warning(kind, urgency, list_item, start=None):
    """The yellow card: one working day before a day-based deadline, half-way through an
    hour-based one."""
    start = start or utcnow()
    days, clock = parse_limit(limit_for(kind, urgency, list_item))
    due = deadline(kind, urgency, list_item, start)
    if days:
        before = add_working_days(start, days - 1) + clock if days > 1 else start + (due - start) / 2
        return max(start, before)
    return start + (due - start) / 2


def listing(kind, urgency, list_item, start=None):
    return apply_limit(deadline(kind, urgency, list_item, start), settings()["listing_after"])


# --- what the processes call ------------------------------------------------------------------
def _iso(moment):
    return moment.astimezone(local_zone()).isoformat()


expressions.register_functions({
    "due_date": lambda kind, urgency, list_item=None: _iso(deadline(kind, urgency, list_item)),
    "warn_date": lambda kind, urgency, list_item=None: _iso(warning(kind, urgency, list_item)),
    "listing_date": lambda kind, urgency, list_item=None: _iso(listing(kind, urgency, list_item)),
    "max_reworks": lambda: settings()["max_reworks"],
})


# --- what the admin edits ---------------------------------------------------------------------
def set_calendar_day(user, day, kind, name=""):
    """Mark a date as a public holiday or a make-up working day (admin)."""
    policy.require(user, "calendar.edit")
    if kind not in ("holiday", "workday"):
        raise Invalid("类型应为 holiday（节假日）或 workday（调休上班）", {"kind": "类型应为节假日或调休上班"})
    try:
        if not DAY.match(day):
            raise ValueError(day)
        parsed = date.fromisoformat(day)
    except (TypeError, ValueError):
        raise CaseError("日期格式应为 YYYY-MM-DD", {"day": "日期格式应为 YYYY-MM-DD"}) from None
    with write_transaction():
        row = db.session.get(CalendarDay, parsed.isoformat())
        before = {"kind": row.kind, "name": row.name} if row else None
        if row is None:
            row = CalendarDay(day=parsed.isoformat(), kind=kind, name=name)
            db.session.add(row)
        row.kind, row.name = kind, name
        audit.record("calendar_changed", user.username, before=before, after={"day": row.day, "kind": kind, "name": name})
    invalidate()
    return row


def remove_calendar_day(user, day):
    policy.require(user, "calendar.edit")
    with write_transaction():
        row = db.session.get(CalendarDay, day) if isinstance(day, str) else None
        if row is None:
            raise NotFound("日历中没有这一天")
        audit.record("calendar_changed", user.username, before={"day": row.day, "kind": row.kind, "name": row.name})
        db.session.delete(row)
    invalidate()


def save_settings(user, value):
    """Replace the admin's supervision settings (merged over the defaults)."""
    policy.require(user, "settings.edit")
    errors = check_settings(value)
    if errors:
        raise Invalid("设置有误", errors)
    with write_transaction():
        row = db.session.get(Setting, "supervision")
        before = row.value if row else None
        if row is None:
            row = Setting(key="supervision", value=value, updated_by=user.username)
            db.session.add(row)
        row.value, row.updated_by, row.updated_at = value, user.username, utcnow()
        audit.record("settings_changed", user.username, before=before, after=value)
    invalidate()
    return settings()

