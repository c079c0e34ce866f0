"""Evidence: the photos, videos and documents given on a case, and proof that they are still those.

A file is checked before anything is written for it (`stage`): its size against UPLOAD_MAX_BYTES
while it is read, its type by its bytes (filetype for images, PDF and video; zipfile for the
OOXML documents; olefile for the OLE compound files of Office 97–2003 and WPS), which must be
one of UPLOAD_TYPES and the type its name claims. Its bytes then go to the storage
(app/storage.py), an image's thumbnail with them (made once, with Pillow). Only then is it
attached (`attach`), in the transaction of the change it belongs to: the call that raises the
case, the reply that completes a task, or an upload of its own — with an `attachment_added` event
carrying its SHA-256, size, type, uploader and time, so the trail proves what was given.

`verify` re-hashes a case's files against those SHA-256 (the dossier, `flask huying check`).
Who may: `case.take_part` to add, `case.read` to see and download (app/policy.py).
"""
import io
import re
import tempfile
import unicodedata
from urllib.parse import quote
import warnings
import zipfile
from dataclasses import dataclass

import filetype
import olefile
from flask import current_app, send_file
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import func, select

from . import audit, policy
from .database import lock_case, write_transaction
from .errors import Conflict, Forbidden, Invalid, NotFound
from .extensions import db
from .models import Attachment, Case, Task
from .storage import sha256_of, storage
from .timefmt import iso

try:                                    # HEIC/HEIF photos (iPhones) readable by Pillow
    from pillow_heif import register_heif_opener
    register_heif_opener()
except ImportError:                     # pragma: no cover - the thumbnails of HEIC photos are then skipped
    pass


class FileRefused(Invalid):
    """A file refused for what it is (422): not an allowed type, not its name's type, unreadable, empty."""


class TooLarge(FileRefused):
    status, code = 413, "too_large"


# extension: (family the bytes must show, content type served, label)
TYPES = {
    "jpg": ("jpeg", "image/jpeg", "图片"), "jpeg": ("jpeg", "image/jpeg", "图片"),
    "png": ("png", "image/png", "图片"), "webp": ("webp", "image/webp", "图片"),
    "heic": ("heif", "image/heic", "图片"), "heif": ("heif", "image/heif", "图片"),
    "pdf": ("pdf", "application/pdf", "PDF 文档"),
    "mp4": ("mp4", "video/mp4", "视频"), "mov": ("mov", "video/quicktime", "视频"),
    "docx": ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "Word 文档"),
    "xlsx": ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Excel 表格"),
    "pptx": ("pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation", "PowerPoint 演示"),
    "doc": ("ole-word", "application/msword", "Word 文档"),
    "xls": ("ole-sheet", "application/vnd.ms-excel", "Excel 表格"),
    "ppt": ("ole-slides", "application/vnd.ms-powerpoint", "PowerPoint 演示"),
    "wps": ("ole-word", "application/vnd.ms-works", "WPS 文字"),
    "et": ("ole-sheet", "application/vnd.ms-excel", "WPS 表格"),
    "dps": ("ole-slides", "application/vnd.ms-powerpoint", "WPS 演示"),
}
DEFAULT_TYPES = ",".join(TYPES)
# what filetype calls the families it finds
FILETYPE_FAMILIES = {"jpg": "jpeg", "png": "png", "webp": "webp", "heic": "heif", "avif": None, "pdf": "pdf",
                     "mp4": "mp4", "m4v": "mp4", "mov": "mov"}
SHOWN_INLINE = {"image/jpeg", "image/png", "image/webp"}     # what a browser shows itself; the rest downloads
OOXML_PARTS = {"docx": "word/document.xml", "xlsx": "xl/workbook.xml", "pptx": "ppt/presentation.xml"}
OLE_STREAMS = {"ole-word": (["WordDocument"],), "ole-sheet": (["Workbook"], ["Book"]),
               "ole-slides": (["PowerPoint Document"],)}
THUMBNAIL_SIZE = (480, 480)


