"""Service tasks the application serves itself, and what a case leaving `open` tells others.

A BPMN service task with a topic is an external task for an integration worker (app/external_tasks.py),
unless the topic is one the application serves: then cases._advance runs its handler at once, in the
step's transaction, and completes the task with what the handler returns. The analyst draws an
ordinary service task (topic `huying.raise_call`: raise a call to the county from a grid event) and
may move it, rename it or leave it out; no integration worker ever sees it.

`left_open(case, actor)` is called where a case stops being open (it ended, was withdrawn or merged),
inside that transaction, so that a case waiting for it (a grid event for its call) moves on with it.
"""
HANDLERS = {}          # topic -> fn(case, element_id, variables, actor) -> variables for the task
_LISTENERS = []        # fn(case, actor)
RESERVED_PREFIX = "huying."


def serves(topic):
    def register(fn):
        HANDLERS[topic] = fn
        return fn
    return register


def on_left_open(fn):
    _LISTENERS.append(fn)
    return fn


def left_open(case, actor):
    for fn in _LISTENERS:
        fn(case, actor)
