"""Camunda 7 (`camunda:`) and Camunda 8 / Zeebe (`zeebe:`) extensions mapped onto Huying's model.

`convert(tree, forms, roles)` runs over the lxml tree of an upload before SpiffWorkflow parses it
and rewrites it into what Huying runs, in place:

- candidate groups naming a role (or mapped to one by the upload's `roles`) route the task to that
  role as a lane does; the attribute is rewritten to the role code, so that the stored model
  routes the same way when it is loaded again;
- an assignee of `${initiator}` or a username claims the task for that user when it is ready;
- due and follow-up dates become non-interrupting boundary timers on the task (the deadline, and
  a `remind` warning), counted from when the task becomes ready when they are durations;
- Camunda Forms (form-js) named by a form key, a form reference or Zeebe's form definition become
  the task's JSON Schema form (formjs.py);
- JUEL and FEEL conditions become restricted-language expressions (feel.py), and unquoted ISO 8601
  timer literals are quoted;
- what Huying cannot run (Java delegates, HTML forms, an expression it cannot translate) is
  refused, and what it leaves aside (listeners, input/output mappings, job settings) is reported.

Every change is idempotent: converting the converted tree again changes nothing, so a stored
version loads the same after a restart.
"""
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from ..roles import ROLES, role_of_lane
from . import expressions, feel, formjs, timers

CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
ZEEBE = "http://camunda.org/schema/zeebe/1.0"
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
INITIATOR = "${initiator}"

_USERNAME = re.compile(r"[A-Za-z0-9_.@-]{1,80}")
_FORM_TASKS = {"userTask", "startEvent"}
_DELEGATE_TASKS = {"serviceTask", "sendTask", "businessRuleTask"}
_IGNORED_ATTRIBUTES = {
    "asyncBefore": "异步边界（asyncBefore）被忽略：呼应在一次操作中连续执行引擎步骤",
    "asyncAfter": "异步边界（asyncAfter）被忽略：呼应在一次操作中连续执行引擎步骤",
    "exclusive": "作业互斥设置（exclusive）被忽略：呼应没有作业执行器",
    "jobPriority": "作业优先级（jobPriority）被忽略：呼应没有作业执行器",
    "taskPriority": "任务优先级（taskPriority）被忽略",
    "priority": "任务优先级（priority）被忽略：待办按期限和紧急程度排序",
    "versionTag": "版本标签（versionTag）被忽略：呼应按部署顺序编号版本",
    "historyTimeToLive": "历史保存期（historyTimeToLive）被忽略：呼应的审计记录长期保存",
    "isStartableInTasklist": "isStartableInTasklist 被忽略：谁可发起由开始事件的泳道或 startRoles 决定",
    "candidateUsers": "候选人（candidateUsers）被忽略：呼应按角色和单位派发待办",
    "candidateStarterUsers": "可发起用户（candidateStarterUsers）被忽略：谁可发起由角色决定",
    "formRefBinding": None, "formRefVersion": None, "initiator": None, "formKey": None, "formRef": None,
    "candidateGroups": None, "assignee": None, "dueDate": None, "followUpDate": None,
    "candidateStarterGroups": None, "class": None, "delegateExpression": None, "expression": None,
    "resultVariable": None, "type": None, "topic": None, "collection": None, "elementVariable": None,
    "decisionRef": None, "decisionRefBinding": None, "decisionRefVersion": None, "mapDecisionResult": None,
    "calledElementBinding": None, "calledElementVersion": None, "calledElementVersionTag": None,
    "calledElementTenantId": None, "caseRef": None, "errorCodeVariable": None, "errorMessageVariable": None,
    "variableName": None, "variableEvents": None, "modelerTemplate": None, "modelerTemplateVersion": None,
    "scriptFormat": None, "resource": None,
}
_IGNORED_ELEMENTS = {
    "executionListener": "执行监听器被忽略：呼应不运行 Java 类、表达式或脚本监听器；若它设置变量，请改用脚本任务",
    "taskListener": "任务监听器被忽略：呼应不运行监听器；通知和催办由呼应自己发出",
    "executionListeners": "执行监听器（zeebe:executionListeners）被忽略：呼应不调用作业处理程序",
    "taskListeners": "任务监听器（zeebe:taskListeners）被忽略：呼应不调用作业处理程序",
    "inputOutput": "输入输出映射（camunda:inputOutput）被忽略：呼应的任务直接读写流程变量",
    "ioMapping": "输入输出映射（zeebe:ioMapping）被忽略：呼应的任务直接读写流程变量",
    "properties": "扩展属性（properties）被忽略：呼应的属性写在 spiffworkflow:properties 中",
    "failedJobRetryTimeCycle": "失败重试周期（failedJobRetryTimeCycle）被忽略：出错的案件进入督查的异常列表，由人重试",
    "userTask": None, "assignmentDefinition": None, "taskSchedule": None, "formDefinition": None,
    "userTaskForm": None, "formData": None, "taskDefinition": None, "taskHeaders": None, "header": None,
    "loopCharacteristics": None, "calledElement": None, "calledDecision": None, "in": None, "out": None,
    "connector": None, "subscription": None, "script": None, "field": None, "inputParameter": None,
    "outputParameter": None, "property": None, "input": None, "output": None, "versionTag": None,
    "priorityDefinition": None, "formField": None,
}


