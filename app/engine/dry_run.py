"""What validation accepts, starts: before a process is deployed, a new case of it runs in memory
(no database) up to its first wait, with start data generated from its start form. An engine error
there, or a case that would stand still with nothing for anyone to do, refuses the deploy on the
element concerned — instead of every start failing after the deploy.

The run is bounded like every case's step (expressions.step_budget). Data decides some paths, so
the run is tried with the form's generated answer and with an empty one: the deploy is refused
only when both fail, which a problem of the process itself (not of one answer) always does."""
from . import messages_zh, sample_data
from .definitions import DefinitionError, parse_xml
from .runtime import CaseRun, EngineError

DRY_USER = {"initiator": "dry_run", "initiator_org": "DRYRUN"}


def start_data(definition, filled=True):
    schema = definition.form(definition.start.form) if definition.start is not None else None
    props = (schema or {}).get("properties") or {}
    data = {k: None for k in props}
    if filled and schema:
        data.update({k: v for k, v in (sample_data.sample(schema) or {}).items() if v is not None})
    data.update(DRY_USER)
    return data


def problem(definition, data):
    """(message, element id, whether the case's data may decide it) of what stops a new case with
    `data`, or None when it reaches a wait."""
    try:
        run = CaseRun.start(definition)
        run.begin(data)
        run.ready_tasks()
        stalled = run.stall()
    except EngineError as e:
        return str(e), e.element_id, e.from_data
    except Exception as e:  # noqa: BLE001 - whatever the engine raises, the deploy is refused, not a 500
        return f"{type(e).__name__}: {e}", None, False
    return (*stalled, False) if stalled else None


def check(definition, bpmn):
    """Raise DefinitionError when no new case of `definition` (parsed from `bpmn`) gets to its first
    wait. An expression over the case's data that fails with both answers tried is not refused —
    the generated data is not what users will enter (a date a form asks for, say) — but said:
    returns the report lines ([{element_id, message}]) of such warnings."""
    found = None
    for filled in (True, False):
        found = problem(definition, start_data(definition, filled))
        if found is None:
            return []
    message, element_id, from_data = found
    label = definition.names.get(element_id) if element_id else None
    error = messages_zh.engine_error(message, element_id, label)
    if from_data:
        return [{"element_id": element_id,
                 "message": f"试运行新案件时，“{label or element_id or '流程'}”的表达式用生成的示例数据无法计算"
                            f"（{error['message']}）：它取决于案件数据，已部署；请确认发起时填写的数据能让它计算"}]
    raise DefinitionError(messages_zh.annotate([error], parse_xml(bpmn)))
