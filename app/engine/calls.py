"""Call activities: a case calling another deployed process.

At deploy, each callActivity is read (`read_calls`): the process it calls (BPMN `calledElement`,
Zeebe's `zeebe:calledElement processId`), the version — the newest at the moment of the call, or
pinned by Camunda's `camunda:calledElementBinding="version"` + `camunda:calledElementVersion`, or
the SpiffArena-style property `calledVersion` — and what data goes in and out: all in and all out
unless Camunda's `camunda:in`/`camunda:out` (source/target, variables="all") or Zeebe's
`propagateAllChildVariables="false"` say otherwise.

The parsed definition is shared by every case and never changes per case: the specs a case's
workflow runs are assembled per case (`assemble`), the caller's own sub-processes plus, for each
callee, the version the case uses — the one recorded in the case's state once the call happened
(so a case reloads onto the same callee after a restart or on another app process), else the
newest deployed now (or the pinned one). The versions come from `resolver`, which the
application registers (app/processes.py): the engine does not read the database.
"""
import re
from copy import deepcopy
from dataclasses import dataclass, field

from lxml import etree
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity as CallActivityMixin, SubWorkflowTask
from SpiffWorkflow.spiff.specs.defaults import CallActivity

from . import expressions

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
ZEEBE = "http://camunda.org/schema/zeebe/1.0"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
_NAME = re.compile(r"[^\W\d]\w*")
_JUEL_NAME = re.compile(r"\$\{\s*([^\W\d]\w*)\s*\}")
_FEEL_NAME = re.compile(r"=\s*([^\W\d]\w*)\s*")

_resolver = None


def use_resolver(fn):
    """fn(process_id, version or None) -> (version number, ProcessDefinition) or None."""
    global _resolver
    _resolver = fn


def resolve(process_id, version=None):
    return _resolver(process_id, version) if _resolver is not None else None


@dataclass
class CallDef:
    """What one callActivity calls and what data it hands over."""
    element_id: str
    name: str
    callee: str
    version: int = None                 # pinned; None = the newest at the call
    all_in: bool = True
    all_out: bool = True
    inputs: list = field(default_factory=list)    # [(restricted source, target)]
    outputs: list = field(default_factory=list)   # [(callee variable, target)]

    @property
    def key(self):
        """The name the callee's spec has among a case's sub-process specs."""
        return self.callee if self.version is None else f"{self.callee}@{self.version}"


class CalledProcess(CallActivity):
    """A call activity with Huying's data mapping (`mapping`, set after parsing) and messages."""
    mapping = None

    def get_missing_subworkflow_error(self, my_task):
        return f"调用活动“{self.bpmn_name or self.bpmn_id}”要调用的流程 {self.spec} 没有已部署的版本"

    def copy_data(self, my_task, subworkflow):
        if self.mapping is None:
            return super().copy_data(my_task, subworkflow)
        start = subworkflow.get_next_task(subworkflow.task_tree, skip_subprocesses=True, spec_name="Start")
        data = deepcopy(my_task.data) if self.mapping.all_in else {}
        for source, target in self.mapping.inputs:
            try:
                data[target] = deepcopy(expressions.evaluate(source, my_task.data))
            except expressions.ExpressionError as e:
                raise WorkflowTaskException(f"调用活动“{self.bpmn_name or self.bpmn_id}”的输入 {target} 无法计算：{e}",
                                            task=my_task) from None
        start.set_data(**data)

    def update_data(self, my_task, subworkflow):
        if self.mapping is None:
            return super().update_data(my_task, subworkflow)
        result = subworkflow.last_task.data if subworkflow.last_task is not None else {}
        data = dict(my_task.data)
        if self.mapping.all_out:
            data.update(deepcopy(result))
        for source, target in self.mapping.outputs:
            data[target] = deepcopy(result.get(source))
        my_task.data = data


def _local(el):
    return etree.QName(el).localname if isinstance(el.tag, str) else None


def _ext(node):
    return [c for e in node if _local(e) == "extensionElements" for c in e if isinstance(c.tag, str)]


def prepare(root):
    """Give a Zeebe call activity the `calledElement` SpiffWorkflow reads (on the parsed tree only)."""
    for node in root.iter("{%s}callActivity" % BPMN):
        if node.get("calledElement"):
            continue
        for c in _ext(node):
            if etree.QName(c).namespace == ZEEBE and _local(c) == "calledElement" and c.get("processId"):
                node.set("calledElement", c.get("processId").lstrip("= ").strip())


