"""DMN decision tables for business rule tasks, evaluated by the restricted language.

A `.dmn` file (DMN 1.1 to 1.5, as Camunda Modeler 7/8 and SpiffArena save them) is read with
Huying's safe XML parser. Each decision table is compiled once: its input expressions and output
entries (simple FEEL: names, dotted paths, literals, comparisons, arithmetic, and/or/not) and
each input entry (a FEEL unary test: `-`, literals, `< 5`, `[1..10]`, `"a","b"`, `not("a")`,
`null`) become expressions of app/engine/expressions.py, evaluated with the task data and, for
an input entry, the value of its column as `cellInput` (Camunda's name for it). Nothing reaches
Python's eval. What cannot be compiled is refused at deploy, quoting the cell, its rule and its
column, with the decision's id as element_id.

Hit policies: UNIQUE (two matches -> the case errors, naming the rules), FIRST, ANY (matches
must agree), RULE ORDER, COLLECT (a list; with SUM, COUNT, MIN or MAX a number).
"""
import json
import re
from collections import ChainMap
from dataclasses import dataclass, field

from lxml import etree
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException

from . import expressions

HIT_POLICIES = {"UNIQUE", "FIRST", "ANY", "RULE ORDER", "COLLECT"}
AGGREGATIONS = {"SUM", "COUNT", "MIN", "MAX"}
# Camunda 7's camunda:mapDecisionResult
RESULT_MAPPINGS = {"singleEntry", "singleResult", "collectEntries", "resultList"}
CELL = "cellInput"


class DmnError(Exception):
    """A DMN file or table that cannot be deployed; `errors` is [{element_id, message}]."""

    def __init__(self, errors):
        super().__init__("; ".join(e["message"] for e in errors))
        self.errors = errors


class DecisionError(WorkflowTaskException):
    """A decision that failed on a case's data: the message is for the supervisor as it is."""

    def add_note(self, note):        # SpiffWorkflow would append an English "Business Rule Task ..."
        pass


class FeelError(ValueError):
    pass


# --- FEEL -> the restricted language -------------------------------------------------------------
_TOKEN = re.compile(r"""\s*(?:
    (?P<str>"(?:[^"\\]|\\.)*")
  | (?P<num>\d+(?:\.\d+)?|\.\d+)
  | (?P<range>\.\.)
  | (?P<op><=|>=|!=|\*\*|[<>=+\-*/()\[\],.])
  | (?P<name>[^\W\d]\w*)
  | (?P<bad>\S)
)""", re.VERBOSE)
_WORDS = {"true": "True", "false": "False", "null": "None", "and": "and", "or": "or"}
_FUNCTIONS = {"abs": "abs", "min": "min", "max": "max", "sum": "sum", "count": "len", "string": "str",
              "not": "not "}
_UNSUPPORTED_WORDS = {"if", "then", "else", "for", "some", "every", "in", "return", "satisfies", "between",
                      "instance", "of", "function", "date", "time", "duration"}


