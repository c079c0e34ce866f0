"""Loading and validating a process: one BPMN file and the forms it names.

`load_definition(bpmn_bytes, forms)` returns a ProcessDefinition or raises DefinitionError with
every problem found, each with the element id it concerns, so that nothing invalid is deployed.
The XML is parsed here with entities, DTDs and network access refused (XXE), then handed to
SpiffWorkflow's parser as a tree.
"""
from dataclasses import dataclass, field

from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.specs.mixins.manual_task import ManualTask
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask, MultiInstanceTask
from SpiffWorkflow.bpmn.specs.mixins.none_task import NoneTask
from SpiffWorkflow.bpmn.specs.mixins.script_task import ScriptTask
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.spiff.parser.process import VALIDATOR

from ..roles import FLAG_KINDS, LIST_ACTIONS, ROLES, role_of_lane
from . import calls, camunda, dmn, events, expressions, messages_zh, timers
from .forms import FormError, load_form
from .parser import HuyingParser
from .runtime import check_cardinality

MAX_BPMN_BYTES = 2 * 1024 * 1024
RESERVED_IDS = {"Start", "End", "Root"}
CASE_STATUSES = {"closed", "rejected", "refused"}
# what the application does when an element carrying `escalation` fires or is passed
ESCALATIONS = {"remind": "催办（黄牌预警）", "order": "督办单（红牌超时）", "listed": "挂牌督办", "problem": "问题工单"}
NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}


class DefinitionError(Exception):
    """A process that must not be deployed; `errors` is [{element_id?, message}]."""

    def __init__(self, errors):
        super().__init__("; ".join(f"{e.get('element_id') or '-'}: {e['message']}" for e in errors))
        self.errors = errors


@dataclass
class TaskDef:
    """What the application needs to know of one user or manual task (or of the start event)."""
    element_id: str
    name: str
    role: str
    form: str = None
    ui_form: str = None
    org_expr: str = None
    instructions: str = None
    roles: tuple = ()    # for the start event: who may start (its lane's role, or the startRoles property)
    assignee: str = None  # who claims the task when it is ready: camunda.INITIATOR (the starter) or a username


@dataclass
class ProcessDefinition:
    process_id: str
    name: str
    spec: object
    subprocess_specs: dict
    start: TaskDef
    tasks: dict                      # element id -> TaskDef, user and manual tasks only
    forms: dict                      # filename -> JSON Schema
    end_status: dict = field(default_factory=dict)   # end event id -> case status
    escalations: dict = field(default_factory=dict)  # element id -> escalation kind (see ESCALATIONS)
    boundary_escalations: dict = field(default_factory=dict)  # (task id it is attached to, kind) -> timer id
    end_props: dict = field(default_factory=dict)    # end event id -> its properties (listAction, flagKind, ...)
    names: dict = field(default_factory=dict)        # element id -> its name, for messages and pages
    title_expr: str = "title"
    calls: dict = field(default_factory=dict)        # callee key -> (process id, pinned version or None)
    call_elements: dict = field(default_factory=dict)  # call activity id -> calls.CallDef
    decisions: dict = field(default_factory=dict)    # decision id -> dmn.Decision
    notes: list = field(default_factory=list)        # [{element_id, message}]: what was read loosely or ignored
    report: list = field(default_factory=list)   # conversion report: [{element_id?, message}]
    bpmn_text: str = None   # the BPMN to store when the conversion (camunda.py) rewrote the upload

    def form(self, filename):
        if not filename:
            return None
        found = self.forms.get(filename)
        return found if found is not None or filename in self.forms else calls.callee_form(filename)


_XXE = "BPMN 文件不能包含 DOCTYPE 或实体声明（XXE 风险）"


def parse_xml(data):
    """An lxml tree of untrusted BPMN bytes in the encoding their XML declaration (or BOM) names:
    no DTD, no entities, no network."""
    if not isinstance(data, (bytes, bytearray)):
        data = str(data).encode("utf-8")
    if len(data) > MAX_BPMN_BYTES:
        raise DefinitionError([{"message": f"BPMN 文件过大（上限 {MAX_BPMN_BYTES // 1024} KB）"}])
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise DefinitionError([{"message": _XXE}])
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             dtd_validation=False, huge_tree=False, remove_comments=True)
    try:
        root = etree.fromstring(bytes(data), parser=parser)
    except (etree.XMLSyntaxError, ValueError, LookupError) as e:   # LookupError: an unknown encoding
        raise DefinitionError(messages_zh.xml_syntax_errors(e, parser.error_log)) from None
    tree = root.getroottree()
    # the byte test above cannot see a declaration in UTF-16 and the like
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None or next(root.iter(etree.Entity), None) is not None:
        raise DefinitionError([{"message": _XXE}])
    return tree


