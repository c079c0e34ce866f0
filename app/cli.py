"""Command-line entry points: `flask huying setup | serve | scheduler | check | reindex`."""
import logging
import time

import click
from flask import current_app

from . import accounts, audit, demo, demo_events, demo_history, external_tasks, integrity, notifications, processes, search
from .auth import PASSWORD_RULES
from .errors import CaseError
from .extensions import db, scheduler
from .cases import fire_due_timers
from .models import Case
from .roles import ROLES

log = logging.getLogger("huying")


def register_cli(app):
    @app.cli.group("huying")
    def group():
        """Huying administration."""

    @app.cli.group("audit")
    def audit_group():
        """The audit trail."""

    @audit_group.command("verify")
    @click.option("--since-checkpoint", is_flag=True, help="only the events after the last intact verification")
    def audit_verify(since_checkpoint):
        """Check the audit trail's hash chain; exit 1 and name the first bad event when broken."""
        result = audit.verify(since_checkpoint=since_checkpoint)
        if result["ok"]:
            click.echo(f"ok: {result['events_checked']} events (sequence {result['from_seq']}–{result['to_seq']}), "
                       "the hash chain is intact")
            return
        bad = result["first_bad_event"]
        click.echo(f"BROKEN after {result['events_checked']} events: event id={bad.get('id')} seq={bad.get('seq')}: "
                   f"{bad['reason']}", err=True)
        raise SystemExit(1)

    @group.command("setup")
    def setup():
        """Deploy changed processes; load the demo data into an empty database when HUYING_DEMO=1
        (with past calls for the reports unless HUYING_DEMO_HISTORY=0)."""
        for filename, row, created, errors in processes.deploy_directory():
            if errors:
                click.echo(f"NOT deployed: {filename} (the version in service stays)", err=True)
                for e in errors:
                    click.echo(f"  {e.get('element_id') or '-'}: {e['message']}", err=True)
            else:
                click.echo(f"{'deployed' if created else 'unchanged'}: {row.process_id} v{row.version}")
        if current_app.config["HUYING_DEMO"] and demo.is_empty():
            demo.load_demo()
            click.echo("demo data loaded")
            if current_app.config["HUYING_DEMO_HISTORY"]:
                summary = demo_history.load_history()
                click.echo(f"demo history loaded: {summary['calls']} calls")
                click.echo(f"demo grid events raised: {demo_events.load_events()}")
        if search.check(deep=False):    # cases from before the index (a migrated database): index them once
            click.echo(f"search index rebuilt: {search.reindex_all()} cases")

    @group.command("bench-data")
    @click.option("--closed", default=0, type=click.IntRange(min=0), help="closed calls to add (e.g. 1000000)")
    @click.option("--open", "open_", default=0, type=click.IntRange(min=0), help="open calls to add (e.g. 100000)")
    @click.option("--months", default=12, type=click.IntRange(1, 120), help="the months before this one they span")
    @click.option("--seed", default=7, type=int, help="the same seed, the same data")
    def bench_data(closed, open_, months, seed):
        """Fill the database with a province's volume for the bench: closed calls copied from the demo
        history's stories, open calls in the inbox's states, their audit events on the hash chain."""
        from . import bench_data as generator
        if processes.latest_version("call_response") is None or demo.is_empty():
            raise click.UsageError("run `HUYING_DEMO=1 flask huying setup` first: the calls need the demo county")
        totals = generator.generate(closed, open_, months, seed, progress=click.echo)
        click.echo(f"added {totals['closed']:,} closed and {totals['open']:,} open calls, {totals['tasks']:,} tasks, "
                   f"{totals['events']:,} audit events in {totals['seconds']} s")

    @group.command("reindex")
    @click.option("--check", "check_only", is_flag=True, help="only check the index; exit 1 when it is not whole")
    def reindex(check_only):
        """Rebuild the search index from the cases (each batch of cases one transaction), or check it."""
        if not check_only:
            total = db.session.execute(db.select(db.func.count()).select_from(Case)).scalar()
            with click.progressbar(length=total, label="reindexing cases", show_pos=True) as bar:
                search.reindex_all(progress=bar.update)
        problems = search.check()
        for kind, text in problems:
            click.echo(f"[{kind}] {text}", err=True)
        if problems:
            raise SystemExit(1)
        click.echo("search index ok")

    @group.command("check")
    @click.option("--repair", is_flag=True, help="re-project the cases that disagree (on record)")
    def check(repair):
        """Read every open case: stored state, inbox rows, next timer and audit trail must agree; and
        re-hash every case's files against their recorded SHA-256. Exit 1 when a disagreement remains."""
        report = integrity.check_open_cases(repair=repair)
        for f in report.disagreeing:
            click.echo(f"case {f.case_id} {f.title}")
            for kind, text in f.problems:
                click.echo(f"  [{kind}] {text}")
            for text in f.repaired:
                click.echo(f"  repaired: {text}")
        for f in report.evidence:
            click.echo(f"case {f.case_id} {f.title}")
            for kind, text in f.problems:
                click.echo(f"  [{kind}] {text}")
        bad = report.disagreeing
        click.echo(f"checked {report.files_checked} files against their recorded SHA-256: "
                   f"{sum(len(f.problems) for f in report.evidence)} altered or missing")
        click.echo(f"checked {report.checked} open cases in {report.seconds:.2f} s: "
                   f"{len(bad)} disagree" + (f", {sum(1 for f in bad if f.repaired)} repaired" if repair else ""))
        if (bad and not (repair and all(f.repaired for f in bad))) or report.evidence:
            raise SystemExit(1)

    @group.command("add-user")
    @click.argument("username")
    @click.option("--role", "roles", multiple=True, required=True, help="role code, e.g. admin, township (repeatable)")
    @click.option("--org", "org_code", default=None, help="org unit code, e.g. T01")
    @click.option("--name", default="", help="display name (the username when not given)")
    @click.option("--email", default=None, help="where e-mail notifications go")
    @click.password_option(help=f"the password: {PASSWORD_RULES}")
    def add_user(username, roles, org_code, name, email, password):
        """Create a user with a password you choose (outside demo mode nobody else exists); the password
        follows the same rule as the admin's pages and a user's own change (app.auth.password_problem)."""
        unknown = [r for r in roles if r not in ROLES]
        if unknown:
            raise click.BadParameter(f"unknown role(s): {', '.join(unknown)}")
        try:
            accounts.add_user("cli", username, name or username, list(roles), org_code, password, email)
        except CaseError as e:
            raise click.ClickException(f"{e.message}：" + "；".join((e.errors or {}).values())) from None
        click.echo(f"created {username}")

    @group.command("serve")
    @click.option("--host", envvar="HOST", default="127.0.0.1")
    @click.option("--port", envvar="PORT", default=5000, type=int)
    @click.option("--threads", envvar="HUYING_THREADS", default=8, type=int)
    def serve(host, port, threads):
        """Serve the web UI and the API (waitress) with the timer scheduler in-process."""
        from waitress import serve as waitress_serve
        from .assets import warm
        app = current_app._get_current_object()
        warm(app)
        start_scheduler(app)
        click.echo(f"Huying on http://{host}:{port}")
        # waitress drops forwarded headers it does not trust itself; with HUYING_TRUSTED_PROXIES they
        # reach the app, whose ProxyFix honours exactly that many proxies' hops (app.security)
        waitress_serve(app, host=host, port=port, threads=threads,
                       clear_untrusted_proxy_headers=not app.config["TRUSTED_PROXIES"])

    @group.command("scheduler")
    def run_scheduler():
        """Run only the timer scheduler (for deployments with several app processes)."""
        start_scheduler(current_app._get_current_object())
        while True:
            time.sleep(3600)