@dataclass
class Conversion:
    """What a conversion did: report lines and refusals ([{element_id?, message}]), the roles and
    assignees it mapped (element id -> role code / INITIATOR or username), the forms it converted
    (file name -> JSON Schema) and whether it changed the tree."""
    report: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    roles: dict = field(default_factory=dict)
    assignees: dict = field(default_factory=dict)
    forms: dict = field(default_factory=dict)
    changed: bool = False

    def note(self, element_id, message):
        self.report.append({"element_id": element_id, "message": message} if element_id else {"message": message})

    def refuse(self, element_id, message):
        self.errors.append({"element_id": element_id, "message": message} if element_id else {"message": message})


class RolesError(Exception):
    """The upload's `roles` field is not a JSON object of group -> role; the message says why."""


def parse_roles(text):
    """{group: role code} of the upload's `roles` field (JSON text; None or empty: no mapping)."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return {}
    try:
        value = json.loads(text) if isinstance(text, (str, bytes)) else text
    except ValueError:
        raise RolesError("roles 字段不是合法的 JSON：应为对象，如 {\"accounting\": \"department\"}") from None
    if not isinstance(value, dict):
        raise RolesError("roles 字段应为 JSON 对象：候选组名 → 角色代码，如 {\"accounting\": \"department\"}")
    out = {}
    for group, role in value.items():
        code = role_of_lane(role) if isinstance(role, str) else None
        if code is None:
            known = "、".join(f"{k}（{v}）" for k, v in ROLES.items())
            raise RolesError(f"roles 中“{str(group)[:40]}”对应的“{str(role)[:40]}”不是已知角色；应为 {known}")
        out[str(group)] = code
    return out


def _q(ns, tag):
    return "{%s}%s" % (ns, tag)


def _local(el):
    return etree.QName(el).localname if isinstance(el.tag, str) else None


def _ns(el):
    return etree.QName(el).namespace if isinstance(el.tag, str) else None


def _ext(el, tag, ns=ZEEBE):
    ext = el.find(_q(BPMN, "extensionElements"))
    return ext.find(_q(ns, tag)) if ext is not None else None


def _label(el):
    return el.get("name") or el.get("id")


def convert(tree, forms=None, roles=None):
    """Map the Camunda and Zeebe extensions of a parsed BPMN tree onto Huying's model (in place).

    forms: the upload's form files ({filename: bytes|str|dict}); form-js ones are converted.
    roles: {candidate group: role code} (parse_roles). Returns a Conversion."""
    conv = Conversion()
    root = tree.getroot()
    roles = roles or {}
    uploads = _formjs_uploads(forms or {}, conv)
    lanes = {}
    for lane in root.iter(_q(BPMN, "lane")):
        for ref in lane.findall(_q(BPMN, "flowNodeRef")):
            lanes[(ref.text or "").strip()] = lane.get("name")
    embedded = {el.get("id"): el for el in root.iter(_q(ZEEBE, "userTaskForm"))}
    initiators = {"initiator"} | {el.get(_q(CAMUNDA, "initiator")) for el in root.iter(_q(BPMN, "startEvent"))
                                  if el.get(_q(CAMUNDA, "initiator"))}
    for el in list(root.iter()):
        kind = _local(el)
        if kind is None:
            continue
        if _ns(el) == BPMN:
            _ignored_attributes(el, conv)
            if kind == "userTask":
                _route(el, conv, roles, lanes)
                _assignee(el, conv, initiators)
                _schedule(el, conv, root)
            if kind in _FORM_TASKS:
                _form(el, conv, uploads, embedded)
            if kind == "process":
                _starters(el, conv, roles)
            if kind == "startEvent" and el.get(_q(CAMUNDA, "initiator")) not in (None, "initiator"):
                conv.note(el.get("id"), f"发起人变量 camunda:initiator=“{el.get(_q(CAMUNDA, 'initiator'))}”："
                                        "呼应把发起人的用户名记在变量 initiator 中，表达式请使用 initiator")
            if kind in _DELEGATE_TASKS:
                _delegate(el, conv)
            if kind == "scriptTask":
                _script_format(el, conv)
            if kind in ("conditionExpression", "completionCondition", "loopCardinality"):
                _expression(el, conv)
            if kind in ("timeDuration", "timeDate", "timeCycle"):
                _timer(el, conv)
            if kind == "multiInstanceLoopCharacteristics":
                _multi_instance(el, conv)
        elif _ns(el) in (CAMUNDA, ZEEBE) and el.getparent() is not None \
                and _local(el.getparent()) == "extensionElements":
            message = _IGNORED_ELEMENTS.get(kind, "")
            if message is None:
                continue
            owner = _owner(el)
            conv.note(owner.get("id") if owner is not None else None,
                      message or f"扩展 {etree.QName(el).localname} 被忽略：呼应不支持它")
    for name, form in uploads.items():       # one a spiffworkflow:property names directly, say
        if name not in conv.forms:
            try:
                conv.forms[name] = formjs.convert(form, name)[0]
            except formjs.FormJsError as e:
                conv.refuse(None, str(e))
    if conv.changed:     # the prefixes of what was added declared once at the top, as modellers write them
        top = {p: ns for p, ns in (("spiffworkflow", SPIFF), ("xsi", XSI)) if ns not in root.nsmap.values()}
        etree.cleanup_namespaces(tree, top_nsmap=top or None, keep_ns_prefixes=[p for p in root.nsmap if p])
    return conv


def _owner(el):
    """The BPMN element an extension element belongs to."""
    node = el.getparent()
    while node is not None and (_ns(node) != BPMN or _local(node) == "extensionElements"):
        node = node.getparent()
    return node


def _ignored_attributes(el, conv):
    for attr in el.attrib:
        q = etree.QName(attr)
        if q.namespace != CAMUNDA:
            continue
        message = _IGNORED_ATTRIBUTES.get(q.localname, "")
        if message is None:
            continue
        conv.note(el.get("id"), message or f"camunda:{q.localname} 被忽略：呼应不支持它")


# --- who does a task ---------------------------------------------------------------------------
def _groups(text):
    value = (text or "").strip()
    if value.startswith("="):
        value = value[1:].strip()
        if value.startswith("[") and value.endswith("]"):
            items = re.findall(r'"([^"]*)"', value)
            if items and re.fullmatch(r'\[\s*"[^"]*"(\s*,\s*"[^"]*")*\s*\]', value):
                return items
        elif len(value) > 1 and value[0] == value[-1] == '"':
            return [value[1:-1]]
        return None
    if feel.is_juel(value):
        return None
    return [g.strip() for g in value.split(",") if g.strip()]


def _route(el, conv, roles, lanes):
    eid, name = el.get("id"), _label(el)
    zeebe = _ext(el, "assignmentDefinition")
    holder, attr = (el, _q(CAMUNDA, "candidateGroups"))
    if el.get(attr) is None and zeebe is not None and zeebe.get("candidateGroups") is not None:
        holder, attr = zeebe, "candidateGroups"
    source = holder.get(attr)
    if zeebe is not None and zeebe.get("candidateUsers"):
        conv.note(eid, "候选人（candidateUsers）被忽略：呼应按角色和单位派发待办")
    if source is None:
        return
    groups = _groups(source)
    if groups is None:
        conv.refuse(eid, f"用户任务“{name}”的候选组“{source}”是表达式：呼应只接受角色代码、角色中文名或上传时 roles 映射的组名")
        return
    mapped = [(g, role_of_lane(g) or roles.get(g)) for g in groups]
    chosen = next(((g, r) for g, r in mapped if r), None)
    if chosen is None:
        listed = "、".join(f"“{g}”" for g in groups) or "（空）"
        conv.refuse(eid, f"用户任务“{name}”的候选组 {listed} 不是呼应的角色：请改为角色代码或中文名（如 department、县级部门），"
                         f"或在上传时用 roles 字段映射，如 {{\"{groups[0] if groups else 'group'}\": \"department\"}}")
        return
    group, role = chosen
    conv.roles[eid] = role
    lane = lanes.get(eid)
    via = f"（按 roles 映射）" if role_of_lane(group) is None else ""
    instead = f"，替代泳道“{lane}”" if lane and role_of_lane(lane) != role else ""
    if group != role or len(groups) > 1:
        conv.note(eid, f"候选组“{group}”{via} → 角色 {ROLES[role]}（{role}）：任务进入该角色的待办{instead}")
        holder.set(attr, role)
        conv.changed = True
    elif instead:
        conv.note(eid, f"候选组“{group}” → 角色 {ROLES[role]}（{role}）：任务进入该角色的待办{instead}")
    rest = [g for g, _r in mapped if g != group]
    if rest:
        conv.note(eid, f"其余候选组 {'、'.join(rest)} 未使用：呼应的任务只派给一个角色（取第一个能对应角色的组）")


def _assignee(el, conv, initiators):
    eid, name = el.get("id"), _label(el)
    zeebe = _ext(el, "assignmentDefinition")
    source = el.get(_q(CAMUNDA, "assignee"))
    if source is None and zeebe is not None:
        source = zeebe.get("assignee")
    if source is None or not source.strip():
        return
    value = source.strip()
    var = feel.variable_of(value)
    if var is not None and var in initiators:
        conv.assignees[eid] = INITIATOR
        conv.note(eid, f"处理人 {value} → 由案件发起人认领（任务就绪时自动认领）")
        return
    if value.startswith("=") and len(value) > 2 and value[1] == value[-1] == '"':
        value = value[2:-1]
    if _USERNAME.fullmatch(value):
        conv.assignees[eid] = value
        conv.note(eid, f"处理人 {value} → 任务就绪时由用户 {value} 认领")
        return
    conv.refuse(eid, f"用户任务“{name}”的处理人“{source}”无法转换：呼应只接受 ${{initiator}}（发起人）或已有的用户名")


def _starters(el, conv, roles):
    source = el.get(_q(CAMUNDA, "candidateStarterGroups"))
    if not source:
        return
    groups = _groups(source) or []
    mapped = [role_of_lane(g) or roles.get(g) for g in groups]
    unknown = [g for g, r in zip(groups, mapped) if not r]
    starts = [s for s in el.findall(_q(BPMN, "startEvent"))]
    codes = [r for r in dict.fromkeys(mapped) if r]
    if unknown:
        conv.note(el.get("id"), f"可发起组 {'、'.join(unknown)} 不是呼应的角色，未使用（可在上传时用 roles 映射）")
    if not codes:
        return
    for s in starts:
        props = _spiff_properties(s)
        if any(p.get("name") == "startRoles" for p in props):
            continue
        _set_property(s, "startRoles", ",".join(codes))
        conv.changed = True
        conv.note(s.get("id"), f"可发起组 {source} → 可发起角色 {'、'.join(ROLES[c] for c in codes)}（startRoles）")


# --- deadlines ---------------------------------------------------------------------------------
def _schedule(el, conv, root):
    eid, name = el.get("id"), _label(el)
    zeebe = _ext(el, "taskSchedule")
    for attr, suffix, escalation, label in (("dueDate", "due", None, "到期时间"),
                                            ("followUpDate", "follow_up", "remind", "跟进时间")):
        holder, key = el, _q(CAMUNDA, attr)
        if el.get(key) is None and zeebe is not None and zeebe.get(attr) is not None:
            holder, key = zeebe, attr
        source = holder.get(key)
        if source is None:
            continue
        timer = _timer_of(source)
        if timer is None:
            conv.refuse(eid, f"用户任务“{name}”的{label}（{attr}）“{source}”无法转换：应为 ISO 8601 时长（如 P3D）、"
                             "带时区的日期时间（如 2026-12-24T09:00:00+08:00）或保存这类值的变量（${var}）")
            continue
        tag, expression, how = timer
        del holder.attrib[key]
        if zeebe is not None and holder is zeebe and not zeebe.attrib:
            zeebe.getparent().remove(zeebe)
        boundary_id = f"{eid}_{suffix}"
        if not any(e.get("id") == boundary_id for e in root.iter()):
            _add_boundary(el, boundary_id, "办理期限" if escalation is None else "跟进提醒", tag, expression,
                          escalation, root)
        conv.changed = True
        effect = "任务的办理期限（到期后在督查面板显示超时）" if escalation is None else "任务的预警时间（到时向承办人催办）"
        conv.note(eid, f"{label} {attr}=“{source}” → {effect}：{how}；已作为非中断边界定时器 {boundary_id} 写入流程")


def _timer_of(source):
    """(timer element tag, restricted expression, how it counts) of a due/follow-up date, or None."""
    literal = feel.iso_literal(source)
    if literal is not None:
        if literal.upper().startswith("R"):
            return None                                   # a cycle is no deadline
        kind = "duration" if literal.upper().startswith("P") else "date"
        try:
            timers.check(kind, literal, deployed=True)
        except expressions.ExpressionError:
            return None
        if kind == "duration":
            return "timeDuration", json.dumps(literal), "从任务就绪时起算"
        return "timeDate", json.dumps(literal), "固定时刻"
    var = feel.variable_of(source)
    if var is not None:
        return "timeDate", f"deadline_from({var})", f"取变量 {var} 的值（时长从任务就绪时起算，日期时间为固定时刻）"
    return None


def deadline_from(value):
    """An ISO date-time as it is; an ISO duration as the moment it ends, counted from now (when a
    task's timer is armed, that is when the task becomes ready)."""
    if not isinstance(value, str):
        raise expressions.ExpressionError("到期时间变量应为 ISO 8601 时长（如 P3D）或带时区的日期时间")
    text = value.strip()
    if text.upper().startswith("P"):
        timers.check("duration", text.upper())     # bounded before SpiffWorkflow walks its months
        now = datetime.now(timezone.utc)
        return (now + TimerEventDefinition.get_timedelta_from_start(
            TimerEventDefinition.parse_iso_duration(text.upper()), now)).isoformat()
    timers.check("date", text)
    return text


expressions.register_functions({"deadline_from": deadline_from})


def _add_boundary(task, boundary_id, name, tag, expression, escalation, root):
    parent = task.getparent()
    b = etree.SubElement(parent, _q(BPMN, "boundaryEvent"), id=boundary_id, name=name,
                         cancelActivity="false", attachedToRef=task.get("id"))
    if escalation:
        _set_property(b, "escalation", escalation)
    definition = etree.SubElement(b, _q(BPMN, "timerEventDefinition"), id=f"{boundary_id}_timer")
    value = etree.SubElement(definition, _q(BPMN, tag))
    prefix = next((p for p, ns in root.nsmap.items() if ns == BPMN), None)
    value.set(_q(XSI, "type"), f"{prefix}:tFormalExpression" if prefix else "tFormalExpression")
    value.text = expression
    shape = next((s for s in root.iter(_q(BPMNDI, "BPMNShape")) if s.get("bpmnElement") == task.get("id")), None)
    bounds = shape.find(_q(DC, "Bounds")) if shape is not None else None
    if bounds is not None:
        x, y = float(bounds.get("x", 0)), float(bounds.get("y", 0))
        w, h = float(bounds.get("width", 100)), float(bounds.get("height", 80))
        left = x + w - 18 - (70 if escalation is None else 20)
        s = etree.SubElement(shape.getparent(), _q(BPMNDI, "BPMNShape"), id=f"{boundary_id}_di",
                             bpmnElement=boundary_id)
        etree.SubElement(s, _q(DC, "Bounds"), x=f"{left:g}", y=f"{y + h - 18:g}", width="36", height="36")
        label = etree.SubElement(s, _q(BPMNDI, "BPMNLabel"))
        etree.SubElement(label, _q(DC, "Bounds"), x=f"{left - 7:g}", y=f"{y + h + 20:g}", width="50", height="14")


# --- forms -------------------------------------------------------------------------------------
def _formjs_uploads(forms, conv):
    """{filename: form-js dict} of the uploaded files that are Camunda Forms."""
    out = {}
    for name, content in forms.items():
        if isinstance(content, dict) and not formjs.is_formjs(content):
            continue
        try:
            value = formjs.parse(content, name)
        except formjs.FormJsError as e:
            if name.lower().endswith(".form"):
                conv.refuse(None, str(e))
            continue
        if formjs.is_formjs(value):
            out[name] = value
    return out


def _spiff_properties(el):
    ext = el.find(_q(BPMN, "extensionElements"))
    props = ext.find(_q(SPIFF, "properties")) if ext is not None else None
    return list(props.findall(_q(SPIFF, "property"))) if props is not None else []


def _set_property(el, name, value):
    ext = el.find(_q(BPMN, "extensionElements"))
    if ext is None:
        ext = etree.Element(_q(BPMN, "extensionElements"))
        docs = [c for c in el if _local(c) == "documentation"]
        el.insert(el.index(docs[-1]) + 1 if docs else 0, ext)
    props = ext.find(_q(SPIFF, "properties"))
    if props is None:
        props = etree.SubElement(ext, _q(SPIFF, "properties"))
    etree.SubElement(props, _q(SPIFF, "property"), name=name, value=value)


def _form(el, conv, uploads, embedded):
    eid, name = el.get("id"), _label(el)
    if any(p.get("name") == "formJsonSchemaFilename" for p in _spiff_properties(el)):
        return
    definition = _ext(el, "formDefinition")
    key = el.get(_q(CAMUNDA, "formKey"))
    ref = el.get(_q(CAMUNDA, "formRef"))
    form_data = el.find(f"{_q(BPMN, 'extensionElements')}/{_q(CAMUNDA, 'formData')}")
    if form_data is not None:
        _generated_form(el, form_data, conv)
        return
    filename, form = None, None
    if key:
        scheme, _, rest = key.rpartition(":") if ":" in key else ("", "", key)
        if key.startswith(("embedded:", "app:")) or key.lower().endswith((".html", ".htm")):
            conv.refuse(eid, f"“{name}”的表单“{key}”是嵌入式 HTML 表单：呼应不运行 HTML/JavaScript 表单；"
                             "请改用 Camunda Forms（.form）或 JSON Schema 表单")
            return
        if key.startswith("camunda-forms:bpmn:"):
            form, filename = _embedded(key[len("camunda-forms:bpmn:"):], embedded, eid, name, conv)
        else:
            base = rest.rsplit("/", 1)[-1]
            filename, form = base, uploads.get(base)
            if form is None:
                conv.refuse(eid, f"“{name}”的表单“{key}”不在上传内容中：请把 {base} 放进 .zip 一并上传")
                return
    elif ref or (definition is not None and definition.get("formId")):
        form_id = ref or definition.get("formId")
        found = [(n, f) for n, f in uploads.items() if f.get("id") == form_id]
        if not found:
            conv.refuse(eid, f"“{name}”引用的表单 id“{form_id}”不在上传内容中：请把该 Camunda Forms 文件（.form）放进 .zip 一并上传")
            return
        filename, form = found[0]
    elif definition is not None and definition.get("formKey"):
        fkey = definition.get("formKey")
        if fkey.startswith("camunda-forms:bpmn:"):
            form, filename = _embedded(fkey[len("camunda-forms:bpmn:"):], embedded, eid, name, conv)
        else:
            conv.refuse(eid, f"“{name}”的表单键“{fkey}”指向外部表单：呼应只接受随上传的 Camunda Forms 或 JSON Schema 表单")
            return
    elif definition is not None and definition.get("externalReference"):
        conv.refuse(eid, f"“{name}”的外部表单“{definition.get('externalReference')}”无法使用：请改用 Camunda Forms（.form）")
        return
    else:
        return
    if form is None:
        return
    try:
        schema, notes = formjs.convert(form, filename)
    except formjs.FormJsError as e:
        conv.refuse(eid, str(e))
        return
    conv.forms[filename] = schema
    _set_property(el, "formJsonSchemaFilename", filename)
    conv.changed = True
    fields = "、".join(f"{p.get('title') or k}" for k, p in schema["properties"].items())
    conv.note(eid, f"Camunda 表单 {filename} → JSON Schema 表单（字段：{fields or '无'}）")
    for n in notes:
        conv.note(eid, n)


_FIELD_TYPES = {"string": {"type": "string"}, "long": {"type": "integer"}, "boolean": {"type": "boolean"},
                "date": {"type": "string", "format": "date"}, "enum": {"type": "string"}}


def _generated_form(el, form_data, conv):
    """A generated form (camunda:formData) as a JSON Schema form: fields of the five built-in
    types with their labels, defaults, enum values and required/min/max/minlength/maxlength."""
    eid, name = el.get("id"), _label(el)
    filename = f"{eid}.formData.json"
    schema = {"type": "object", "title": name, "properties": {}, "required": []}
    for f in form_data.findall(_q(CAMUNDA, "formField")):
        key, kind = f.get("id"), f.get("type") or "string"
        label = f.get("label") or key
        if not key or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,80}", key):
            conv.refuse(eid, f"“{name}”的生成表单字段 id“{key}”不能用作变量名")
            continue
        if kind not in _FIELD_TYPES:
            conv.refuse(eid, f"“{name}”的生成表单字段“{label}”的类型 {kind} 不被支持：应为 string、long、boolean、date 或 enum")
            continue
        prop = dict(_FIELD_TYPES[kind], title=label)
        if kind == "enum":
            values = [v for v in f.findall(_q(CAMUNDA, "value")) if v.get("id")]
            prop["oneOf"] = [{"const": v.get("id"), "title": v.get("name") or v.get("id")} for v in values]
        default = f.get("defaultValue")
        if default not in (None, ""):
            if feel.is_juel(default):
                conv.note(eid, f"生成表单字段“{label}”的默认值 {default} 是表达式，未使用")
            else:
                typed = {"long": _int_or_none, "boolean": lambda v: v.lower() == "true"}.get(kind, str)
                prop["default"] = typed(default)
                if prop["default"] is None:
                    del prop["default"]
        for c in f.iter(_q(CAMUNDA, "constraint")):
            cname, config = c.get("name"), c.get("config")
            number = _int_or_none(config)
            if cname == "required":
                schema["required"].append(key)
                if prop["type"] == "string":
                    prop["minLength"] = max(prop.get("minLength", 0), 1)
            elif cname in ("minlength", "maxlength") and number is not None and number >= 0:
                prop["minLength" if cname == "minlength" else "maxLength"] = number
            elif cname in ("min", "max") and number is not None:
                prop["minimum" if cname == "min" else "maximum"] = number
            else:
                conv.note(eid, f"生成表单字段“{label}”的校验 {cname}{'=' + config if config else ''} 未转换")
        schema["properties"][key] = prop
    if not schema["required"]:
        del schema["required"]
    conv.forms[filename] = schema
    _set_property(el, "formJsonSchemaFilename", filename)
    conv.changed = True
    fields = "、".join(p["title"] for p in schema["properties"].values())
    conv.note(eid, f"生成表单（camunda:formData）→ JSON Schema 表单 {filename}（字段：{fields or '无'}）")


