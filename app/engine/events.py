"""Messages, signals and external tasks inside the engine (CONTRACT §7).

Messages and signals come in through SpiffWorkflow's own event delivery: `BpmnWorkflow.catch`
with a BpmnEvent whose definition is the waiting event's own (Spiff compares definitions by class
and name), so a catch event, a boundary event, a receive task or a message start event catches
it as SpiffWorkflow means it to. The message's data lands in the case variables, as a Camunda
message's variables do; a SpiffArena file naming a `messageVariable` gets it there instead.

A service task with a topic (Camunda 7 `camunda:type="external" camunda:topic`, Zeebe
`zeebe:taskDefinition type`, or the Huying property `topic`) is an external task: it waits READY
and manual, as a user task does, but for an integration worker (app/external_tasks.py), and is
completed with the worker's variables without running any service call.
"""
from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.util.task import TaskState

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
ZEEBE = "http://camunda.org/schema/zeebe/1.0"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
OPERATOR = "huying.external"          # the service operator SpiffWorkflow's parser asks for
KINDS = {"message": MessageEventDefinition, "signal": SignalEventDefinition}
LABELS = {"message": "消息", "signal": "信号"}
RESERVED = ("initiator", "initiator_org")     # variables a message or a worker may not overwrite


# --- reading the file ------------------------------------------------------------------------
def topic_of(node):
    """The external-task topic of a serviceTask element, or None."""
    if node.get(f"{{{CAMUNDA}}}type") == "external" and node.get(f"{{{CAMUNDA}}}topic"):
        return node.get(f"{{{CAMUNDA}}}topic").strip() or None
    for el in node.iter(f"{{{ZEEBE}}}taskDefinition"):
        if (el.get("type") or "").strip():
            return el.get("type").strip()
    for el in node.iter(f"{{{SPIFF}}}property"):
        if el.get("name") == "topic" and (el.get("value") or "").strip():
            return el.get("value").strip()
    return None


def prepare_tree(root):
    """Give every service task with a topic the operator SpiffWorkflow's parser requires (in the
    tree being parsed, not in the stored file); returns {element id: topic}."""
    topics = {}
    for node in root.iter(f"{{{BPMN}}}serviceTask"):
        topic = topic_of(node)
        if not topic:
            continue
        topics[node.get("id")] = topic
        ext = node.find(f"{{{BPMN}}}extensionElements")
        if ext is None:
            ext = etree.Element(f"{{{BPMN}}}extensionElements")
            node.insert(0, ext)
        if ext.find(f"{{{SPIFF}}}serviceTaskOperator") is None:
            operator = etree.SubElement(ext, f"{{{SPIFF}}}serviceTaskOperator", id=OPERATOR)
            etree.SubElement(operator, f"{{{SPIFF}}}parameters")
    return topics


def mark_external(specs, topics):
    """The service tasks with a topic wait for a worker: manual, with their topic on the spec."""
    for pspec in specs:
        for ts in pspec.task_specs.values():
            topic = topics.get(getattr(ts, "bpmn_id", None))
            if topic:
                ts.manual = True
                ts.external_topic = topic


def _ref_name(root, definition, attr, tag):
    ref = definition.get(attr)
    if ref is None:
        return None
    target = next((el for el in root.iter(f"{{{BPMN}}}{tag}") if el.get("id") == ref), None)
    return ((target.get("name") if target is not None else None) or ref).strip()


_CATCHING = {"startEvent", "intermediateCatchEvent", "boundaryEvent"}
_THROWING = {"intermediateThrowEvent", "endEvent"}


