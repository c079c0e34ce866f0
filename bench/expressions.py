"""`python -m bench.expressions`: the worst evaluations of the restricted language we could write.

Each hostile expression or script runs once timed and once with tracemalloc on; the table gives
its wall time, the peak of memory allocated while it ran and how it ended (refused, with the
reason, or its value's size). Last, two engine steps (no database) of a process that loops for
ever, stopped by the step's budget. The README's "How it holds up" quotes the slowest and the
largest. Never part of `make test`; nothing here asserts a time.
"""
import time
import tracemalloc

from app.engine import CaseRun, EngineError, expressions, load_definition

LONG = "甲" * 99_000
DATA = {
    "s": LONG, "a50k": "a" * 50_000, "big": [f"部门{i:05d}" * 10 for i in range(10_000)],
    "nested": [[i] * 100 for i in range(100)], "deep": None,
    "copy1": [LONG[:90] for _ in range(10_000)], "copy2": [LONG[:90] for _ in range(10_000)],
    "wide": {f"k{i}": i for i in range(10_000)}, "few": list(range(5_000)),
}
_deep = []
for _ in range(30):
    _deep = [_deep]
DATA["deep"] = _deep

SCRIPTS = {
    "squarings in a script (x = x*x, 30 times)": "x = 10**60\n" + "x = x*x\n" * 30,
    "squarings in an if": "x = 10**60\nif x*x*x*x*x*x*x*x*x*x*x*x*x*x*x*x*x*x*x*x*x*x > 0:\n    y = 1\n",
    "exponential sharing (x = [x, x], 60 times)": "x = [1]\n" + "x = [x, x]\n" * 60,
    "many names of 1 MB each": "".join(f"v{i} = [s[:90]] * 10000\n" for i in range(40)),
    "many lists of 10,000 distinct texts": "".join(f'v{i} = [x + "{i}" for x in big]\n' for i in range(20)),
    "many lists of 5,000 dicts": "".join(f'v{i} = [{{"a": x, "b": x, "c": x, "d": x, "e": x}} for x in few]\n'
                                         for i in range(20)),
}
EXPRESSIONS = {
    "9 ** 9 ** 9": "9 ** 9 ** 9",
    "(10 ** 60) ** 1000": "(10 ** 60) ** 1000",
    "int of 1,300 digits": 'int("9" * 1300)',
    "str of a 4,096-bit integer": "str(2 ** 4095)",
    "long text * 10": "s * 10",
    "join of 9,999 long texts": '",".join([s] * 9999)',
    "text + text": "s + s",
    "list of lists * 10,000": "[[1] * 5000] * 10000",
    "str of shared nested lists": "str([[a50k] * 100] * 100)",
    "replace every gap": 'a50k.replace("", "xx")',
    "replace with a long text": 'a50k.replace("a", a50k)',
    "split into 50,000 items": '("a," * 50000).split(",")',
    "f-string width 999,999,999": 'f"{1:>999999999}"',
    "f-string precision 99,999": 'f"{1.5:.99999f}"',
    "f-string of 40 long texts": "f'" + "{s}" * 40 + "'",
    "sum of lists, quadratic in Python": "sum([[1] * 1000] * 1000, [])",
    "sum of lists within limits": "sum([[1] * 100] * 100, [])",
    "sorted 10,000 long texts": "sorted(big)",
    "sorted 1,000 equal lists": "sorted([[1] * 1000] * 1000)",
    "unique of 100 lists of 100": "unique(nested * 100)",
    "unique of 10,000 long texts": "unique(big)",
    "comprehension of 1 MB texts": "[s * 1 for x in big]",
    "comprehension of 3 loops": "[1 for a in big for b in big for c in big]",
    "compare 10,000-item lists": "copy1 == copy2",
    "search a 50,000-char needle": 'a50k + "b" in a50k * 2',
    "round to -100,000 digits": "round(5, -100000)",
    "items of a 10,000-key dict": "wide.items()",
    "str of 30-deep nesting": "str(deep)",
    "str of 40-deep nesting": "str([[[[[[[[[[deep]]]]]]]]]])",
    "10,000 searches of a 10,000 list": "[x for x in big if x in big]",
    "sizes of 10,000 dicts": "[len(str(wide)) for x in big]",
    "sorted again and again": "[sorted(big) for x in big]",
    "100 million comparisons": "[1 for a in big for b in big if a == b and a != b]",
    "4,000 unary minus signs": "-" * 3999 + "1",
    "99 nested lists": "[" * 99 + "]" * 99,
}


