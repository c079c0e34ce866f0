"""Deployed processes: deploy a BPMN with its forms as a new immutable version, and the cache of
parsed definitions (each version is parsed once per app process, never per request)."""
import hashlib
import io
import json
import re
import threading
import zipfile
import zlib
from pathlib import Path

from flask import current_app
from sqlalchemy import case as sql_case, func, select

from . import audit, policy
from .database import write_transaction
from .engine import DefinitionError, load_definition, load_form
from .engine.definitions import NS, parse_xml, xml_text
from .errors import Invalid, NotFound
from .extensions import db
from .models import Case, ProcessVersion

_cache = {}
_cache_lock = threading.Lock()


def project_dir(name):
    configured = current_app.config.get(f"{name.upper()}_DIR")
    return Path(configured) if configured else Path(current_app.root_path).parent / name


def definition(version_row):
    """The parsed ProcessDefinition of a deployed version (cached by content checksum)."""
    if not current_app.config["PROCESS_CACHES"]:
        return _parse(version_row)
    key = version_row.checksum
    found = _cache.get(key)
    if found is None:
        with _cache_lock:
            found = _cache.get(key)
            if found is None:
                found = _parse(version_row)
                _cache[key] = found
    return found


def _parse(version_row):
    return load_definition(version_row.bpmn.encode("utf-8"), version_row.forms, process_id=version_row.process_id,
                           stored=True)


_PROCESS_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,99}")


def app_form(filename):
    """A form of the application itself (supervision orders), read from forms/ once."""
    found = _app_forms.get(filename) if current_app.config["PROCESS_CACHES"] else None
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


def startable(user):
    """The newest version of each process `user` may start."""
    return [row for row in latest_versions() if policy.allows(user, "case.start", process=row)]


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
    bpmn_text = xml_text(bpmn)
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
    if current_app.config["PROCESS_CACHES"]:
        with _cache_lock:
            _cache[checksum] = definition_
    return row, True


def deploy_directory(actor="system"):
    """Deploy every process under processes/ whose content differs from its newest version.

    Returns [(filename, ProcessVersion or None, created, errors)]: an invalid file is reported and
    not deployed, and the version in service stays."""
    processes_dir, forms_dir = project_dir("processes"), project_dir("forms")
    results = []
    for path in sorted(processes_dir.glob("*.bpmn")):
        if path.name.endswith(".roundtrip.bpmn"):
            continue
        bpmn = path.read_bytes()
        try:
            forms = {}
            for name in referenced_forms(bpmn):
                f = forms_dir / name
                if f.is_file():
                    forms[name] = f.read_bytes()
            row, created = deploy(bpmn, forms, actor)
        except DefinitionError as e:
            results.append((path.name, None, False, e.errors))
            continue
        results.append((path.name, row, created, []))
    return results


# --- analysts: uploads, versions, differences ----------------------------------------------------
MAX_UPLOAD_FILES = 200


def deploy_upload(user, filename, data):
    """Deploy what an analyst uploads: a .bpmn, or a .zip of one with its forms. Returns
    (ProcessVersion, created); raises DefinitionError with element-level errors."""
    policy.require(user, "process.deploy")
    name = (filename or "").lower()
    if not name:
        raise Invalid("请上传 file（.bpmn 或 .zip）")
    if name.endswith(".zip"):
        files = unzip(data)
    elif name.endswith(".bpmn") or name.endswith(".xml"):
        files = {"upload.bpmn": data}
    else:
        raise DefinitionError([{"message": "只接受 .bpmn 或 .zip 文件"}])
    return deploy_files(files, user.username)


def deploy_model(user, process_id, xml):
    """Deploy the modeller's drawing (BPMN XML text) as the next version of `process_id`."""
    policy.require(user, "process.deploy")
    if latest_version(process_id) is None:
        raise NotFound(f"没有已部署的流程 {process_id}")
    if not isinstance(xml, str) or not xml.strip():
        raise DefinitionError([{"message": "请求中没有流程图（应为 JSON {\"bpmn\": \"<XML>\"}）"}])
    data = xml.encode("utf-8")
    found = process_id_of(data)
    if found is not None and found != process_id:
        raise DefinitionError([{"element_id": found, "message": f"流程 id 应为 {process_id}，文件中为 {found}："
                                                                 "请勿修改流程 id（新流程请通过接口上传部署）"}])
    return deploy_files({"model.bpmn": data}, user.username)


