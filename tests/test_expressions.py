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


# What Python itself would have said: none of it may reach an analyst or a supervisor.
PYTHON_WORDS = ("invalid", "syntax", "unsupported", "operand", "object", "literal", "Error", "expected", "never",
                "unmatched", "instances", "division", "base 10", "not supported", "argument", "type(s)")


@pytest.mark.parametrize("source, says", [
    ("accepted = True", "请把“=”改成“==”"),
    ("urgency == 'urgent' and (accepted", "没有配对的右括号：请在末尾补上“)”"),
    ("accepted)", "多了一个“)”"),
    ("[lead_department)", "请改成“]”"),
    ("status == '已办结", "引号没有闭合"),
    ("accepted ， satisfied", "用了中文或全角符号“，”"),
    ("status == “已办结”", "用了中文或全角符号““”"),
    ("[1 2]", "少了逗号"),
    ("accepted and or satisfied", "第 1 行第 14 个字符“or satisfied”处"),
    ("accepted and", "表达式不完整"),
    ("'急' if urgent", "应写成 值1 if 条件 else 值2"),
    ("07 + 1", "数字不能以 0 开头"),
    ("lambda: 1", "不支持这种写法：匿名函数（lambda）"),
])
def test_a_wrong_expression_is_explained_in_chinese_with_what_to_change(source, says):
    with pytest.raises(ExpressionError) as refused:
        evaluate(source, {"accepted": True})
    message = str(refused.value)
    assert says in message, message
    assert not [w for w in PYTHON_WORDS if w in message], message


def test_a_wrong_script_says_which_line_and_what_to_change():
    with pytest.raises(ExpressionError, match=r"第 2 行.*if、else 之后的语句要比它多缩进 4 个空格"):
        execute("if rework_count > 1:\nescalate = True\n", {"rework_count": 2})
    with pytest.raises(ExpressionError, match="不支持这种写法：for 循环（请改用推导式"):
        execute("for d in departments:\n    n = 1\n", {"departments": []})


@pytest.mark.parametrize("source, data, says", [
    ("rework_count + title", {"rework_count": 1, "title": "占道"}, "整数和文本不能做加（+）运算：请先用 int()、float() 或 str() 转成同一类型"),
    ("title + rework_count", {"rework_count": 1, "title": "占道"}, "文本只能和文本相连，这里是整数：请用 str() 转成文本"),
    ("done / total", {"done": 1, "total": 0}, "除数为零：请先判断除数不为 0"),
    ("rework_count < limit", {"rework_count": 1, "limit": "2"}, "整数和文本不能比较小于（<）"),
    ("result['score']", {"result": {}}, "没有键 'score'：请先用 in 判断"),
    ("departments[3]", {"departments": ["D01"]}, "下标超出了范围"),
    ("int(score)", {"score": "优"}, "'优' 不是整数，不能用 int() 转换"),
    ("len(rework_count)", {"rework_count": 1}, "整数没有长度"),
    ("rework_count.upper()", {"rework_count": 1}, "整数没有可用的方法 upper"),
    ("max(scores)", {"scores": []}, "列表为空"),
])
def test_an_expression_that_fails_on_the_data_says_why_in_chinese(source, data, says):
    with pytest.raises(ExpressionError) as failed:
        evaluate(source, data)
    message = str(failed.value)
    assert says in message, message
    assert not [w for w in PYTHON_WORDS if w in message], message
