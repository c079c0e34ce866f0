"""Loading and validating a process: one BPMN file and the forms it names.

`load_definition(bpmn_bytes, forms)` returns a ProcessDefinition or raises DefinitionError with
every problem found, each with the element id it concerns, so that nothing invalid is deployed.
The XML is parsed here with entities, DTDs and network access refused (XXE), then handed to
SpiffWorkflow's parser as a tree.
"""
import ast
import re
from dataclasses import dataclass, field
from datetime import datetime

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask, MultiInstanceTask
from SpiffWorkflow.bpmn.specs.mixins.script_task import ScriptTask
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser, VALIDATOR

from ..roles import ROLES, role_of_lane
from . import expressions
from .forms import FormError, load_form

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
    """What the application needs to know of one user task (or of the start event)."""
    element_id: str
    name: str
    role: str
    form: str = None
    ui_form: str = None
    org_expr: str = None
    instructions: str = None
    roles: tuple = ()    # for the start event: who may start (its lane's role, or the startRoles property)


@dataclass
class ProcessDefinition:
    process_id: str
    name: str
    spec: object
    subprocess_specs: dict
    start: TaskDef
    tasks: dict                      # element id -> TaskDef, user tasks only
    forms: dict                      # filename -> JSON Schema
    end_status: dict = field(default_factory=dict)   # end event id -> case status
    escalations: dict = field(default_factory=dict)  # element id -> escalation kind (see ESCALATIONS)
    boundary_escalations: dict = field(default_factory=dict)  # (task id it is attached to, kind) -> timer id
    end_props: dict = field(default_factory=dict)    # end event id -> its properties (listAction, flagKind, ...)
    names: dict = field(default_factory=dict)        # element id -> its name, for messages and pages
    title_expr: str = "title"

    def form(self, filename):
        return self.forms.get(filename) if filename else None


def parse_xml(data):
    """An lxml tree of untrusted BPMN bytes: no DTD, no entities, no network."""
    if not isinstance(data, (bytes, bytearray)):
        data = str(data).encode("utf-8")
    if len(data) > MAX_BPMN_BYTES:
        raise DefinitionError([{"message": f"BPMN 文件过大（上限 {MAX_BPMN_BYTES // 1024} KB）"}])
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise DefinitionError([{"message": "BPMN 文件不能包含 DOCTYPE 或实体声明（XXE 风险）"}])
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             dtd_validation=False, huge_tree=False, remove_comments=True)
    try:
        root = etree.fromstring(bytes(data), parser=parser)
    except etree.XMLSyntaxError as e:
        raise DefinitionError([{"message": f"XML 无法解析：{e}"}]) from None
    return etree.ElementTree(root)


