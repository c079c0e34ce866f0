"""The conversation on a case: remarks (留言), the calling township's urges (催办) and its withdrawal (撤回)."""
from flask import g
from flask.views import MethodView

from .. import cases, conversation, orgs
from ..presenters import case_detail
from . import schemas as s
from .views import blp


@blp.route("/cases/<int(max=2147483647):case_id>/comments", endpoint="comments")
class Comments(MethodView):
    """One route for both methods, so that an id out of range is 404 for either (two rules of one
    path would answer 405 for the method of the one tried last)."""

    @blp.arguments(s.PageArgs, location="query")
    @blp.response(200, s.CommentPage)
    def get(self, args, case_id):
        """The remarks on a case, oldest first (whoever may see the case)."""
        rows, total = conversation.comments(g.user, case_id, args["page"], args["per_page"])
        names = orgs.org_names()
        return {"items": [conversation.comment_dict(c, names) for c in rows], "total": total,
                "page": args["page"], "per_page": args["per_page"]}

    @blp.arguments(s.CommentIn)
    @blp.response(201, s.Comment)
    @blp.errors(403, 422)
    def post(self, args, case_id):
        """Leave a remark on a case one takes part in (its township, a dispatched department, the
        centre, the supervisor), optionally about one of its steps (`task_id`)."""
        return conversation.comment_dict(conversation.add_comment(g.user, case_id, args["text"], args.get("task_id")))


@blp.route("/cases/<int(max=2147483647):case_id>/urges")
@blp.response(200, s.UrgeList)
def list_urges(case_id):
    """The calling township's urges on a case, oldest first (whoever may see the case)."""
    items = [conversation.urge_dict(u, targets) for u, targets in conversation.urges(g.user, case_id)]
    return {"items": items, "total": len(items)}


@blp.route("/cases/<int(max=2147483647):case_id>/urge", methods=["POST"])
@blp.arguments(s.UrgeIn)
@blp.response(201, s.Urge)
@blp.errors(403, 409, 422)
def urge_case(args, case_id):
    """催办: the calling township urges the units holding its call now, each at most once per working
    day; 409 when all of them were urged this working day (the message says from when it may urge
    again) or the case is no longer open."""
    urge, targets = conversation.urge_case(g.user, case_id, args["text"])
    return conversation.urge_dict(urge, targets)


@blp.route("/cases/<int(max=2147483647):case_id>/withdraw", methods=["POST"])
@blp.arguments(s.WithdrawIn)
@blp.response(200, s.CaseDetail)
@blp.errors(403, 409, 422)
def withdraw_case(args, case_id):
    """撤回: the calling township withdraws its call before the centre has accepted it (status
    `withdrawn`); 409 once accepted, or when the case is no longer open."""
    case = cases.withdraw_case(g.user, case_id, args["reason"])
    return case_detail(case, [], orgs.org_names())


@blp.route("/cases/<int(max=2147483647):case_id>/redispatch", methods=["POST"])
@blp.arguments(s.RedispatchIn)
@blp.response(200, s.CaseDetail)
@blp.errors(403, 409, 422)
def redispatch_case(args, case_id):
    """改派: the centre corrects the dispatch of a call (new lead and cooperating departments) while
    no department has signed for it; the departments' waiting steps are replaced by new ones.
    409 once a department signed, or before the call was dispatched; 422 when the lead is also
    among the cooperating departments, or a unit is not a department."""
    case = cases.redispatch(g.user, case_id, args["lead_department"], args["co_departments"], args["reason"])
    return case_detail(case, cases.current_tasks(case.id), orgs.org_names())
