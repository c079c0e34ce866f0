"""Times as the API and the pages show them: ISO 8601 in the county's zone."""
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context


def local_zone():
    name = current_app.config.get("TIMEZONE", "Asia/Shanghai") if has_app_context() else "Asia/Shanghai"
    return ZoneInfo(name)


def iso(dt):
    return dt.astimezone(local_zone()).isoformat(timespec="seconds") if dt else None


def short(dt):
    return dt.astimezone(local_zone()).strftime("%Y-%m-%d %H:%M") if dt else ""
