"""Plain dicts of cases and tasks, as the API returns them (CONTRACT.md §4 shapes), and what a person
reads of the codes a case holds: form answers, units, list items, audit details."""
import re

from . import orgs, waits
from .timefmt import iso


def task_dict(t, org_names=None):
    return {"id": t.id, "case_id": t.case_id, "case_title": t.case_title, "process_id": t.process_id,
            "element_id": t.element_id, "name": t.name, "role": t.role, "org": t.org_code,
            "org_name": (org_names or {}).get(t.org_code), "assignee": t.assignee, "status": t.status,
            "created_at": iso(t.created_at), "due_at": iso(t.due_at)}


def case_dict(c):
    return {"id": c.id, "process_id": c.process_id, "process_version": c.process_version, "title": c.title,
            "status": c.status, "urgency": c.urgency, "initiator": c.initiator, "initiator_org": c.initiator_org,
            "created_at": iso(c.created_at), "updated_at": iso(c.updated_at), "closed_at": iso(c.closed_at),
            "merged_into": c.merged_into}


def case_detail(c, tasks, org_names=None):
    d = case_dict(c)
    d["data"] = c.data or {}
    d["current_tasks"] = [task_dict(t, org_names) for t in tasks]
    d["error"] = {"message": c.error_message, "element_id": c.error_element} if c.status == "errored" else None
    d["waiting"] = [dict(w, since=iso(w["since"])) for w in waits.waiting_of(c.id)]
    return d


# --- what a person reads of a form's answers, a list item, an org code ----------------------------
def unit_label(code, names=None):
    """An org code as people read it (the list's placeholder TOWNSHIP as 属地乡镇（街道）)."""
    if code == orgs.TOWNSHIP:
        return orgs.TOWNSHIP_LABEL
    return (names if names is not None else orgs.org_names()).get(code, code) if code else "—"


def units_label(codes, names=None):
    return "、".join(unit_label(c, names) for c in codes or []) or "—"


def limits_text(limits):
    """签收 2 小时 / 办结 5 个工作日 (only what the item sets)."""
    limits = limits if isinstance(limits, dict) else {}
    parts = []
    if limits.get("sign_hours") is not None:
        parts.append(f"签收 {limits['sign_hours']} 小时")
    if limits.get("complete_working_days") is not None:
        parts.append(f"办结 {limits['complete_working_days']} 个工作日")
    return " / ".join(parts) or "—"


def item_field_text(field, value, names=None):
    """A field of a responsibility-list item as text (units by name, limits in words)."""
    if field == "primary_org":
        return unit_label(value, names)
    if field == "supporting":
        return units_label(value, names)
    if field == "limits":
        return limits_text(value)
    if value is None or value == "" or value == []:
        return "—"
    return str(value)


def list_item_label(code):
    """A list item as people read it: its code and its name (the newest version that has it)."""
    return orgs.list_item_label(code) if code else "—"


def result_rows(schema, data):
    """[(title, shown value)] of a form's fields given in `data`, in the form's order (defaults left
    untouched are not shown)."""
    out = []
    required = set(schema.get("required") or [])
    data = data if isinstance(data, dict) else {}
    for name, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, dict):
            continue
        if name not in required and "default" in prop and data.get(name) == prop["default"]:
            continue
        if name in data and data[name] not in (None, "", []):
            out.append((prop.get("title") or name, shown_value(prop, data[name])))
    return out


def shown_value(prop, value):
    """One answer as text: yes/no, a choice by its title, units and list items by name."""
    if isinstance(value, dict):
        sub = prop.get("properties") or {}
        return "；".join(f"{(sub.get(k) or {}).get('title') or k}：{shown_value(sub.get(k) or {}, v)}"
                        for k, v in value.items() if v not in (None, "", []))
    if isinstance(value, bool):
        return "是" if value else "否"
    options = prop.get("x-options") or (prop.get("items") or {}).get("x-options")
    if isinstance(value, list):
        if options == "list_items":
            return "、".join(list_item_label(v) for v in value)
        return "、".join(unit_label(v) if isinstance(v, str) else str(v) for v in value)
    for choice in prop.get("oneOf") or []:
        if isinstance(choice, dict) and choice.get("const") == value:
            return choice.get("title") or value
    if options in ("departments", "townships", "list_units", "township_handlers"):
        return unit_label(value)
    if options == "list_items":
        return list_item_label(value)
    if options and isinstance(value, str):        # another module's choices (a grid event's categories)
        return dict(orgs.form_options(options)).get(value, value)
    return value


# --- an audit event's detail in words ---------------------------------------------------------------
_VERSIONED = re.compile(r"^(?P<pid>[\w.-]+) v(?P<n>\d+)\b")
_REQUEST = re.compile(r"^(?P<method>[A-Z]+) (?P<path>/\S*)")
REQUESTED = (   # what a refused request asked for, by its path (the query string aside)
    (re.compile(r"/cases/(\d+)/dossier$"), "卷宗（案件 #{0}）"),
    (re.compile(r"/cases/(\d+)/attachments$"), "案件 #{0} 的文件"),
    (re.compile(r"/cases/(\d+)/comments$"), "案件 #{0} 的留言"),
    (re.compile(r"/cases/(\d+)/urge$"), "催办案件 #{0}"),
    (re.compile(r"/cases/(\d+)/withdraw$"), "撤回案件 #{0}"),
    (re.compile(r"/cases/(\d+)/audit$"), "案件 #{0} 的留痕"),
    (re.compile(r"/cases/(\d+)(/\w+)?$"), "案件 #{0}"),
    (re.compile(r"/tasks/[^/]+/claim$"), "认领任务"),
    (re.compile(r"/tasks/[^/]+/unclaim$"), "取消认领任务"),
    (re.compile(r"/tasks/[^/]+/complete$"), "办理任务"),
    (re.compile(r"/tasks/[^/]+/extension$"), "申请延期"),
    (re.compile(r"/tasks/[^/]+$"), "任务"),
    (re.compile(r"/attachments/(\d+)(/\w+)?$"), "文件 #{0}"),
)


def requested(detail):
    """A refused request ("GET /cases/290") as people read it: 查看案件 #290."""
    m = _REQUEST.match(detail or "")
    if not m:
        return detail
    path = m["path"].split("?", 1)[0]
    api = path.startswith("/api/")
    path = path.removeprefix("/api/v1")
    what = next((label.format(*found.groups()) for pattern, label in REQUESTED if (found := pattern.search(path))),
                "页面")
    verb = "查看" if m["method"] in ("GET", "HEAD") else "提交"
    return f"{verb}{what}{'（通过接口）' if api else ''}"


def event_note(e, process_names=None):
    """What an audit event's detail says, in the words of the pages: a process version by its name
    (乡呼县应 第 1 版, never call_response v1), a refused request by what it asked for."""
    detail = e.detail or ""
    if e.action in ("case_started", "process_deployed", "case_migrated"):
        m = _VERSIONED.match(detail)
        if m:
            name = (process_names or {}).get(m["pid"], m["pid"])
            return f"{name} 第 {m['n']} 版"
    if e.action == "permission_refused":
        return requested(detail)
    return detail
