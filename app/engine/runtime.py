"""Running one case: start it, load its state, complete a task, advance, save.

The process spec is parsed once per deployed version and kept in memory; a case stores only its
own state (the task tree and data), zlib-compressed JSON without `\\uXXXX` escapes. Every loaded
workflow gets the restricted script engine (G11: SpiffWorkflow does not serialise it).
"""
import json
import logging
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from uuid import UUID

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask, MultiInstanceTask
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from . import calls, events, expressions, timers

log = logging.getLogger(__name__)
STATE_FORMAT = 1
MAX_INSTANCES = 200          # children a multi-instance cardinality may ask for
_TIMER_EVENTS = {"TimeDateEventDefinition", "DurationTimerEventDefinition", "CycleTimerEventDefinition"}


class EngineError(Exception):
    """An engine step failed (a bad expression in a redrawn process, say)."""

    def __init__(self, message, element_id=None, from_data=False):
        super().__init__(message)
        self.element_id = element_id
        self.from_data = from_data      # an expression over the case's data failed (the data may decide)


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """Every expression and script of a process goes through Huying's own interpreter."""

    def evaluate(self, expression, context, external_context=None):
        names = dict(external_context or {})
        names.update(context)
        return expressions.evaluate(expression, names)

    def execute(self, script, context, external_context=None):
        expressions.execute(script, context)
        return True


class RestrictedScriptEngine(PythonScriptEngine):
    """The restricted environment, with the values SpiffWorkflow computes with checked first:
    a timer's due time (see timers.py), a multi-instance's cardinality or input collection."""

    def __init__(self):
        super().__init__(environment=RestrictedEnvironment())

    def validate(self, expression):
        expressions.compile_expression(expression)

    def evaluate(self, task, expression, external_context=None):
        value = super().evaluate(task, expression, external_context)
        try:
            _check_value(task.task_spec, expression, value)
        except expressions.ExpressionError as e:    # a value past what Huying runs: a limit, whatever the data
            raise WorkflowTaskException(str(e), task=task, exception=expressions.LimitExceeded(str(e))) from None
        return value

    def execute(self, task, script, external_context=None):
        try:
            self.environment.execute(script, task.data, external_context or {})
        except expressions.ExpressionError as e:    # its message is for the supervisor as it is
            raise WorkflowTaskException(str(e), task=task, exception=e) from None
        except Exception as e:  # noqa: BLE001 - SpiffWorkflow's own wrapping, with the line
            raise self.create_task_exec_exception(task, script, e) from None
        _check_instances(task)
        return True

    def call_service(self, task, **kwargs):
        """SpiffWorkflow's own version fails with a NameError; deployment refuses service tasks."""
        raise WorkflowTaskException("服务任务无法在呼应中执行", task=task)


def _check_value(spec, expression, value):
    """Refuse what SpiffWorkflow would loop over or overflow on: a timer beyond timers.py's range,
    a multi-instance cardinality beyond MAX_INSTANCES."""
    event_def = getattr(spec, "event_definition", None)
    defs = event_def.event_definitions if isinstance(event_def, MultipleEventDefinition) else [event_def]
    for d in defs:
        kind = timers.kind_of(d)
        if kind and d.expression == expression:
            timers.check(kind, value)
            return
    if isinstance(spec, MultiInstanceTask) and expression == getattr(spec, "cardinality", None):
        check_cardinality(value)


