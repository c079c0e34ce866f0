"""Where the bytes of uploaded files live, behind one small interface, content-addressed by SHA-256.

    put(stream) -> (sha256, size)   store the bytes (once: the same content is kept once)
    open(sha256) -> binary file      read them back, streamed
    exists(sha256) -> bool

`HUYING_STORAGE` chooses the backend:
- unset or `instance`: a directory under instance/ (`files/`), or any directory given as a path
  (`/srv/huying/files`) — one file per content under ab/cd/<sha256>, written to a temporary file
  in the same directory tree and moved into place with os.replace, never overwritten, read-only.
- `database`: the app's own database, in chunks of CHUNK_SIZE bytes (tables `blobs`, `blob_chunks`),
  so every app process on every machine that shares the database shares the files, and a backup of
  the database holds them. Same code on SQLite and PostgreSQL; reads and writes go chunk by chunk.

Nothing here decides who may read what: app/evidence.py asks the policy first.
"""
import hashlib
import io
import os
import shutil
import tempfile

from flask import current_app
from sqlalchemy import exists as sql_exists
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from .extensions import db
from .models.types import utcnow

CHUNK_SIZE = 1024 * 1024
COPY_BUFFER = 256 * 1024


def _hashed_copy(stream, out):
    """Copy `stream` to `out`, returning (sha256 hex, size)."""
    digest, size = hashlib.sha256(), 0
    while True:
        block = stream.read(COPY_BUFFER)
        if not block:
            break
        digest.update(block)
        size += len(block)
        out.write(block)
    return digest.hexdigest(), size


def _valid(sha256):
    return isinstance(sha256, str) and len(sha256) == 64 and all(c in "0123456789abcdef" for c in sha256)


class DirectoryStorage:
    """Files in a directory, one per content."""

    def __init__(self, root):
        self.root = os.path.abspath(root)

    def path(self, sha256):
        if not _valid(sha256):
            raise KeyError(sha256)
        return os.path.join(self.root, sha256[:2], sha256[2:4], sha256)

    def put(self, stream):
        tmp_dir = os.path.join(self.root, "tmp")
        os.makedirs(tmp_dir, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=tmp_dir)
        try:
            with os.fdopen(fd, "wb") as out:
                sha256, size = _hashed_copy(stream, out)
                out.flush()
                os.fsync(out.fileno())
            target = self.path(sha256)
            if not os.path.exists(target):         # the same content is already there: keep that one
                os.makedirs(os.path.dirname(target), exist_ok=True)
                os.chmod(tmp, 0o444)
                os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return sha256, size

    def open(self, sha256):
        try:
            return open(self.path(sha256), "rb")
        except (FileNotFoundError, KeyError):
            raise FileNotFoundError(sha256) from None

    def exists(self, sha256):
        return _valid(sha256) and os.path.exists(self.path(sha256))


class _ChunkReader(io.RawIOBase):
    """A blob's chunks, fetched one at a time on a connection of their own (a response streams
    them after the request's session is gone)."""

    def __init__(self, engine, sha256):
        from .models.evidence import BlobChunk
        self.engine, self.sha256, self.seq, self.buffer = engine, sha256, 0, b""
        self._chunk = BlobChunk

    def readable(self):
        return True

    def readinto(self, b):
        if not self.buffer:
            with self.engine.connect() as conn:
                data = conn.execute(select(self._chunk.data).where(self._chunk.sha256 == self.sha256,
                                                                   self._chunk.seq == self.seq)).scalar()
            if data is None:
                return 0
            self.buffer, self.seq = bytes(data), self.seq + 1
        n = min(len(b), len(self.buffer))
        b[:n], self.buffer = self.buffer[:n], self.buffer[n:]
        return n


class DatabaseStorage:
    """Files in the database, in chunks: shared by every app process that shares the database."""

    def __init__(self, engine):
        self.engine = engine

    def put(self, stream):
        from .models.evidence import Blob, BlobChunk
        with tempfile.TemporaryFile() as spool:     # the key (its hash) is known only at the end
            sha256, size = _hashed_copy(stream, spool)
            if self.exists(sha256):
                return sha256, size
            spool.seek(0)
            try:
                with self.engine.begin() as conn:    # the blob and all its chunks, or nothing
                    conn.execute(insert(Blob).values(sha256=sha256, size=size, created_at=utcnow()))
                    seq = 0
                    while chunk := spool.read(CHUNK_SIZE):
                        conn.execute(insert(BlobChunk).values(sha256=sha256, seq=seq, data=chunk))
                        seq += 1
            except IntegrityError:                   # another process stored the same content first
                pass
        return sha256, size

    def open(self, sha256):
        if not self.exists(sha256):
            raise FileNotFoundError(sha256)
        return io.BufferedReader(_ChunkReader(self.engine, sha256), buffer_size=CHUNK_SIZE)

    def exists(self, sha256):
        from .models.evidence import Blob
        if not _valid(sha256):
            return False
        with self.engine.connect() as conn:
            return bool(conn.execute(select(sql_exists().where(Blob.sha256 == sha256))).scalar())


def from_config(app):
    setting = (app.config.get("STORAGE") or "instance").strip()
    if setting == "database":
        return DatabaseStorage(db.engine)
    root = os.path.join(app.instance_path, "files") if setting == "instance" else setting
    return DirectoryStorage(root)


def storage():
    """The app's storage, as HUYING_STORAGE configures it."""
    app = current_app._get_current_object()
    found = app.extensions.get("huying_storage")
    if found is None:
        found = app.extensions["huying_storage"] = from_config(app)
    return found


def sha256_of(sha256):
    """The SHA-256 of what is stored under `sha256` now, or None when it is missing."""
    try:
        with storage().open(sha256) as f:
            digest = hashlib.sha256()
            shutil.copyfileobj(f, _Hasher(digest), COPY_BUFFER)
            return digest.hexdigest()
    except FileNotFoundError:
        return None


class _Hasher:
    def __init__(self, digest):
        self.digest = digest

    def write(self, block):
        self.digest.update(block)
