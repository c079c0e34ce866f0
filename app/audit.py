"""Appending to the audit trail, always inside the transaction of the change it records."""
from flask import has_request_context, request

from .extensions import db
from .models import AuditEvent


def record(action, actor, case_id=None, task=None, before=None, after=None, detail=None, org_code=None):
    """Append one event; `actor` is a username or `system`."""
    ip = request.remote_addr if has_request_context() else None
    event = AuditEvent(action=action, actor=actor, case_id=case_id,
                       task_id=getattr(task, "id", None), task_name=getattr(task, "name", None),
                       org_code=org_code, ip=ip, before=before, after=after, detail=detail)
    db.session.add(event)
    return event


def event_to_dict(e):
    from .timefmt import iso
    return {"id": e.id, "at": iso(e.at), "actor": e.actor, "action": e.action, "case_id": e.case_id,
            "task": e.task_name, "task_id": e.task_id, "org": e.org_code, "ip": e.ip,
            "before": e.before, "after": e.after, "detail": e.detail}
