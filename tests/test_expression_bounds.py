"""One evaluation of the restricted language costs at most its limits, refused *before* the work:
the sizes of numbers, texts and lists are checked ahead of each operation, nesting is bounded, and
the evaluations of one engine step share one budget. Asserted on refusals, sizes and step counts,
never on time."""
import time
import tracemalloc

import pytest

from app.engine import expressions
from app.engine.expressions import BudgetExceeded, ExpressionError, evaluate, execute, step_budget

LONG = "甲" * 99_000
DATA = {"s": LONG, "a50k": "a" * 50_000, "big": [f"部门{i:05d}" * 10 for i in range(10_000)],
        "huge": list(range(20_000)), "n": 10 ** 60}


def nested(depth):
    value = []
    for _ in range(depth):
        value = [value]
    return value


HOSTILE_SCRIPTS = {
    "squarings of a big integer": ("x = 10**60\n" + "x = x*x\n" * 30, "整数过大"),
    "squarings nested in a condition": ("x = 10**60\nif " + "*".join(["x"] * 22) + " > 0:\n    y = 1", "整数过大"),
    "a list that doubles by sharing": ("x = [1]\n" + "x = [x, x]\n" * 60, "过大"),
    "a list nested one level per line": ("x = 1\n" + "x = [x]\n" * 40, "嵌套过深"),
    "many megabyte names": ("".join(f"v{i} = [s[:90]] * 10000\n" for i in range(40)), "内存"),
    "an augmented squaring": ("x = 10**60\n" + "x *= x\n" * 30, "整数过大"),
}

HOSTILE_EXPRESSIONS = {
    "tower of powers": ("9 ** 9 ** 9", "乘方"),
    "power of a big base": ("n ** 100", "乘方"),
    "int of a long text": ('int("9" * 1300)', "整数过大"),
    "a long text repeated": ("s * 10", "文本过大"),
    "a long text doubled": ("s + s", "文本过大"),
    "a join of long texts": ('",".join([s] * 9999)', "过大"),
    "a list of lists repeated": ("[[1] * 5000] * 10000", "过大"),
    "a list repeated past the item limit": ("[1] * 10001", "列表过大"),
    "a long list concatenated": ("big + big", "列表过大"),
    "str of shared nested lists": ("str([[a50k] * 100] * 100)", "过大"),
    "replace in every gap": ('a50k.replace("", "xx")', "文本过大"),
    "replace by a long text": ('a50k.replace("a", a50k)', "文本过大"),
    "split into too many items": ('("a," * 50000).split(",")', "列表过大"),
    "f-string width": ('f"{1:>999999999}"', "格式宽度"),
    "f-string nested width": ('f"{1:>{w}}"'.replace("{w}", "{str(10 ** 9)}"), "格式宽度"),
    "f-string precision": ('f"{1.5:.99999f}"', "精度"),
    "f-string of long texts": ("f'" + "{s}" * 40 + "'", "文本过大"),
    "sum of lists past the limit": ("sum([[1] * 1000] * 1000, [])", "过大"),
    "sum of texts": ('sum(["a", "b"], "")', "sum"),
    "sorted of a list past the limit": ("sorted(huge)", "过大"),
    "unique of a list past the limit": ("unique(huge)", "过大"),
    "list of a list past the limit": ("list(huge)", "过大"),
    "a comprehension of long texts": ("[s * 1 for x in big]", "过大"),
    "a comprehension of three loops": ("[1 for a in big for b in big for c in big]", "过大|步数"),
    "searching a long list again and again": ("[x for x in big if x in big]", "步数"),
    "round to a million digits": ("round(5, -1000000)", "round"),
    "a slice of a list past the budget": ("huge[:][:][:]", "过大"),
    "4,000 unary minus signs": ("-" * 3999 + "1", "嵌套过深"),
    "99 nested brackets": ("[" * 99 + "]" * 99, "嵌套过深"),
    "a long chain of additions": ("1" + " + 1" * 150, "嵌套过深|过长"),
    "an integer literal of 4,000 digits": ("9" * 3999, "整数常量过大"),
}


@pytest.mark.parametrize("name", HOSTILE_SCRIPTS)
def test_a_hostile_script_is_refused_before_the_work(name):
    source, reason = HOSTILE_SCRIPTS[name]
    data = dict(DATA)
    with pytest.raises(ExpressionError, match=reason):
        execute(source, data)


@pytest.mark.parametrize("name", HOSTILE_EXPRESSIONS)
def test_a_hostile_expression_is_refused_before_the_work(name):
    source, reason = HOSTILE_EXPRESSIONS[name]
    with pytest.raises(ExpressionError, match=reason):
        evaluate(source, DATA)