def check_cardinality(value):
    """A multi-instance cardinality Huying runs: SpiffWorkflow creates every child in one go."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_INSTANCES:
        raise expressions.ExpressionError(f"多实例数量应为 0 到 {MAX_INSTANCES} 的整数（得到 {str(value)[:40]}）")


def _check_instances(task):
    """Refuse task data that would start a multi-instance of more than MAX_INSTANCES children
    (SpiffWorkflow creates them all inside one step), before the task that hands it on runs."""
    top = task.workflow.top_workflow
    for spec in (top.spec, *top.subprocess_specs.values()):
        for ts in spec.task_specs.values():
            source = getattr(ts, "data_input", None) if isinstance(ts, MultiInstanceTask) else None
            items = task.data.get(source.bpmn_id) if source is not None else None
            if isinstance(items, (list, tuple, dict, set)) and len(items) > MAX_INSTANCES:
                raise WorkflowTaskException(f"“{source.bpmn_id}”有 {len(items)} 项：多实例“{ts.bpmn_name or ts.bpmn_id}”"
                                            f"最多 {MAX_INSTANCES} 个实例", task=task)


SCRIPT_ENGINE = RestrictedScriptEngine()


class _StateOnlyConverter(BpmnWorkflowConverter):
    """Serialises a workflow without its spec; the spec comes back from the version cache."""

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, spec=None, subprocess_specs=None):
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


_config = dict(SPIFF_CONFIG)
_config[BpmnWorkflow] = _StateOnlyConverter
_REGISTRY = BpmnWorkflowSerializer.configure(_config)


@dataclass
class ReadyTask:
    """A user task waiting for a person, as the inbox projection stores it."""
    id: str
    element_id: str
    name: str
    role: str
    org_code: str
    form: str
    instructions: str
    warn_at: datetime = None    # its `remind` timer
    due_at: datetime = None     # its `order` timer: the deadline


@dataclass
class Escalation:
    """An element tagged `escalation` that fired (a timer) or was passed (a throw event)."""
    kind: str
    element_id: str
    name: str
    task_id: str = None         # the user task a boundary timer is attached to


class CaseRun:
    """One case's workflow in memory for the duration of one write."""

    def __init__(self, definition, workflow, specs=None):
        self.definition = definition
        self.wf = workflow
        self.wf.script_engine = SCRIPT_ENGINE
        self.specs = specs or calls.CaseSpecs(dict(definition.subprocess_specs))

    # --- life cycle --------------------------------------------------------------------------
    @classmethod
    def start(cls, definition):
        """A new workflow of the definition, not yet run (see `begin`)."""
        specs = _case_specs(definition)
        return cls(definition, BpmnWorkflow(definition.spec, specs.specs, script_engine=SCRIPT_ENGINE), specs)

    def begin(self, data, event=None):
        """Give the start event its data and run up to the first waiting tasks; `event` (kind, name):
        the message or signal that starts the case, delivered to its start event."""
        start_task = next(iter(self.wf.get_tasks(state=TaskState.READY)), None)
        if start_task is not None:
            start_task.data.update(data)
        self._steps()
        if event is not None:
            self.deliver(event[0], event[1], data)

    # --- messages, signals, external tasks (events.py) --------------------------------------
    def waiting(self):
        """[(kind, name, element id)] of the messages and signals the case waits for."""
        return events.waiting(self.wf)

    def deliver(self, kind, name, data):
        """Deliver a message or signal, then advance; returns how many events caught it."""
        count = []
        self._guard(lambda: count.append(events.catch(self.wf, kind, name, data)))
        if count and count[0]:
            self._steps()
        return count[0] if count else 0

    def external_tasks(self):
        """[(task id, element id, name, topic, variables)] of the external tasks waiting for a worker."""
        return [(str(t.id), t.task_spec.bpmn_id, t.task_spec.bpmn_name or t.task_spec.bpmn_id, topic, dict(t.data))
                for t, topic in events.external_ready(self.wf)]

    def complete_external(self, task_id, variables):
        """Complete a waiting external task with its worker's variables, then advance."""
        t = self.task(task_id)
        if t is None or t.state != TaskState.READY or not getattr(t.task_spec, "external_topic", None):
            raise EngineError("外部任务不处于待办状态")
        with expressions.step_budget():
            self._guard(lambda: events.complete_external(t, variables))
            self._steps()

    @classmethod
    def load(cls, definition, state):
        try:
            dct = json.loads(zlib.decompress(state))
        except (zlib.error, TypeError, ValueError) as e:     # damaged in storage
            raise EngineError(f"案件状态无法读取：{type(e).__name__}") from None
        if not isinstance(dct, dict) or dct.pop("format", None) != STATE_FORMAT:
            raise EngineError("案件状态格式不受支持")
        specs = _case_specs(definition, dct.get("calls"))
        try:
            wf = _REGISTRY.restore(dct["workflow"], spec=definition.spec, subprocess_specs=specs.specs)
        except Exception as e:  # noqa: BLE001 - the serializer raises assorted errors on a damaged state
            raise EngineError(f"案件状态无法还原：{type(e).__name__}: {e}"[:300]) from None
        return cls(definition, wf, specs)

    @staticmethod
    def fits(definition, state):
        """(True, None) when a saved state can run on `definition` (every task it holds has its spec
        there), else (False, the first missing element)."""
        dct = json.loads(zlib.decompress(state))["workflow"]
        for t in dct["tasks"].values():
            if t["task_spec"] not in definition.spec.task_specs:
                return False, t["task_spec"]
        for sub in dct.get("subprocesses", {}).values():
            if sub.get("spec") in {callee for callee, _v in definition.calls.values()}:
                continue             # the called process's own version, recorded in the state
            spec = definition.subprocess_specs.get(sub.get("spec"))
            if spec is None:
                return False, sub.get("spec")
            for t in sub["tasks"].values():
                if t["task_spec"] not in spec.task_specs:
                    return False, t["task_spec"]
        return True, None

    def dump(self):
        dct = {"format": STATE_FORMAT, "workflow": _REGISTRY.convert(self.wf)}
        made = calls.used(self.wf, self.specs)
        if made:
            dct["calls"] = made          # the callee versions this case runs, for every later load
        text = json.dumps(dct, ensure_ascii=False, separators=(",", ":"))
        return zlib.compress(text.encode("utf-8"), 6)

    # --- tasks -------------------------------------------------------------------------------
    def ready_tasks(self):
        with expressions.step_budget():       # the orgUnit expressions of many tasks under one budget
            return self._ready_tasks()

    def _ready_tasks(self):
        out = []
        for t in self.wf.get_tasks(state=TaskState.READY, manual=True):
            owner = self.specs.owner(t.workflow.spec)
            definition, callee, version = owner if owner is not None else (self.definition, None, None)
            td = definition.tasks.get(t.task_spec.bpmn_id)
            if td is None:
                continue
            form = td.form if callee is None else calls.qualified_form(callee, version, td.form)
            org = None
            if td.org_expr:
                try:
                    org = expressions.evaluate(td.org_expr, t.data)
                except expressions.ExpressionError as e:
                    raise EngineError(f"无法确定任务“{td.name}”的承办单位（orgUnit）：{e}", td.element_id,
                                      from_data=True) from None
                if org is not None and not isinstance(org, str):
                    raise EngineError(f"任务“{td.name}”的 orgUnit 应为单位代码", td.element_id)
            timers = self._timers_of(t)
            out.append(ReadyTask(str(t.id), td.element_id, td.name, td.role, org, form, td.instructions,
                                 timers.get("remind"), timers.get("order")))
        return out

    def _boundary_events(self, t):
        parent = t.parent
        if parent is None or not parent.task_spec.name.endswith("BoundaryEventSplit"):
            return []
        return [c for c in parent.children if c is not t]

    def _timers(self, t):
        """[(kind, boundary task, due)] of the timers attached to a user task, waiting or fired:
        kind is the timer's `escalation`, or "deadline" for a timer an analyst drew without one."""
        out = []
        for b in self._boundary_events(t):
            if not isinstance(getattr(b.task_spec, "event_definition", None), TimerEventDefinition):
                continue
            value = b.internal_data.get("event_value")
            if isinstance(value, dict):          # a cycle timer: its next firing
                value = value.get("next")
            if b.state in (TaskState.WAITING, TaskState.COMPLETED) and isinstance(value, str):
                out.append((self.definition.escalations.get(b.task_spec.bpmn_id) or "deadline", b,
                            _parse_time(value)))
        return out

    def _timers_of(self, t):
        """{escalation kind: due time} of a user task; without an `order` timer, the earliest timer
        drawn without an escalation is its deadline."""
        out, untagged = {}, []
        for kind, _b, due in self._timers(t):
            if kind == "deadline":
                untagged.append(due)
            else:
                out[kind] = due
        if "order" not in out and untagged:
            out["order"] = min(untagged)
        return out

    def deadlines(self, task_id):
        t = self.task(task_id)
        return self._timers_of(t) if t is not None else {}

    def move_deadlines(self, task_id, moved):
        """Give the waiting timers of a user task new due times: moved(kind, due) -> new due."""
        t = self.task(task_id)
        for kind, b, due in self._timers(t) if t is not None else []:
            if b.state == TaskState.WAITING and isinstance(b.internal_data.get("event_value"), str):
                b.internal_data["event_value"] = moved("order" if kind == "deadline" else kind, due).isoformat()

    def escalations_since(self, since):
        """The escalation-tagged elements completed at or after `since` (a time.time() value)."""
        out = []
        # (filtering on COMPLETED would not descend into running sub-processes)
        for t in self.wf.get_tasks(updated_ts=since):
            kind = self.definition.escalations.get(getattr(t.task_spec, "bpmn_id", None))
            if not kind or t.state != TaskState.COMPLETED:
                continue
            attached = next((str(c.id) for c in self._boundary_events(t) if c.task_spec.manual), None) \
                if hasattr(t.task_spec, "cancel_activity") else None
            out.append(Escalation(kind, t.task_spec.bpmn_id, t.task_spec.bpmn_name or t.task_spec.bpmn_id, attached))
        return out

    def retry(self):
        """Run again the steps that failed (after their cause was fixed), then advance."""
        for t in self.wf.get_tasks(state=TaskState.ERROR):
            t._set_state(TaskState.READY)
        self.repair()

    def repair(self):
        """Merge what a lost merge left behind, then advance."""
        self.merge_lost_children()
        self._steps()

    def lost_children(self):
        """[(loop task, completed child)] of loop and multi-instance tasks whose child finished but was
        never merged (engine-notes G14: a case stored before its spec was wired, then run elsewhere)."""
        out = []
        for t in self.wf.get_tasks(spec_class=LoopTask):
            merged = set(t.internal_data.get("merged") or [])
            for child in t.children:
                if child.task_spec.name == t.task_spec.task_spec and child.state == TaskState.COMPLETED \
                        and str(child.id) not in merged:
                    out.append((t, child))
        return out

    def merge_lost_children(self):
        """Merge what `lost_children` finds into loops that still wait for it; returns the ids of
        the loop elements mended (a loop that already went on without a child cannot be)."""
        lost = self.lost_children()
        waiting = {loop.id for loop, _child in lost if loop.state == TaskState.STARTED}
        mended = []
        for loop, child in lost:      # every lost child of a loop, though the first merge may finish it
            if loop.id in waiting:
                self._guard(lambda: loop.task_spec.merge_child(loop.workflow, child))
                mended.append(loop.task_spec.bpmn_id)
        return mended

    def stall(self):
        """Why the case cannot move, or None: not finished, yet no user task is ready for anyone and
        no timer or other event is awaited. Returns (message, element id)."""
        if self.wf.is_completed() or self.ready_tasks() or self.wf.waiting_events() or events.external_ready(self.wf):
            return None
        for t in self.wf.get_tasks(state=TaskState.READY, manual=True):
            name = t.task_spec.bpmn_name or t.task_spec.bpmn_id
            return (f"“{name}”已就绪，但它不是用户任务或不在任何角色的泳道中，没有人能办理，案件无法继续",
                    t.task_spec.bpmn_id)
        waiting = [t for t in self.wf.get_tasks(state=TaskState.STARTED | TaskState.WAITING)
                   if getattr(t.task_spec, "bpmn_id", None)]
        where = waiting[-1].task_spec if waiting else None
        at = f"（停在“{where.bpmn_name or where.bpmn_id}”）" if where is not None else ""
        return (f"案件没有任何人的待办任务，也没有等待中的定时器或事件，无法继续{at}",
                getattr(where, "bpmn_id", None))

    def task(self, task_id):
        try:
            return self.wf.get_task_from_id(UUID(str(task_id)))
        except (ValueError, KeyError, SpiffWorkflowException):
            return None

    def task_is_ready(self, task_id):
        t = self.task(task_id)
        return t is not None and t.state == TaskState.READY and t.task_spec.manual

    def task_data(self, task_id):
        t = self.task(task_id)
        return dict(t.data) if t is not None else {}

    def complete(self, task_id, data):
        """Run a READY user task with already validated form data, then advance the case."""
        t = self.task(task_id)
        if t is None or t.state != TaskState.READY or not t.task_spec.manual:
            raise EngineError("任务不处于待办状态")
        t.data.update(data)
        self._refresh_callees()

        def run():
            _check_instances(t)
            t.run()
        with expressions.step_budget():
            self._guard(run)
            self._steps()

    def redo(self, task_id, data):
        """Take a completed user task back and complete it again with other (validated) data: what
        followed it is dropped — the tasks it made ready, their sub-processes and timers — and
        the case runs on from it anew, as if it had been answered so the first time. The task's
        data is what it had before it was answered, plus `data`."""
        t = self.task(task_id)
        if t is None or t.state != TaskState.COMPLETED or not t.task_spec.manual:
            raise EngineError("任务不处于已办状态，不能重新办理")
        self._guard(lambda: self.wf.reset_from_task_id(t.id))
        t = self.task(task_id)
        if t is None or t.state != TaskState.READY:
            raise EngineError("任务未能回到待办状态")
        self.complete(task_id, data)

    def advance(self):
        """Fire due timers and run what follows (G8: refresh, then step)."""
        self._steps()

    def _steps(self):
        """One engine step under one budget (expressions.step_budget), each engine task charged to
        it, so that no step holds the database's write lock for long."""
        self._refresh_callees()
        with expressions.step_budget():
            self._guard(self.wf.refresh_timers)
            self._guard(lambda: self.wf.do_engine_steps(will_complete_task=_engine_task))
        self._unseen_engine_task()

    def _unseen_engine_task(self):
        """SpiffWorkflow looks for ready tasks at most 1,000 levels down the task tree: a process
        that loops that deep stops there with an engine task still ready, which nothing would
        ever run. Say so instead (the case becomes errored)."""
        for w in (self.wf, *self.wf.subprocesses.values()):
            for t in w.tasks.values():
                if t.state == TaskState.READY and not t.task_spec.manual:
                    raise EngineError(f"流程循环过深（任务树超过 1000 层），“{t.task_spec.bpmn_name or t.task_spec.bpmn_id}”"
                                      "无法继续：请检查流程中的循环", getattr(t.task_spec, "bpmn_id", None))

    def _refresh_callees(self):
        """A call made from now on calls the version newest now (or pinned); one made keeps its own."""
        if self.definition.calls:
            self.specs = _case_specs(self.definition, calls.used(self.wf, self.specs))
            self.wf.subprocess_specs = self.specs.specs

    @staticmethod
    def _guard(fn):
        """Run a SpiffWorkflow call; whatever fails in it is an EngineError (the case becomes
        errored with the cause), never an exception out of the request."""
        try:
            with expressions.step_budget():
                fn()
        except EngineError:
            raise
        except WorkflowTaskException as e:
            element = getattr(getattr(e, "task", None), "task_spec", None)
            raise EngineError(_message(e), getattr(element, "bpmn_id", None), from_data=_from_data(e)) from None
        except SpiffWorkflowException as e:
            raise EngineError(_message(e), getattr(getattr(e, "task_spec", None), "bpmn_id", None)) from None
        except expressions.ExpressionError as e:
            raise EngineError(str(e), from_data=_from_data(e)) from None
        except Exception as e:  # noqa: BLE001 - SpiffWorkflow raises assorted errors on odd models
            log.exception("engine step failed")
            raise EngineError(f"流程引擎出错：{type(e).__name__}: {e}"[:1000]) from None

    # --- what the projections store -------------------------------------------------------
    def is_completed(self):
        return self.wf.is_completed()

    def final_end(self):
        """The id of the (top-level) end event the process reached."""
        for t in self.wf.tasks.values():
            if t.state == TaskState.COMPLETED and isinstance(t.task_spec, EndEvent) \
                    and t.task_spec.bpmn_id in self.definition.end_status:
                return t.task_spec.bpmn_id
        return None

    def final_status(self):
        """The case status named by the end event the process reached."""
        return self.definition.end_status.get(self.final_end(), "closed")

    def case_data(self):
        """The process-level variables now: those of the latest top-level task."""
        if self.wf.is_completed():
            return dict(self.wf.data)
        latest = None
        for t in self.wf.tasks.values():
            if t.state & (TaskState.READY | TaskState.STARTED | TaskState.WAITING | TaskState.COMPLETED):
                if latest is None or t.last_state_change >= latest.last_state_change:
                    latest = t
        return dict(latest.data) if latest is not None else {}

    def next_timer_at(self):
        values = [e.value for e in self.wf.waiting_events() if e.event_type in _TIMER_EVENTS]
        values = [v for v in values if isinstance(v, str)]
        if not values:
            return None
        return min(_parse_time(v) for v in values)