def _source(text, where, errors, element_id):
    """The restricted source of a mapping's source: a variable name, ${name} or =name."""
    text = (text or "").strip()
    for pattern in (_JUEL_NAME, _FEEL_NAME):
        m = pattern.fullmatch(text)
        if m:
            return m.group(1)
    if _NAME.fullmatch(text) and not text.startswith("_"):
        return text
    errors.append({"element_id": element_id, "message": f"{where}的来源“{text}”不被接受：只能是变量名（如 amount、"
                                                        "${amount} 或 =amount）"})
    return None


def read_calls(proc_node):
    """({element id: CallDef}, problems, notes) of the call activities of one process element."""
    calls, errors, notes = {}, [], []
    for node in proc_node.iter("{%s}callActivity" % BPMN):
        eid, name = node.get("id"), node.get("name") or node.get("id")
        where = f"调用活动“{name}”"
        callee = (node.get("calledElement") or "").strip()
        if not callee:
            errors.append({"element_id": eid, "message": f"{where}没有指定要调用的流程（calledElement，"
                                                         "或 Zeebe 的 zeebe:calledElement processId）"})
            continue
        cd = CallDef(eid, name, callee)
        binding = node.get("{%s}calledElementBinding" % CAMUNDA)
        pinned = node.get("{%s}calledElementVersion" % CAMUNDA)
        for c in _ext(node):
            if etree.QName(c).namespace == SPIFF and _local(c) == "properties":
                for p in c:
                    if isinstance(p.tag, str) and p.get("name") == "calledVersion" and (p.get("value") or "").strip():
                        pinned, binding = p.get("value").strip(), "version"
        if binding == "version":
            if not (pinned or "").isdigit() or int(pinned) < 1:
                errors.append({"element_id": eid, "message": f"{where}绑定了版本，但版本号“{pinned or ''}”不是正整数"})
            else:
                cd.version = int(pinned)
        elif binding not in (None, "", "latest"):
            errors.append({"element_id": eid, "message": f"{where}的版本绑定 {binding} 不受支持：请用 latest（调用时最新版本）"
                                                         "或 version（指定版本号）"})
        ins = [c for c in _ext(node) if etree.QName(c).namespace == CAMUNDA and _local(c) == "in"]
        outs = [c for c in _ext(node) if etree.QName(c).namespace == CAMUNDA and _local(c) == "out"]
        if ins or outs:
            cd.all_in = any(c.get("variables") == "all" for c in ins)
            cd.all_out = any(c.get("variables") == "all" for c in outs)
            for kind, items, target_list in (("输入（camunda:in）", ins, cd.inputs), ("输出（camunda:out）", outs, cd.outputs)):
                for c in items:
                    if c.get("variables") == "all":
                        continue
                    if c.get("businessKey") is not None:
                        notes.append({"element_id": eid, "message": f"{where}的 camunda:in businessKey 已忽略：呼应的案件没有业务键"})
                        continue
                    if c.get("local") == "true":
                        notes.append({"element_id": eid, "message": f"{where}的 {kind} local=\"true\" 已忽略：按普通映射处理"})
                    target = (c.get("target") or "").strip()
                    if not _NAME.fullmatch(target) or target.startswith("_"):
                        errors.append({"element_id": eid, "message": f"{where}的{kind}目标变量“{target}”应为变量名"})
                        continue
                    source = _source(c.get("source") or c.get("sourceExpression"), f"{where}的{kind}", errors, eid)
                    if source is not None:
                        target_list.append((source, target))
        for c in _ext(node):
            q = etree.QName(c)
            if q.namespace == ZEEBE and q.localname == "calledElement":
                if c.get("propagateAllChildVariables") == "false":
                    cd.all_out = False
                if c.get("propagateAllParentVariables") == "false":
                    cd.all_in = False
            if q.namespace == ZEEBE and q.localname == "ioMapping":
                for m in c:
                    if not isinstance(m.tag, str):
                        continue
                    target = (m.get("target") or "").strip()
                    source = _source(m.get("source"), f"{where}的 zeebe:{_local(m)}", errors, eid)
                    if source is None or not _NAME.fullmatch(target):
                        continue
                    if _local(m) == "input":
                        cd.inputs.append((source, target))
                    elif _local(m) == "output":
                        cd.outputs.append((source, target))
        if not ins and not outs and any(etree.QName(a).namespace == CAMUNDA for a in node.attrib):
            notes.append({"element_id": eid, "message": f"{where}没有 camunda:in/out 映射：按呼应的默认做法传入全部变量、"
                                                        "取回全部变量（Camunda 7 会一个也不传）"})
        calls[eid] = cd
    return calls, errors, notes


