"""Timers in a process fire through the same locked write path, found by `next_timer_at`."""
import time
from datetime import datetime, timedelta

import pytest

from app import cases, processes
from app.extensions import db
from app.models import Case
from app.models.types import utcnow

pytestmark = pytest.mark.lifecycle

TIMER_BPMN = b'''<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs" targetNamespace="http://x">
  <bpmn:process id="wait_then_act" name="wait" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l1" name="\xe5\x93\x8d\xe5\xba\x94\xe4\xb8\xad\xe5\xbf\x83">
      <bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>wait</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>act</bpmn:flowNodeRef><bpmn:flowNodeRef>done</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start"/>
    <bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition>
      <bpmn:timeDuration>"PT1S"</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:userTask id="act" name="act"/>
    <bpmn:endEvent id="done"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait"/>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="act"/>
    <bpmn:sequenceFlow id="f3" sourceRef="act" targetRef="done"/>
  </bpmn:process>
</bpmn:definitions>'''


def test_due_timer_fires_once_and_opens_the_next_task(app, users):
    with app.app_context():
        processes.deploy(TIMER_BPMN, {}, "analyst")
    before = utcnow()
    r = users["center"].post("/cases", json={"process_id": "wait_then_act", "data": {}})
    after = utcnow()
    assert r.status_code == 201 and r.json["current_tasks"] == []
    case_id = r.json["id"]
    with app.app_context():
        due = db.session.get(Case, case_id).next_timer_at
        assert before + timedelta(seconds=1) <= due + timedelta(milliseconds=1) and due <= after + timedelta(seconds=1)
        if utcnow() < due - timedelta(milliseconds=200):    # (a loaded machine may already be past it)
            assert cases.fire_due_timers() == 0       # not yet due
        fired = 0
        for _ in range(50):                           # wait out the one-second timer
            fired += cases.fire_due_timers()
            if fired:
                break
            time.sleep(0.1)
        assert fired == 1
        assert cases.fire_due_timers() == 0           # exactly once
        assert db.session.get(Case, case_id).next_timer_at is None
    assert [t["name"] for t in users["center"].inbox(case_id)] == ["act"]
    events = users["center"].get(f"/cases/{case_id}/audit").json
    assert [e["actor"] for e in events if e["action"] == "timer_fired"] == ["system"]


DRAWN_DEADLINE_BPMN = b'''<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs" targetNamespace="http://x">
  <bpmn:process id="drawn_deadline" name="drawn" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l1" name="\xe5\x93\x8d\xe5\xba\x94\xe4\xb8\xad\xe5\xbf\x83">
      <bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>check</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>late</bpmn:flowNodeRef><bpmn:flowNodeRef>later</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>done</bpmn:flowNodeRef><bpmn:flowNodeRef>noted</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start"/>
    <bpmn:userTask id="check" name="check"/>
    <bpmn:boundaryEvent id="late" attachedToRef="check" cancelActivity="false">
      <bpmn:timerEventDefinition><bpmn:timeDuration>"PT1S"</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:boundaryEvent id="later" attachedToRef="check" cancelActivity="false">
      <bpmn:timerEventDefinition><bpmn:timeDuration>"PT2H"</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="done"/>
    <bpmn:endEvent id="noted"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="check"/>
    <bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="done"/>
    <bpmn:sequenceFlow id="f3" sourceRef="late" targetRef="noted"/>
    <bpmn:sequenceFlow id="f4" sourceRef="later" targetRef="noted"/>
  </bpmn:process>
</bpmn:definitions>'''


def test_a_boundary_timer_drawn_without_escalation_is_the_tasks_deadline(app, users):
    with app.app_context():
        processes.deploy(DRAWN_DEADLINE_BPMN, {}, "analyst")
    before = utcnow()
    case_id = users["center"].post("/cases", json={"process_id": "drawn_deadline", "data": {}}).json["id"]
    after = utcnow()
    task = users["center"].task(case_id, "check")
    with app.app_context():
        due = db.session.get(Case, case_id).due_at
    assert due is not None and datetime.fromisoformat(task["due_at"]) == due.replace(microsecond=0)   # the earlier
    # the one-second timer, counted from when the task became ready (between these two readings): no
    # comparison with a later clock, which a loaded machine may already have carried past it
    assert before + timedelta(seconds=1) <= due <= after + timedelta(seconds=1)
    for _ in range(50):                             # wait out the one-second timer
        with app.app_context():
            if cases.fire_due_timers():
                break
        time.sleep(0.1)
    overdue = [r for r in users["supervisor"].get("/supervision/stuck").json if r["case_id"] == case_id]
    assert [(r["task"], r["reason"]) for r in overdue] == [("check", "overdue")]
    assert users["center"].task(case_id, "check")["due_at"] == task["due_at"]     # fired, still the deadline
