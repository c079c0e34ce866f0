"""Messages and external tasks (CONTRACT §7): what other systems call."""
from flask import g

from .. import external_tasks, messages
from . import schemas as s
from .views import blp


@blp.route("/messages", methods=["POST"])
@blp.arguments(s.MessageIn)
@blp.response(200, s.MessageResult)
@blp.errors(403, 404, 409, 422)
def send_message(args):
    """Deliver a message or signal to a case's waiting catch event, boundary event or receive task of
    that name; without `case_id`, start the processes whose message start event has that name (the
    data is the start data). 404 when nothing waits for it."""
    ids = messages.send(g.user, args["name"], args["data"], case_id=args.get("case_id"))
    return {"delivered": len(ids), "case_ids": ids}


@blp.route("/external-tasks/fetch-and-lock", methods=["POST"])
@blp.arguments(s.FetchAndLock)
@blp.response(200, s.ExternalTaskOut(many=True))
@blp.errors(403, 422)
def fetch_and_lock(args):
    """Lock up to `max_tasks` free external tasks of the topics for the worker (role integration)."""
    topics = {t["name"]: t["lock_seconds"] for t in args["topics"]}
    rows = external_tasks.fetch_and_lock(g.user, args["worker_id"], topics, args["max_tasks"])
    return [external_tasks.to_dict(r) for r in rows]


@blp.route("/external-tasks/<external_task_id>/complete", methods=["POST"])
@blp.arguments(s.ExternalComplete)
@blp.response(200, s.ExternalTaskOut)
@blp.errors(403, 409, 422)
def complete_external_task(args, external_task_id):
    """Complete a task the worker holds; its variables land in the case, which advances. 409 when
    another worker holds the lock, it expired, or the task is no longer open."""
    external_tasks.complete(g.user, external_task_id, args["worker_id"], args["variables"])
    return external_tasks.to_dict(external_tasks.get(external_task_id))


@blp.route("/external-tasks/<external_task_id>/failure", methods=["POST"])
@blp.arguments(s.ExternalFailure)
@blp.response(200, s.ExternalTaskOut)
@blp.errors(403, 409, 422)
def fail_external_task(args, external_task_id):
    """Report a failure: with `retries` left the task is free again after `retry_seconds`; with none
    it becomes an incident and its case shows on the stuck board until a supervisor retries it."""
    row = external_tasks.fail(g.user, external_task_id, args["worker_id"], args["message"], args["retries"],
                              args["retry_seconds"])
    return external_tasks.to_dict(row)