def _int_or_none(text):
    try:
        return int(str(text).strip())
    except (TypeError, ValueError):
        return None


def _embedded(form_key, embedded, eid, name, conv):
    holder = embedded.get(form_key)
    if holder is None:
        conv.refuse(eid, f"“{name}”的嵌入表单 {form_key} 在文件中找不到（zeebe:userTaskForm）")
        return None, None
    try:
        form = json.loads(holder.text or "")
    except ValueError:
        conv.refuse(eid, f"“{name}”的嵌入表单 {form_key} 不是合法的 JSON")
        return None, None
    if not formjs.is_formjs(form):
        conv.refuse(eid, f"“{name}”的嵌入表单 {form_key} 不是 Camunda Forms 表单")
        return None, None
    return form, f"{form_key}.form"


# --- what Huying does not run ------------------------------------------------------------------
def _delegate(el, conv):
    eid, name = el.get("id"), _label(el)
    if el.get(_q(CAMUNDA, "class")):
        conv.refuse(eid, f"“{name}”调用 Java 类 {el.get(_q(CAMUNDA, 'class'))}（camunda:class）：呼应不运行 Java 代码；"
                         "请改为外部任务（camunda:type=\"external\" 加 topic）、脚本任务或用户任务")
    elif el.get(_q(CAMUNDA, "delegateExpression")):
        conv.refuse(eid, f"“{name}”的委托表达式“{el.get(_q(CAMUNDA, 'delegateExpression'))}”（camunda:delegateExpression）"
                         "调用 Java Bean：呼应不运行 Java 代码；请改为外部任务、脚本任务或用户任务")
    elif el.get(_q(CAMUNDA, "expression")):
        conv.refuse(eid, f"“{name}”的表达式“{el.get(_q(CAMUNDA, 'expression'))}”（camunda:expression）调用方法或 Bean："
                         "呼应不执行它；请改为脚本任务（受限表达式语言）或外部任务")
    elif _ext(el, "connector", CAMUNDA) is not None:
        conv.refuse(eid, f"“{name}”使用连接器（camunda:connector）：呼应不调用连接器；请改为外部任务")


