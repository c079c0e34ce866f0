"""The restricted expression language: what analysts may write, and what never runs."""
import pytest

from app.engine.expressions import ExpressionError, evaluate, execute


def test_conditions_and_comprehensions_work_on_task_data():
    data = {"sign_results": [{"department": "D01", "returned": False}, {"department": "D03", "returned": True}],
            "signed": ["D01"], "accepted": True}
    assert evaluate('[r["department"] for r in sign_results if r["returned"]]', data) == ["D03"]
    assert evaluate("accepted and len(signed) == 1", data) is True
    assert evaluate('"D01" in signed and not "D02" in signed', data) is True
    assert evaluate('f"{len(signed)} 个部门"', data) == "1 个部门"
    assert evaluate('{"a": 1}.get("b", 2)', data) == 2


def test_scripts_assign_into_the_task_data():
    data = {"lead_department": "D01", "co_departments": ["D02", "D01"], "rework_count": 1}
    execute("departments = unique([lead_department] + co_departments)\n"
            "rework_count += 1\n"
            "if rework_count > 1:\n    escalate = True\nelse:\n    escalate = False\n", data)
    assert data["departments"] == ["D01", "D02"] and data["rework_count"] == 2 and data["escalate"] is True


@pytest.mark.parametrize("source", [
    "__import__('os').system('id')",
    "().__class__.__base__.__subclasses__()",
    "open('/etc/passwd').read()",
    "eval('1')",
    "getattr(signed, 'append')",
    "signed.append(1)",
    "(lambda: 1)()",
    "[x for x in range(10)]",
    "'{0.__class__}'.format(1)",
    "f'{signed!r}'",
    "'%s' % signed",
    "_secret",
    "'a' * 10 ** 9",
    "9 ** 9 ** 9",
    "[[1] * 5000 for a in signed for b in signed]",
])
def test_dangerous_or_unbounded_expressions_are_refused(source):
    with pytest.raises(ExpressionError):
        evaluate(source, {"signed": ["D01"] * 5000, "_secret": 1})


@pytest.mark.parametrize("script", [
    "import os",
    "from os import system",
    "def f():\n    pass",
    "while True:\n    pass",
    "for d in signed:\n    pass",
    "signed[0] = 'x'",
    "x.y = 1",
    "class A:\n    pass",
    "with open('x') as f:\n    pass",
    "global x",
])
def test_statements_beyond_assignment_are_refused(script):
    with pytest.raises(ExpressionError):
        execute(script, {"signed": [], "x": {}})


def test_nested_comprehensions_hit_the_step_budget():
    with pytest.raises(ExpressionError, match="步数|过大"):
        evaluate("[1 for a in big for b in big for c in big]", {"big": list(range(1000))})


def test_missing_variable_names_the_variable():
    with pytest.raises(ExpressionError, match="未定义的变量：nope"):
        evaluate("nope == 1", {})
