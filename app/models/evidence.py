"""Files on cases (evidence): the attachment rows, and the chunked blobs of the database storage."""
from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UTCDateTime, utcnow


class Attachment(db.Model):
    """One file given on a case, optionally about one of its steps. The bytes are in the storage
    (app/storage.py) under `sha256`, as recorded on the audit trail when it was added."""
    __tablename__ = "attachments"
    __table_args__ = (Index("ix_attachments_case", "case_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    task_id: Mapped[str | None] = mapped_column(ForeignKey("tasks.id"))
    name: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(100))   # as found in the bytes, not as the client said
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    thumbnail_sha256: Mapped[str | None] = mapped_column(String(64))   # images: a JPEG made once on upload
    note: Mapped[str | None] = mapped_column(Text)
    uploaded_by: Mapped[str] = mapped_column(String(50))
    uploaded_org: Mapped[str | None] = mapped_column(String(20))
    uploaded_at = mapped_column(UTCDateTime, default=utcnow)


class Blob(db.Model):
    """A stored content of the database storage: present once all its chunks are."""
    __tablename__ = "blobs"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    created_at = mapped_column(UTCDateTime, default=utcnow)


class BlobChunk(db.Model):
    __tablename__ = "blob_chunks"
    sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256"), primary_key=True)
    seq: Mapped[int] = mapped_column(primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
