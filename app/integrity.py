"""The open cases checked against themselves: stored state, task projection, next timer, audit trail.

`flask huying check` reads every open case and reports each disagreement; with `--repair` it
re-projects the case from its stored state (the inbox rows, the next timer, a stall made an
error on the supervisor's board), merges multi-instance children a lost merge left behind
(engine-notes G14), and puts the repair on record. History is never rewritten: an audit event
that is missing stays missing and is reported.

The files of every case, open or not, are re-hashed from the storage against the SHA-256
recorded when they were given (`check_evidence`): a file altered or lost in storage is reported,
never repaired.
"""
import time
from dataclasses import dataclass, field

from sqlalchemy import select

from . import cases, evidence, processes
from .engine import CaseRun, EngineError
from .extensions import db
from .models import AuditEvent, Case, Task


@dataclass
class Finding:
    case_id: int
    title: str
    problems: list = field(default_factory=list)     # [(kind, text)]
    repaired: list = field(default_factory=list)     # what --repair did

    @property
    def kinds(self):
        return sorted({k for k, _ in self.problems})


@dataclass
class Report:
    checked: int = 0
    seconds: float = 0.0
    findings: list = field(default_factory=list)
    files_checked: int = 0
    evidence: list = field(default_factory=list)     # [Finding] of cases whose files are not what was given

    @property
    def disagreeing(self):
        return [f for f in self.findings if f.problems]


def check_open_cases(repair=False, batch=200):
    """Check (and with `repair`, mend) every open case, oldest first; returns a Report."""
    report, started, last_id = Report(), time.perf_counter(), 0
    while True:
        ids = db.session.execute(select(Case.id).where(Case.status == "open", Case.id > last_id)
                                 .order_by(Case.id).limit(batch)).scalars().all()
        if not ids:
            break
        for case_id in ids:
            finding = check_case(case_id)
            if finding.problems and repair:
                repair_case(case_id, finding)
            report.findings.append(finding)
            report.checked += 1
        last_id = ids[-1]
        db.session.rollback()        # let the read transaction go between batches
    report.files_checked, report.evidence = check_evidence()
    report.seconds = time.perf_counter() - started
    return report


def check_evidence():
    """(files checked, [Finding]) over the files of every case: each one's stored bytes re-hashed."""
    checked, findings = 0, []
    for case_id in evidence.cases_with_files():
        results = evidence.verify(case_id)
        checked += len(results)
        problems = [("evidence", f"文件 #{row.id}“{row.name}”：{problem}") for row, problem in results if problem]
        if problems:
            findings.append(Finding(case_id, db.session.get(Case, case_id).title, problems))
    return checked, findings


def check_case(case_id):
    case = db.session.get(Case, case_id)
    finding = Finding(case_id, case.title)
    if case.state is None:
        finding.problems.append(("state", "案件办理中，却没有保存的流程状态"))
        return finding
    try:
        run = CaseRun.load(processes.definition(case.definition_row), case.state)
        engine_ready = {t.id: t for t in run.ready_tasks()}
        stall = run.stall()
        lost = run.lost_children()
        next_timer = run.next_timer_at()
    except EngineError as e:
        finding.problems.append(("state", f"流程状态无法读取或推进：{e}"))
        return finding
    rows = {t.id: t for t in db.session.execute(
        select(Task).where(Task.case_id == case_id, Task.status == "ready", Task.kind == "engine")).scalars()}
    for tid in engine_ready.keys() - rows.keys():
        finding.problems.append(("projection", f"流程中待办的“{engine_ready[tid].name}”不在任何人的待办中"))
    for tid in rows.keys() - engine_ready.keys():
        finding.problems.append(("projection", f"待办中的“{rows[tid].name}”在流程中已不待办"))
    for tid in engine_ready.keys() & rows.keys():
        t, row = engine_ready[tid], rows[tid]
        if (t.role, t.org_code) != (row.role, row.org_code):
            finding.problems.append(("projection", f"“{row.name}”的承办岗位或单位与流程不一致"))
    if _second(next_timer) != _second(case.next_timer_at):
        finding.problems.append(("timer", f"下一个定时器应为 {next_timer}，记录为 {case.next_timer_at}"))
    if stall:
        finding.problems.append(("stalled", stall[0]))
    for loop, _child in lost:
        finding.problems.append(("lost_merge", f"“{loop.task_spec.bpmn_name or loop.task_spec.bpmn_id}”"
                                               "有一个已完成的实例未被合并"))
    finding.problems.extend(_audit_gaps(case_id))
    return finding


def _audit_gaps(case_id):
    events = db.session.execute(select(AuditEvent.action, AuditEvent.task_id).where(AuditEvent.case_id == case_id)
                                ).all()
    actions = {(a, t) for a, t in events}
    out = []
    if not any(a == "case_started" for a, _ in events):
        out.append(("audit", "审计记录中没有案件的发起"))
    for row in db.session.execute(select(Task).where(Task.case_id == case_id, Task.status.in_(("ready", "completed")))
                                  ).scalars():
        if ("task_ready", row.id) not in actions:
            out.append(("audit", f"审计记录中没有“{row.name}”的生成"))
        if row.status == "completed" and ("task_completed", row.id) not in actions:
            out.append(("audit", f"审计记录中没有“{row.name}”的办理"))
    return out


def repair_case(case_id, finding):
    status = cases.repair_case(case_id, [text for _kind, text in finding.problems])
    if status is not None:
        finding.repaired.append("已重新投影" + ("；案件无法继续，已转为异常并列入督办看板" if status == "errored" else ""))


def _second(moment):
    return None if moment is None else int(moment.timestamp())
