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
from lxml import etree
from sqlalchemy import case as sql_case, func, select

from . import audit, policy
from .database import write_transaction
from .engine import DefinitionError, camunda, dry_run, load_definition, load_form, messages_zh
from .engine import calls
from .engine.definitions import NS, load_decisions, parse_xml, xml_text
from .errors import Conflict, Invalid, NotFound
from .extensions import db
from .models import Case, ProcessVersion, User
from .roles import ROLES

_cache = {}
_cache_lock = threading.Lock()


def project_dir(name):
    configured = current_app.config.get(f"{name.upper()}_DIR")
    return Path(configured) if configured else Path(current_app.root_path).parent / name


def definition(version_row):
    """The parsed ProcessDefinition of a deployed version (cached by process id and content
    checksum: the processes of one file have the same checksum)."""
    if not current_app.config["PROCESS_CACHES"]:
        return _parse(version_row)
    key = (version_row.process_id, version_row.checksum)
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
                           stored=True, decisions=version_row.decisions)


def callee(process_id, number=None):
    """(version, ProcessDefinition) a call activity calls: version `number`, or the newest."""
    row = version(process_id, number) if number is not None else latest_version(process_id)
    return (row.version, definition(row)) if row is not None else None


calls.use_resolver(callee)


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


def _checksum(bpmn_text, forms, decisions=None):
    h = hashlib.sha256(bpmn_text.encode("utf-8"))
    h.update(json.dumps(forms, sort_keys=True, ensure_ascii=False).encode("utf-8"))
    if decisions:
        h.update(json.dumps(decisions, sort_keys=True, ensure_ascii=False).encode("utf-8"))
    return h.hexdigest()


def deploy(bpmn, forms, actor, new_version=True, roles=None):
    """Validate and deploy; returns (ProcessVersion, created), the version carrying `report`, the
    conversion report ([{element_id?, message}], engine/camunda.py, engine/calls.py). Raises
    DefinitionError.

    forms: {filename: bytes|str|dict}; roles: {candidate group: role code} for Camunda files.
    What is stored is the converted model. Deploying content identical to the newest version of
    the same process creates nothing. Without `new_version`, a document that shares no element with
    the newest version of its process id is refused (Conflict): it is another process."""
    if isinstance(bpmn, str):
        bpmn = bpmn.encode("utf-8")
    definition_ = load_definition(bpmn, forms, roles=roles)
    _check_assignees(definition_)
    _check_callees([definition_])
    with write_transaction():
        found = _store(definition_, bpmn, {}, actor, new_version)
        # inside: a callee it calls is there (and rolled back with it)
        found[0].report = list(getattr(found[0], "report", None) or []) + dry_run.check(definition_, bpmn)
    _remember([(found, definition_)])
    return found


def _store(definition_, bpmn, decision_files, actor, new_version=True):
    """Add the version (inside the caller's transaction); (row, created). Without `new_version`, a
    document that shares no element with the newest version of its process id is refused
    (Conflict): it is another process."""
    bpmn_text = definition_.bpmn_text or xml_text(bpmn)     # a Camunda file: the converted model
    used = referenced_forms(bpmn_text)
    stored_forms = {name: definition_.forms[name] for name in sorted(used) if name in definition_.forms}
    stored_decisions = _used_decisions(definition_, decision_files)
    checksum = _checksum(bpmn_text, stored_forms, stored_decisions)
    current = latest_version(definition_.process_id)
    if current is not None and current.checksum == checksum:
        current.report = _report_of(definition_)
        return current, False
    if current is not None and not new_version:
        _refuse_unrelated(current, bpmn)
    row = ProcessVersion(process_id=definition_.process_id,
                         version=(current.version + 1) if current else 1,
                         name=definition_.name, bpmn=bpmn_text, forms=stored_forms,
                         decisions=stored_decisions or None,
                         checksum=checksum, start_role=",".join(definition_.start.roles) or None,
                         deployed_by=actor)
    db.session.add(row)
    db.session.flush()
    audit.record("process_deployed", actor, detail=f"{row.name} 第 {row.version} 版（校验值 {checksum}）",
                 after={"process_id": row.process_id, "version": row.version, "checksum": checksum})
    row.report = _report_of(definition_)
    return row, True


