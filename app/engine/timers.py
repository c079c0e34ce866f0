"""What a timer may be: its value checked before SpiffWorkflow computes with it.

SpiffWorkflow 3.2.0 (`bpmn/specs/event_definitions/timer.py`) turns a duration into a due time by
walking its months one by one (thirty million months loop for half a minute) and adds it to now
(`"P10000Y"` overflows); a cycle without a count repeats for ever; a time of day without a zone is
read in the server's zone. Huying takes durations, dates and cycles only within a sane range: due
at most MAX_AHEAD from now, a date no further than MAX_BEHIND in the past when it is deployed, a
cycle of 1 to MAX_CYCLES repetitions at least MIN_CYCLE apart. Deployment checks literal timers
with these rules, the script engine checks every computed one.
"""
import re
from datetime import datetime, timedelta, timezone

from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition, DurationTimerEventDefinition, TimeDateEventDefinition)

from .expressions import ExpressionError

MAX_AHEAD = timedelta(days=3653)        # ten years
MAX_BEHIND = timedelta(days=3653)
MAX_CYCLES = 100
MIN_CYCLE = timedelta(minutes=1)
KINDS = ((TimeDateEventDefinition, "date"), (DurationTimerEventDefinition, "duration"),
         (CycleTimerEventDefinition, "cycle"))

_DURATION = re.compile(r"P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?"
                       r"(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)(?:[.,]\d{1,9})?S)?)?", re.I)
# the longest each part can be, so that a duration's reach is never underestimated
_PART_DAYS = (366, 31, 7, 1, 1 / 24, 1 / 1440, 1 / 86400)


class TimerError(ExpressionError):
    """A timer value Huying will not run."""


def _duration(text):
    """The longest time a duration can span (months of 31 days, years of 366)."""
    m = _DURATION.fullmatch(text)
    if m is None:
        raise TimerError(f"时长“{text[:40]}”无法解析：应为 ISO 8601 时长，如 PT3S、PT2H、P5D")
    parts = m.groups()
    if parts[2] is not None and any(parts[i] is not None for i in (0, 1, 3)):
        raise TimerError(f"时长“{text[:40]}”不能同时含周（W）和年、月、日")
    if any(p is not None and len(p) > 9 for p in parts):
        raise _too_far(text)
    days = sum(int(p) * d for p, d in zip(parts, _PART_DAYS) if p is not None)
    if days > MAX_AHEAD.days:
        raise _too_far(text)
    return timedelta(days=days)


def _too_far(text):
    return TimerError(f"定时器“{text[:40]}”超出允许的范围：最长 {MAX_AHEAD.days // 365} 年")


def _date(text, now, deployed):
    if "W" in text.upper() or text.upper().startswith("P"):
        raise TimerError(f"时间“{text[:40]}”应为带时区的日期时间，如 2026-12-01T09:00:00+08:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise TimerError(f"时间“{text[:40]}”无法解析：应带时区，如 2026-12-01T09:00:00+08:00") from None
    if moment.tzinfo is None:
        raise TimerError(f"时间“{text[:40]}”缺少时区：应如 2026-12-01T09:00:00+08:00")
    if moment - now > MAX_AHEAD:
        raise _too_far(text)
    if deployed and now - moment > MAX_BEHIND:
        raise TimerError(f"时间“{text[:40]}”早于 {MAX_BEHIND.days // 365} 年前，定时器会立即触发；请检查年份")
    return moment


def _cycle(text, now, deployed):
    parts = text.upper().replace("--", "/").split("/")
    count = parts[0][1:] if parts[0].startswith("R") else None
    if count is None or len(parts) not in (2, 3):
        raise TimerError(f"循环定时器“{text[:40]}”无法解析：应如 R3/PT1H 或 R3/2026-12-01T09:00:00+08:00/P1D")
    if not count.isdigit() or not 1 <= int(count) <= MAX_CYCLES:
        raise TimerError(f"循环定时器“{text[:40]}”应写明重复次数，1 到 {MAX_CYCLES} 次（如 R3/PT1H）")
    durations = [p for p in parts[1:] if p.startswith("P")]
    dates = [p for p in parts[1:] if not p.startswith("P")]
    if len(durations) != 1 or len(dates) > 1:
        raise TimerError(f"循环定时器“{text[:40]}”应含一个间隔时长，可再加一个开始或结束时间")
    interval = _duration(durations[0])
    if interval < MIN_CYCLE:
        raise TimerError(f"循环定时器“{text[:40]}”的间隔不能短于 1 分钟")
    for d in dates:
        _date(d, now, deployed)
    if interval * int(count) > MAX_AHEAD:
        raise _too_far(text)


def check(kind, value, now=None, deployed=False):
    """Refuse a timer value ('date', 'duration' or 'cycle') Huying will not run (TimerError).

    `deployed`: the value is a literal checked at deploy, where a date long past is a mistake."""
    if not isinstance(value, str):
        raise TimerError("定时器的值应为 ISO 8601 文本，如 \"PT3S\"、\"P5D\" 或 \"2026-12-01T09:00:00+08:00\"")
    if len(value) > 100:
        raise TimerError(f"定时器的值“{value[:40]}…”过长，不是 ISO 8601 时长或时间")
    now = now or datetime.now(timezone.utc)
    if kind == "duration":
        _duration(value)
    elif kind == "date":
        _date(value, now, deployed)
    elif kind == "cycle":
        _cycle(value, now, deployed)
    else:
        raise TimerError(f"未知的定时器类型：{kind}")


def kind_of(event_definition):
    """'date', 'duration' or 'cycle' for a SpiffWorkflow timer event definition, else None."""
    return next((kind for cls, kind in KINDS if isinstance(event_definition, cls)), None)
