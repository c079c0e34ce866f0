"""Browser pages of the process analysts (流程): the deployed processes with their versions, the
bpmn.io modeller that deploys a new version, the differences between two versions drawn side by
side, and moving open cases to another version.

Session-authenticated (flask_login), for analysts (admins may compare versions and preview a
migration); CSRF on every form and on the modeller's JSON deploy (Flask-WTF reads the X-CSRFToken
header). The same domain functions as the JSON API in app/api/processes.py. A page that reads its
query before the domain is asked asks the policy first, so that a refusal never depends on the input."""
import json

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from .. import cases, new_processes, orgs, policy, processes
from ..engine import DefinitionError
from ..engine.definitions import CASE_STATUSES, ESCALATIONS
from .forms import is_number, query_number
from ..errors import CaseError, Invalid
from ..roles import FLAG_KINDS, LIST_ACTIONS, ROLES
from . import STATUS_LABELS

modeller_bp = Blueprint("modeller", __name__)

TYPE_LABELS = {
    "userTask": "用户任务", "scriptTask": "脚本任务", "serviceTask": "服务任务", "manualTask": "人工任务",
    "task": "任务", "subProcess": "子流程", "callActivity": "调用活动", "startEvent": "开始事件",
    "endEvent": "结束事件", "boundaryEvent": "边界事件", "intermediateCatchEvent": "中间事件（捕获）",
    "intermediateThrowEvent": "中间事件（抛出）", "exclusiveGateway": "排他网关", "parallelGateway": "并行网关",
    "inclusiveGateway": "包容网关", "eventBasedGateway": "事件网关", "sequenceFlow": "顺序流",
}
FIELD_LABELS = {
    "type": "类型", "name": "名称", "lane": "泳道", "formJsonSchemaFilename": "表单",
    "formUiSchemaFilename": "界面表单",
    "orgUnit": "承办单位", "conditionExpression": "条件", "script": "脚本", "timeDate": "定时（时间点）",
    "timeDuration": "定时（时长）", "timeCycle": "定时（周期）", "caseStatus": "案件结果", "escalation": "督办动作",
    "from": "起点", "to": "终点", "startRoles": "可发起角色", "flagKind": "标记类别", "flagWhen": "标记条件",
    "listAction": "清单操作",
    "instructionsForEndUser": "办理说明", "documentation": "说明文档", "preScript": "前置脚本", "postScript": "后置脚本",
    "default": "默认流向", "cancelActivity": "中断任务", "attachedToRef": "附着于", "scriptFormat": "脚本语言",
    "loopDataInputRef": "多实例集合", "loopDataOutputRef": "多实例结果集合", "inputDataItem.name": "多实例元素",
    "outputDataItem.name": "多实例结果", "loopCardinality": "多实例数量", "completionCondition": "完成条件",
    "multiInstanceLoopCharacteristics.isSequential": "依次执行", "text": "注释", "caseTitle": "案件标题",
    "isExecutable": "可执行", "isInterrupting": "中断", "calledElement": "调用流程",
}
SHOWN_FIELDS = ("lane", "formJsonSchemaFilename", "orgUnit", "conditionExpression", "timeDate", "timeDuration",
                "caseStatus", "escalation")


def _versions(process_id):
    """[(ProcessVersion, open cases, cases)] newest first, or 404."""
    rows = processes.versions_of(process_id) if processes.latest_version(process_id) is not None else []
    if not rows:
        abort(404)
    return rows


def _deployer(username, names):
    return "系统" if username in (None, "system") else names.get(username, username)


@modeller_bp.app_context_processor
def helpers():
    return {"element_type": lambda kind: TYPE_LABELS.get(kind, kind),
            "field_label": lambda key: FIELD_LABELS.get(key, key)}


# --- the processes and their versions -------------------------------------------------------------
@modeller_bp.route("/processes")
@login_required
def index():
    names = orgs.user_names()
    return render_template("processes.html", listed=processes.overview(current_user),
                           deployer=lambda u: _deployer(u, names))


# --- the modeller ---------------------------------------------------------------------------------
def _form_files(newest):
    """[[file, title]] of the forms a task may use: the project's forms/ and the newest version's."""
    folder = processes.project_dir("forms")
    titles = {name: schema.get("title") if isinstance(schema, dict) else None
              for name, schema in ((newest.forms if newest is not None else None) or {}).items()}
    for path in (folder.glob("*.json") if folder.is_dir() else ()):
        if not titles.get(path.name):
            titles[path.name] = _title_of(path)
    return [[name, titles[name] or name] for name in sorted(titles)]


def _title_of(path):
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    title = schema.get("title") if isinstance(schema, dict) else None
    return title if isinstance(title, str) and title.strip() else None


@modeller_bp.route("/processes/<process_id>/model")
@login_required
def model(process_id):
    policy.require(current_user, "process.deploy")
    newest = processes.latest_version(process_id)
    if newest is None:
        abort(404)
    return render_template("modeller.html", newest=newest, forms=_form_files(newest), options=_options())