def _tokens(source):
    out, pos = [], 0
    source = source.strip()
    while pos < len(source):
        m = _TOKEN.match(source, pos)
        if m is None or m.end() == pos:
            break
        kind = m.lastgroup
        if kind == "bad":
            raise FeelError(f"无法识别的字符“{m.group(kind)}”")
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def _translate(tokens):
    """Restricted-language source of a FEEL expression's tokens."""
    out = []
    for i, (kind, text) in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else (None, None)
        prev = tokens[i - 1] if i else (None, None)
        if kind == "str":
            try:
                value = json.loads(text)
            except ValueError:
                raise FeelError(f"文本 {text} 无法读取") from None
            out.append(repr(value))
        elif kind == "num":
            out.append(text)
        elif kind == "range":
            raise FeelError("范围（..）只能用在输入条目中，如 [1..10]")
        elif kind == "name":
            if prev == ("op", "."):
                continue                                   # written with the dot before it
            if text in _WORDS:
                out.append(_WORDS[text])
            elif nxt == ("op", "("):
                if text not in _FUNCTIONS:
                    raise FeelError(f"不支持 FEEL 函数 {text}()（可用：{'、'.join(sorted(_FUNCTIONS))}）")
                out.append(_FUNCTIONS[text])
            elif text in _UNSUPPORTED_WORDS or text.startswith("_"):
                raise FeelError(f"不支持 FEEL 的“{text}”")
            else:
                out.append(text)
        elif text == ".":
            if nxt[0] != "name" or nxt[1].startswith("_") or prev[0] not in ("name", "op") \
                    or (prev[0] == "op" and prev[1] not in ")]"):
                raise FeelError("“.”后应为字段名（如 applicant.age）")
            out.append(f".get({nxt[1]!r})")
        elif text == "=":
            out.append("==")
        else:
            out.append(text)
    source = " ".join(out).replace(" .get(", ".get(")
    reason = expressions.check_expression(source) if source else None
    if reason:
        raise FeelError(reason)
    return source


def feel_expression(source):
    """The restricted-language source of a FEEL expression (an input expression, an output entry)."""
    tokens = _tokens(source or "")
    if not tokens:
        raise FeelError("表达式为空")
    return _translate(tokens)


def _split(tokens, separator):
    """Split tokens at top-level `separator` (outside brackets and parentheses)."""
    parts, depth, current = [], 0, []
    for tok in tokens:
        if tok[1] in ("(", "["):
            depth += 1
        elif tok[1] in (")", "]") and depth:
            depth -= 1
        if depth == 0 and tok == separator:
            parts.append(current)
            current = []
        else:
            current.append(tok)
    parts.append(current)
    return parts


def _range(tokens):
    """(a..b] and the like, or None when the tokens are not a range."""
    if len(tokens) < 5 or tokens[0][1] not in ("[", "(", "]") or tokens[-1][1] not in ("]", ")", "["):
        return None
    inner = tokens[1:-1]
    halves = _split(inner, ("range", ".."))
    if len(halves) != 2 or not halves[0] or not halves[1]:
        return None
    low, high = _translate(halves[0]), _translate(halves[1])
    lo = ">=" if tokens[0][1] == "[" else ">"
    hi = "<=" if tokens[-1][1] == "]" else "<"
    return f"({CELL} is not None and {CELL} {lo} ({low}) and {CELL} {hi} ({high}))"


def _positive_test(tokens):
    if not tokens:
        raise FeelError("条件为空")
    found = _range(tokens)
    if found:
        return found
    first = tokens[0]
    if first[0] == "op" and first[1] in ("<", "<=", ">", ">=", "!="):
        return f"({CELL} is not None and {CELL} {first[1]} ({_translate(tokens[1:])}))"
    if tokens == [("name", "null")]:
        return f"({CELL} is None)"
    return f"({CELL} == ({_translate(tokens)}))"


def unary_test(source):
    """The restricted-language source of a FEEL unary test (an input entry), or None for `-`/empty
    (any value matches)."""
    text = (source or "").strip()
    if text in ("", "-"):
        return None
    tokens = _tokens(text)
    if tokens[0] == ("name", "not") and len(tokens) > 2 and tokens[1] == ("op", "(") \
            and _closing(tokens, 1) == len(tokens) - 1:
        return f"(not ({_tests(tokens[2:-1])}))"
    return _tests(tokens)


def _closing(tokens, start):
    """The index of the bracket closing the one at `start`."""
    depth = 0
    for i in range(start, len(tokens)):
        if tokens[i][1] in ("(", "["):
            depth += 1
        elif tokens[i][1] in (")", "]"):
            depth -= 1
            if depth == 0:
                return i
    return None


def _tests(tokens):
    return " or ".join(_positive_test(part) for part in _split(tokens, ("op", ",")))


