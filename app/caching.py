"""Values read from the database for one request (or one CLI command, or one scheduler sweep) and
never kept longer, so that what another app process changed — settings, the calendar, the list, the
org units — is what the next request sees. Nothing here outlives the application context."""
from flask import g, has_app_context


def per_request(key, compute):
    """compute() once per application context for `key`."""
    store = g.setdefault("huying_cache", {})
    if key not in store:
        store[key] = compute()
    return store[key]


def invalidate():
    """Forget what this request read (after it changed it)."""
    if has_app_context():
        g.pop("huying_cache", None)