def _options():
    return {
        "roles": [[code, name] for code, name in ROLES.items()],
        "caseStatus": [[code, STATUS_LABELS.get(code, code)] for code in sorted(CASE_STATUSES)],
        "escalation": [[code, label] for code, label in ESCALATIONS.items()],
        "flagKind": [[code, label] for code, (_unit, label) in FLAG_KINDS.items()],
        "listAction": [[code, label.split("：")[0]] for code, label in LIST_ACTIONS.items()],
    }


def _refused(errors, status=422):
    return jsonify({"error": "invalid", "message": "流程校验未通过，未部署", "errors": errors}), status


@modeller_bp.route("/processes/<process_id>/deploy", methods=["POST"])
@login_required
def deploy(process_id):
    """The modeller's 部署: {"bpmn": xml} -> 201 {process_id, version, created} or 422 {errors}."""
    body = request.get_json(silent=True)
    body = body if isinstance(body, dict) else {}
    try:
        row, created = processes.deploy_model(current_user, process_id, body.get("bpmn"),
                                              new_processes.carried_files(body.get("files")))
    except DefinitionError as e:
        return _refused(e.errors)
    except CaseError as e:          # refused, or no such process: JSON for the modeller's script
        return jsonify({"error": e.code, "message": e.message, "errors": e.errors}), e.status
    return _deployed(row, created)


def _deployed(row, created):
    """The modeller's answer to a deploy, with the conversion report when the domain gives one."""
    body = {"process_id": row.process_id, "version": row.version, "created": created,
            "versions_url": url_for("modeller.index") + f"#p-{row.process_id}",
            "model_url": url_for("modeller.model", process_id=row.process_id),
            "deploy_url": url_for("modeller.deploy", process_id=row.process_id)}
    body["report"] = _report(row)
    return jsonify(body), (201 if created else 200)


def _report(row, report=None):
    """[{element_id?, message}] of what the deploy mapped, read loosely or ignored (the domain puts it
    on the version it deployed)."""
    report = getattr(row, "report", None) if report is None else report
    return [r for r in report or [] if isinstance(r, dict) and r.get("message")]


# --- a new process: the blank drawing, the modeller's deploy, the list's upload -------------------------
@modeller_bp.route("/processes/new")
@login_required
def new():
    """The modeller on a new process: a dialog asks its id, name and lanes, or opens a file."""
    policy.require(current_user, "process.deploy")
    return render_template("modeller.html", newest=None, forms=_form_files(None), options=_options(),
                           lane_roles=[[code, ROLES[code], code in new_processes.DEFAULT_LANES]
                                       for code in new_processes.LANE_ROLES])


@modeller_bp.route("/processes/new/blank", methods=["POST"])
@login_required
def new_blank():
    """{process_id, name, lanes: [role], starter: role} -> 200 {bpmn} or 422 {errors: [{field, message}]}."""
    body = request.get_json(silent=True)
    body = body if isinstance(body, dict) else {}
    lanes = body.get("lanes")
    try:
        xml = new_processes.blank_bpmn(current_user, body.get("process_id"), body.get("name"),
                                       lanes if isinstance(lanes, list) else [], body.get("starter"))
    except Invalid as e:
        return jsonify({"error": e.code, "message": e.message, "errors": e.errors}), e.status
    return jsonify({"bpmn": xml})


@modeller_bp.route("/processes/new", methods=["POST"])
@login_required
def deploy_new():
    """The modeller's 部署 of a new process: {"bpmn": xml, "files": {name: text}} -> 201, 409 or 422 {errors}."""
    body = request.get_json(silent=True)
    body = body if isinstance(body, dict) else {}
    try:
        row, created = new_processes.deploy_new(current_user, body.get("bpmn"), body.get("files"))
    except DefinitionError as e:
        return _refused(e.errors)
    except CaseError as e:
        return jsonify({"error": e.code, "message": e.message, "errors": e.errors}), e.status
    return _deployed(row, created)


@modeller_bp.route("/processes/upload", methods=["POST"])
@login_required
def upload():
    """The process list's 上传: a .bpmn or .zip deployed as the API's upload is; the result page lists
    every problem on its element, or the version deployed and the conversion report."""
    policy.require(current_user, "process.deploy")
    file = request.files.get("file")
    row = created = None
    errors, message, status, notes = [], None, 200, []
    try:
        deployed, notes = processes.deploy_upload(current_user, file.filename if file else None,
                                                  file.read() if file else b"",
                                                  new_version=request.form.get("new_version") in ("true", "on", "1"),
                                                  roles=request.form.get("roles") or None)
        row, created = deployed[0]
    except DefinitionError as e:
        errors, status = e.errors, 422
    except CaseError as e:
        message, errors, status = e.message, e.errors or [], e.status
    return render_template("process_upload.html", row=row, created=created, errors=errors, message=message,
                           filename=file.filename if file else None,
                           report=_report(row, notes) if row is not None else []), status