def deploy_files(files, actor):
    """Deploy an upload: one .bpmn plus any forms ({filename: bytes}, e.g. the members of a .zip).

    Forms the upload does not carry are taken from the newest version of the same process, then
    from forms/. Returns (ProcessVersion, created); raises DefinitionError with element-level errors."""
    bpmns = {n: b for n, b in files.items() if n.lower().endswith(".bpmn")}
    if len(bpmns) != 1:
        raise DefinitionError([{"message": "上传内容应包含且只包含一个 .bpmn 文件"}])
    (bpmn_name, bpmn), = bpmns.items()
    forms = {Path(n).name: b for n, b in files.items() if n.lower().endswith(".json")}
    wanted = referenced_forms(bpmn)
    missing = wanted - forms.keys()
    if missing:
        process_id = process_id_of(bpmn)
        newest = latest_version(process_id) if process_id else None
        stored = (newest.forms or {}) if newest is not None else {}
        for name in sorted(missing):
            if name in stored:
                forms[name] = stored[name]
            elif (project_dir("forms") / name).is_file():
                forms[name] = (project_dir("forms") / name).read_bytes()
    return deploy(bpmn, forms, actor)


def process_id_of(bpmn):
    """The id of the process a deploy would take from the document (None when it is not one)."""
    root = parse_xml(bpmn).getroot()
    found = root.findall("bpmn:process", NS)
    executable = [p for p in found if p.get("isExecutable", "false") == "true"] or found
    return executable[0].get("id") if len(executable) == 1 else None


MAX_MEMBER_BYTES = 2 * 1024 * 1024      # one file of an upload, unpacked
MAX_UNZIPPED_BYTES = 8 * 1024 * 1024    # all of them
MAX_RATIO = 100                         # unpacked / packed, for members past RATIO_FROM bytes
RATIO_FROM = 256 * 1024
_READ_CHUNK = 64 * 1024


def _refused(message):
    return DefinitionError([{"message": message}])


def _parts(member):
    return member.filename.replace("\\", "/").split("/")


def unzip(data):
    """{filename: bytes} of a .zip upload, refusing anything odd: paths out of the archive, the
    same name twice, encryption, compression other than deflate, and sizes or ratios past the
    limits, checked on what the archive declares before anything is unpacked and again on the
    bytes while they are read, so that a lying archive stops at the limit."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [m for m in archive.infolist() if not m.is_dir()]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError):
        raise _refused("不是有效的 .zip 文件（或文件不完整）") from None
    if len(members) > MAX_UPLOAD_FILES:
        raise _refused(f".zip 中文件过多（上限 {MAX_UPLOAD_FILES}）")
    wanted, total = [], 0
    for m in members:
        parts = _parts(m)
        if m.filename.startswith(("/", "\\")) or ".." in parts or "\x00" in m.filename or ":" in parts[0]:
            raise _refused(f".zip 中的路径“{m.filename[:80]}”不安全（不能是绝对路径或含 ..）")
        name = parts[-1]
        if not name.lower().endswith((".bpmn", ".json")):
            continue
        if m.flag_bits & 0x1:
            raise _refused(f".zip 中的 {name} 已加密：请上传未加密的 .zip")
        if m.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _refused(f".zip 中的 {name} 使用了不支持的压缩方式：请用普通（deflate）压缩")
        if any(name.lower() == _parts(w)[-1].lower() for w in wanted):
            raise _refused(f".zip 中有两个同名文件 {name}")
        total += m.file_size
        if m.file_size > MAX_MEMBER_BYTES or total > MAX_UNZIPPED_BYTES:
            raise _refused(f".zip 解压后过大（单个文件上限 {MAX_MEMBER_BYTES // 1024 // 1024} MB，"
                           f"合计 {MAX_UNZIPPED_BYTES // 1024 // 1024} MB）")
        if m.file_size > RATIO_FROM and m.file_size > MAX_RATIO * max(m.compress_size, 1):
            raise _refused(f".zip 中的 {name} 压缩比异常（超过 {MAX_RATIO} 倍），疑似压缩炸弹")
        wanted.append(m)
    return {_parts(m)[-1]: _read_member(archive, m) for m in wanted}


def _read_member(archive, member):
    """The bytes of one member, read in chunks and never more than it declared (nor the limit)."""
    name = _parts(member)[-1]
    cap = min(member.file_size, MAX_MEMBER_BYTES)
    out = bytearray()
    try:
        with archive.open(member) as f:
            while True:
                chunk = f.read(_READ_CHUNK)
                if not chunk:
                    break
                out += chunk
                if len(out) > cap:
                    raise _refused(f".zip 中的 {name} 实际大小与声明不符")
    except DefinitionError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, RuntimeError, NotImplementedError, zlib.error) as e:
        raise _refused(f".zip 中的 {name} 无法解压：文件已损坏（{type(e).__name__}）") from None
    if len(out) != member.file_size:
        raise _refused(f".zip 中的 {name} 实际大小与声明不符")
    return bytes(out)


def versions_of(process_id):
    """[(ProcessVersion, open cases on it, all cases on it)], newest first."""
    rows = db.session.execute(
        select(ProcessVersion, func.count(Case.id), func.sum(sql_case((Case.status == "open", 1), else_=0)))
        .outerjoin(Case, Case.process_version_id == ProcessVersion.id)
        .where(ProcessVersion.process_id == process_id)
        .group_by(ProcessVersion.id).order_by(ProcessVersion.version.desc())).all()
    return [(v, int(open_ or 0), int(total or 0)) for v, total, open_ in rows]


def overview(user):
    """Every deployed process with its versions and their cases, for the analysts' pages."""
    policy.require(user, "process.manage")
    out = []
    for newest in latest_versions():
        versions = versions_of(newest.process_id)
        out.append({"newest": newest, "versions": versions,
                    "open": sum(n_open for _, n_open, _ in versions), "cases": sum(n_all for _, _, n_all in versions)})
    return out