def _report_of(definition_):
    """What the deploy read loosely, mapped or ignored: [{element_id?, message}]."""
    return list(definition_.report) + list(definition_.notes)


def _remember(deployed):
    if current_app.config["PROCESS_CACHES"]:
        with _cache_lock:
            for (row, _created), definition_ in deployed:
                _cache.setdefault((row.process_id, row.checksum), definition_)


def _used_decisions(definition_, decision_files):
    """{filename: DMN text} of the uploaded DMN files that hold a decision the process uses."""
    wanted = {getattr(getattr(ts, "dmnEngine", None), "decision", None) for s in
              (definition_.spec, *definition_.subprocess_specs.values()) for ts in s.task_specs.values()}
    wanted = {d.decision_id for d in wanted if d is not None}
    out = {}
    for name, content in sorted((decision_files or {}).items()):
        text = content if isinstance(content, str) else xml_text(content)
        if wanted & set(load_decisions({name: content})[0]):
            out[name] = text
    return out


def _check_callees(definitions, uploaded=()):
    """Every call activity calls a process deployed already or deployed with it (`uploaded`:
    process ids of the same upload), and a pinned version that exists. Raises DefinitionError."""
    errors = []
    for d in definitions:
        for cd in d.call_elements.values():
            if cd.callee in uploaded:
                continue
            newest = latest_version(cd.callee)
            if newest is None:
                errors.append({"element_id": cd.element_id,
                               "message": f"调用活动“{cd.name}”调用的流程 {cd.callee} 尚未部署，也不在本次上传中："
                                          "请先部署它，或把它的 .bpmn 与本流程一起打包为 .zip 上传"})
            elif cd.version is not None and version(cd.callee, cd.version) is None:
                errors.append({"element_id": cd.element_id,
                               "message": f"调用活动“{cd.name}”指定调用 {cd.callee} 第 {cd.version} 版，但它只有 1 到 "
                                          f"{newest.version} 版：请改正版本号，或改为调用最新版本"})
    if errors:
        raise DefinitionError(errors)


def _refuse_unrelated(current, bpmn):
    """Conflict when `bpmn` shares no element id (but its process's) with the version in service."""
    ours = messages_zh.element_ids(parse_xml(bpmn))
    if ours and not ours & messages_zh.element_ids(parse_xml(current.bpmn.encode("utf-8"))):
        raise Conflict(messages_zh.unrelated_version(current.process_id, current.name, current.version))


def _check_assignees(definition_):
    """A task assigned to a named user (camunda:assignee) needs that user to exist."""
    errors = []
    for td in definition_.tasks.values():
        if not td.assignee or td.assignee == camunda.INITIATOR:
            continue
        user = db.session.execute(select(User).where(User.username == td.assignee)).scalar_one_or_none()
        if user is None:
            errors.append({"element_id": td.element_id,
                           "message": f"用户任务“{td.name}”的处理人“{td.assignee}”不是呼应的用户：请改为已有的用户名或 ${{initiator}}"})
        elif td.role and not user.has_role(td.role):
            errors.append({"element_id": td.element_id,
                           "message": f"用户任务“{td.name}”的处理人“{td.assignee}”不是{ROLES.get(td.role, td.role)}的人员，"
                                      "看不到这项任务：请改派该角色的用户，或修改任务的候选组或泳道"})
    if errors:
        raise DefinitionError(errors)


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


