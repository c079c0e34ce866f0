"""The browser's side of evidence: a case page's uploads and the files' bytes for the session."""
from flask import flash, redirect, request, url_for
from flask_login import current_user, login_required

from .. import evidence
from ..errors import CaseError
from ..security import serves_files
from . import web_bp


@web_bp.route("/attachments/<int(max=2147483647):attachment_id>")
@serves_files
@login_required
def attachment_file(attachment_id):
    row, stream = evidence.content(current_user, attachment_id)
    return evidence.response(row, stream)


@web_bp.route("/attachments/<int(max=2147483647):attachment_id>/thumbnail")
@serves_files
@login_required
def attachment_thumbnail(attachment_id):
    row, stream = evidence.content(current_user, attachment_id, thumbnail=True)
    return evidence.response(row, stream, thumbnail=True)


@web_bp.route("/cases/<int(max=2147483647):case_id>/attachments", methods=["POST"])
@login_required
def add_attachments(case_id):
    """补充材料: files added on the case page by anyone taking part; a refused file is named on the page."""
    evidence.may_add(current_user, case_id)
    try:
        rows = evidence.add_files(current_user, case_id, evidence.uploads_of(request.files, "files", "photos"),
                                  task_id=request.form.get("task_id") or None,
                                  note=(request.form.get("note") or "").strip() or None)
    except CaseError as e:
        flash(e.message, "error")
    else:
        flash(f"已添加 {len(rows)} 个文件", "ok")
    return redirect(url_for("web.case_page", case_id=case_id, _anchor="evidence"))
