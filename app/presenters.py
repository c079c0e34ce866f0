"""Plain dicts of cases and tasks, as the API returns them (CONTRACT.md §4 shapes)."""
from .timefmt import iso


def task_dict(t, org_names=None):
    return {"id": t.id, "case_id": t.case_id, "case_title": t.case_title, "process_id": t.process_id,
            "element_id": t.element_id, "name": t.name, "role": t.role, "org": t.org_code,
            "org_name": (org_names or {}).get(t.org_code), "assignee": t.assignee, "status": t.status,
            "created_at": iso(t.created_at), "due_at": iso(t.due_at)}


def case_dict(c):
    return {"id": c.id, "process_id": c.process_id, "process_version": c.process_version, "title": c.title,
            "status": c.status, "urgency": c.urgency, "initiator": c.initiator, "initiator_org": c.initiator_org,
            "created_at": iso(c.created_at), "updated_at": iso(c.updated_at), "closed_at": iso(c.closed_at)}


def case_detail(c, tasks, org_names=None):
    d = case_dict(c)
    d["data"] = c.data or {}
    d["current_tasks"] = [task_dict(t, org_names) for t in tasks]
    d["error"] = {"message": c.error_message, "element_id": c.error_element} if c.status == "errored" else None
    return d