def deploy_upload(user, filename, data, new_version=False, roles=None):
    """Deploy what an analyst uploads: a .bpmn, or a .zip of .bpmn files with their forms and .dmn
    files. Returns ([(ProcessVersion, created)] as deploy_all, [{element_id, message}] of what was
    read loosely, mapped or ignored); `roles`: the upload's JSON text mapping Camunda candidate
    groups to roles. Raises DefinitionError with element-level errors, Conflict when it
    would replace an unrelated process of the same id and `new_version` does not confirm it."""
    policy.require(user, "process.deploy")
    try:
        roles = camunda.parse_roles(roles)
    except camunda.RolesError as e:
        raise Invalid(str(e), {"roles": str(e)}) from None
    name = (filename or "").lower()
    if not name:
        raise Invalid("请上传 file（.bpmn 或 .zip）")
    if name.endswith(".zip"):
        files = unzip(data)
    elif name.endswith(".bpmn") or name.endswith(".xml"):
        files = {"upload.bpmn": data}
    elif name.endswith(".dmn"):
        raise DefinitionError([{"message": "DMN 决策表随使用它的流程一同部署：请把 .dmn 与 .bpmn 打包为 .zip 上传"}])
    else:
        raise DefinitionError([{"message": "只接受 .bpmn 或 .zip 文件"}])
    return _deploy_all(files, user.username, new_version=new_version, roles=roles)


def deploy_model(user, process_id, xml, files=None):
    """Deploy the modeller's drawing (BPMN XML text) as the next version of `process_id`, with the
    files opened with it in the browser ({name: bytes}: forms, ...)."""
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
    return deploy_files({**(files or {}), "model.bpmn": data}, user.username)


def deploy_files(files, actor, new_version=True, roles=None):
    """Deploy an upload and return (ProcessVersion, created) of its main process (see deploy_all)."""
    return deploy_all(files, actor, new_version, roles)[0]


def deploy_all(files, actor, new_version=True, roles=None):
    return _deploy_all(files, actor, new_version, roles)[0]


