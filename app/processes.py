"""Deployed processes: deploy a BPMN with its forms as a new immutable version, and the cache of
parsed definitions (each version is parsed once per app process, never per request)."""
import hashlib
import json
import re
import threading
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select

from . import audit
from .database import write_transaction
from .engine import DefinitionError, load_definition, load_form
from .engine.definitions import NS, parse_xml
from .extensions import db
from .models import ProcessVersion

_cache = {}
_cache_lock = threading.Lock()


def project_dir(name):
    configured = current_app.config.get(f"{name.upper()}_DIR")
    return Path(configured) if configured else Path(current_app.root_path).parent / name


def definition(version_row):
    """The parsed ProcessDefinition of a deployed version (cached by content checksum)."""
    key = version_row.checksum
    found = _cache.get(key)
    if found is None:
        with _cache_lock:
            found = _cache.get(key)
            if found is None:
                found = load_definition(version_row.bpmn.encode("utf-8"), version_row.forms,
                                        process_id=version_row.process_id)
                _cache[key] = found
    return found


_PROCESS_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,99}")


def app_form(filename):
    """A form of the application itself (supervision orders), read from forms/ once."""
    found = _app_forms.get(filename)
    if found is None:
        found = load_form((project_dir("forms") / filename).read_bytes(), filename)
        _app_forms[filename] = found
    return found


_app_forms = {}


def latest_version(process_id):
    if not _PROCESS_ID.fullmatch(process_id or ""):
        return None
    stmt = (select(ProcessVersion).where(ProcessVersion.process_id == process_id)
            .order_by(ProcessVersion.version.desc()).limit(1))
    return db.session.execute(stmt).scalar_one_or_none()


def version(process_id, number):
    if not _PROCESS_ID.fullmatch(process_id or ""):
        return None
    return db.session.execute(select(ProcessVersion).where(
        ProcessVersion.process_id == process_id, ProcessVersion.version == number)).scalar_one_or_none()


def latest_versions():
    newest = (select(ProcessVersion.process_id, func.max(ProcessVersion.version).label("v"))
              .group_by(ProcessVersion.process_id).subquery())
    stmt = (select(ProcessVersion).join(newest, (ProcessVersion.process_id == newest.c.process_id)
                                        & (ProcessVersion.version == newest.c.v))
            .order_by(ProcessVersion.process_id))
    return db.session.execute(stmt).scalars().all()


def referenced_forms(bpmn):
    """The form file names a BPMN document refers to."""
    tree = parse_xml(bpmn)
    names = set()
    for p in tree.getroot().iter("{%s}property" % NS["spiffworkflow"]):
        if p.get("name") in ("formJsonSchemaFilename", "formUiSchemaFilename") and p.get("value"):
            names.add(p.get("value"))
    return names


def _checksum(bpmn_text, forms):
    h = hashlib.sha256(bpmn_text.encode("utf-8"))
    h.update(json.dumps(forms, sort_keys=True, ensure_ascii=False).encode("utf-8"))
    return h.hexdigest()


def deploy(bpmn, forms, actor):
    """Validate and deploy; returns (ProcessVersion, created). Raises DefinitionError.

    forms: {filename: bytes|str|dict}. Deploying content identical to the newest version of the
    same process creates nothing."""
    if isinstance(bpmn, str):
        bpmn = bpmn.encode("utf-8")
    definition_ = load_definition(bpmn, forms)
    bpmn_text = bpmn.decode("utf-8")
    used = referenced_forms(bpmn)
    stored_forms = {name: definition_.forms[name] for name in sorted(used) if name in definition_.forms}
    checksum = _checksum(bpmn_text, stored_forms)
    with write_transaction():
        current = latest_version(definition_.process_id)
        if current is not None and current.checksum == checksum:
            return current, False
        row = ProcessVersion(process_id=definition_.process_id,
                             version=(current.version + 1) if current else 1,
                             name=definition_.name, bpmn=bpmn_text, forms=stored_forms,
                             checksum=checksum, start_role=",".join(definition_.start.roles) or None,
                             deployed_by=actor)
        db.session.add(row)
        db.session.flush()
        audit.record("process_deployed", actor, detail=f"{row.process_id} v{row.version} sha256={checksum}",
                     after={"process_id": row.process_id, "version": row.version, "checksum": checksum})
    with _cache_lock:
        _cache[checksum] = definition_
    return row, True


def deploy_directory(actor="system"):
    """Deploy every process under processes/ whose content differs from its newest version."""
    processes_dir, forms_dir = project_dir("processes"), project_dir("forms")
    results = []
    for path in sorted(processes_dir.glob("*.bpmn")):
        if path.name.endswith(".roundtrip.bpmn"):
            continue
        bpmn = path.read_bytes()
        forms = {}
        for name in referenced_forms(bpmn):
            f = forms_dir / name
            if f.is_file():
                forms[name] = f.read_bytes()
        try:
            row, created = deploy(bpmn, forms, actor)
        except DefinitionError as e:
            raise DefinitionError([{**err, "message": f"{path.name}: {err['message']}"} for err in e.errors]) from None
        results.append((row, created))
    return results
