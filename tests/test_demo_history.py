"""The demo history: months of finished calls for the reports, written as the engine writes them."""
import shutil
from collections import Counter

import flask_migrate
import pytest
from sqlalchemy import select

from app import audit, demo_history
from app.config import TestConfig
from app.extensions import db
from app.models import AuditEvent, Case, CaseParticipant, Flag, Task
from app.models.types import utcnow
from app.timefmt import local_zone
from conftest import _make_app

SEED = 7


@pytest.fixture
def history(app):
    with app.app_context():
        return demo_history.load_history(seed=SEED)


def _month(dt):
    return dt.astimezone(local_zone()).strftime("%Y-%m")


def test_history_fills_the_past_months_with_finished_calls_on_an_intact_chain(app, history):
    with app.app_context():
        assert audit.verify()["ok"]
        cases = db.session.execute(select(Case)).scalars().all()
        assert len(cases) == history["calls"] and 150 <= len(cases) <= 450
        assert {c.status for c in cases} == {"closed", "rejected"}
        assert all(c.state is None and c.next_timer_at is None and c.due_at is None and c.closed_at for c in cases)
        this_month = _month(utcnow())
        months = Counter(_month(c.created_at) for c in cases)
        assert len(months) >= 6 and this_month not in months and dict(months) == history["by_month"]
        assert db.session.execute(select(Task).where(Task.status == "ready")).first() is None
        started = {e.case_id: e.at for e in db.session.execute(
            select(AuditEvent).where(AuditEvent.action == "case_started")).scalars()}
        assert all(started[c.id] == c.created_at for c in cases)
        last = db.session.execute(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).scalar_one()
        assert last.action == "demo_history_loaded" and last.after["calls"] == len(cases)


def test_every_closed_call_was_signed_handled_evaluated_and_rated(app, history):
    with app.app_context():
        tasks = {}
        for t in db.session.execute(select(Task)).scalars():
            tasks.setdefault(t.case_id, []).append(t)
        closed = db.session.execute(select(Case).where(Case.status == "closed")).scalars().all()
        for case in closed:
            done = [t for t in tasks[case.id] if t.status == "completed"]
            steps = {t.element_id for t in done if t.kind == "engine"}
            assert {"accept", "dispatch", "sign", "handle", "review", "evaluate", "rate_township"} <= steps, case.id
            for t in done:
                assert t.completed_by and t.assignee == t.completed_by and t.completed_at >= t.created_at
                if t.element_id == "sign":
                    assert set(t.result) == {"returned", "reason"} and t.due_at and t.warn_at
                if t.element_id == "handle":
                    assert t.result["result"] and t.due_at
                if t.element_id == "evaluate":
                    assert isinstance(t.result["satisfied"], bool) and 1 <= t.result["rating"] <= 5
                if t.element_id == "rate_township":
                    assert 1 <= t.result["rating"] <= 5 and t.org_code == case.data["lead_department"]
            last_eval = max((t for t in done if t.element_id == "evaluate"), key=lambda t: t.completed_at)
            assert last_eval.result["satisfied"] is True
            assert case.data["signed"] and case.data["rework_count"] == sum(
                1 for t in done if t.element_id == "evaluate" and not t.result["satisfied"])
            parts = {(p.org_code, p.role) for p in db.session.execute(
                select(CaseParticipant).where(CaseParticipant.case_id == case.id)).scalars()}
            assert (case.initiator_org, None) in parts and (None, "center") in parts
            assert all((d, None) in parts for d in case.data["signed"])

        every = [t for ts in tasks.values() for t in ts]
        signs = [t for t in every if t.element_id == "sign"]
        handles = [t for t in every if t.element_id == "handle"]
        assert any(t.result["returned"] for t in signs)                         # returns, and their redispatch
        assert any(t.element_id == "redispatch" for t in every)
        assert any(c.data["rework_count"] for c in closed)                       # reworks
        assert any(t.completed_at > t.due_at for t in signs)                     # late sign-off
        assert any(t.completed_at > t.due_at for t in handles)                   # late handling
        assert any(t.reminded_at for t in handles)
        orders = [t for t in every if t.kind == "order"]
        assert orders and all(t.role == "supervisor" and t.subject_task_id and t.status in ("completed", "cancelled")
                              for t in orders)
        subjects = {t.id: t for t in every}
        assert all(subjects[o.subject_task_id].due_at < o.created_at for o in orders)
        # varied enough to rank: not every department signs on time alike
        late_share = Counter(t.org_code for t in signs if t.completed_at > t.due_at)
        per_dept = Counter(t.org_code for t in signs)
        assert len({round(late_share[d] / per_dept[d], 2) for d in per_dept if per_dept[d] >= 10}) > 2

        rejected = db.session.execute(select(Case).where(Case.status == "rejected")).scalars().all()
        assert rejected and all(tasks[c.id][0].result["accepted"] is False for c in rejected)
        flags = db.session.execute(select(Flag)).scalars().all()
        assert {f.kind for f in flags} >= {"improper_call"} and {f.kind for f in flags} & {"no_response", "inaction"}
        assert all(f"#{f.case_id}" in f.evidence for f in flags)
        raised = db.session.execute(select(AuditEvent).where(AuditEvent.action == "flag_raised")).scalars().all()
        assert len(raised) == len(flags)