# --- reading the file ----------------------------------------------------------------------------
@dataclass
class Rule:
    number: int
    rule_id: str
    tests: list           # restricted source per input column, None = any
    outputs: list         # restricted source per output column, None = null


@dataclass(eq=False)
class Decision:
    decision_id: str
    name: str
    hit_policy: str
    aggregation: str
    inputs: list          # [(label, restricted source)]
    outputs: list         # [output name]
    rules: list = field(default_factory=list)

    def evaluate(self, data):
        """[{output: value}] of the rules that match, in their order, after the hit policy; a
        number for COLLECT with an aggregation. Raises expressions.ExpressionError."""
        values = []
        for label, source in self.inputs:
            try:
                values.append(expressions.evaluate(source, data))
            except expressions.ExpressionError as e:
                raise expressions.ExpressionError(f"决策“{self.name}”的输入“{label}”无法计算：{e}") from None
        matched = []
        for rule in self.rules:
            if all(test is None or _true(self, rule, test, value, data) for test, value in zip(rule.tests, values)):
                matched.append(rule)
        if self.hit_policy == "UNIQUE" and len(matched) > 1:
            raise expressions.ExpressionError(
                f"决策“{self.name}”的命中策略为 UNIQUE，但有 {len(matched)} 条规则同时满足："
                f"第 {'、'.join(str(r.number) for r in matched)} 条；请修改决策表使规则互斥")
        rows = [self._outputs(rule, data) for rule in matched]
        if self.hit_policy == "ANY" and any(r != rows[0] for r in rows):
            raise expressions.ExpressionError(
                f"决策“{self.name}”的命中策略为 ANY，但满足的规则（第 {'、'.join(str(r.number) for r in matched)} 条）"
                "输出不同")
        if self.hit_policy in ("UNIQUE", "FIRST", "ANY"):
            return rows[:1]
        if self.hit_policy == "COLLECT" and self.aggregation:
            return self._aggregate(rows)
        return rows

    def _outputs(self, rule, data):
        out = {}
        for name, source in zip(self.outputs, rule.outputs):
            try:
                out[name] = expressions.evaluate(source, data) if source else None
            except expressions.ExpressionError as e:
                raise expressions.ExpressionError(
                    f"决策“{self.name}”第 {rule.number} 条规则的输出“{name}”无法计算：{e}") from None
        return out

    def _aggregate(self, rows):
        if self.aggregation == "COUNT":
            return len(rows)
        values = [r[self.outputs[0]] for r in rows if r.get(self.outputs[0]) is not None]
        if any(not isinstance(v, (int, float)) or isinstance(v, bool) for v in values):
            raise expressions.ExpressionError(f"决策“{self.name}”的 {self.aggregation} 汇总只能用于数字输出")
        if self.aggregation == "SUM":
            return sum(values)
        if not values:
            return None
        return min(values) if self.aggregation == "MIN" else max(values)

    @property
    def single(self):
        """True when the table gives one row at most (or one aggregated number)."""
        return self.hit_policy in ("UNIQUE", "FIRST", "ANY") or bool(self.aggregation)


def _true(decision, rule, test, value, data):
    try:
        return expressions.evaluate(test, ChainMap({CELL: value}, data)) is True
    except expressions.ExpressionError as e:
        raise expressions.ExpressionError(f"决策“{decision.name}”第 {rule.number} 条规则的条件无法计算：{e}") from None


def _local(el):
    return etree.QName(el).localname if isinstance(el.tag, str) else None


def _child(el, name):
    return next((c for c in el if _local(c) == name), None)


def _children(el, name):
    return [c for c in el if _local(c) == name]


def _text(el, name="text"):
    found = _child(el, name) if el is not None else None
    return (found.text or "").strip() if found is not None and found.text else ""


