"""Analysts' endpoints: upload a process, its versions, what changed, and migrating open cases."""
from flask import g, request
from flask_smorest import abort

from .. import cases, processes
from ..engine import DefinitionError
from ..errors import Invalid
from ..timefmt import iso
from . import schemas as s
from .views import blp


@blp.route("/processes", methods=["POST"])
@blp.doc(requestBody={"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary",
                            "description": ".bpmn, or .zip of .bpmn files with their forms and .dmn files"},
                   "new_version": {"type": "string", "enum": ["true", "false"],
                                   "description": "confirm that a file sharing no element with the newest "
                                                  "version of its process id is its next version"},
                   "roles": {"type": "string", "description": "JSON object mapping Camunda candidate groups "
                                                              "to roles, e.g. {\"accounting\": \"department\"}"}}}}}})
@blp.response(201, s.DeployOut)
@blp.errors(403, 409, 413, 422)
def upload_process():
    """Deploy processes (analyst): multipart `file`, a .bpmn or a .zip of .bpmn files (callers with
    their callees, collaborations of several pools) with their forms and .dmn files."""
    upload = request.files.get("file")
    try:
        deployed, notes = processes.deploy_upload(g.user, upload.filename if upload else None,
                                                  upload.read() if upload else b"",
                                                  new_version=request.form.get("new_version", "").lower() == "true",
                                                  roles=request.form.get("roles"))
    except DefinitionError as e:
        raise Invalid("流程校验未通过，未部署", e.errors) from None
    row, created = deployed[0]
    return {"process_id": row.process_id, "version": row.version, "created": created,
            "deployed_at": iso(row.deployed_at),
            "processes": [{"process_id": r.process_id, "version": r.version, "created": c} for r, c in deployed],
            "report": notes}


@blp.route("/processes/<process_id>/versions")
@blp.response(200, s.VersionOut(many=True))
def process_versions(process_id):
    """Every deployed version of a process with how many cases run on it."""
    rows = processes.versions_of(process_id) if processes.latest_version(process_id) else []
    if not rows:
        abort(404, message=f"没有已部署的流程 {process_id}")
    return [{"version": v.version, "deployed_at": iso(v.deployed_at), "deployed_by": v.deployed_by,
             "checksum": v.checksum, "open_cases": n_open, "cases": n_all} for v, n_open, n_all in rows]


@blp.route("/processes/<process_id>/diff")
@blp.arguments(s.VersionPair, location="query")
@blp.response(200)
@blp.errors(403)
def process_diff(args, process_id):
    """What changed between two versions, element by element (?from=1&to=2; analyst, admin)."""
    return processes.compare(g.user, process_id, args["from_"], args["to"])[2]


@blp.route("/processes/<process_id>/migration")
@blp.arguments(s.VersionPair, location="query")
@blp.response(200)
@blp.errors(403)
def migration_preview(args, process_id):
    """Which open cases of version `from` can move to version `to`, and why the others cannot
    (analyst, admin)."""
    _old, _new, rows = cases.migration_preview(g.user, process_id, args["from_"], args["to"])
    return {"from": args["from_"], "to": args["to"],
            "cases": [{"case_id": c.id, "title": c.title, "movable": ok, "reason": reason} for c, ok, reason in rows]}


@blp.route("/processes/<process_id>/migration", methods=["POST"])
@blp.arguments(s.MigrationIn)
@blp.response(200)
@blp.errors(403, 409, 422)
def migrate(args, process_id):
    """Move the movable open cases (or those listed) to another version (analyst)."""
    moved, kept = cases.migrate_cases(g.user, process_id, args["from_"], args["to"], args.get("case_ids"))
    return {"moved": moved, "kept": [{"case_id": i, "reason": r} for i, r in kept]}