def bind(specs, calls):
    """Point each parsed call activity at its callee's key and give it its data mapping (at parse
    time, the same for every case). Returns {key: (process id, pinned version or None)}."""
    keys = {}
    for spec in specs:
        for ts in spec.task_specs.values():
            if isinstance(ts, CalledProcess) and ts.bpmn_id in calls:
                cd = calls[ts.bpmn_id]
                ts.spec = cd.key
                ts.mapping = cd
                keys[cd.key] = (cd.callee, cd.version)
    return keys


def own_subprocess_specs(spec, found):
    """The embedded sub-process specs `spec` reaches without passing a call activity."""
    out, todo = {}, [spec]
    while todo:
        current = todo.pop()
        for ts in current.task_specs.values():
            if isinstance(ts, SubWorkflowTask) and not isinstance(ts, CallActivityMixin) and ts.spec not in out \
                    and found.get(ts.spec) is not None:
                out[ts.spec] = found[ts.spec]
                todo.append(found[ts.spec])
    return out


class CallError(Exception):
    def __init__(self, message, element_id=None):
        super().__init__(message)
        self.element_id = element_id


@dataclass
class CaseSpecs:
    """The specs one case's workflow runs, and which definition (and version) each belongs to."""
    specs: dict                                   # key -> spec (the caller's sub-processes, then callees)
    owners: dict = field(default_factory=dict)    # id(spec) -> (definition, process id, version or None)
    versions: dict = field(default_factory=dict)  # callee key -> (process id, version)

    def owner(self, spec):
        return self.owners.get(id(spec))


def assemble(definition, recorded=None):
    """CaseSpecs of a case of `definition`; `recorded` = {key: [process id, version]} of the calls
    the case made already. A callee that cannot be found is left out: the call, if it comes, fails
    with the reason (CalledProcess.get_missing_subworkflow_error)."""
    recorded = recorded or {}
    out = CaseSpecs(dict(definition.subprocess_specs))
    for s in (definition.spec, *definition.subprocess_specs.values()):
        out.owners[id(s)] = (definition, None, None)
    todo = [definition]
    while todo:
        current = todo.pop()
        for key, (callee, pinned) in (getattr(current, "calls", None) or {}).items():
            if key in out.versions:
                continue
            if key in out.specs:
                raise CallError(f"被调用的流程 {callee} 与本流程的子流程 {key} 重名：请修改其中一个的 id", key)
            wanted = recorded.get(key)
            found = resolve(callee, wanted[1] if wanted else pinned)
            if found is None:
                continue
            number, callee_def = found
            out.versions[key] = (callee, number)
            out.specs[key] = callee_def.spec
            out.owners[id(callee_def.spec)] = (callee_def, callee, number)
            for sub_key, sub in callee_def.subprocess_specs.items():
                if out.specs.get(sub_key, sub) is not sub:
                    raise CallError(f"被调用的流程 {callee} 的子流程 {sub_key} 与调用它的流程中的子流程重名："
                                    "请修改其中一个的 id", sub_key)
                out.specs[sub_key] = sub
                out.owners[id(sub)] = (callee_def, callee, number)
            todo.append(callee_def)
    return out


def used(workflow, case_specs):
    """{key: [process id, version]} of the calls a workflow has made (their sub-workflows exist)."""
    out = {}
    for task_id, sub in workflow.subprocesses.items():
        task = workflow.get_task_from_id(task_id)
        spec = getattr(task, "task_spec", None)
        if isinstance(spec, CalledProcess) and spec.spec in case_specs.versions:
            out[spec.spec] = list(case_specs.versions[spec.spec])
    return out


FORM_SEPARATOR = "/v"


def qualified_form(process_id, version, filename):
    """The name an inbox row gives the form of a callee's task: its process and version with it."""
    return f"{process_id}{FORM_SEPARATOR}{version}/{filename}" if filename else None


def callee_form(name):
    """The JSON Schema of a form named by `qualified_form`, or None."""
    m = re.fullmatch(r"(?P<pid>[A-Za-z_][A-Za-z0-9_.-]*)/v(?P<v>\d+)/(?P<file>.+)", name or "")
    if m is None:
        return None
    found = resolve(m["pid"], int(m["v"]))
    return found[1].form(m["file"]) if found is not None else None
