"""FEEL in DMN cells, compiled by app/engine/dmn.py into the restricted language: unary tests in
input entries, simple expressions in input expressions and output entries; what it cannot read is
refused with the reason (no Python eval anywhere)."""
from xml.sax.saxutils import escape

import pytest

from app.engine import dmn, expressions
from app.engine.definitions import parse_xml


def matches(cell, value, **data):
    source = dmn.unary_test(cell)
    return True if source is None else expressions.evaluate(source, dict(data, cellInput=value))


@pytest.mark.parametrize("cell, value, expected", [
    ("-", 7, True), ("", None, True),
    ("5", 5, True), ("5", 6, False), ('"a"', "a", True), ("true", True, True), ("false", True, False),
    ('"a","b"', "b", True), ('"a","b"', "c", False),
    ("< 5", 4, True), ("< 5", 5, False), (">= 10", 10, True), ("> 10", None, False),
    ("[1..10]", 1, True), ("[1..10]", 10, True), ("(1..10]", 1, False), ("[1..10)", 10, False),
    ("]1..10[", 5, True), ("[1..10]", 11, False),
    ('not("a")', "b", True), ('not("a")', "a", False), ('not("a","b")', "b", False),
    ("null", None, True), ("null", 0, False),
    ("< limit * 2", 5, True),
])
def test_a_unary_test_matches_as_feel_says(cell, value, expected):
    assert matches(cell, value, limit=3) is expected


@pytest.mark.parametrize("source, data, expected", [
    ("amount", {"amount": 3}, 3), ("applicant.age >= 18", {"applicant": {"age": 20}}, True),
    ('x = "a" and not(y)', {"x": "a", "y": False}, True), ("amount * 2 + 1", {"amount": 3}, 7),
    ("null", {}, None), ('"已办结"', {}, "已办结"),
])
def test_an_expression_evaluates_as_feel_says(source, data, expected):
    assert expressions.evaluate(dmn.feel_expression(source), data) == expected


@pytest.mark.parametrize("cell, reason", [
    ('date("2020-01-01")', "date"), ("if a then b else c", "if"), ("a ? b", "?"),
    ("__class__", "__class__"), ("x.__class__", "字段名"),
])
def test_what_dmn_cannot_read_is_refused_with_the_reason(cell, reason):
    with pytest.raises(dmn.FeelError) as e:
        dmn.unary_test(cell)
    assert reason in str(e.value)


def table(policy, rules, aggregation=""):
    """A DMN 1.3 table on `amount` with one output `out`; rules: [(input entry, output entry)]."""
    agg = f' aggregation="{aggregation}"' if aggregation else ""
    body = "".join(f'<rule id="r{i}"><inputEntry id="i{i}"><text>{escape(a)}</text></inputEntry>'
                   f'<outputEntry id="o{i}"><text>{escape(b)}</text></outputEntry></rule>'
                   for i, (a, b) in enumerate(rules))
    xml = (f'<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="d" namespace="x">'
           f'<decision id="t" name="表"><decisionTable id="dt" hitPolicy="{policy}"{agg}>'
           f'<input id="in" label="金额"><inputExpression id="ie"><text>amount</text></inputExpression></input>'
           f'<output id="out" name="out"/>{body}</decisionTable></decision></definitions>')
    return dmn.parse_decisions(parse_xml(xml.encode()))["t"]




@pytest.mark.parametrize("aggregation, expected", [("COUNT", 3), ("MIN", 1), ("MAX", 5), ("SUM", 9)])
def test_collect_aggregates(aggregation, expected):
    t = table("COLLECT", [("-", "1"), ("> 0", "3"), ("-", "5"), ("< 0", "100")], aggregation)
    assert t.evaluate({"amount": 2}) == expected


def test_any_takes_agreeing_matches_and_refuses_disagreeing_ones():
    assert table("ANY", [("> 0", '"a"'), ("< 5", '"a"')]).evaluate({"amount": 2}) == [{"out": "a"}]
    with pytest.raises(expressions.ExpressionError) as e:
        table("ANY", [("> 0", '"a"'), ("< 5", '"b"')]).evaluate({"amount": 2})
    assert "ANY" in str(e.value)


def test_priority_is_refused_at_deploy_with_the_decision_id():
    with pytest.raises(dmn.DmnError) as e:
        table("PRIORITY", [("-", "1")])
    assert e.value.errors[0]["element_id"] == "t" and "PRIORITY" in e.value.errors[0]["message"]
