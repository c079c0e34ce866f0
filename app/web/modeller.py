"""Browser pages of the process analysts (流程): the deployed processes with their versions, the
bpmn.io modeller that deploys a new version, the differences between two versions drawn side by
side, and moving open cases to another version.

Session-authenticated (flask_login), for analysts (admins may compare versions and preview a
migration); CSRF on every form and on the modeller's JSON deploy (Flask-WTF reads the X-CSRFToken
header). The same domain functions as the JSON API in app/api/processes.py. A page that reads its
query before the domain is asked asks the policy first, so that a refusal never depends on the input."""
from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from .. import cases, orgs, policy, processes
from ..engine import DefinitionError
from ..engine.definitions import CASE_STATUSES, ESCALATIONS
from .forms import is_number, query_number
from ..errors import CaseError
from ..roles import ROLES
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
    folder = processes.project_dir("forms")
    on_disk = {p.name for p in folder.glob("*.json")} if folder.is_dir() else set()
    return sorted(on_disk | set((newest.forms or {}).keys()))


@modeller_bp.route("/processes/<process_id>/model")
@login_required
def model(process_id):
    policy.require(current_user, "process.deploy")
    newest = processes.latest_version(process_id)
    if newest is None:
        abort(404)
    options = {
        "roles": [[code, name] for code, name in ROLES.items()],
        "caseStatus": [[code, STATUS_LABELS.get(code, code)] for code in sorted(CASE_STATUSES)],
        "escalation": [[code, label] for code, label in ESCALATIONS.items()],
    }
    return render_template("modeller.html", newest=newest, forms=_form_files(newest), options=options)


def _refused(errors, status=422):
    return jsonify({"error": "invalid", "message": "流程校验未通过，未部署", "errors": errors}), status


@modeller_bp.route("/processes/<process_id>/deploy", methods=["POST"])
@login_required
def deploy(process_id):
    """The modeller's 部署: {"bpmn": xml} -> 201 {process_id, version, created} or 422 {errors}."""
    body = request.get_json(silent=True)
    try:
        row, created = processes.deploy_model(current_user, process_id,
                                              body.get("bpmn") if isinstance(body, dict) else None)
    except DefinitionError as e:
        return _refused(e.errors)
    except CaseError as e:          # refused, or no such process: JSON for the modeller's script
        return jsonify({"error": e.code, "message": e.message}), e.status
    return jsonify({"process_id": row.process_id, "version": row.version, "created": created}), \
        (201 if created else 200)


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
    return render_template("process_diff.html", process_id=process_id, old=old, new=new,
                           versions=[v for v, _, _ in versions], added=changes["added"], removed=changes["removed"],
                           changed=changed, shown_fields=SHOWN_FIELDS, shown=_shown)


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