def _properties(node):
    props = {}
    for p in node.findall("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS):
        if p.get("name"):
            props[p.get("name")] = p.get("value")
    return props


def _instructions(node):
    el = node.find("bpmn:extensionElements/spiffworkflow:instructionsForEndUser", NS)
    return el.text.strip() if el is not None and el.text else None


def load_definition(bpmn, forms, process_id=None):
    """Parse and validate a BPMN document with its forms ({filename: bytes|str|dict}).

    Returns the ProcessDefinition of `process_id`, or of the document's only executable process."""
    tree = parse_xml(bpmn)
    errors = []
    root = tree.getroot()
    if root.tag != "{%s}definitions" % NS["bpmn"]:
        raise DefinitionError([{"message": "不是 BPMN 2.0 文件（根元素应为 bpmn:definitions）"}])
    for el in root.iter():
        if isinstance(el.tag, str) and el.get("id") in RESERVED_IDS:
            errors.append({"element_id": el.get("id"),
                           "message": f"元素 id “{el.get('id')}” 为引擎保留，请改用其他 id（如 start_call）"})
    processes = root.findall("bpmn:process", NS)
    executable = [p for p in processes if p.get("isExecutable", "false") == "true"] or processes
    if process_id is None:
        if len(executable) != 1:
            errors.append({"message": "文件中应当恰好有一个可执行流程（isExecutable=\"true\"）"})
            raise DefinitionError(errors)
        process_id = executable[0].get("id")
    proc_node = next((p for p in processes if p.get("id") == process_id), None)
    if proc_node is None:
        raise DefinitionError(errors + [{"message": f"文件中没有流程 {process_id}"}])
    if errors:
        raise DefinitionError(errors)

    parser = SpiffBpmnParser(validator=VALIDATOR)
    try:
        parser.add_bpmn_xml(tree, filename=f"{process_id}.bpmn")
        spec = parser.get_spec(process_id)
        subprocess_specs = parser.get_subprocess_specs(process_id)
    except ValidationException as e:
        raise DefinitionError([{"element_id": e.id or None, "message": f"BPMN 校验失败：{_first_line(e)}"}]) from None
    except Exception as e:  # the parser raises assorted errors on malformed models
        raise DefinitionError([{"message": f"BPMN 无法解析：{_first_line(e)}"}]) from None
    connect_loop_children([spec] + list(subprocess_specs.values()))

    loaded_forms = {}
    for name, content in (forms or {}).items():
        if isinstance(content, dict):
            loaded_forms[name] = content
            continue
        try:
            loaded_forms[name] = load_form(content, name)
        except FormError as e:
            errors.append({"element_id": None, "message": str(e)})

    nodes = {el.get("id"): el for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
    tasks, end_status, end_props, escalations, names, start = {}, {}, {}, {}, {}, None
    boundary_escalations = {}
    all_specs = [spec] + list(subprocess_specs.values())
    for pspec in all_specs:
        for ts in pspec.task_specs.values():
            node = nodes.get(getattr(ts, "bpmn_id", None) or "")
            if node is None:
                continue
            errors.extend(_check_expressions(ts, node))
            props = _properties(node)
            names[ts.bpmn_id] = ts.bpmn_name or ts.bpmn_id
            if props.get("escalation"):
                if props["escalation"] not in ESCALATIONS:
                    errors.append({"element_id": ts.bpmn_id, "message": f"escalation 只能是 {', '.join(ESCALATIONS)}"})
                escalations[ts.bpmn_id] = props["escalation"]
                if node.get("attachedToRef"):
                    boundary_escalations[(node.get("attachedToRef"), props["escalation"])] = ts.bpmn_id
            if isinstance(ts, UserTask) or (isinstance(ts, StartEvent) and pspec is spec):
                role = role_of_lane(ts.lane)
                if isinstance(ts, UserTask) and role is None:
                    msg = (f"用户任务“{ts.bpmn_name or ts.bpmn_id}”不在任何泳道中" if ts.lane is None
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
                        errors.append({"element_id": ts.bpmn_id, "message": f"orgUnit 表达式不被接受：{reason}"})
                td = TaskDef(ts.bpmn_id, ts.bpmn_name or ts.bpmn_id, role, form, ui, org_expr, _instructions(node))
                if isinstance(ts, UserTask):
                    tasks[ts.bpmn_id] = td
                else:
                    listed = [r.strip() for r in (props.get("startRoles") or "").split(",") if r.strip()]
                    unknown = [r for r in listed if r not in ROLES]
                    if unknown:
                        errors.append({"element_id": ts.bpmn_id,
                                       "message": f"startRoles 中有未知角色：{', '.join(unknown)}"})
                    td.roles = tuple(listed) if listed else ((role,) if role else ())
                    start = td
            if isinstance(ts, EndEvent) and pspec is spec:
                status = props.get("caseStatus") or "closed"
                if status not in CASE_STATUSES:
                    errors.append({"element_id": ts.bpmn_id,
                                   "message": f"caseStatus 只能是 {', '.join(sorted(CASE_STATUSES))}"})
                end_status[ts.bpmn_id] = status
                end_props[ts.bpmn_id] = props
                if props.get("flagWhen"):
                    reason = expressions.check_expression(props["flagWhen"])
                    if reason:
                        errors.append({"element_id": ts.bpmn_id, "message": f"flagWhen 表达式不被接受：{reason}"})
    if start is None:
        errors.append({"element_id": process_id, "message": "流程没有开始事件"})
    for e in errors:
        e.pop("file", None)
    if errors:
        raise DefinitionError(errors)
    return ProcessDefinition(
        process_id=process_id, name=proc_node.get("name") or process_id, spec=spec,
        subprocess_specs=subprocess_specs, start=start, tasks=tasks, forms=loaded_forms,
        end_status=end_status, end_props=end_props, escalations=escalations,
        boundary_escalations=boundary_escalations, names=names,
        title_expr=_properties(proc_node).get("caseTitle") or "title")


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


def _first_line(e):
    return str(e).strip().splitlines()[0][:300] if str(e).strip() else type(e).__name__


def _check_gateway(ts):
    """An exclusive gateway whose conditions may all be false needs a default flow."""
    conds = [c for c, _ in getattr(ts, "cond_task_specs", None) or [] if c is not None]
    if not conds or not hasattr(ts, "default_task_spec") or ts.default_task_spec is not None:
        return []
    if any(str(c.args[0]).strip() == "True" for c in conds):
        return []
    return [{"element_id": ts.bpmn_id,
             "message": f"网关“{ts.bpmn_name or ts.bpmn_id}”没有默认流，条件可能都不成立；请指定一条默认流"}]


_ISO_DURATION = re.compile(r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")


def _check_timer_literal(ts):
    """A timer written as a literal ("PT3S", "2026-12-01T09:00:00+08:00") must parse."""
    event_def = getattr(ts, "event_definition", None)
    if not isinstance(event_def, TimerEventDefinition):
        return []
    try:
        value = ast.literal_eval(event_def.expression.strip())
    except (ValueError, SyntaxError):
        return []          # an expression: checked by the language, computed when the timer starts
    if not isinstance(value, str):
        return [{"element_id": ts.bpmn_id, "message": "定时器应为 ISO 8601 时长或时间文本，如 \"PT3S\""}]
    text = value.strip().upper()
    if text.startswith("R"):
        return []
    if text.startswith("P"):
        ok = bool(_ISO_DURATION.match(text))
    else:
        try:
            ok = datetime.fromisoformat(value.strip()).tzinfo is not None
        except ValueError:
            ok = False
    if ok:
        return []
    return [{"element_id": ts.bpmn_id,
             "message": f"定时器“{value}”无法解析：时长应如 PT3S、P5D，时间应带时区，如 2026-12-01T09:00:00+08:00"}]


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
    errors = _check_gateway(ts) + _check_timer_literal(ts)
    for kind, source, check in found:
        reason = check(source)
        if reason:
            label = {"script": "脚本", "condition": "条件", "timer": "定时器表达式", "cardinality": "多实例数量",
                     "prescript": "前置脚本", "postscript": "后置脚本"}.get(kind, kind)
            errors.append({"element_id": ts.bpmn_id, "message": f"{label}不被受限表达式语言接受：{reason}"})
    return errors