def _deploy_all(files, actor, new_version=True, roles=None):
    """Deploy an upload: one or more .bpmn files, with the forms and .dmn files they use
    ({filename: bytes}, e.g. the members of a .zip). Every executable process of every file is a
    process of its own (a collaboration with several executable pools deploys as several); callees
    are deployed before their callers, all in one transaction: one invalid file and nothing is
    deployed, every file's problems reported.

    Forms and DMN files the upload does not carry are taken from the newest version of the same
    process, then (forms) from forms/. Returns [(ProcessVersion, created)], the main process first
    (the first file's first process that no other process of the upload calls). Raises
    DefinitionError with element-level errors. Also returns the definitions' notes."""
    bpmns = {n: b for n, b in files.items() if n.lower().endswith(".bpmn")}
    if not bpmns:
        raise DefinitionError([{"message": "上传内容应包含至少一个 .bpmn 文件"}])
    forms = {Path(n).name: b for n, b in files.items() if n.lower().endswith((".json", ".form"))}
    decision_files = {Path(n).name: b for n, b in files.items() if n.lower().endswith(".dmn")}
    several = len(bpmns) > 1
    errors, items = [], []
    for fname, bpmn in bpmns.items():
        try:
            items.extend((fname, bpmn, pid) for pid in executable_processes(bpmn))
        except DefinitionError as e:
            errors.extend(_in_file(fname, e.errors, several))
    seen = {}
    for fname, _bpmn, pid in items:
        if pid in seen:
            errors.append({"element_id": pid, "message": f"流程 id {pid} 在 {seen[pid]} 和 {fname} 中各有一个：请改用不同的 id"})
        seen.setdefault(pid, fname)
    loaded = []
    for fname, bpmn, pid in items:
        own_forms = dict(forms)
        newest = latest_version(pid)
        missing = referenced_forms(bpmn) - own_forms.keys()
        stored = (newest.forms or {}) if newest is not None else {}
        for name in sorted(missing):
            if name in stored:
                own_forms[name] = stored[name]
            elif (project_dir("forms") / name).is_file():
                own_forms[name] = (project_dir("forms") / name).read_bytes()
        own_decisions = dict((newest.decisions or {}) if newest is not None else {})
        own_decisions.update(decision_files)
        try:
            loaded.append((fname, bpmn, load_definition(bpmn, own_forms, process_id=pid, decisions=own_decisions,
                                                        roles=roles), own_decisions))
        except DefinitionError as e:
            errors.extend(_in_file(fname, e.errors, several))
    uploaded = {d.process_id for _f, _b, d, _dm in loaded}
    for _f, _b, d, _dm in loaded:
        try:
            _check_assignees(d)
        except DefinitionError as e:
            errors.extend(_in_file(_f, e.errors, several))
    try:
        _check_callees([d for _f, _b, d, _dm in loaded], uploaded)
    except DefinitionError as e:
        errors.extend(e.errors)
    if errors:
        raise DefinitionError(errors)
    ordered = _callees_first(loaded)
    with write_transaction():
        deployed = [(_store(d, bpmn, dm, actor, new_version), d) for _f, bpmn, d, dm in ordered]
        warned = []
        for _f, bpmn, d, _dm in ordered:     # callees of the upload are in place for their callers' runs
            try:
                warned.extend(_in_file(_f, dry_run.check(d, bpmn), several))
            except DefinitionError as e:
                errors.extend(_in_file(_f, e.errors, several))
        pinned = [(cd, d) for d in (x[2] for x in loaded) for cd in d.call_elements.values()
                  if cd.callee in uploaded and cd.version is not None]
        for cd, d in pinned:
            if version(cd.callee, cd.version) is None:
                errors.append({"element_id": cd.element_id,
                               "message": f"调用活动“{cd.name}”指定调用 {cd.callee} 第 {cd.version} 版，"
                                          f"但部署后它只有 1 到 {latest_version(cd.callee).version} 版：请改正版本号"})
        if errors:
            raise DefinitionError(errors)
    _remember(deployed)
    by_id = {row.process_id: (row, created) for (row, created), _d in deployed}
    called = {cd.callee for _f, _b, d, _dm in loaded for cd in d.call_elements.values()}
    main = next((d.process_id for _f, _b, d, _dm in loaded if d.process_id not in called), loaded[0][2].process_id)
    notes = [n for _f, _b, d, _dm in loaded for n in _report_of(d)] + warned
    return [by_id[main]] + [v for k, v in by_id.items() if k != main], notes


def _in_file(fname, errors, several):
    if not several:
        return list(errors)
    return [dict(e, message=f"{fname}：{e['message']}") for e in errors]


def _callees_first(loaded):
    """The loaded processes of an upload ordered so that a callee comes before its callers."""
    by_id = {d.process_id: item for item in loaded for d in [item[2]]}
    out, done = [], set()

    def visit(pid, path):
        if pid in done or pid in path or pid not in by_id:
            return
        for cd in by_id[pid][2].call_elements.values():
            visit(cd.callee, path | {pid})
        done.add(pid)
        out.append(by_id[pid])
    for item in loaded:
        visit(item[2].process_id, frozenset())
    return out


def executable_processes(bpmn):
    """The ids of the processes a deploy takes from a document: those marked executable, or the only
    process. Raises DefinitionError naming the pools when that is not clear (messages_zh)."""
    tree = parse_xml(bpmn)
    root = tree.getroot()
    if root.tag != "{%s}definitions" % NS["bpmn"]:
        raise DefinitionError([{"message": f"不是 BPMN 2.0 文件：根元素是 {etree.QName(root).localname}，应为 "
                                           f"{NS['bpmn']} 命名空间的 definitions", "line": root.sourceline}])
    found = root.findall("bpmn:process", NS)
    executable = [p for p in found if p.get("isExecutable", "false") == "true"]
    if executable:
        return [p.get("id") for p in executable]
    if len(found) == 1:
        return [found[0].get("id")]
    raise DefinitionError(messages_zh.annotate(messages_zh.process_choice(root), tree))


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
        if not name.lower().endswith((".bpmn", ".json", ".form", ".dmn")):
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
    """What an analyst changed between two versions, by element id: added, removed, changed — every
    property and text an analyst can edit compared (names, lanes, documentation and instructions,
    forms named, conditions, scripts, timers, multi-instance settings, extension properties) — and
    the form files deployed with them, field by field."""
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
            "changed": changed, "forms": _forms_diff(old.forms or {}, new.forms or {})}


