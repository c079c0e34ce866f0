"""综合指挥 pages: the command view (map, counts, warnings) and the 大屏 for a wall screen, which
refreshes itself from /command/overview.json every 60 s. The figures are app/command.py's."""
from flask import Blueprint, jsonify, render_template, request
from flask_login import current_user, login_required

from .. import command
from ..errors import Invalid

command_bp = Blueprint("command", __name__)
LATENESS = {"on_time": ("按时", "#16a34a"), "warning": ("临期预警", "#d97706"), "overdue": ("已超期", "#dc2626")}


def _page(template):
    period = request.args.get("period", "")
    outlines = command.outlines(current_user)       # asks the policy before the input is read
    try:
        view = command.overview(current_user, period or None)
    except Invalid as e:
        return render_template(template, view=None, error=e.message, outlines=outlines, LATENESS=LATENESS), 400
    return render_template(template, view=view, error=None, outlines=outlines, LATENESS=LATENESS,
                           period=view["period"]["key"])


@command_bp.route("/command")
@login_required
def page():
    return _page("command.html")


@command_bp.route("/command/screen")
@login_required
def screen():
    return _page("command_screen.html")


@command_bp.route("/command/overview.json")
@login_required
def overview_json():
    """The 大屏's refresh: the same overview as the API, for the signed-in browser."""
    return jsonify(command.overview(current_user, request.args.get("period") or None))