def _script_format(el, conv):
    fmt = (el.get("scriptFormat") or "").strip().lower()
    if fmt and fmt not in ("python", "python3", "text/x-python"):
        conv.refuse(el.get("id"), f"脚本任务“{_label(el)}”的脚本语言是 {el.get('scriptFormat')}：呼应只运行受限表达式语言"
                                  "（类似 Python 的赋值和条件）；请改写脚本")


def _expression(el, conv):
    text = el.text or ""
    owner = el.getparent()
    if _local(owner) == "multiInstanceLoopCharacteristics":
        owner = owner.getparent()
    eid, name = owner.get("id"), _label(owner)
    what = {"conditionExpression": "条件", "completionCondition": "完成条件", "loopCardinality": "多实例数量"}[_local(el)]
    language = (el.get("language") or "").strip().lower()
    if language and language not in ("python", "feel", "juel", "http://www.omg.org/spec/feel/20140401"):
        conv.refuse(eid, f"“{name}”的{what}使用 {el.get('language')} 脚本：呼应只接受比较和逻辑运算的表达式")
        return
    if not (feel.is_juel(text) or feel.is_feel(text)):
        return
    label = "流向" if _local(owner) == "sequenceFlow" else ""
    try:
        out = feel.translate(text)
    except feel.FeelError as e:
        conv.refuse(eid, f"{label}“{name}”的{what}“{text.strip()}”无法转换：{e}")
        return
    el.text = out
    for attr in ("language",):
        el.attrib.pop(attr, None)
    conv.changed = True
    conv.note(eid, f"{label}“{name}”的{what} {text.strip()} → {out}")