def compare(user, process_id, from_version, to_version):
    """(old, new, what changed) between two versions of a process, for an analyst or an admin."""
    policy.require(user, "process.diff")
    old, new = version(process_id, from_version), version(process_id, to_version)
    if old is None or new is None:
        raise NotFound("没有这个版本")
    return old, new, diff_versions(old, new)


def diff_versions(old, new):
    """What an analyst changed between two versions, by element id: added, removed, changed
    (name, lane, form, expressions and properties compared)."""
    a, b = _elements(old.bpmn.encode("utf-8")), _elements(new.bpmn.encode("utf-8"))
    changed = []
    for eid in sorted(a.keys() & b.keys()):
        fields = {k: {"old": a[eid].get(k), "new": b[eid].get(k)} for k in sorted(set(a[eid]) | set(b[eid]))
                  if a[eid].get(k) != b[eid].get(k)}
        if fields:
            changed.append({"element_id": eid, "name": b[eid].get("name"), "fields": fields})
    return {"process_id": new.process_id, "from": old.version, "to": new.version,
            "added": [{"element_id": e, **b[e]} for e in sorted(b.keys() - a.keys())],
            "removed": [{"element_id": e, **a[e]} for e in sorted(a.keys() - b.keys())],
            "changed": changed}


def _elements(bpmn):
    """{id: {type, name, lane, properties..., expression}} of a BPMN document's semantic elements."""
    root = parse_xml(bpmn).getroot()
    lanes = {}
    for lane in root.iter("{%s}lane" % NS["bpmn"]):
        for ref in lane.findall("bpmn:flowNodeRef", NS):
            lanes[(ref.text or "").strip()] = lane.get("name")
    out = {}
    for proc in root.findall("bpmn:process", NS):
        for el in proc.iter():
            if not isinstance(el.tag, str) or not el.get("id") or not el.tag.startswith("{%s}" % NS["bpmn"]):
                continue
            kind = el.tag.split("}")[1]
            if kind in ("lane", "laneSet", "dataObject", "multiInstanceLoopCharacteristics", "inputDataItem",
                        "outputDataItem", "timerEventDefinition", "process", "textAnnotation", "association"):
                continue
            item = {"type": kind}
            if el.get("name"):
                item["name"] = el.get("name")
            if el.get("id") in lanes:
                item["lane"] = lanes[el.get("id")]
            for p in el.findall("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS):
                item[p.get("name")] = p.get("value")
            for tag in ("conditionExpression", "script", "timerEventDefinition/bpmn:timeDate",
                        "timerEventDefinition/bpmn:timeDuration", "timerEventDefinition/bpmn:timeCycle"):
                found = el.find(f"bpmn:{tag}", NS)
                if found is not None and found.text:
                    item[tag.split(":")[-1].split("/")[-1]] = found.text.strip()
            if kind == "sequenceFlow":
                item["from"], item["to"] = el.get("sourceRef"), el.get("targetRef")
            out[el.get("id")] = item
    return out