def _forms_diff(old, new):
    """{added, removed: [file names], changed: [{file, fields: {path: {old, new}}}]} of two versions' forms."""
    changed = []
    for name in sorted(old.keys() & new.keys()):
        a, b = _flat(old[name]), _flat(new[name])
        fields = {k: {"old": a.get(k), "new": b.get(k)} for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)}
        if fields:
            changed.append({"file": name, "fields": fields})
    return {"added": sorted(new.keys() - old.keys()), "removed": sorted(old.keys() - new.keys()), "changed": changed}


def _flat(value, path=""):
    """A form (JSON) as {dotted path: scalar or JSON text of a list}: properties.reason.title -> 理由."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            out.update(_flat(v, f"{path}.{k}" if path else str(k)))
        return out
    if isinstance(value, list):
        return {path: json.dumps(value, ensure_ascii=False, sort_keys=True)}
    return {path: value}


# the parts of an element that belong to it (not elements of their own), and the structure that
# the sequence flows already describe
_CONTENT = {"multiInstanceLoopCharacteristics", "standardLoopCharacteristics", "inputDataItem", "outputDataItem",
            "timerEventDefinition", "messageEventDefinition", "signalEventDefinition", "escalationEventDefinition",
            "errorEventDefinition", "terminateEventDefinition", "conditionalEventDefinition", "cancelEventDefinition",
            "compensateEventDefinition", "linkEventDefinition", "conditionExpression", "condition", "script",
            "documentation", "extensionElements", "loopCardinality", "completionCondition", "laneSet",
            "childLaneSet", "text", "ioSpecification", "dataInputAssociation", "dataOutputAssociation"}
_STRUCTURE = {"incoming", "outgoing", "flowNodeRef"}
_SKIPPED_ATTRIBUTES = {"id", "type"}        # the id is the key; xsi:type says only "an expression"
_RENAMED = {"sourceRef": "from", "targetRef": "to"}


def _local(tag):
    return tag.split("}")[1] if "}" in tag else tag


def _elements(bpmn):
    """{id: {type, name, lane, ...everything an analyst can edit on it}} of a BPMN document's
    semantic elements: the process, its lanes, flow nodes, flows, data objects and annotations."""
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
            kind = _local(el.tag)
            if kind in _CONTENT:
                continue
            item = {"type": kind}
            for attr, value in el.attrib.items():
                attr = _local(attr)
                if attr not in _SKIPPED_ATTRIBUTES:
                    item[_RENAMED.get(attr, attr)] = value
            if el.get("id") in lanes:
                item["lane"] = lanes[el.get("id")]
            _content(el, item, "")
            out[el.get("id")] = item
    return out


def _content(el, item, path):
    """Put into `item` what the children of `el` hold, down to the next element of its own."""
    for child in el:
        if not isinstance(child.tag, str):
            continue                                   # a comment
        kind = _local(child.tag)
        bpmn = child.tag.startswith("{%s}" % NS["bpmn"])
        if kind in _STRUCTURE or (bpmn and child.get("id") and kind not in _CONTENT):
            continue
        if kind in ("extensionElements", "properties"):
            _content(child, item, path)
            continue
        if kind == "property" and child.get("name"):
            item[child.get("name")] = child.get("value")
            continue
        key = path + kind
        text = (child.text or "").strip()
        if text:
            item[key] = text
        for attr, value in child.attrib.items():
            attr = _local(attr)
            if attr not in _SKIPPED_ATTRIBUTES:
                item[f"{key}.{attr}"] = value
        _content(child, item, path if kind in _CONTENT else f"{key}.")