def check_elements(root, proc_node):
    """Problems with the process's messages and signals: a catching one must name what it waits for
    (it is delivered by that name); a thrown one must be caught inside the process, because Huying
    does not hand a process's thrown messages or signals to other cases (they would be dropped)."""
    errors, caught, thrown = [], set(), []
    for el in proc_node.iter():
        if not isinstance(el.tag, str) or not el.tag.startswith(f"{{{BPMN}}}"):
            continue
        kind = etree.QName(el).localname
        found = None
        if kind in ("receiveTask", "sendTask"):
            found = ("message", _ref_name(root, el, "messageRef", "message"))
            if kind == "receiveTask" and found[1] is None:
                errors.append({"element_id": el.get("id"), "message": "接收任务没有引用消息（messageRef）："
                               "外部系统按消息名称投递，请为它选择或新建一个消息"})
                continue
        elif kind in _CATCHING | _THROWING:
            for d in el:
                local = etree.QName(d).localname if isinstance(d.tag, str) else None
                if local == "messageEventDefinition":
                    found = ("message", _ref_name(root, d, "messageRef", "message"))
                elif local == "signalEventDefinition":
                    found = ("signal", _ref_name(root, d, "signalRef", "signal"))
        if found is None:
            continue
        dkind, name = found
        if kind in ("sendTask",) or kind in _THROWING:
            thrown.append((el.get("id"), dkind, name))
        elif name is None:
            errors.append({"element_id": el.get("id"), "message": f"{LABELS[dkind]}事件没有引用{LABELS[dkind]}"
                           f"（{dkind}Ref）：外部系统按名称投递，请为它选择或新建一个{LABELS[dkind]}"})
        else:
            caught.add((dkind, name))
    for element_id, dkind, name in thrown:
        if (dkind, name) not in caught:
            errors.append({"element_id": element_id, "message": f"流程中没有接收{LABELS[dkind]}“{name or '（未命名）'}”"
                           f"的事件：呼应不把流程抛出的{LABELS[dkind]}投递给其他案件或流程（它会丢失）；"
                           f"请由外部系统调用 POST /api/v1/messages 投递，或删去此事件"})
    return errors


# --- running ----------------------------------------------------------------------------------
def _definitions(task):
    d = getattr(task.task_spec, "event_definition", None)
    return d.event_definitions if isinstance(d, MultipleEventDefinition) else [d]


def _kind(definition):
    for kind, cls in KINDS.items():
        if isinstance(definition, cls):
            return kind
    return None


def waiting(wf):
    """[(kind, name, element id)] of the messages and signals the workflow waits for now."""
    out = []
    for t in list(wf.event_manager.tasks.values()):
        if t.state != TaskState.WAITING:
            continue
        for d in _definitions(t):
            kind = _kind(d)
            if kind:
                out.append((kind, d.name, t.task_spec.bpmn_id))
    return out


def catch(wf, kind, name, data):
    """Deliver a message or signal to the workflow's waiting events of that name (SpiffWorkflow's own
    delivery); returns how many caught it. The caller steps the workflow afterwards."""
    definition = None
    for t in list(wf.event_manager.tasks.values()):
        for d in _definitions(t):
            if t.state == TaskState.WAITING and _kind(d) == kind and d.name == name:
                definition = d
                break
        if definition is not None:
            break
    if definition is None:
        return 0
    correlations = {}
    if kind == "message" and definition.correlation_properties:
        try:     # a SpiffArena file's correlation keys, computed from the data when they can be
            correlations = definition.calculate_correlations(wf.script_engine, definition.correlation_properties, data)
        except Exception:  # noqa: BLE001 - correlation is by case; a key that cannot be computed is left out
            correlations = {}
    event = BpmnEvent(definition, payload=dict(data), correlations=correlations)
    count = sum(1 for t in list(wf.event_manager.tasks.values()) if t.task_spec.catches(t, event))
    if count:
        wf.catch(event)
    return count


def take_payload(task):
    """Before a catching event runs: merge the data it caught into its variables (SpiffWorkflow keeps
    it aside unless the file names a messageVariable)."""
    for d in _definitions(task):
        if _kind(d) is None or getattr(d, "message_var", None) or getattr(d, "variable", None):
            continue
        payload = task.internal_data.pop(d.name, None)
        if isinstance(payload, dict):
            task.data.update({k: v for k, v in payload.items() if k not in RESERVED})


def start_events(spec):
    """[(kind, name)] of the message and signal start events of a top-level process."""
    out = []
    for ts in spec.task_specs.values():
        if isinstance(ts, StartEvent):
            kind = _kind(getattr(ts, "event_definition", None))
            if kind:
                out.append((kind, ts.event_definition.name))
    return out


def external_ready(wf):
    """The external tasks waiting for a worker: [(task, topic)]."""
    return [(t, t.task_spec.external_topic) for t in wf.get_tasks(state=TaskState.READY, manual=True)
            if getattr(t.task_spec, "external_topic", None)]


def complete_external(task, variables):
    """Complete an external task with its worker's variables (no service call runs)."""
    task.data.update({k: v for k, v in variables.items() if k not in RESERVED})
    task.complete()
