"""Command-line entry points: `flask huying setup | serve | scheduler`."""
import logging
import time

import click
from flask import current_app

from . import demo, processes
from .extensions import scheduler

log = logging.getLogger("huying")


def register_cli(app):
    @app.cli.group("huying")
    def group():
        """Huying administration."""

    @group.command("setup")
    def setup():
        """Deploy changed processes; load the demo data into an empty database when HUYING_DEMO=1."""
        for row, created in processes.deploy_directory():
            click.echo(f"{'deployed' if created else 'unchanged'}: {row.process_id} v{row.version}")
        if current_app.config["HUYING_DEMO"] and demo.is_empty():
            demo.load_demo()
            click.echo("demo data loaded")

    @group.command("serve")
    @click.option("--host", envvar="HOST", default="127.0.0.1")
    @click.option("--port", envvar="PORT", default=5000, type=int)
    @click.option("--threads", envvar="HUYING_THREADS", default=8, type=int)
    def serve(host, port, threads):
        """Serve the web UI and the API (waitress) with the timer scheduler in-process."""
        from waitress import serve as waitress_serve
        start_scheduler(current_app._get_current_object())
        click.echo(f"Huying on http://{host}:{port}")
        waitress_serve(current_app._get_current_object(), host=host, port=port, threads=threads)

    @group.command("scheduler")
    def run_scheduler():
        """Run only the timer scheduler (for deployments with several app processes)."""
        start_scheduler(current_app._get_current_object())
        while True:
            time.sleep(3600)


def start_scheduler(app):
    """Check for due timers every SCHEDULER_INTERVAL_SECONDS."""
    def job():
        with app.app_context():
            from .cases import fire_due_timers
            try:
                fire_due_timers()
            except Exception:  # noqa: BLE001 - one bad sweep must not stop the next
                log.exception("timer sweep failed")
    scheduler.add_job(job, "interval", seconds=app.config["SCHEDULER_INTERVAL_SECONDS"], id="fire_due_timers",
                      max_instances=1, coalesce=True, replace_existing=True)
    if not scheduler.running:
        scheduler.start()
