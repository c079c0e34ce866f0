"""Files on cases (CONTRACT §6): upload, list, download, thumbnail."""
from flask import g, request
from flask.views import MethodView

from .. import evidence
from ..security import serves_files
from . import schemas as s
from .views import blp


@blp.route("/cases/<int(max=2147483647):case_id>/attachments", endpoint="attachments")
class CaseAttachments(MethodView):
    """One route for both methods, so that a case id out of range is not found (404) for either."""

    @blp.response(200, s.AttachmentPage)
    def get(self, case_id):
        """The files of a case one may see, in the order given."""
        rows = evidence.of_case(g.user, case_id)
        return {"items": [evidence.to_dict(r) for r in rows], "total": len(rows)}

    @blp.doc(requestBody=s.UPLOAD_FORM)
    @blp.response(201, s.AttachmentOut)
    @blp.errors(403, 409, 413, 422)
    def post(self, case_id):
        """Attach a file to a case one takes part in: multipart `file` (optional `task_id`, the step it is
        about — one's own unit's —, and `note`). Its type is checked by its bytes (422 when they are not an
        allowed type or not the type its name claims), its size while it is read (413)."""
        evidence.may_add(g.user, case_id)          # refused before the body is read
        upload = request.files.get("file")
        rows = evidence.add_files(g.user, case_id, [upload] if upload and upload.filename else [],
                                  task_id=request.form.get("task_id") or None,
                                  note=request.form.get("note") or None)
        return evidence.to_dict(rows[0])


DOWNLOAD = {"Content-Disposition": {"description": "inline for JPEG/PNG/WebP images, attachment otherwise; "
                                                   "the name as given (RFC 5987 filename*)",
                                    "schema": {"type": "string"}}}


@blp.route("/attachments/<int(max=2147483647):attachment_id>")
@serves_files
@blp.alt_response(200, content_type="application/octet-stream", schema=s.BINARY, headers=DOWNLOAD,
                  description="the bytes as uploaded, with the Content-Type found in them")
def download_attachment(attachment_id):
    """A file's bytes, for anyone who may see its case."""
    row, stream = evidence.content(g.user, attachment_id)
    return evidence.response(row, stream)


@blp.route("/attachments/<int(max=2147483647):attachment_id>/thumbnail")
@serves_files
@blp.alt_response(200, content_type="image/jpeg", schema=s.BINARY, description="a JPEG thumbnail of an image")
def attachment_thumbnail(attachment_id):
    """An image's thumbnail (made once when it was given); 404 for a file that is not an image."""
    row, stream = evidence.content(g.user, attachment_id, thumbnail=True)
    return evidence.response(row, stream, thumbnail=True)