def _case_specs(definition, recorded=None):
    try:
        return calls.assemble(definition, recorded)
    except calls.CallError as e:
        raise EngineError(str(e), e.element_id) from None


def _engine_task(task):
    """Before SpiffWorkflow runs an engine task: charge it to the step's budget (SpiffWorkflow
    deep-copies a task's data into each task it creates, so the items of its lists and dicts
    count too), and look at the data it hands on."""
    copied = sum(len(v) for v in task.data.values() if isinstance(v, (list, tuple, dict, set)))
    try:
        expressions.spend_step_budget(expressions.ENGINE_TASK_STEPS + copied)
    except expressions.BudgetExceeded as e:
        raise EngineError(str(e), getattr(task.task_spec, "bpmn_id", None)) from None
    events.take_payload(task)
    _check_instances(task)


def _from_data(error):
    """Whether an expression over the case's data failed (a name missing, a value of another kind) —
    not a limit of the language, which no data lifts."""
    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, (expressions.BudgetExceeded, expressions.LimitExceeded, timers.TimerError)):
            return False
        if isinstance(error, expressions.ExpressionError):
            return True
        error = getattr(error, "exception", None) or error.__cause__ or error.__context__
        seen += 1
    return False


def _parse_time(value):
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise EngineError(f"定时器时间缺少时区：{value}")
    return moment.astimezone(timezone.utc)


def _message(e):
    spec = getattr(e, "task_spec", None) or getattr(getattr(e, "task", None), "task_spec", None)
    if str(e).startswith("No conditions satisfied") and spec is not None:   # a gateway without a default flow
        return (f"网关“{spec.bpmn_name or spec.bpmn_id}”的条件都不成立，流程无法继续：请核对案件数据后重试，"
                "或为该网关指定默认流后迁移案件")
    text = str(e).strip() or type(e).__name__
    cause = getattr(e, "exception", None) or e.__cause__ or e.__context__
    if cause is not None and str(cause) not in text:
        text = f"{cause}（{text}）"     # the cause first: it is what a supervisor can act on
    notes = getattr(e, "notes", None) or getattr(e, "__notes__", None) or []
    return "; ".join([text] + [n for n in notes if n and n not in text])[:1000]