@dataclass
class Staged:
    """A file checked and stored, not yet attached to anything."""
    name: str
    size: int
    content_type: str
    sha256: str
    thumbnail_sha256: str | None


# --- limits --------------------------------------------------------------------------------------
def max_bytes():
    return int(current_app.config["UPLOAD_MAX_BYTES"])


def allowed_extensions():
    configured = current_app.config.get("UPLOAD_TYPES") or DEFAULT_TYPES
    return [e.strip().lower().lstrip(".") for e in configured.split(",") if e.strip().lower().lstrip(".") in TYPES]


def accept_attribute():
    """The file inputs' accept= (a hint to the browser's picker; the server checks the bytes)."""
    return ",".join("." + e for e in allowed_extensions())


def upload_settings():
    """What the pages' file inputs say and check before sending (the server checks again)."""
    return {"accept": accept_attribute(), "max_bytes": max_bytes(), "max_size": human_size(max_bytes()),
            "max_request_bytes": int(current_app.config["UPLOAD_MAX_REQUEST_BYTES"]),
            "max_request_size": human_size(int(current_app.config["UPLOAD_MAX_REQUEST_BYTES"])),
            "types": "、".join(sorted({TYPES[e][2] for e in allowed_extensions()}))}


def human_size(n):
    if n is None:
        return ""
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


# --- checking a file ------------------------------------------------------------------------------
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')


def safe_name(name):
    """The file's own name, without any path, control or reserved characters, at most 200 characters
    (keeping the extension)."""
    name = unicodedata.normalize("NFC", str(name or "")).replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", name).strip(" .")
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = (stem[:190] + dot + ext[:9]) if dot and len(ext) <= 9 else name[:200]
    return name or "file"


def _family_of(head, spool):
    """The family the bytes show, as TYPES names them, or None when they are none of those."""
    kind = filetype.guess(head)
    if kind is not None and kind.extension in FILETYPE_FAMILIES:
        return FILETYPE_FAMILIES[kind.extension]
    if head[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(spool) as z:
                names = set(z.namelist())
        except (zipfile.BadZipFile, OSError, ValueError):
            return None
        if "[Content_Types].xml" in names:
            for ext, part in OOXML_PARTS.items():
                if part in names:
                    return ext
        return None
    if head[:8] == olefile.MAGIC:
        try:
            with olefile.OleFileIO(spool) as ole:
                for family, alternatives in OLE_STREAMS.items():
                    if any(ole.exists("/".join(path)) for path in alternatives):
                        return family
        except (OSError, ValueError, IndexError, TypeError):
            return None
        return "ole"
    return None


def check_type(name, spool):
    """The content type a file is served with: its bytes must be of an allowed type, and of the type
    its name's extension claims. Invalid (422) otherwise, with the reason in Chinese."""
    ext = name.rpartition(".")[2].lower() if "." in name else ""
    allowed = allowed_extensions()
    if ext not in allowed:
        shown = "、".join(allowed)
        raise FileRefused(f"不支持的文件类型“{('.' + ext) if ext else '无扩展名'}”（{name}）：只接受 {shown}")
    spool.seek(0)
    head = spool.read(8192)
    spool.seek(0)
    family = _family_of(head, spool)
    spool.seek(0)
    expected, content_type, label = TYPES[ext]
    if family is None:
        raise FileRefused(f"“{name}”的内容不是可接受的文件类型（按文件内容识别，不看扩展名）")
    if family != expected:
        raise FileRefused(f"“{name}”的内容与其扩展名不符：扩展名为 .{ext}（{label}），内容却不是")
    return content_type


def _thumbnail(name, spool):
    """A JPEG thumbnail of an image, its EXIF orientation applied; Invalid when the image cannot be
    read or is bigger than UPLOAD_MAX_PIXELS (a decompression bomb is refused before it is decoded)."""
    limit = int(current_app.config["UPLOAD_MAX_PIXELS"])
    spool.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(spool) as img:
                width, height = img.size
                if width * height > limit:
                    raise FileRefused(f"“{name}”的像素过多（{width}×{height}），上限为 {limit // 1_000_000} 百万像素")
                img.draft("RGB", THUMBNAIL_SIZE)
                img = ImageOps.exif_transpose(img)
                img.thumbnail(THUMBNAIL_SIZE)
                out = io.BytesIO()
                img.convert("RGB").save(out, "JPEG", quality=82)
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning, OSError,
            ValueError, SyntaxError) as e:
        raise FileRefused(f"“{name}”无法作为图片读取") from e
    finally:
        spool.seek(0)
    out.seek(0)
    return out