def xml_text(data):
    """The text to store for BPMN bytes: the document as it came when it is UTF-8, otherwise
    re-serialised as UTF-8 (a file saved as UTF-16 or GBK with its XML declaration deploys)."""
    tree = parse_xml(data)
    if isinstance(data, str):
        return data
    if (tree.docinfo.encoding or "").upper().replace("-", "") == "UTF8":
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is not None and "\x00" not in text:
            return text.removeprefix("\ufeff")
    return etree.tostring(tree, encoding="UTF-8", xml_declaration=True).decode("utf-8")


def _properties(node):
    props = {}
    for p in node.findall("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS):
        if p.get("name"):
            props[p.get("name")] = p.get("value")
    return props


def _instructions(node):
    el = node.find("bpmn:extensionElements/spiffworkflow:instructionsForEndUser", NS)
    return el.text.strip() if el is not None and el.text else None


def load_decisions(files):
    """({decision id: dmn.Decision}, errors) of DMN files ({filename: bytes|str})."""
    found, errors = {}, []
    for name, content in sorted((files or {}).items()):
        try:
            decisions = dmn.parse_decisions(parse_xml(content), name)
        except DefinitionError as e:
            errors.extend({"element_id": None, "message": f"{name}：{x['message']}"} for x in e.errors)
            continue
        except dmn.DmnError as e:
            errors.extend(e.errors)
            continue
        for decision_id, decision in decisions.items():
            if decision_id in found:
                errors.append({"element_id": decision_id, "message": f"决策 id {decision_id} 在上传的 DMN 文件中出现了两次"})
            found[decision_id] = decision
    return found, errors


@messages_zh.annotated
def load_definition(bpmn, forms, process_id=None, stored=False, decisions=None, roles=None):
    """Parse and validate a BPMN document with its forms ({filename: bytes|str|dict}) and the DMN
    files its business rule tasks use ({filename: bytes|str}).

    Returns the ProcessDefinition of `process_id`, or of the document's only executable process.
    `stored`: a version deployed already, loaded to run its cases. What a later Huying refuses at
    deploy does not stop it from loading: its cases fail, errored with the cause, where they fail.
    `roles`: {candidate group: role code} for Camunda files (camunda.parse_roles)."""
    tree = parse_xml(bpmn)
    conversion = camunda.convert(tree, forms, roles)
    # what is stored: the converted model, before the parser's own preparations below touch the tree
    converted = etree.tostring(tree, encoding="UTF-8", xml_declaration=True).decode("utf-8") \
        if conversion.changed else None
    errors = list(conversion.errors)
    forms = camunda.forms_after(forms, conversion)
    root = tree.getroot()
    calls.prepare(root)
    decision_tables, decision_errors = load_decisions(decisions)
    errors.extend(decision_errors)
    if root.tag != "{%s}definitions" % NS["bpmn"]:
        raise DefinitionError([{"message": f"不是 BPMN 2.0 文件：根元素是 {etree.QName(root).localname}，应为 "
                                           f"{NS['bpmn']} 命名空间的 definitions", "line": root.sourceline}])
    for el in root.iter():
        if isinstance(el.tag, str) and el.get("id") in RESERVED_IDS:
            errors.append({"element_id": el.get("id"),
                           "message": f"元素 id “{el.get('id')}” 为引擎保留，请改用其他 id（如 start_call）"})
    processes = root.findall("bpmn:process", NS)
    executable = [p for p in processes if p.get("isExecutable", "false") == "true"] or processes
    if process_id is None:
        if len(executable) != 1:
            errors.extend(messages_zh.process_choice(root))
            raise DefinitionError(errors)
        process_id = executable[0].get("id")
    proc_node = next((p for p in processes if p.get("id") == process_id), None)
    if proc_node is None:
        raise DefinitionError(errors + messages_zh.process_choice(root, process_id))
    if proc_node.get("isExecutable") != "true":
        # the document's only process (or the one asked for), drawn without the flag — as most tools
        # leave it: SpiffWorkflow refuses to parse it, yet nothing else in the file could be meant
        proc_node.set("isExecutable", "true")
        conversion.report.append({"element_id": process_id, "message": (
            f"流程 {process_id} 未设为可执行（isExecutable），它是文件中唯一可部署的流程，已按可执行部署")})
    errors.extend(_check_elements(root, proc_node))
    errors.extend(events.check_elements(root, proc_node))
    call_elements, call_errors, notes = calls.read_calls(proc_node)
    errors.extend(call_errors)
    title_expr = _properties(proc_node).get("caseTitle") or "title"
    reason = expressions.check_expression(title_expr)
    if reason:
        errors.append({"element_id": process_id, "message": f"案件标题表达式（caseTitle）不被接受：{reason}"})
    # every problem at once: the XSD's all, then the parser's (it stops at its first), with Huying's own
    VALIDATOR.preprocess(tree)
    errors.extend(messages_zh.xsd_errors(VALIDATOR.validator, tree))
    parser = HuyingParser(decisions=decision_tables)
    topics = events.prepare_tree(root)
    try:
        parser.add_bpmn_xml(tree, filename=f"{process_id}.bpmn")
        spec = parser.get_spec(process_id)
        subprocess_specs = calls.own_subprocess_specs(
            spec, parser.get_subprocess_specs(process_id, require_call_activity_specs=False))
    except Exception as e:  # noqa: BLE001 - ValidationException, and assorted errors on malformed models
        found = messages_zh.parser_error(e, tree)
        found["element_id"] = found["element_id"] or process_id     # what it concerns, else the process read
        if not any(x.get("element_id") == found["element_id"] for x in errors if found["element_id"]):
            errors.append(found)      # else Huying's own check of that element has said what to change
        raise DefinitionError(errors + _form_errors(forms)) from None
    if errors and not stored:
        raise DefinitionError(errors + _form_errors(forms))
    connect_loop_children([spec] + list(subprocess_specs.values()))
    errors.extend(parser.problems)
    call_keys = calls.bind([spec] + list(subprocess_specs.values()), call_elements)
    events.mark_external([spec] + list(subprocess_specs.values()), topics)

    loaded_forms = {}
    for name, content in (forms or {}).items():
        if isinstance(content, dict):
            loaded_forms[name] = content
            continue
        try:
            loaded_forms[name] = load_form(content, name)
        except FormError as e:
            errors.append({"element_id": None, "file": name, "message": str(e), "detail": e.detail})

    nodes = {el.get("id"): el for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
    tasks, end_status, end_props, escalations, names, start = {}, {}, {}, {}, {}, None
    report = list(conversion.report)
    lanes_drawn = proc_node.find(".//bpmn:lane", NS) is not None
    boundary_escalations = {}
    all_specs = [spec] + list(subprocess_specs.values())
    for pspec in all_specs:
        for ts in pspec.task_specs.values():
            node = nodes.get(getattr(ts, "bpmn_id", None) or "")
            if node is None:
                continue
            errors.extend(_check_expressions(ts, node))
            report.extend(_check_gateway(ts))
            props = _properties(node)
            names[ts.bpmn_id] = ts.bpmn_name or ts.bpmn_id
            if props.get("escalation"):
                if props["escalation"] not in ESCALATIONS:
                    errors.append({"element_id": ts.bpmn_id, "message": "督办动作（escalation）只能是 "
                                   + "、".join(f"{k}（{v}）" for k, v in ESCALATIONS.items())})
                escalations[ts.bpmn_id] = props["escalation"]
                if node.get("attachedToRef"):
                    boundary_escalations[(node.get("attachedToRef"), props["escalation"])] = ts.bpmn_id
            if isinstance(ts, NoneTask):
                ts.manual = False          # a plain task passes: the engine completes it
            if isinstance(ts, (UserTask, ManualTask)) or (isinstance(ts, StartEvent) and pspec is spec):
                role = conversion.roles.get(ts.bpmn_id) or role_of_lane(ts.lane)
                to_starter = isinstance(ts, (UserTask, ManualTask)) and role is None and ts.lane is None \
                    and not lanes_drawn and ts.bpmn_id not in conversion.assignees
                if to_starter:     # SpiffArena's rule for a process drawn without lanes: the starter does it
                    report.append({"element_id": ts.bpmn_id, "message": (
                        f"{'用户任务' if isinstance(ts, UserTask) else '手工任务'}“{ts.bpmn_name or ts.bpmn_id}”"
                        "所在的流程没有泳道、任务也没有候选组：交给发起人本人办理（如需交给某个角色，请画泳道或写候选组）")})
                elif isinstance(ts, (UserTask, ManualTask)) and role is None:
                    kind = "用户任务" if isinstance(ts, UserTask) else "手工任务"
                    msg = (f"{kind}“{ts.bpmn_name or ts.bpmn_id}”不在任何泳道中" if ts.lane is None
                           else f"泳道“{ts.lane}”不是已知角色（应为角色代码或中文名，如 乡镇、响应中心、县级部门）")
                    errors.append({"element_id": ts.bpmn_id, "message": msg})
                form = props.get("formJsonSchemaFilename") or None
                ui = props.get("formUiSchemaFilename") or None
                for f in (form, ui):
                    if f and f not in loaded_forms and f not in {e.get("file") for e in errors}:
                        errors.append({"element_id": ts.bpmn_id, "file": f,
                                       "message": f"表单文件 {f} 不存在（应放在 forms/ 下）"})
                org_expr = props.get("orgUnit") or None
                if org_expr:
                    reason = expressions.check_expression(org_expr)
                    if reason:
                        errors.append({"element_id": ts.bpmn_id, "message": f"承办单位表达式（orgUnit）不被接受：{reason}"})
                td = TaskDef(ts.bpmn_id, ts.bpmn_name or ts.bpmn_id, role, form, ui, org_expr, _instructions(node),
                             assignee=camunda.INITIATOR if to_starter else conversion.assignees.get(ts.bpmn_id))
                if isinstance(ts, (UserTask, ManualTask)):
                    tasks[ts.bpmn_id] = td
                else:
                    listed = [r.strip() for r in (props.get("startRoles") or "").split(",") if r.strip()]
                    unknown = [r for r in listed if r not in ROLES]
                    if unknown:
                        errors.append({"element_id": ts.bpmn_id,
                                       "message": f"可发起角色（startRoles）中有未知角色：{'、'.join(unknown)}"})
                    td.roles = tuple(listed) if listed else ((role,) if role else ())
                    start = td
            if isinstance(ts, EndEvent) and pspec is spec:
                status = props.get("caseStatus") or "closed"
                if status not in CASE_STATUSES:
                    errors.append({"element_id": ts.bpmn_id,
                                   "message": "案件结果（caseStatus）只能是 " + "、".join(sorted(CASE_STATUSES))})
                end_status[ts.bpmn_id] = status
                end_props[ts.bpmn_id] = props
                if props.get("flagKind") and props["flagKind"] not in FLAG_KINDS:
                    errors.append({"element_id": ts.bpmn_id, "message": f"标记类别（flagKind）只能是 "
                                   f"{'、'.join(f'{k}（{v[1]}）' for k, v in FLAG_KINDS.items())}"})
                if props.get("listAction") and props["listAction"] not in LIST_ACTIONS:
                    errors.append({"element_id": ts.bpmn_id, "message": "清单操作（listAction）只能是 "
                                   + "、".join(f"{k}（{v}）" for k, v in LIST_ACTIONS.items())})
                if props.get("flagWhen"):
                    reason = expressions.check_expression(props["flagWhen"])
                    if reason:
                        errors.append({"element_id": ts.bpmn_id, "message": f"标记条件（flagWhen）不被接受：{reason}"})
    if start is None:
        errors.append({"element_id": process_id, "message": "流程没有开始事件"})
    for e in errors:
        e.pop("file", None)
    if errors and not stored:
        raise DefinitionError(errors)
    return ProcessDefinition(
        process_id=process_id, name=proc_node.get("name") or process_id, spec=spec,
        subprocess_specs=subprocess_specs, start=start, tasks=tasks, forms=loaded_forms,
        end_status=end_status, end_props=end_props, escalations=escalations,
        boundary_escalations=boundary_escalations, names=names, title_expr=title_expr,
        calls=call_keys, call_elements=call_elements, decisions=decision_tables, notes=notes, report=report,
        bpmn_text=converted)


def _form_errors(forms):
    """The problems of the forms of an upload whose BPMN cannot be read further."""
    errors = []
    for name, content in (forms or {}).items():
        if not isinstance(content, dict):
            try:
                load_form(content, name)
            except FormError as e:
                errors.append({"element_id": None, "file": name, "message": str(e), "detail": e.detail})
    return errors


def connect_loop_children(specs):
    """Wire every loop and multi-instance task to the completion of its child spec now.

    SpiffWorkflow 3.2.0 makes this connection lazily, the first time a process creates a child
    (engine-notes G14); a spec fresh from the parser then never merges the children of a case
    stored by another process, and that case sits open with nothing to do. The serializer makes
    the same connection when it restores a spec; doing it here makes a parsed spec equal to that."""
    for pspec in specs:
        for ts in pspec.task_specs.values():
            if isinstance(ts, LoopTask):
                child = pspec.task_specs.get(ts.task_spec)
                if child is not None and not child.completed_event.is_connected(ts.merge_child):
                    child.completed_event.connect(ts.merge_child)


def _check_gateway(ts):
    """An exclusive gateway whose conditions may all be false (a report line: Camunda users draw
    them without a default flow; when no condition holds, the case becomes errored on the
    supervisor's board)."""
    conds = [c for c, _ in getattr(ts, "cond_task_specs", None) or [] if c is not None]
    if not conds or not hasattr(ts, "default_task_spec") or ts.default_task_spec is not None:
        return []
    if any(str(c.args[0]).strip() == "True" for c in conds):
        return []
    return [{"element_id": ts.bpmn_id,
             "message": f"网关“{ts.bpmn_name or ts.bpmn_id}”没有默认流：若运行时没有条件成立，案件将转为异常，"
                        "出现在督查的异常案件列表中；建议指定一条默认流"}]


def _check_timer_literal(ts):
    """A timer whose value is known at deploy (a literal such as "PT3S", or arithmetic on
    literals) must be one Huying runs: see timers.py. Computed ones are checked when they run."""
    event_def = getattr(ts, "event_definition", None)
    kind = timers.kind_of(event_def)
    if kind is None or expressions.check_expression(event_def.expression):
        return []              # not a timer, or an expression the language refuses (reported apart)
    try:
        if expressions.is_constant(event_def.expression):
            timers.check(kind, expressions.evaluate(event_def.expression, {}), deployed=True)
    except expressions.ExpressionError as e:
        return [{"element_id": ts.bpmn_id, "message": f"定时器不能运行：{e}"}]
    return []


def _check_cardinality_literal(ts):
    """A multi-instance count known at deploy must be one Huying runs (runtime.check_cardinality)."""
    source = getattr(ts, "cardinality", None) if isinstance(ts, MultiInstanceTask) else None
    if not source or expressions.check_expression(source):
        return []
    try:
        if expressions.is_constant(source):
            check_cardinality(expressions.evaluate(source, {}))
    except expressions.ExpressionError as e:
        return [{"element_id": ts.bpmn_id, "message": f"多实例不能运行：{e}"}]
    return []


_UNSUPPORTED = {
    "serviceTask": "服务任务（serviceTask）没有主题（topic），无法执行：呼应不直接调用外部服务；请设为外部任务"
                   "（camunda:type=\"external\" 与 camunda:topic，或 Zeebe 的 taskDefinition type，或属性 topic），"
                   "由集成系统领取办理；或改为用户任务、脚本任务",
    "adHocSubProcess": "自由子流程（adHocSubProcess）无法执行：请改用内嵌子流程（subProcess）",
    "complexGateway": "复杂网关（complexGateway）无法执行：请改用排他、并行或包容网关",
    "eventDefinitionRef": "引用式事件定义（eventDefinitionRef）无法执行：请把事件定义写在事件内",
}
_UNSUPPORTED_EVENTS = {
    "conditionalEventDefinition": "条件事件无法执行：没有任何操作会重新判断它的条件；请改用网关条件",
    "compensateEventDefinition": "补偿事件无法执行：呼应不支持补偿",
}
# events thrown and caught inside the process: (reference attribute, referenced element, its name attribute)
_INTERNAL_EVENTS = {
    "errorEventDefinition": ("errorRef", "error", "errorCode", "错误"),
    "escalationEventDefinition": ("escalationRef", "escalation", "escalationCode", "升级"),
}
_CATCHING = {"startEvent", "intermediateCatchEvent", "boundaryEvent"}
_THROWING = {"intermediateThrowEvent", "endEvent"}


def _local(el):
    return etree.QName(el).localname if isinstance(el.tag, str) else None


def _check_elements(root, proc_node):
    """Elements Huying cannot run, each refused with the reason: tasks no one could do or that
    call the outside world, events nothing in the process could ever trigger, and a start event
    other than the plain one a user starts a case with (or a message or signal start: events.py)."""
    errors = []
    bpmn = "{%s}" % NS["bpmn"]

    def named(definition, kind):
        attr, tag, name_attr, _label = _INTERNAL_EVENTS[kind]
        ref = definition.get(attr)
        if ref is None:
            return None
        target = next((el for el in root.iter(bpmn + tag) if el.get("id") == ref), None)
        return (target.get(name_attr) if target is not None else None) or ref

    thrown = set()
    catchers = []
    for el in proc_node.iter():
        kind = _local(el)
        if kind is None or not el.tag.startswith(bpmn):
            continue
        element_id = el.get("id") or el.getparent().get("id")
        if kind in _UNSUPPORTED and not (kind == "serviceTask" and events.topic_of(el)):
            errors.append({"element_id": element_id, "message": _UNSUPPORTED[kind]})
            continue
        if kind not in _CATCHING | _THROWING:
            continue
        definitions = [d for d in el if _local(d) and _local(d).endswith("EventDefinition")]
        if len(definitions) > 1:
            errors.append({"element_id": element_id, "message": "多重事件（一个事件含多个事件定义）无法执行：请拆成单独的事件"})
            continue
        definition = definitions[0] if definitions else None
        dkind = _local(definition) if definition is not None else None
        if dkind in _UNSUPPORTED_EVENTS:
            errors.append({"element_id": element_id, "message": _UNSUPPORTED_EVENTS[dkind]})
            continue
        parent = el.getparent()
        if kind == "startEvent" and definition is not None and parent.get("triggeredByEvent") != "true" \
                and not (parent is proc_node and dkind in ("messageEventDefinition", "signalEventDefinition")):
            errors.append({"element_id": element_id, "message": "流程和子流程的开始事件应为空开始事件"
                                                                "（案件由有权限的用户发起）：请去掉它的事件定义"})
            continue
        if dkind in _INTERNAL_EVENTS:
            key = (dkind, named(definition, dkind))
            if kind in _THROWING:
                thrown.add(key)
            else:
                catchers.append((element_id, key))
    for element_id, (dkind, name) in catchers:
        if not any(k == dkind and (name is None or n == name) for k, n in thrown):
            label = _INTERNAL_EVENTS[dkind][3]
            errors.append({"element_id": element_id, "message": f"{label}事件“{name or '（任意）'}”不会被触发："
                                                                f"流程中没有抛出它的事件"})
    return errors


def _check_expressions(ts, node):
    """Every expression and script of one element must be accepted by the restricted language."""
    found = []
    if isinstance(ts, ScriptTask):
        found.append(("script", ts.script, expressions.check_script))
    for attr in ("prescript", "postscript"):
        if getattr(ts, attr, None):
            found.append((attr, getattr(ts, attr), expressions.check_script))
    for cond, _target in getattr(ts, "cond_task_specs", None) or []:
        if cond is not None:
            found.append(("condition", cond.args[0], expressions.check_expression))
    if isinstance(ts, MultiInstanceTask):
        for attr in ("cardinality", "condition"):
            if getattr(ts, attr, None):
                found.append((attr, getattr(ts, attr), expressions.check_expression))
    event_def = getattr(ts, "event_definition", None)
    if isinstance(event_def, TimerEventDefinition):
        found.append(("timer", event_def.expression, expressions.check_expression))
    errors = _check_timer_literal(ts) + _check_cardinality_literal(ts)
    for kind, source, check in found:
        reason = check(source)
        if reason:
            label = {"script": "脚本", "condition": "条件", "timer": "定时器表达式", "cardinality": "多实例数量",
                     "prescript": "前置脚本", "postscript": "后置脚本"}.get(kind, kind)
            errors.append({"element_id": ts.bpmn_id, "message": f"{label}不被受限表达式语言接受：{reason}"})
    return errors
