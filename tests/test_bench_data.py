"""`flask huying bench-data`: a province's volume, here a small one, in the states the pages read."""
from collections import Counter

from click.testing import CliRunner
from sqlalchemy import func, select

from app import audit, bench_data
from app.models import AuditEvent, Case, CaseParticipant, Task
from app.models.types import utcnow
from app.timefmt import local_zone


def _month(dt):
    return dt.astimezone(local_zone()).strftime("%Y-%m")


def test_copied_calls_are_finished_calls_of_the_past_months_on_an_intact_chain(app, users, monkeypatch):
    monkeypatch.setattr(bench_data, "POOL", 40)           # a few stories, each copied many times
    monkeypatch.setattr(bench_data, "BATCH", 70)          # and several batches, each on the chain's head
    told = []
    with app.app_context():
        totals = bench_data.generate(closed=300, open_=90, months=6, seed=3, progress=told.append)
        from app.extensions import db
        cases = db.session.execute(select(Case)).scalars().all()
        closed = [c for c in cases if c.status in ("closed", "rejected")]
        assert totals["closed"] == len(closed) == 300 and totals["open"] == 90
        assert len(told) == 300 // 70 + 1 + 2 and told[-1].startswith("在办呼叫 90 / 90")
        assert all(c.state is None and c.closed_at and c.closed_at >= c.created_at for c in closed)
        months = Counter(_month(c.created_at) for c in closed)
        assert len(months) >= 4 and _month(utcnow()) not in months          # spread over the months before this one
        local = [c.created_at.astimezone(local_zone()) for c in closed]      # moved by whole weeks: still in
        assert all(8 <= t.hour < 18 for t in local) and sum(t.weekday() < 5 for t in local) > 0.9 * len(local)  # hours
        assert len({c.title for c in closed}) <= 40 < len({c.id for c in closed})
        tasks = db.session.execute(select(Task).where(Task.case_id.in_([c.id for c in closed]))).scalars().all()
        assert {t.status for t in tasks} <= {"completed", "cancelled"} and len({t.id for t in tasks}) == len(tasks)
        orders = [t for t in tasks if t.kind == "order"]
        by_id = {t.id: t for t in tasks}
        assert all(by_id[o.subject_task_id].case_id == o.case_id for o in orders if o.subject_task_id)
        ready = db.session.execute(select(Task).where(Task.status == "ready")).scalars().all()
        assert len({t.case_id for t in ready}) == 90 and {t.element_id for t in ready} == {"accept", "handle"}
        assert db.session.execute(select(func.count()).select_from(AuditEvent)).scalar() >= totals["events"]
        assert db.session.execute(select(func.count()).select_from(CaseParticipant)).scalar() > 390
        result = audit.verify()
        assert result["ok"], result
        created = [(_month(c.created_at), c.status) for c in cases]
        one = closed[0].id
    # the pages read them: the report counts the copies, a closed copy's page and trail open
    month = max(months)
    report = users["supervisor"].get(f"/reports?period={month}")
    assert report.status_code == 200, report.json
    assert report.json["totals"]["calls"] == sum(1 for m, _ in created if m == month)   # the open ones too
    assert report.json["totals"]["closed"] == sum(1 for m, status in created if m == month and status == "closed")
    assert users["supervisor"].get(f"/cases/{one}").status_code == 200
    trail = users["supervisor"].get(f"/cases/{one}/audit").json
    assert trail[0]["action"] == "case_started" and trail[-1]["action"] in ("case_closed", "case_rejected")
    assert users["center"].get("/tasks?per_page=50").json["total"] >= 1


def test_the_command_wants_the_demo_county_and_says_what_it_added(app):
    runner = CliRunner()
    out = runner.invoke(app.cli, ["huying", "bench-data", "--closed", "-1"])
    assert out.exit_code == 2 and "-1" in out.output
    out = app.test_cli_runner().invoke(args=["huying", "bench-data", "--closed", "20", "--open", "5", "--months", "3"])
    assert out.exit_code == 0, out.output
    assert "added 20 closed and 5 open calls" in out.output and "已办结呼叫 20 / 20" in out.output