class _Counted:
    """A stream that refuses to give more than `limit` bytes (TooLarge), for files sent without a size."""

    def __init__(self, stream, limit, name):
        self.stream, self.limit, self.name, self.seen = stream, limit, name, 0

    def read(self, n=-1):
        block = self.stream.read(n)
        self.seen += len(block)
        if self.seen > self.limit:
            raise TooLarge(f"“{self.name}”超过单个文件上限 {human_size(self.limit)}")
        return block


def stage(uploads):
    """Check and store files given as werkzeug FileStorage (or (name, binary stream) pairs); returns
    [Staged]. Every file is checked before any is stored; nothing is attached yet. A refusal
    (FileRefused 422, TooLarge 413) names the file."""
    checked, limit = [], max_bytes()
    try:
        for upload in uploads:
            name, stream = (upload if isinstance(upload, tuple) else (upload.filename, upload.stream))
            name = safe_name(name)
            spool = _spooled(stream, limit, name)
            checked.append((name, spool))
            if not spool.read(1):
                raise FileRefused(f"“{name}”是空文件")
            content_type = check_type(name, spool)
            thumb = _thumbnail(name, spool) if content_type.startswith("image/") else None
            checked[-1] = (name, spool, content_type, thumb)
        staged = []
        for name, spool, content_type, thumb in checked:
            spool.seek(0)
            sha256, size = storage().put(spool)
            thumb_sha = storage().put(thumb)[0] if thumb is not None else None
            staged.append(Staged(name, size, content_type, sha256, thumb_sha))
        return staged
    finally:
        for entry in checked:
            entry[1].close()


def _spooled(stream, limit, name):
    """The upload as a seekable file of our own, read at most `limit` bytes (TooLarge beyond)."""
    spool = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)
    source = _Counted(stream, limit, name)
    try:
        while block := source.read(256 * 1024):
            spool.write(block)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool


def uploads_of(files, *fields):
    """The non-empty files of a request's form fields (browsers send an empty part for an unused input)."""
    return [f for field in fields for f in files.getlist(field) if f and f.filename]


# --- attaching ------------------------------------------------------------------------------------
def _count_limit():
    return int(current_app.config["UPLOAD_MAX_FILES_PER_CASE"])


def _check_task(user, case, task_id):
    """The task a file is about: a task of the case, addressed to the user's unit (a department
    attaches to its own reply)."""
    if task_id in (None, ""):
        return None
    task = db.session.get(Task, str(task_id)[:36])
    if task is None or task.case_id != case.id:
        raise Invalid("task_id 不是此案件的环节", {"task_id": "不是此案件的环节"})
    from .scope import addressed_to
    if not addressed_to(user, task):
        raise Forbidden("只能把文件附在本单位办理的环节上")
    return task


def attach(user, case, staged, task=None, note=None):
    """Attach staged files to a case locked by the caller, in the caller's transaction; each on record."""
    if not staged:
        return []
    if case.status != "open":
        raise Conflict("案件已结束，不能再添加文件")
    present = db.session.execute(select(func.count()).select_from(Attachment)
                                 .where(Attachment.case_id == case.id)).scalar()
    if present + len(staged) > _count_limit():
        raise Conflict(f"每个案件最多 {_count_limit()} 个文件，本案已有 {present} 个")
    rows = []
    for s in staged:
        row = Attachment(case_id=case.id, task_id=task.id if task is not None else None, name=s.name, size=s.size,
                         content_type=s.content_type, sha256=s.sha256, thumbnail_sha256=s.thumbnail_sha256,
                         note=(note or None), uploaded_by=user.username, uploaded_org=user.org_code)
        db.session.add(row)
        db.session.flush()
        audit.record("attachment_added", user.username, case.id, task=task, org_code=user.org_code, detail=s.name,
                     after={"attachment_id": row.id, "name": s.name, "sha256": s.sha256, "size": s.size,
                            "content_type": s.content_type, "uploaded_by": user.username,
                            "uploaded_at": iso(row.uploaded_at)})
        rows.append(row)
    return rows