def _timer(el, conv):
    text = (el.text or "").strip()
    owner = el.getparent().getparent()         # the event around the timer event definition
    eid = owner.get("id") if owner is not None else None
    literal = feel.iso_literal(text)
    if literal is not None:
        el.text = json.dumps(literal)
    elif feel.variable_of(text) is not None:
        el.text = feel.variable_of(text)
    elif feel.is_juel(text) or feel.is_feel(text):
        try:
            el.text = feel.translate(text)
        except feel.FeelError as e:
            conv.refuse(eid, f"定时器“{text}”无法转换：{e}")
            return
    else:
        return
    conv.changed = True
    conv.note(eid, f"定时器 {text} → {el.text}（ISO 8601 文字加上引号，作为受限表达式语言的文本）")


def _multi_instance(el, conv):
    owner = el.getparent()
    collection = el.get(_q(CAMUNDA, "collection"))
    zeebe = _ext(el, "loopCharacteristics")
    if collection or zeebe is not None:
        source = collection or zeebe.get("inputCollection")
        where = "camunda:collection" if collection else "zeebe:loopCharacteristics"
        conv.refuse(owner.get("id"), f"多实例“{_label(owner)}”的集合“{source}”（{where}）未转换："
                                     "请改用 loopDataInputRef 和 inputDataItem（数据输入、输入项）指明集合和元素变量")


def forms_after(forms, conv):
    """The forms to load after a conversion: the converted Camunda Forms in place of their
    form-js sources (a .form file that does not parse is refused by the conversion)."""
    out = {name: content for name, content in (forms or {}).items()
           if name not in conv.forms and (isinstance(content, dict) or not name.lower().endswith(".form"))}
    out.update(conv.forms)
    return out
