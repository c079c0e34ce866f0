"""The responsibility list's versions, differences and print, and the accountability review."""
from flask import Response, g
from flask_smorest import abort

from .. import duty_list
from ..timefmt import iso
from . import schemas as s
from .views import blp


def _version_dict(lv):
    return {"version": lv.version, "title": lv.title, "published_at": iso(lv.published_at),
            "published_by": lv.published_by, "effective_date": lv.effective_on, "note": lv.note}


@blp.route("/responsibility-list/versions")
@blp.response(200, s.ListVersionOut(many=True))
def list_versions():
    """Every published version of the responsibility list, newest first."""
    return [_version_dict(v) for v in duty_list.versions()]


@blp.route("/responsibility-list/diff")
@blp.arguments(s.DiffQuery, location="query")
@blp.response(200)
@blp.errors(404, 422)
def list_diff(args):
    """What changed between two versions: ?from=1&to=2 (to defaults to the newest)."""
    new = duty_list.require_version(args.get("to")) if args.get("to") else duty_list.version()
    old = duty_list.require_version(args.get("from_")) if args.get("from_") else None
    if new is None or old is None:
        abort(422, message="请给出 from（和 to）版本号")
    return duty_list.diff(old, new)


@blp.route("/responsibility-list/export.xlsx")
@blp.arguments(s.VersionQuery, location="query")
@blp.alt_response(200, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                  schema=s.BINARY,
                  description="the version as an XLSX sheet")
@blp.errors(404)
def list_xlsx(args):
    """A version of the list as a printable XLSX sheet (?version=n, default the newest)."""
    lv = duty_list.require_version(args.get("version")) if args.get("version") else duty_list.version()
    if lv is None:
        abort(404, message="没有已发布的清单")
    response = Response(duty_list.xlsx(lv),
                        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response.headers["Content-Disposition"] = f"attachment; filename=responsibility-list-v{lv.version}.xlsx"
    return response


@blp.route("/accountability-reviews/report")
@blp.arguments(s.ReportQuery, location="query")
@blp.response(200)
@blp.errors(403, 422)
def accountability_report(args):
    """依单监管问责: the list version in force on the incident date, the item's units, the township's calls
    on it and the proposal (exemption where it called in time) — supervisor."""
    return duty_list.accountability_report(g.user, args["item_code"], args["township"], args["incident_date"])


def _review_dict(r):
    return {"id": r.id, "item_code": r.item_code, "township": r.township, "incident_date": r.incident_date,
            "description": r.description, "report": r.report, "proposal": r.proposal, "decision": r.decision,
            "reason": r.reason, "decided_by": r.decided_by, "decided_at": iso(r.decided_at)}


@blp.route("/accountability-reviews", methods=["POST"])
@blp.arguments(s.ReviewIn)
@blp.response(201, s.ReviewOut)
@blp.errors(403, 422)
def record_review(args):
    """Record the supervisor's decision (exempt or accountable) with the report it rests on."""
    return _review_dict(duty_list.record_review(g.user, args["item_code"], args["township"], args["incident_date"],
                                                args["description"], args["decision"], args["reason"]))


@blp.route("/accountability-reviews")
@blp.response(200, s.ReviewOut(many=True))
@blp.errors(403)
def list_reviews():
    """Decisions on record (supervisor)."""
    return [_review_dict(r) for r in duty_list.reviews(g.user)]