def carry_over(user, source, target, note):
    """Attach the files of `source` to `target` (both locked or new in the caller's transaction): the
    same stored blobs, no copy of the bytes, each on the target's trail with its SHA-256 and where it
    came from, as a merge of duplicates or a call raised from a grid event needs. Returns how many."""
    moved = 0
    for f in db.session.execute(select(Attachment).where(Attachment.case_id == source.id)
                                .order_by(Attachment.id)).scalars().all():
        row = Attachment(case_id=target.id, name=f.name, size=f.size, content_type=f.content_type, sha256=f.sha256,
                         thumbnail_sha256=f.thumbnail_sha256, note=note, uploaded_by=f.uploaded_by,
                         uploaded_org=f.uploaded_org, uploaded_at=f.uploaded_at)
        db.session.add(row)
        db.session.flush()
        audit.record("attachment_added", user.username, target.id, org_code=user.org_code, detail=f.name,
                     after={"attachment_id": row.id, "name": f.name, "sha256": f.sha256, "size": f.size,
                            "content_type": f.content_type, "uploaded_by": f.uploaded_by,
                            "uploaded_at": iso(f.uploaded_at), "from_case": source.id})
        moved += 1
    return moved


def _case_for(user, case_id, capability):
    case = db.session.get(Case, case_id)
    if case is None:
        raise NotFound("案件不存在或无权查看")
    policy.require(user, capability, case=case)
    return case


def may_add(user, case_id):
    """Raise unless `user` may add files to the case (asked before the request's files are read)."""
    _case_for(user, case_id, "case.take_part")


def add_files(user, case_id, uploads, task_id=None, note=None):
    """Files given on a case of their own (not with a call or a reply): checked, stored, attached."""
    case = _case_for(user, case_id, "case.take_part")
    if note is not None and len(note) > 2000:
        raise Invalid("说明过长（至多 2000 字）", {"note": "至多 2000 字"})
    if not uploads:
        raise Invalid("请选择要上传的文件", {"file": "缺少文件"})
    _check_task(user, case, task_id)
    if case.status != "open":
        raise Conflict("案件已结束，不能再添加文件")
    staged = stage(uploads)
    with write_transaction():
        case = lock_case(case_id)
        policy.require(user, "case.take_part", case=case)
        task = _check_task(user, case, task_id)
        return attach(user, case, staged, task=task, note=note)


# --- reading --------------------------------------------------------------------------------------
def of_case(user, case_id):
    """The files of a case `user` may see, in the order given."""
    _case_for(user, case_id, "case.read")
    return files_of(case_id)


def files_of(case_id):
    return db.session.execute(select(Attachment).where(Attachment.case_id == case_id)
                              .order_by(Attachment.id)).scalars().all()


def get(user, attachment_id):
    """An attachment whose case `user` may see (else not found, as the case)."""
    row = db.session.get(Attachment, attachment_id)
    if row is None:
        raise NotFound("文件不存在或无权查看")
    try:
        _case_for(user, row.case_id, "case.read")
    except NotFound:
        raise NotFound("文件不存在或无权查看") from None
    return row


def content(user, attachment_id, thumbnail=False):
    """(attachment, open binary stream) of a file, or of its thumbnail, for `user`."""
    row = get(user, attachment_id)
    sha = row.thumbnail_sha256 if thumbnail else row.sha256
    if sha is None:
        raise NotFound("此文件没有缩略图")
    try:
        return row, storage().open(sha)
    except FileNotFoundError:
        raise NotFound("文件的内容在存储中找不到（请联系管理员，运行 flask huying check）") from None