# --- what changed between two versions --------------------------------------------------------------
def _pair(versions):
    """(from, to) of the query string; by default the newest version and the one before it."""
    numbers = [v.version for v, _, _ in versions]
    to = query_number("to") or numbers[0]
    default_from = max([n for n in numbers if n < to], default=to)
    frm = query_number("from") or default_from
    if frm not in numbers or to not in numbers:
        abort(404)
    return frm, to


FORM_KEY_LABELS = {"title": "标题", "description": "说明", "required": "必填项", "maxLength": "最多字数",
                   "minLength": "最少字数", "oneOf": "选项", "enum": "选项", "default": "默认值", "type": "类型",
                   "items": "列表项", "x-options": "选项来源", "format": "格式", "minimum": "最小值",
                   "maximum": "最大值", "x-prefill": "预填", "x-suggest": "建议值", "x-distinct-from": "不得同于",
                   "x-required-message": "必填提示", "allOf": "条件规则", "if": "条件", "then": "则"}


def _form_path_label(path, schema):
    """A form's dotted path as a person reads it: properties.reason.title -> “调整理由” · 标题."""
    out, node, parts = [], schema, path.split(".")
    i = 0
    while i < len(parts):
        part = parts[i]
        if part == "properties" and i + 1 < len(parts):
            name = parts[i + 1]
            node = ((node or {}).get("properties") or {}).get(name) if isinstance(node, dict) else None
            out.append(f"“{(node or {}).get('title') or name}”")
            i += 2
            continue
        out.append(FORM_KEY_LABELS.get(part, part))
        node = node.get(part) if isinstance(node, dict) else None
        i += 1
    return " · ".join(out)


def _shown(value):
    return "—" if value in (None, "") else str(value)


@modeller_bp.route("/processes/<process_id>/diff")
@login_required
def diff(process_id):
    policy.require(current_user, "process.diff")
    versions = _versions(process_id)
    old, new, changes = processes.compare(current_user, process_id, *_pair(versions))
    changed = [{**c, "rows": [(key, FIELD_LABELS.get(key, key), _shown(v["old"]), _shown(v["new"]))
                              for key, v in c["fields"].items()]} for c in changes["changed"]]
    forms = changes["forms"]
    form_changes = [{"file": f["file"], "rows": [(key, _form_path_label(key, new.forms.get(f["file"]) or {}),
                                                  _shown(v["old"]), _shown(v["new"]))
                                                 for key, v in f["fields"].items()]} for f in forms["changed"]]
    return render_template("process_diff.html", process_id=process_id, old=old, new=new,
                           versions=[v for v, _, _ in versions], added=changes["added"], removed=changes["removed"],
                           changed=changed, shown_fields=SHOWN_FIELDS, shown=_shown, forms=forms,
                           form_changes=form_changes)


# --- moving open cases to another version -----------------------------------------------------------
@modeller_bp.route("/processes/<process_id>/migration", methods=["GET", "POST"])
@login_required
def migration(process_id):
    policy.require(current_user, "process.migrate" if request.method == "POST" else "process.preview_migration")
    versions = _versions(process_id)
    numbers = [v.version for v, _, _ in versions]
    to = query_number("to") or numbers[0]
    with_open = [v.version for v, n_open, _ in versions if n_open and v.version != to]
    frm = query_number("from") or (with_open[0] if with_open else max([n for n in numbers if n < to], default=to))
    if frm not in numbers or to not in numbers:
        abort(404)
    here = url_for("modeller.migration", process_id=process_id, **{"from": frm, "to": to})
    if request.method == "POST":
        if frm == to:
            flash("请选择两个不同的版本", "error")
            return redirect(here)
        chosen = [int(i) for i in request.form.getlist("case_id")
                  if is_number(i)]
        if not chosen:
            flash("请选择要迁移的案件", "error")
            return redirect(here)
        try:
            moved, kept = cases.migrate_cases(current_user, process_id, frm, to, set(chosen))
        except CaseError as e:
            flash(f"迁移未成功：{e.message}", "error")
            return redirect(here)
        if moved:
            flash(f"已迁移 {len(moved)} 件案件到第 {to} 版：" + "、".join(f"#{i}" for i in moved), "ok")
        if kept:
            stayed = "；".join(f"#{i}（{reason}）" for i, reason in kept)
            flash(f"{len(kept)} 件案件留在第 {frm} 版：{stayed}", "error")
        if not moved and not kept:
            flash("所选案件已不在第 {} 版办理中，没有迁移".format(frm), "error")
        return redirect(here)
    _old, _new, preview = cases.migration_preview(current_user, process_id, frm, to)
    rows = [{"case": case, "movable": movable, "reason": reason,
             "current": [t.name for t in cases.current_tasks(case.id)]} for case, movable, reason in preview]
    return render_template("process_migration.html", process_id=process_id, frm=frm, to=to, rows=rows,
                           versions=versions, name=versions[0][0].name, org_names=orgs.org_names(),
                           movable=sum(1 for r in rows if r["movable"]))
