"""SpiffWorkflow's parser with Huying's call activities and decision tables.

SpiffBpmnParser is a BpmnDmnParser: it asks `get_engine` for the DMN engine of each business rule
task, and would evaluate the DMN cells with the (Python) script engine. Here the decision comes
from app/engine/dmn.py, compiled into the restricted language; a task whose decision is missing or
cannot run is recorded in `problems` (reported at deploy), never evaluated.
"""
from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import CallActivityParser

from . import dmn
from .calls import CalledProcess


class _MissingDecision:
    """The engine of a business rule task that was refused at deploy (a stored version loads)."""

    def __init__(self, message):
        self.message = message

    def result(self, task):
        raise dmn.DecisionError(self.message, task=task)


class HuyingParser(SpiffBpmnParser):
    OVERRIDE_PARSER_CLASSES = {**SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
                               full_tag("callActivity"): (CallActivityParser, CalledProcess)}

    def __init__(self, decisions=None, **kwargs):
        super().__init__(**kwargs)
        self.decisions = decisions or {}
        self.problems = []

    def get_engine(self, decision_ref, node):
        ref, style, variable, mapping, problem = dmn.task_decision(node)
        name = node.get("name") or node.get("id")
        decision = self.decisions.get(ref) if ref else None
        if problem is None and ref is None:
            problem = (f"业务规则任务“{name}”没有指定决策（camunda:decisionRef、zeebe:calledDecision decisionId "
                       "或 spiffworkflow:calledDecisionId）")
        elif problem is None and decision is None:
            known = "、".join(sorted(self.decisions)) or "无"
            problem = (f"业务规则任务“{name}”引用的决策 {ref} 不在上传的 DMN 文件中（上传的决策：{known}）："
                       "请把 .dmn 文件与流程一起打包为 .zip 上传")
        if problem is not None:
            self.problems.append({"element_id": node.get("id"), "message": problem})
            return _MissingDecision(problem)
        return dmn.DecisionRunner(decision, style, variable, mapping)