def parse_decisions(tree, filename="decisions.dmn"):
    """{decision id: Decision} of a DMN document (an lxml tree from definitions.parse_xml).
    Raises DmnError with every problem found."""
    root = tree.getroot()
    if _local(root) != "definitions" or "dmn" not in (etree.QName(root).namespace or "").lower():
        raise DmnError([{"element_id": None, "message": f"{filename} 不是 DMN 文件（根元素应为 dmn:definitions）"}])
    errors, found = [], {}
    for el in root:
        if _local(el) != "decision":
            continue
        decision_id = el.get("id")
        name = el.get("name") or decision_id
        where = f"决策“{name}”（{filename}）"
        table = _child(el, "decisionTable")
        if table is None:
            errors.append({"element_id": decision_id, "message": f"{where}不是决策表：呼应只运行决策表"
                                                                 "（decisionTable），不运行字面表达式或其他决策"})
            continue
        if _children(el, "informationRequirement"):
            errors.append({"element_id": decision_id, "message": f"{where}依赖其他决策（informationRequirement），"
                                                                 "呼应不串联决策：请把所需的值作为流程变量传入"})
        policy = (table.get("hitPolicy") or "UNIQUE").upper().replace("_", " ")
        aggregation = (table.get("aggregation") or "").upper() or None
        if policy not in HIT_POLICIES:
            errors.append({"element_id": decision_id, "message": f"{where}的命中策略 {policy} 不受支持"
                                                                 f"（可用：{'、'.join(sorted(HIT_POLICIES))}）"})
            continue
        if aggregation and (policy != "COLLECT" or aggregation not in AGGREGATIONS):
            errors.append({"element_id": decision_id, "message": f"{where}的汇总 {aggregation} 只能与 COLLECT 一起使用，"
                                                                 f"且只能是 {'、'.join(sorted(AGGREGATIONS))}"})
            continue
        inputs, outputs = [], []
        for i, inp in enumerate(_children(table, "input"), 1):
            label = inp.get("label") or inp.get("id") or f"第 {i} 列"
            source = _text(_child(inp, "inputExpression"))
            try:
                inputs.append((label, feel_expression(source)))
            except FeelError as e:
                errors.append({"element_id": decision_id,
                               "message": f"{where}的输入列“{label}”的表达式“{source}”无法读取：{e}"})
                inputs.append((label, "None"))
        for i, out in enumerate(_children(table, "output"), 1):
            out_name = out.get("name") or out.get("label")
            if not out_name or not re.fullmatch(r"[^\W\d]\w*", out_name) or out_name.startswith("_"):
                errors.append({"element_id": decision_id, "message": f"{where}的第 {i} 个输出列需要一个变量名"
                                                                     f"（name，如 level），现为“{out_name or ''}”"})
            outputs.append(out_name or f"output{i}")
        if not outputs:
            errors.append({"element_id": decision_id, "message": f"{where}没有输出列"})
        if aggregation and len(outputs) != 1:
            errors.append({"element_id": decision_id, "message": f"{where}使用汇总 {aggregation} 时只能有一个输出列"})
        decision = Decision(decision_id, name, policy, aggregation, inputs, outputs)
        for number, rule in enumerate(_children(table, "rule"), 1):
            entries, out_entries = _children(rule, "inputEntry"), _children(rule, "outputEntry")
            if len(entries) != len(inputs) or len(out_entries) != len(outputs):
                errors.append({"element_id": decision_id, "message": f"{where}第 {number} 条规则的单元格数与列数不符"})
                continue
            tests, outs = [], []
            for (label, _src), entry in zip(inputs, entries):
                cell = _text(entry)
                try:
                    tests.append(unary_test(cell))
                except FeelError as e:
                    errors.append({"element_id": decision_id,
                                   "message": f"{where}第 {number} 条规则的输入列“{label}”单元格“{cell}”无法读取：{e}"})
            for out_name, entry in zip(outputs, out_entries):
                cell = _text(entry)
                try:
                    outs.append(feel_expression(cell) if cell else None)
                except FeelError as e:
                    errors.append({"element_id": decision_id,
                                   "message": f"{where}第 {number} 条规则的输出列“{out_name}”单元格“{cell}”无法读取：{e}"})
            decision.rules.append(Rule(number, rule.get("id"), tests, outs))
        found[decision_id] = decision
    if errors:
        raise DmnError(errors)
    return found


