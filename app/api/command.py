"""The command view (综合指挥, CONTRACT §8): counts by place and category, the map's points, 研判预警."""
from flask import g
from marshmallow import fields

from .. import command
from . import schemas as s
from .views import blp


class OverviewQuery(s.Base):
    period = fields.String(validate=s.PERIOD, metadata={"description": "2026-11 (or a year, 2026), county time; the current month if absent"})


class TownshipCounts(s.Base):
    code, name = fields.String(), fields.String()
    open_events = fields.Integer(metadata={"description": "grid events open now"})
    open_calls = fields.Integer(metadata={"description": "calls open now"})
    overdue = fields.Integer(metadata={"description": "open events and calls past their deadline"})
    closed = fields.Integer(metadata={"description": "events and calls closed in the period"})
    handled_in_township = fields.Integer(metadata={"description": "events raised in the period not called up to the county"})
    called_up = fields.Integer(metadata={"description": "events raised in the period that became a call (乡呼县应)"})


class GridCounts(s.Base):
    code, name, township = fields.String(), fields.String(), fields.String()
    events = fields.Integer(metadata={"description": "events raised in the period"})
    open, overdue, closed = fields.Integer(), fields.Integer(), fields.Integer()
    median_close_hours = fields.Float(allow_none=True, metadata={"description": "of the events closed in the period"})


class CategoryCounts(s.Base):
    code = fields.String(metadata={"description": "a grid category, or list:<item> for a call without one"})
    name = fields.String()
    events, calls = fields.Integer(), fields.Integer()
    previous = fields.Integer(metadata={"description": "events and calls in the previous period of the same length"})
    case_ids = fields.List(fields.Integer())


class PlatformCounts(s.Base):
    kind, name = fields.String(), fields.String()
    events, open = fields.Integer(), fields.Integer()


class Point(s.Base):
    case_id = fields.Integer()
    kind = fields.String(metadata={"description": "event or call"})
    title = fields.String()
    lat, lng = fields.Float(), fields.Float()
    lateness = fields.String(metadata={"description": "on_time, warning (past a task's warn_at) or overdue"})
    due_at = fields.String(allow_none=True)
    openable = fields.Boolean(metadata={"description": "whether the user may open the case"})


class Warning(s.Base):
    kind = fields.String(metadata={"description": "rising_category, repeated_place, overdue_grid or inaction"})
    text = fields.String(metadata={"description": "in Chinese"})
    case_ids = fields.List(fields.Integer())
    openable = fields.List(fields.Integer(), metadata={"description": "those of case_ids the user may open"})


class Totals(s.Base):
    open_events, open_calls, overdue, warning = fields.Integer(), fields.Integer(), fields.Integer(), fields.Integer()
    closed, raised = fields.Integer(), fields.Integer()


class OverviewPeriod(s.Base):
    key, label = fields.String(), fields.String()
    from_ = fields.String(data_key="from")
    to = fields.String()


class Overview(s.Base):
    period = fields.Nested(OverviewPeriod)
    township = fields.String(allow_none=True, metadata={"description": "the township shown, null for the county"})
    generated_at = fields.String()
    totals = fields.Nested(Totals)
    by_township = fields.List(fields.Nested(TownshipCounts))
    by_grid = fields.List(fields.Nested(GridCounts))
    by_category = fields.List(fields.Nested(CategoryCounts))
    by_platform = fields.List(fields.Nested(PlatformCounts))
    points = fields.List(fields.Nested(Point), metadata={"description": "open events and calls with a location, at most points_limit"})
    points_limit = fields.Integer()
    points_total = fields.Integer(metadata={"description": "how many there are; more than points_limit are not sent"})
    warnings = fields.List(fields.Nested(Warning))


@blp.route("/command/overview")
@blp.arguments(OverviewQuery, location="query")
@blp.response(200, Overview)
@blp.errors(403, 422)
def command_overview(args):
    """综合指挥: counts by township, grid, category and platform, the open cases on the map coloured by
    lateness, and the warnings with their cases (leaders, centre, supervisor; a township its own)."""
    return command.overview(g.user, args.get("period"))
