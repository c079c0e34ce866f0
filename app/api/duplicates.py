"""Duplicates (CONTRACT §8): the likely duplicates of a case, merging one into another, keeping a pair apart."""
from flask import g
from marshmallow import fields

from .. import cases, duplicates, orgs
from ..presenters import case_detail
from . import schemas as s
from .views import blp


class Similar(s.Base):
    case_id = fields.Integer()
    score = fields.Float(metadata={"description": "0..1, likelier the same matter the higher"})
    distance_m = fields.Float(allow_none=True, metadata={"description": "metres apart, when both have a location"})
    reason = fields.String(metadata={"description": "why, in Chinese: 同类事件，相距 35 米，2 小时前上报"})
    title = fields.String()
    created_at = fields.String()


class SimilarList(s.Base):
    items = fields.List(fields.Nested(Similar))


class MergeIn(s.Base):
    into = fields.Integer(required=True, strict=True, metadata={"description": "the open case to merge into"})


class DismissIn(s.Base):
    other = fields.Integer(required=True, strict=True, metadata={"description": "the case to keep apart from"})


@blp.route("/cases/<int(max=2147483647):case_id>/similar")
@blp.response(200, SimilarList)
def similar_cases(case_id):
    """The open cases likely the same matter (same category or list item, near in place and time),
    best first (whoever may see the case)."""
    return duplicates.similar_cases(g.user, case_id)


@blp.route("/cases/<int(max=2147483647):case_id>/merge", methods=["POST"])
@blp.arguments(MergeIn)
@blp.response(200, s.CaseDetail)
@blp.errors(403, 409, 422)
def merge_case(args, case_id):
    """合并: the case becomes `merged`, pointing to `into` (the township's platform for its events, the
    centre for calls); its files and reporter are carried over. 409 when either is no longer open,
    they are of different kinds or townships, or `into` is the case itself."""
    case = duplicates.merge_case(g.user, case_id, args["into"])
    return case_detail(case, cases.current_tasks(case.id), orgs.org_names())


@blp.route("/cases/<int(max=2147483647):case_id>/keep-apart", methods=["POST"])
@blp.arguments(DismissIn)
@blp.response(200, SimilarList)
@blp.errors(403, 422)
def dismiss_duplicate(args, case_id):
    """保持独立: the two cases are different matters; the pair is no longer offered. Answers the
    case's remaining likely duplicates."""
    duplicates.dismiss(g.user, case_id, args["other"])
    return duplicates.similar_cases(g.user, case_id)