# --- a business rule task -----------------------------------------------------------------------
class DecisionRunner:
    """What SpiffWorkflow calls `dmnEngine` on a business rule task: `result(task)` evaluates the
    decision on the task's data and puts the result where the file says (see `where`)."""

    def __init__(self, decision, style="spiff", variable=None, mapping=None):
        self.decision = decision
        self.style = style             # "camunda" (resultVariable + mapDecisionResult), "zeebe", "spiff"
        self.variable = variable
        self.mapping = mapping or "resultList"

    def result(self, task):
        try:
            rows = self.decision.evaluate(task.data)
            self._store(task.data, rows)
        except expressions.ExpressionError as e:
            raise DecisionError(str(e), task=task) from None
        return {}

    def _store(self, data, rows):
        d = self.decision
        if not isinstance(rows, list):                                # an aggregation: one row of one output
            rows = [{d.outputs[0]: rows}]
        if self.variable is None:                                     # SpiffWorkflow: outputs into the data
            if d.single:
                if rows:
                    data.update(rows[0])
                else:
                    data.update({name: None for name in d.outputs})
            else:
                data.update({name: [r[name] for r in rows] for name in d.outputs})
            return
        if self.style == "zeebe":
            if d.single:
                row = rows[0] if rows else None
                data[self.variable] = (None if row is None else row[d.outputs[0]]) if len(d.outputs) == 1 else row
            else:
                data[self.variable] = [r[d.outputs[0]] for r in rows] if len(d.outputs) == 1 else rows
            return
        if self.mapping == "singleEntry":
            data[self.variable] = rows[0][d.outputs[0]] if rows else None
        elif self.mapping == "singleResult":
            data[self.variable] = rows[0] if rows else None
        elif self.mapping == "collectEntries":
            data[self.variable] = [r[d.outputs[0]] for r in rows]
        else:
            data[self.variable] = rows


CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
ZEEBE = "http://camunda.org/schema/zeebe/1.0"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"


def task_decision(node):
    """(decision id, style, result variable, mapping, problem) of a businessRuleTask element."""
    ext = next((c for c in node if _local(c) == "extensionElements"), None)
    if ext is not None:
        for c in ext.iter():
            if not isinstance(c.tag, str):
                continue
            q = etree.QName(c)
            if q.namespace == ZEEBE and q.localname == "calledDecision":
                return c.get("decisionId"), "zeebe", c.get("resultVariable"), None, None
            if q.namespace == SPIFF and q.localname == "calledDecisionId":
                return (c.text or "").strip() or None, "spiff", None, None, None
    ref = node.get("{%s}decisionRef" % CAMUNDA)
    if ref:
        mapping = node.get("{%s}mapDecisionResult" % CAMUNDA) or "resultList"
        problem = None
        if mapping not in RESULT_MAPPINGS:
            problem = f"camunda:mapDecisionResult 只能是 {'、'.join(sorted(RESULT_MAPPINGS))}"
        binding = node.get("{%s}decisionRefBinding" % CAMUNDA)
        if binding and binding != "latest":
            problem = "决策版本绑定（camunda:decisionRefBinding）不受支持：决策表随流程一同部署"
        return ref, "camunda", node.get("{%s}resultVariable" % CAMUNDA), mapping, problem
    if node.get("{%s}class" % CAMUNDA) or node.get("{%s}expression" % CAMUNDA) \
            or node.get("{%s}delegateExpression" % CAMUNDA):
        return None, "camunda", None, None, ("业务规则任务调用 Java 代码（camunda:class/expression），呼应无法执行："
                                             "请改为引用 DMN 决策表（camunda:decisionRef）")
    return None, "spiff", None, None, None