def test_history_cases_read_like_any_other_and_leave_the_inboxes_empty(app, users, history):
    with app.app_context():
        case_id = db.session.execute(select(Case.id).where(Case.status == "closed").order_by(Case.id)).scalars().first()
    r = users["center"].get(f"/cases/{case_id}")
    assert r.status_code == 200 and r.json["status"] == "closed" and r.json["current_tasks"] == []
    events = users["center"].get(f"/cases/{case_id}/audit")
    assert events.status_code == 200
    actions = [e["action"] for e in events.json]
    assert actions[0] == "case_started" and actions[-1] == "case_closed"
    assert [e["at"] for e in events.json] == sorted(e["at"] for e in events.json)
    for name in ("town_a", "town_b", "center", "dept_zf", "dept_zr", "dept_hb", "dept_zj", "supervisor"):
        assert users[name].inbox() == [], name


def test_history_is_the_same_for_the_same_seed(sqlite_template, tmp_path):
    def fingerprint(name):
        path = tmp_path / f"{name}.db"
        shutil.copy(sqlite_template, path)
        app = _make_app(f"sqlite:///{path}")
        with app.app_context():
            demo_history.load_history(seed=SEED)
            cases = [(c.id, c.title, c.status, c.created_at, c.closed_at, c.data) for c in
                     db.session.execute(select(Case).order_by(Case.id)).scalars()]
            tasks = [(t.id, t.case_id, t.element_id, t.org_code, t.completed_at, t.completed_by, t.result) for t in
                     db.session.execute(select(Task).order_by(Task.case_id, Task.created_at, Task.id)).scalars()]
            db.session.remove()
            db.engine.dispose()
        return cases, tasks

    assert fingerprint("one") == fingerprint("two")


def test_setup_loads_the_history_with_the_demo_unless_turned_off(tmp_path):
    assert TestConfig.HUYING_DEMO_HISTORY is False
    for enabled in (True, False):
        app = _make_app(f"sqlite:///{tmp_path / f'setup-{enabled}.db'}", HUYING_DEMO=True, HUYING_DEMO_HISTORY=enabled)
        with app.app_context():
            flask_migrate.upgrade()
        runner = app.test_cli_runner()
        out = runner.invoke(args=["huying", "setup"])
        assert out.exit_code == 0 and "demo data loaded" in out.output, out.output
        assert ("demo history loaded: " in out.output) is enabled
        verified = runner.invoke(args=["audit", "verify"])
        assert verified.exit_code == 0 and verified.output.startswith("ok:")
        with app.app_context():
            calls = db.session.execute(select(Case.id)).all()
            assert bool(calls) is enabled
            db.session.remove()
            db.engine.dispose()


def test_history_calls_are_found_by_a_word_of_their_reply(app, users, history):
    from app import search
    with app.app_context():
        assert search.check() == []
        task = db.session.execute(select(Task).where(Task.element_id == "handle", Task.status == "completed")
                                  .order_by(Task.id)).scalars().first()
        word = task.result["result"][2:6]
    page = users["center"].get("/cases", query_string={"q": f"{word} #{task.case_id}"}).json
    assert page["items"][0]["id"] == task.case_id
    assert f"<mark>{word}</mark>" in page["items"][0]["highlight"]["snippet"]