def start_scheduler(app, scheduler_=None):
    """Check for due timers (and release expired external-task locks) every SCHEDULER_INTERVAL_SECONDS
    and send the notifications' outbox every NOTIFY_INTERVAL_SECONDS; returns the running scheduler. Several schedulers on one PostgreSQL
    database share the work: each case's timer and each message is taken by one of them."""
    sched = scheduler_ or scheduler

    def deliver():
        with app.app_context():
            try:
                for _ in range(20):          # up to 1,000 messages a sweep, 50 claimed at a time
                    if not sum(notifications.deliver_outbox().values()):
                        break
            except Exception:  # noqa: BLE001 - one bad sweep must not stop the next
                log.exception("outbox delivery failed")
    sched.add_job(deliver, "interval", seconds=app.config["NOTIFY_INTERVAL_SECONDS"], id="deliver_outbox",
                  max_instances=1, coalesce=True, replace_existing=True)

    def job():
        with app.app_context():
            try:
                fire_due_timers()
            except Exception:  # noqa: BLE001 - one bad sweep must not stop the next
                log.exception("timer sweep failed")
            try:
                external_tasks.release_expired_locks()
            except Exception:  # noqa: BLE001 - likewise
                log.exception("external task lock sweep failed")
    sched.add_job(job, "interval", seconds=app.config["SCHEDULER_INTERVAL_SECONDS"], id="fire_due_timers",
                  max_instances=1, coalesce=True, replace_existing=True)
    if not sched.running:
        sched.start()
    return sched