def test_what_the_limits_allow_still_works():
    assert len(evaluate("str(2 ** 4095)", {})) == 1233
    assert evaluate("sum([[1, 2]] * 3, [])", {}) == [1, 2, 1, 2, 1, 2]
    assert evaluate("sum([1, 2.5, True])", {}) == 4.5
    assert evaluate('f"{x:>6}|{y:.2f}|{z:,}"', {"x": "ab", "y": 3.14159, "z": 1234567}) == "    ab|3.14|1,234,567"
    assert evaluate('"a,b,,c".split(",")', {}) == ["a", "b", "", "c"]
    assert evaluate('"a b  c".split()', {}) == ["a", "b", "c"]
    assert evaluate('"a-b-c".split("-", 1)', {}) == ["a", "b-c"]
    assert evaluate('"abc".replace("b", "xyz")', {}) == "axyzc"
    assert evaluate('"、".join(sorted(["乙", "甲"]))', {}) == "、".join(sorted(["乙", "甲"]))
    assert evaluate('unique([{"a": 1}, {"a": 1}, [1], [1], 2])', {}) == [{"a": 1}, [1], 2]
    assert evaluate("round(1234.5678, -2) + round(2.675, 2)", {}) == 1200.0 + round(2.675, 2)
    assert evaluate('int(" 42 ") + int("ff", 16)', {}) == 297
    assert evaluate("len(big[:10] + big[:10])", DATA) == 20
    assert len(evaluate("s[:90] * 1000", DATA)) == 90_000


def test_deeply_nested_data_is_refused_not_a_recursion_error():
    assert evaluate("len(str(v))", {"v": nested(30)}) == 62
    for source in ("str(v)", "[v]", "v == w", "unique([v])"):
        with pytest.raises(ExpressionError, match="嵌套过深"):
            evaluate(source, {"v": nested(2000), "w": nested(2000)})


def test_refused_evaluations_allocate_little():
    """The nastiest inputs are refused having built next to nothing: the checks come first."""
    worst = [s for s, _ in HOSTILE_EXPRESSIONS.values()] + [s for s, _ in HOSTILE_SCRIPTS.values()]
    tracemalloc.start()
    try:
        for source in worst:
            tracemalloc.reset_peak()
            before = tracemalloc.get_traced_memory()[0]
            with pytest.raises(ExpressionError):
                (execute if "\n" in source else evaluate)(source, dict(DATA))
            assert tracemalloc.get_traced_memory()[1] - before < 4_000_000, source
    finally:
        tracemalloc.stop()


def test_evaluations_of_one_engine_step_share_one_step_budget():
    # "1 + 1" is four interpreter steps: the budget of 1,000 lets 250 of them run, not 251
    with step_budget(steps=1000):
        for _ in range(250):
            assert evaluate("1 + 1", {}) == 2
        with pytest.raises(BudgetExceeded, match="本步流程计算超出限制"):
            evaluate("1 + 1", {})
        with step_budget(steps=10 ** 6):           # an inner block cannot top the budget up
            with pytest.raises(BudgetExceeded):
                evaluate("1", {})
    for _ in range(1000):                          # outside a step, only each evaluation's own limits
        evaluate("1 + 1", {})


def test_one_evaluation_counts_the_bytes_it_builds():
    data = dict(DATA)
    execute("".join(f"v{i} = [s[:900]] * 10\n" for i in range(30)), data)      # 30 names of 9 kB
    assert len(data["v29"]) == 10
    with pytest.raises(ExpressionError, match="内存"):                            # 30 names of 990 kB
        execute("".join(f"v{i} = [s] * 10\n" for i in range(30)), dict(DATA))


def test_a_busy_machine_does_not_fail_an_evaluation(monkeypatch):
    """The budgets count the CPU time of the evaluating thread: time the thread spends waiting (for
    the CPU on a loaded machine, here in an application function that sleeps) is not work the
    expression did. With a wall clock this failed ordinary steps under load: a CI run errored a
    dispatch because the machine was busy."""
    expressions.register_functions({"wait_a_while": lambda: time.sleep(expressions.MAX_SECONDS * 2) or 1})
    try:
        with step_budget(seconds=expressions.MAX_SECONDS):
            assert evaluate("wait_a_while() + 1", {}) == 2
            assert evaluate("1 + 1", {}) == 2
    finally:
        expressions.SAFE_FUNCTIONS.pop("wait_a_while")
        expressions.compile_expression.cache_clear()


def test_an_evaluation_that_burns_cpu_still_stops(monkeypatch):
    """The same budgets still stop work done: a clock that runs a second per reading (CPU time
    spent) ends the evaluation, with the step budget's message inside a step."""
    readings = iter(range(0, 10 ** 6))
    monkeypatch.setattr(expressions, "_clock", lambda: float(next(readings)))
    with pytest.raises(ExpressionError, match="表达式计算超时"):
        evaluate("[x for x in [1, 2, 3, 4, 5]]", {})
    monkeypatch.setattr(expressions, "MAX_SECONDS", 10 ** 9)      # each evaluation's own limit out of the way
    with step_budget(seconds=3):
        with pytest.raises(BudgetExceeded, match="本步流程计算超出限制"):
            for _ in range(5):
                evaluate("1", {})