def _once(fn):
    try:
        return fn()
    except expressions.ExpressionError as e:
        return None, f"refused: {e}"


def run(label, fn):
    """Wall time of one run untraced, then the peak of a traced one. tracemalloc slows Python down
    several times, so the traced run has the clock limits lifted: only the limits of steps, sizes
    and bytes stop it, and its peak bounds what the untraced run (stopped sooner by the clock) can
    allocate."""
    t0 = time.perf_counter()
    value, outcome = _once(fn)
    seconds = time.perf_counter() - t0
    outcome = outcome or f"value of {len(str(value)) if value is not None else 0:,} chars"
    clocks = expressions.MAX_SECONDS, expressions.MAX_STEP_SECONDS
    expressions.MAX_SECONDS = expressions.MAX_STEP_SECONDS = 600
    tracemalloc.start()
    try:
        _once(fn)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        expressions.MAX_SECONDS, expressions.MAX_STEP_SECONDS = clocks
    print(f"{label:45s} {seconds * 1000:8.1f} ms {peak / 1e6:8.2f} MB  {outcome[:70]}")
    return seconds, peak, label


LOOP = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="defs" targetNamespace="http://x">
  <bpmn:process id="loop" name="loop" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l" name="响应中心"><bpmn:flowNodeRef>start</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>work</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start"/>
    <bpmn:scriptTask id="zero"><bpmn:script>n = 0</bpmn:script></bpmn:scriptTask>
    <bpmn:scriptTask id="count"><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>
    <bpmn:exclusiveGateway id="again" default="out"/>
    <bpmn:userTask id="work" name="work"/>
    <bpmn:endEvent id="done"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="zero"/>
    <bpmn:sequenceFlow id="f2" sourceRef="zero" targetRef="count"/>
    <bpmn:sequenceFlow id="f3" sourceRef="count" targetRef="again"/>
    <bpmn:sequenceFlow id="loop_back" sourceRef="again" targetRef="count">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">n &lt; 10 ** 9</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="out" sourceRef="again" targetRef="work"/>
    <bpmn:sequenceFlow id="f4" sourceRef="work" targetRef="done"/>
  </bpmn:process>
</bpmn:definitions>"""
STEPS = {
    "an engine loop of tiny scripts": ("n = n + 1", {}),
    "an engine loop carrying 10,000 items": ("n = n + 1", {"big": DATA["big"]}),
    "an engine loop of heavy scripts": ("n = n + 1\nx = len([1 for a in big for b in big if a == b and a != b])",
                                        {"big": DATA["big"][:150]}),
}


def engine_step(label, script, data):
    """One engine step (no database) of a process that loops for ever: its budget stops it."""
    definition = load_definition(LOOP.format(script=script).encode(), {})

    def once():
        case = CaseRun.start(definition)
        try:
            case.begin(dict(data))
        except EngineError as e:
            return None, f"refused: {e}"
        return None, "ran"
    return run(label, once)


def main():
    results = []
    print(f"{'evaluation':45s} {'time':>11s} {'peak':>11s}  outcome")
    for label, script in SCRIPTS.items():
        results.append(run(label, lambda script=script: (expressions.execute(script, dict(DATA)), None)))
    for label, source in EXPRESSIONS.items():
        results.append(run(label, lambda source=source: (expressions.evaluate(source, DATA), None)))
    for label, (script, data) in STEPS.items():
        results.append(engine_step(label, script, data))
    slowest, largest = max(results), max(results, key=lambda r: r[1])
    print(f"\nslowest: {slowest[2]} {slowest[0] * 1000:.1f} ms; largest: {largest[2]} {largest[1] / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