def content_disposition(disposition, name, attachment_id):
    """`inline|attachment; filename="…"` with an ASCII stand-in for a name that is not ASCII, and the
    name itself as RFC 5987 `filename*` (safe_name already took out quotes, slashes and controls)."""
    if name.isascii():
        return f'{disposition}; filename="{name}"'
    ext = name.rpartition(".")[2] if "." in name else ""
    stand_in = f"file-{attachment_id}" + (f".{ext}" if ext.isascii() and ext.isalnum() else "")
    return f"{disposition}; filename=\"{stand_in}\"; filename*=UTF-8''{quote(name, safe='')}"


def response(row, stream, thumbnail=False):
    """The HTTP answer of a file's bytes (or its thumbnail): the type found in them, the name as given
    (RFC 5987 for Chinese), shown inline only when it is an image a browser shows, else downloaded.
    The view adds the sandboxing policy (security.serves_files); nosniff is on every answer."""
    if thumbnail:
        name, mimetype, disposition = (row.name.rpartition(".")[0] or row.name) + "-缩略图.jpg", "image/jpeg", "inline"
    else:
        name, mimetype = row.name, row.content_type
        disposition = "inline" if row.content_type in SHOWN_INLINE else "attachment"
    answer = send_file(stream, mimetype=mimetype, conditional=False, etag=False, max_age=0)
    if not thumbnail:
        answer.content_length = row.size
        answer.headers["X-Content-SHA256"] = row.sha256
    answer.headers["Content-Disposition"] = content_disposition(disposition, name, row.id)
    answer.headers["Cache-Control"] = "private, no-cache"
    return answer


def to_dict(row):
    return {"id": row.id, "case_id": row.case_id, "task_id": row.task_id, "name": row.name, "size": row.size,
            "content_type": row.content_type, "sha256": row.sha256, "note": row.note,
            "uploaded_by": row.uploaded_by, "uploaded_org": row.uploaded_org, "uploaded_at": iso(row.uploaded_at),
            "thumbnail": row.thumbnail_sha256 is not None}


def by_step(rows, tasks, org_names):
    """[(label, [attachment])]: a case's files grouped by the step they are about, in the order given;
    files about no step (with the call, or added later) under 呼叫及补充材料."""
    names = {t.id: f"{t.name} · {org_names.get(t.org_code, t.org_code or '')}".rstrip(" ·") for t in tasks}
    groups = {}
    for row in rows:
        groups.setdefault(names.get(row.task_id, "呼叫及补充材料") if row.task_id else "呼叫及补充材料", []).append(row)
    return list(groups.items())


def is_image(row):
    return row.content_type in SHOWN_INLINE


def label_of(row):
    ext = row.name.rpartition(".")[2].lower()
    return TYPES.get(ext, (None, None, "文件"))[2]


# --- proof ------------------------------------------------------------------------------------------
def verify(case_id):
    """[(attachment, problem or None)] for a case's files: each one re-hashed from the storage and
    compared with the SHA-256 recorded when it was given (and on the audit trail)."""
    out = []
    recorded = {e.after.get("attachment_id"): e.after.get("sha256")
                for e in audit.events_of(case_id) if e.action == "attachment_added" and e.after}
    for row in files_of(case_id):
        now = sha256_of(row.sha256)
        if now is None:
            problem = "存储中找不到文件的内容"
        elif now != row.sha256:
            problem = f"文件内容已被改动：现 SHA-256 {now}，登记为 {row.sha256}"
        elif recorded.get(row.id) not in (None, row.sha256):
            problem = f"登记的 SHA-256 与留痕中的 {recorded[row.id]} 不符"
        elif row.id not in recorded:
            problem = "留痕中没有此文件的添加记录"
        else:
            problem = None
        out.append((row, problem))
    return out


def cases_with_files(batch=500):
    """The ids of every case that has files, in order."""
    last = 0
    while True:
        ids = db.session.execute(select(Attachment.case_id).where(Attachment.case_id > last).distinct()
                                 .order_by(Attachment.case_id).limit(batch)).scalars().all()
        yield from ids
        if len(ids) < batch:
            return
        last = ids[-1]
