"""Messages and signals from outside (CONTRACT §7, `POST /api/v1/messages`).

A message goes to one case, by its id (correlation is by case; a file's Camunda `correlationKey`
or SpiffArena correlation properties are not needed): to its waiting catch event, boundary
event or receive task of that name. Without a case id it starts the newest version of each
process whose message (or signal) start event has that name, the data being the start data; a
signal without a case id also reaches every open case waiting for it that the sender may act on.
Each delivery is one locked write (cases.run_step) and on the audit trail (`message_delivered`)."""
import json

from sqlalchemy import select

from . import audit, cases, policy, processes
from .database import lock_case, write_transaction
from .engine import events
from .errors import Invalid, NotFound
from .extensions import db
from .models import Case, CaseWait

MAX_DATA_BYTES = 64 * 1024


def check_data(data, field="data"):
    """A message's (or a worker's) variables: a JSON object of bounded size, not overwriting who
    raised the case. Raises Invalid."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise Invalid(f"{field} 应为对象", {field: "应为对象"})
    bad = [k for k in data if not isinstance(k, str) or not k or len(k) > 100 or k in events.RESERVED]
    if bad:
        raise Invalid(f"{field} 中有不允许的变量名：{'、'.join(str(k)[:40] for k in bad)}",
                      {field: "变量名应为 1 到 100 个字符，且不能是 initiator、initiator_org"})
    if len(json.dumps(data, ensure_ascii=False).encode("utf-8")) > MAX_DATA_BYTES:
        raise Invalid(f"{field} 过大（上限 {MAX_DATA_BYTES // 1024} KB）", {field: "过大"})
    return dict(data)


def send(user, name, data, case_id=None):
    """Deliver a message or signal; returns the ids of the cases it reached (started or delivered to).
    Nothing waiting for it (or no such process) is NotFound."""
    policy.require(user, "message.send")
    data = check_data(data)
    if case_id is not None:
        return [deliver(user, case_id, name, data)]
    reached = []
    for kind in ("message", "signal"):
        reached += _start(user, kind, name, data)
    reached += _broadcast(user, name, data)
    if not reached:
        raise NotFound(f"没有等待消息“{name}”的流程或案件")
    return reached


def deliver(user, case_id, name, data, kinds=("message", "signal")):
    """Deliver to one case what it waits for by that name; returns the case id."""
    case = db.session.get(Case, case_id) if isinstance(case_id, int) else None
    if case is None:
        raise NotFound("案件不存在或无权查看")
    policy.require(user, "message.send", case=case)
    with write_transaction():
        case = lock_case(case.id)
        run = cases.load_for_write(case) if case.status == "open" and case.state is not None else None
        wanted = sorted({k for k, n, _e in run.waiting() if n == name and k in kinds}) if run else []
        if not wanted:
            raise NotFound(f"案件 {case.id} 没有在等待消息“{name}”")
        audit.record("message_delivered", user.username, case.id, org_code=user.org_code,
                     after={"name": name, "kind": "、".join(wanted), "data": data},
                     detail=f"{'、'.join(events.LABELS[k] for k in wanted)}“{name}”已送达")
        cases.run_step(case, run, user.username, lambda: [run.deliver(k, name, data) for k in wanted])
    cases.keep(case, run)
    return case.id


def _start(user, kind, name, data):
    """Start the newest version of each process with a start event of that kind and name."""
    started = []
    for row in processes.latest_versions():
        try:
            definition = processes.definition(row)
        except Exception:  # noqa: BLE001 - a stored version that no longer loads starts nothing
            continue
        if (kind, name) in events.start_events(definition.spec):
            started.append(cases.start_case(user, row.process_id, data, event=(kind, name)).id)
    return started


def _broadcast(user, name, data):
    """A signal without a case: every open case waiting for it that `user` may send to."""
    ids = db.session.execute(select(CaseWait.case_id).join(Case, Case.id == CaseWait.case_id).where(
        CaseWait.kind == "signal", CaseWait.name == name, Case.status == "open")
        .distinct().order_by(CaseWait.case_id).limit(500)).scalars().all()
    reached = []
    for case_id in ids:
        if policy.allows(user, "message.send", case=db.session.get(Case, case_id)):
            try:
                reached.append(deliver(user, case_id, name, data, kinds=("signal",)))
            except NotFound:        # it stopped waiting since
                continue
    return reached
