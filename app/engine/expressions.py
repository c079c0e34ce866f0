"""The restricted expression language of Huying's processes.

Gateway conditions, timer durations, multi-instance inputs and script tasks are written by
analysts in a modeller. They look like Python (as in SpiffArena files) but never reach Python's
`eval`/`exec`: the source is parsed with `ast`, checked against a whitelist of node types, and
walked by this interpreter. There are no imports, no attribute access except a few listed
methods of plain data (`dict.get`, `str.startswith`, ...), no names starting with `_`, no loops
except bounded comprehensions.

Whatever an analyst deploys, one evaluation is bounded *before* each operation runs: the sizes of
its operands say what the result would cost (bits of an integer, characters of a string, items
and printed size of a list), and an operation whose result would pass a limit is refused without
being done, so that no single step of Python underneath can run long or allocate much. Each
evaluation also has a step count, a wall clock, a budget of the bytes it builds and a nesting
depth; the engine puts a whole engine step (many evaluations inside one database transaction)
under `step_budget`, so that no step holds the database's write lock for long.

Scripts are sequences of assignments (`x = expr`, `x += expr`), `del x`, `if`/`elif`/`else`
and `pass`; they change the task data they run on and nothing else.
"""
import ast
import contextlib
import contextvars
import functools
import itertools
import math
import re
import time
from collections import ChainMap

from .expression_errors import refused_syntax, runtime_message, syntax_message, type_name

MAX_SOURCE = 4000          # characters of one expression or script
MAX_NODES = 600            # AST nodes of one expression or script
MAX_DEPTH = 100            # nesting of the AST of one expression or script
MAX_STEPS = 200_000        # interpreter steps of one evaluation
MAX_SECONDS = 0.25         # CPU time of one evaluation (see _clock)
MAX_SEQUENCE = 10_000      # items of a list/dict/set the language builds
MAX_STRING = 100_000       # characters of a string the language builds
MAX_INT_BITS = 4096        # bits of an integer (about 1,200 decimal digits)
MAX_VALUE_SIZE = 1_000_000  # printed size of one value built, nested contents counted (approximate bytes)
MAX_EVAL_BYTES = 16_000_000  # bytes one evaluation may build in all (approximate)
MAX_DATA_DEPTH = 32        # nesting of lists and dicts the language looks into
MAX_FORMAT_PRECISION = 100  # digits after the point in a format spec
MAX_ROUND_DIGITS = 100     # |ndigits| of round()
MAX_STEP_SECONDS = 2.0     # CPU time of one engine step, its evaluations and engine tasks (see _clock)
MAX_STEP_STEPS = 2_000_000  # interpreter steps of all evaluations of one engine step
ENGINE_TASK_STEPS = 100    # what running one engine task costs of the step's budget, in steps

# The budgets bound the work an expression or a step does, so they count the CPU time of the
# thread doing it, not the wall clock: on a loaded machine (other requests, other processes, a
# browser beside the server) a thread waits for the CPU, and wall-clock budgets failed ordinary
# steps there — a case errored because the machine was busy, not because its process looped.
_clock = time.thread_time

_INT_DIGITS = MAX_INT_BITS * 3 // 10     # decimal digits int() may read (4096 bits is about 1,233)
_REF = 8                                  # bytes of one reference in a list, tuple, set or dict


class ExpressionError(Exception):
    """An expression or script that the language refuses, or that failed while running."""


class BudgetExceeded(ExpressionError):
    """The evaluations of one engine step used up the step's budget."""


class LimitExceeded(ExpressionError):
    """One evaluation ran past its own limit of steps or time: the expression's work, whatever the data."""


def _freeze(value):
    """A hashable stand-in for a value that compares like the value itself."""
    if isinstance(value, dict):
        return ("dict", frozenset((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return ("seq", tuple(_freeze(v) for v in value))
    if isinstance(value, set):
        return ("set", frozenset(value))
    return value


def _unique(values):
    """The items of a list, first occurrence kept, in order."""
    seen, out = set(), []
    for v in values:
        key = _freeze(v)
        if key not in seen:
            seen.add(key)
            out.append(v)
    return out


def _sum(values, start=0):
    """sum() of numbers, or the concatenation of lists (in linear time, unlike sum(lists, []))."""
    values = list(values)
    if isinstance(start, (list, tuple)):
        if not all(type(v) is type(start) for v in values):
            raise ExpressionError("sum 的各项应与初始值同为列表（或同为元组）")
        out = list(start)
        for v in values:
            out.extend(v)
        return out if isinstance(start, list) else tuple(out)
    if not all(isinstance(v, (int, float)) for v in values + [start]):
        raise ExpressionError("sum 只能对数字求和（或给出列表作初始值以连接列表）")
    return sum(values, start)


SAFE_FUNCTIONS = {
    "len": len, "min": min, "max": max, "sum": _sum, "any": any, "all": all,
    "sorted": sorted, "abs": abs, "round": round, "str": str, "int": int, "float": float,
    "bool": bool, "list": list, "unique": _unique,
}
_BUILTINS = frozenset(SAFE_FUNCTIONS)


def register_functions(functions):
    """Make application functions (deadlines, settings) callable from expressions.

    Only plain functions of plain data belong here: they receive evaluated arguments and never
    the interpreter, the task or anything callable."""
    for name, fn in functions.items():
        if name.startswith("_") or not callable(fn) or name in _BUILTINS:
            raise ValueError(f"cannot register {name!r}")
        SAFE_FUNCTIONS[name] = fn
    compile_expression.cache_clear()
    compile_script.cache_clear()


SAFE_METHODS = {
    dict: {"get", "keys", "values", "items"},
    str: {"startswith", "endswith", "lower", "upper", "strip", "split", "join", "replace"},
    list: {"count", "index"},
    tuple: {"count", "index"},
}

_BINOPS = {
    ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b, ast.FloorDiv: lambda a, b: a // b, ast.Mod: lambda a, b: a % b,
    ast.Pow: lambda a, b: a ** b,
}
_CMPOPS = {
    ast.Eq: lambda a, b: a == b, ast.NotEq: lambda a, b: a != b, ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b, ast.Gt: lambda a, b: a > b, ast.GtE: lambda a, b: a >= b,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
    ast.Is: lambda a, b: a is b, ast.IsNot: lambda a, b: a is not b,
}
_UNARY = {ast.Not: lambda a: not a, ast.USub: lambda a: -a, ast.UAdd: lambda a: +a}

_EXPR_NODES = (
    ast.Expression, ast.Constant, ast.Name, ast.Load, ast.Store, ast.BoolOp, ast.And, ast.Or,
    ast.BinOp, ast.UnaryOp, ast.Compare, ast.IfExp, ast.Call, ast.Attribute, ast.Subscript,
    ast.Slice, ast.List, ast.Tuple, ast.Dict, ast.Set, ast.ListComp, ast.SetComp, ast.DictComp,
    ast.GeneratorExp, ast.comprehension, ast.JoinedStr, ast.FormattedValue, ast.keyword,
    *_BINOPS, *_CMPOPS, *_UNARY,
)
_STMT_NODES = (ast.Module, ast.Assign, ast.AugAssign, ast.Delete, ast.Del, ast.If, ast.Pass, ast.Expr)
_KWARGS = {"sorted": {"reverse"}, "round": {"ndigits"}}


def _check(tree, allowed, source):
    count, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise ExpressionError(f"表达式过长（超过 {MAX_NODES} 个语法节点）")
        if depth > MAX_DEPTH:
            raise ExpressionError(f"表达式嵌套过深（超过 {MAX_DEPTH} 层）")
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
        if not isinstance(node, allowed):
            raise ExpressionError(f"受限表达式语言不支持这种写法：{refused_syntax(node)}（{source[:60]}）")
        if isinstance(node, ast.Constant) and isinstance(node.value, int) \
                and node.value.bit_length() > MAX_INT_BITS:
            raise ExpressionError(f"整数常量过大（超过 {MAX_INT_BITS} 位）")
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            raise ExpressionError(f"不允许以下划线开头的名称：{node.id}")
        if isinstance(node, ast.Attribute):
            if node.attr.startswith("_") or not any(node.attr in m for m in SAFE_METHODS.values()):
                raise ExpressionError(f"不允许访问属性：{node.attr}")
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name):
                if node.func.id not in SAFE_FUNCTIONS:
                    raise ExpressionError(f"不允许调用函数：{node.func.id}")
            elif not isinstance(node.func, ast.Attribute):
                raise ExpressionError("只能调用允许的函数和方法")
            for kw in node.keywords:
                name = node.func.id if isinstance(node.func, ast.Name) else None
                if kw.arg is None or kw.arg not in _KWARGS.get(name, ()):
                    raise ExpressionError(f"不允许的关键字参数：{kw.arg}")
        if isinstance(node, ast.FormattedValue) and node.conversion not in (-1, ord("s")):
            raise ExpressionError("格式化字符串只允许 {值} 或 {值!s}")
        if isinstance(node, ast.comprehension) and node.is_async:
            raise ExpressionError("不允许异步推导式")
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for t in targets:
                if not isinstance(t, ast.Name):
                    raise ExpressionError("脚本只能给变量整体赋值（如 x = ...）")
        if isinstance(node, ast.AugAssign) and type(node.op) not in _BINOPS:
            raise ExpressionError("不允许的运算符")


def _parse(source, mode):
    if not isinstance(source, str):
        raise ExpressionError("表达式必须是文本")
    if len(source) > MAX_SOURCE:
        raise ExpressionError(f"表达式过长（超过 {MAX_SOURCE} 个字符）")
    text = source.strip() if mode == "eval" else _dedent(source)
    try:
        tree = ast.parse(text, mode=mode)
    except SyntaxError as e:
        raise ExpressionError(syntax_message(e, text)) from None
    except (RecursionError, MemoryError):
        raise ExpressionError(f"表达式嵌套过深（超过 {MAX_DEPTH} 层）") from None
    except ValueError:               # e.g. a NUL character in the source (before Python 3.12)
        raise ExpressionError("语法错误：有看不见的空字符：请删去后重新输入") from None
    _check(tree, _EXPR_NODES + (_STMT_NODES if mode == "exec" else ()), text)
    return tree


def _dedent(source):
    lines = [ln for ln in source.replace("\r\n", "\n").split("\n")]
    indents = [len(ln) - len(ln.lstrip()) for ln in lines if ln.strip()]
    cut = min(indents) if indents else 0
    return "\n".join(ln[cut:] for ln in lines)


@functools.lru_cache(maxsize=2048)
def compile_expression(source):
    """Parse and check an expression; raises ExpressionError with a message in Chinese."""
    return _parse(source, "eval")


@functools.lru_cache(maxsize=1024)
def compile_script(source):
    """Parse and check a script; raises ExpressionError with a message in Chinese."""
    return _parse(source, "exec")


# --- the budget of one engine step ------------------------------------------------------------
class _StepBudget:
    def __init__(self, seconds, steps):
        self.seconds, self.steps = seconds, steps
        self.deadline, self.steps_left = _clock() + seconds, steps

    def spend(self, steps, now):
        self.steps_left -= steps
        if self.steps_left < 0 or now > self.deadline:
            raise BudgetExceeded(f"本步流程计算超出限制（{self.seconds:g} 秒或 {self.steps} 步），"
                                 "已中止以免长时间占用数据库；请检查流程中的循环、脚本和表达式")


_step = contextvars.ContextVar("huying_step_budget", default=None)


@contextlib.contextmanager
def step_budget(seconds=None, steps=None):
    """Put every evaluation inside the block under one budget of time and steps (one engine step).

    A budget already running (an outer block) stays the one that counts."""
    if _step.get() is not None:
        yield
        return
    token = _step.set(_StepBudget(MAX_STEP_SECONDS if seconds is None else seconds,
                                  MAX_STEP_STEPS if steps is None else steps))
    try:
        yield
    finally:
        _step.reset(token)


def spend_step_budget(steps=ENGINE_TASK_STEPS):
    """Charge work done outside an evaluation (an engine task run) to the running step budget."""
    budget = _step.get()
    if budget is not None:
        budget.spend(steps, _clock())


# --- format specs -------------------------------------------------------------------------------
_FORMAT_SPEC = re.compile(r"(?:.?[<>=^])?[-+ ]?z?#?0?(?P<width>\d+)?[,_]?(?:\.(?P<precision>\d+))?"
                          r"[bcdeEfFgGnosxX%]?", re.S)


def _too_big(what="结果"):
    return ExpressionError(f"{what}过大，超出表达式的限制")


def _is_number(x):
    return isinstance(x, (int, float))


class _Run:
    """One evaluation: the namespace, its budgets (steps, clock, bytes) and what it has measured."""

    def __init__(self, names):
        self.names = names
        self.steps = 0
        self.bytes = 0
        self.sizes = {}          # id -> (container, printed size, levels); containers are never mutated here
        now = _clock()
        self.deadline = now + MAX_SECONDS
        self.budget = _step.get()
        if self.budget is not None:
            self.budget.spend(0, now)

    def tick(self, n=1):
        self.steps += n
        if self.steps > MAX_STEPS:
            raise LimitExceeded("表达式计算步数超出限制")
        now = _clock()
        if now > self.deadline:
            raise LimitExceeded(f"表达式计算超时（超过 {MAX_SECONDS:g} 秒）")
        if self.budget is not None:
            self.budget.spend(n, now)

    def charge(self, nbytes):
        """Count bytes about to be built against the evaluation's budget, before building them."""
        self.bytes += max(int(nbytes), 0)
        if self.bytes > MAX_EVAL_BYTES:
            raise ExpressionError("表达式占用的内存超出限制")

    # --- sizes ---------------------------------------------------------------------------------
    def size(self, value, limit=MAX_VALUE_SIZE):
        """The printed size of a value with everything it contains (shared parts counted each time
        they appear, as a JSON dump or str() would print them); refuses past `limit` or past
        MAX_DATA_DEPTH levels without walking further."""
        total = self._scalar_size(value)
        if total is not None:
            if total > limit:
                raise _too_big()
            return total
        total, height, stack, walked = 0, 0, [(value, 1)], 0
        while stack:
            v, depth = stack.pop()
            n = self._scalar_size(v)
            if n is None:
                known = self.sizes.get(id(v))
                if known is not None and known[0] is v:
                    n, depth = known[1], depth + known[2] - 1
                else:
                    n = 2
                    items = itertools.chain(v.keys(), v.values()) if isinstance(v, dict) else v
                    for item in items:
                        stack.append((item, depth + 1))
                        n += 2
                    walked += len(v)
                    if walked > 4096:
                        self.tick(walked // 64)
                        walked = 0
                if depth > MAX_DATA_DEPTH:
                    raise ExpressionError(f"数据嵌套过深（超过 {MAX_DATA_DEPTH} 层）")
                height = max(height, depth)
            total += n
            if total > limit:
                raise _too_big()
        self.remember(value, total, height)
        return total

    @staticmethod
    def _scalar_size(v):
        if isinstance(v, str):
            return len(v) + 2 if v.isprintable() else 10 * len(v) + 2
        if isinstance(v, bool) or v is None:
            return 5
        if isinstance(v, int):
            return v.bit_length() // 3 + 2
        if isinstance(v, float):
            return 24
        if isinstance(v, (list, tuple, dict, set, frozenset)):
            return None
        return 64

    def remember(self, value, size, height):
        """Keep what a container measures (its printed size, its levels of nesting) for the rest of
        the evaluation: nothing here changes a container once built."""
        if isinstance(value, (list, tuple, dict, set)):
            self.sizes[id(value)] = (value, size, height)
        return value

    def height(self, value):
        """Levels of nesting of a value already measured by size() (0 for a number or a text)."""
        known = self.sizes.get(id(value))
        return known[2] if known is not None and known[0] is value else 0

    @staticmethod
    def within(size, height):
        """(size, levels) of a value about to be built, refused when either passes its limit."""
        if size > MAX_VALUE_SIZE:
            raise _too_big()
        if height > MAX_DATA_DEPTH:
            raise ExpressionError(f"数据嵌套过深（超过 {MAX_DATA_DEPTH} 层）")
        return size, height

    def built(self, value, measured=None):
        """A value an operation has just built, within the limits; `measured` is its (size, levels)
        when the operation knew them beforehand."""
        if isinstance(value, str):
            if len(value) > MAX_STRING:
                raise _too_big("文本")
        elif isinstance(value, int):
            if value.bit_length() > MAX_INT_BITS:
                raise _too_big("整数")
        elif isinstance(value, (list, tuple, dict, set)):
            if len(value) > MAX_SEQUENCE:
                raise _too_big("列表")
            if measured is None:
                self.size(value)
            else:
                self.remember(value, *self.within(*measured))
        return value

    def _text_of(self, value):
        """str(value), refused before conversion when its text would be too long."""
        if isinstance(value, str):
            return value
        self.charge(self.size(value, limit=MAX_STRING))
        try:
            text = str(value)
        except (ValueError, RecursionError) as e:
            raise ExpressionError(f"无法转为文本：{runtime_message(e)}") from None
        return self.built(text)

    # --- expressions -------------------------------------------------------------------------
    def ev(self, node):
        self.tick()
        meth = getattr(self, "ev_" + type(node).__name__)
        return meth(node)

    def ev_Expression(self, node):
        return self.ev(node.body)

    def ev_Constant(self, node):
        if not isinstance(node.value, (str, int, float, bool, type(None))):
            raise ExpressionError("只允许文本、数字、布尔值和 None 常量")
        return node.value

    def ev_Name(self, node):
        try:
            return self.names[node.id]
        except KeyError:
            raise ExpressionError(f"未定义的变量：{node.id}") from None

    def ev_BoolOp(self, node):
        result = None
        for value in node.values:
            result = self.ev(value)
            if isinstance(node.op, ast.And) and not result:
                return result
            if isinstance(node.op, ast.Or) and result:
                return result
        return result

    def ev_BinOp(self, node):
        return self.binop(type(node.op), self.ev(node.left), self.ev(node.right))

    def binop(self, op, a, b):
        measured = self.before_binop(op, a, b)
        try:
            value = _BINOPS[op](a, b)
        except ExpressionError:
            raise
        except Exception as e:  # TypeError, ZeroDivisionError, OverflowError, ...
            raise ExpressionError(f"运算错误：{runtime_message(e)}") from None
        return self.built(value, measured)

    def before_binop(self, op, a, b):
        """Refuse an operation whose result would pass a limit; returns the result's (size, levels)
        when it is a list or tuple."""
        if op is ast.Mod and isinstance(a, str):
            raise ExpressionError("不支持文本的 % 格式化，请用 f\"...\"")
        if op is ast.Pow:
            if not (_is_number(a) and _is_number(b)):
                raise ExpressionError("乘方只允许数字")
            if isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1 \
                    and b * math.log2(abs(a)) > MAX_INT_BITS:
                raise _too_big("乘方结果")
            return None
        if isinstance(a, int) and isinstance(b, int):
            bits = {ast.Add: max, ast.Sub: max, ast.Mult: lambda x, y: x + y}.get(op)
            if bits is not None and bits(a.bit_length(), b.bit_length()) + 1 > MAX_INT_BITS:
                raise _too_big("整数")
            return None
        if op is ast.Mult:
            seq, n = (a, b) if isinstance(a, (str, list, tuple)) else (b, a)
            if isinstance(seq, (str, list, tuple)) and isinstance(n, int):
                n = max(n, 0)
                if isinstance(seq, str):
                    if len(seq) * n > MAX_STRING:
                        raise _too_big("文本")
                    self.charge(len(seq) * n)
                    return None
                if len(seq) * n > MAX_SEQUENCE:
                    raise _too_big("列表")
                size, height = self.within((self.size(seq) - 2) * n + 2 if n else 2, self.height(seq))
                self.charge(_REF * len(seq) * n + size)
                return size, height
            return None
        if op is ast.Add:
            if isinstance(a, str) and isinstance(b, str):
                if len(a) + len(b) > MAX_STRING:
                    raise _too_big("文本")
                self.charge(len(a) + len(b))
            elif isinstance(a, (list, tuple)) and type(a) is type(b):
                if len(a) + len(b) > MAX_SEQUENCE:
                    raise _too_big("列表")
                size, height = self.within(self.size(a) + self.size(b), max(self.height(a), self.height(b)))
                self.charge(_REF * (len(a) + len(b)) + size)
                return size, height
        if op is ast.Sub and isinstance(a, set) and isinstance(b, set):
            self.charge(_REF * 4 * len(a))
        return None

    def ev_UnaryOp(self, node):
        try:
            return _UNARY[type(node.op)](self.ev(node.operand))
        except TypeError as e:
            raise ExpressionError(f"运算错误：{runtime_message(e)}") from None

    def ev_Compare(self, node):
        left = self.ev(node.left)
        for op, comp in zip(node.ops, node.comparators):
            right = self.ev(comp)
            if isinstance(left, (list, tuple, dict, set)) or isinstance(right, (list, tuple, dict, set)):
                self.tick(1 + (self.size(left, MAX_EVAL_BYTES) + self.size(right, MAX_EVAL_BYTES)) // 64)
            try:
                ok = _CMPOPS[type(op)](left, right)
            except TypeError as e:
                raise ExpressionError(f"比较错误：{runtime_message(e)}") from None
            if not ok:
                return False
            left = right
        return True

    def ev_IfExp(self, node):
        return self.ev(node.body) if self.ev(node.test) else self.ev(node.orelse)

    def ev_Call(self, node):
        args = [self.ev(a) for a in node.args]
        kwargs = {kw.arg: self.ev(kw.value) for kw in node.keywords}
        if isinstance(node.func, ast.Attribute):
            obj = self.ev(node.func.value)
            allowed = next((m for t, m in SAFE_METHODS.items() if type(obj) is t), ())
            if node.func.attr not in allowed:
                raise ExpressionError(f"{type_name(obj)}没有可用的方法 {node.func.attr}")
            fn = getattr(obj, node.func.attr)
            before = getattr(self, f"before_{type(obj).__name__}_{node.func.attr}", None)
            before = functools.partial(before, obj) if before is not None else None
            name = node.func.attr
        else:
            name = node.func.id
            fn = SAFE_FUNCTIONS[name]
            before = getattr(self, f"before_{name}", None) if name in _BUILTINS else None
        for a in args:
            if isinstance(a, (list, tuple, dict, set, str)):
                self.tick(1 + len(a) // 16)
        measured = None
        try:
            replaced = before(*args, **kwargs) if before is not None else None
            if isinstance(replaced, tuple):        # a bounded way of doing the same
                fn, args, measured = replaced
            value = fn(*args, **kwargs)
        except ExpressionError:
            raise
        except Exception as e:
            raise ExpressionError(f"函数 {name} 出错：{runtime_message(e)}") from None
        if isinstance(value, (map, filter, type({}.keys()), type({}.values()), type({}.items()))):
            value = list(value)
        return self.built(value, measured)

    # What the calls cost, checked before they run: each refuses what would pass a limit, and may
    # return (function, args, (size, levels) of the result or None) to run instead.
    def _items_of(self, x, what):
        if isinstance(x, (list, tuple, dict, set, str)):
            if len(x) > MAX_SEQUENCE:
                raise _too_big(what)
            return len(x)
        return 0

    def before_str(self, value=""):
        return (lambda v: v, [self._text_of(value)], None)

    def before_int(self, value=0, *base):
        if isinstance(value, str) and len(value.strip()) > _INT_DIGITS:
            raise _too_big("整数")
        if isinstance(value, float) and value != value:
            raise ExpressionError("NaN 不能转为整数")

    def before_float(self, value=0.0):
        if isinstance(value, str) and len(value) > 1000:
            raise ExpressionError("文本过长，不能转为数字")

    def before_round(self, number=0, ndigits=None):
        if isinstance(ndigits, int) and abs(ndigits) > MAX_ROUND_DIGITS:
            raise ExpressionError(f"round 的位数应在 ±{MAX_ROUND_DIGITS} 之内")

    def before_list(self, value=()):
        n = self._items_of(value, "列表")
        self.charge(_REF * n + 64)
        if isinstance(value, (list, tuple, set)):
            return (list, [value], (self.size(value), self.height(value)))

    def before_sorted(self, value=(), reverse=False):
        n = self._items_of(value, "排序的列表")
        self.charge(_REF * n + 64)
        self.tick(1 + n * n.bit_length() // 16 + self.size(value, MAX_EVAL_BYTES) // 256)
        if isinstance(value, (list, tuple, set)):
            return (sorted, [value], (self.size(value), self.height(value)))

    def before_unique(self, values=()):
        n = self._items_of(values, "列表")
        size = self.size(values)
        self.charge(_REF * 4 * n + size)
        self.tick(1 + size // 64)
        return (_unique, [values], (size, self.height(values)) if isinstance(values, (list, tuple, set)) else None)

    def before_sum(self, values=(), start=0):
        self._items_of(values, "列表")
        if isinstance(start, (list, tuple)):
            if not isinstance(values, (list, tuple)):
                raise ExpressionError("sum 的第一个参数应为列表")
            n = len(start) + sum(len(v) for v in values if isinstance(v, (list, tuple)))
            if n > MAX_SEQUENCE:
                raise _too_big("列表")
            size, height = self.within(self.size(start) + sum(self.size(v) for v in values),
                                       max([self.height(start)] + [self.height(v) for v in values]))
            self.charge(_REF * n + size)
            return (_sum, [values, start], (size, height))

    def before_str_join(self, sep, items=()):
        n = self._items_of(items, "列表")
        parts = list(items.keys()) if isinstance(items, dict) else items
        if not all(isinstance(p, str) for p in parts):
            raise ExpressionError("join 的各项都应为文本")
        total = sum(len(p) for p in parts) + len(sep) * max(n - 1, 0)
        if total > MAX_STRING:
            raise _too_big("文本")
        self.charge(total)

    def before_str_replace(self, s, old, new, count=-1):
        if not (isinstance(old, str) and isinstance(new, str) and isinstance(count, int)):
            raise ExpressionError("replace 的参数应为文本")
        found = s.count(old) if old else len(s) + 1
        if count >= 0:
            found = min(found, count)
        total = len(s) + found * (len(new) - len(old))
        if total > MAX_STRING:
            raise _too_big("文本")
        self.charge(max(total, len(s)))

    def before_str_split(self, s, sep=None, maxsplit=-1):
        if not isinstance(maxsplit, int) or (sep is not None and not isinstance(sep, str)):
            raise ExpressionError("split 的参数应为文本和整数")
        bound = MAX_SEQUENCE if maxsplit < 0 else min(maxsplit, MAX_SEQUENCE)
        self.charge(len(s) + 64 * min(len(s) + 1, bound + 1))

        def split(text, sep):
            parts = text.split(sep, bound)      # never more than MAX_SEQUENCE + 1 items
            if len(parts) > MAX_SEQUENCE:
                raise _too_big("列表")
            return parts
        return (split, [s, sep], None)

    def before_str_upper(self, s):
        self.charge(3 * len(s))

    before_str_lower = before_str_upper

    def before_dict_keys(self, d):
        self.charge(_REF * len(d) + 64)

    before_dict_values = before_dict_items = before_dict_keys

    def ev_Attribute(self, node):
        raise ExpressionError("方法只能被调用，不能取值")

    def ev_Subscript(self, node):
        obj = self.ev(node.value)
        if isinstance(node.slice, ast.Slice):
            parts = [self.ev(p) if p is not None else None for p in (node.slice.lower, node.slice.upper, node.slice.step)]
            key = slice(*parts)
            if isinstance(obj, (list, tuple, str)):
                try:
                    n = len(range(*key.indices(len(obj))))
                except (TypeError, ValueError) as e:
                    raise ExpressionError(f"取值错误：{runtime_message(e)}") from None
                self.charge(n if isinstance(obj, str) else _REF * n)
        else:
            key = self.ev(node.slice)
        if not isinstance(obj, (dict, list, tuple, str)):
            raise ExpressionError(f"{type_name(obj)}不能取下标")
        try:
            value = obj[key]
        except (KeyError, IndexError, TypeError, ValueError) as e:
            raise ExpressionError(f"取值错误：{runtime_message(e)}") from None
        return self.built(value) if isinstance(key, slice) else value

    def _display(self, values):
        measured = self.within(2 + sum(self.size(v) + 2 for v in values),
                               1 + max((self.height(v) for v in values), default=0))
        self.charge(_REF * len(values) + 64)
        return measured

    def ev_List(self, node):
        values = [self.ev(e) for e in node.elts]
        return self.built(values, self._display(values))

    def ev_Tuple(self, node):
        values = tuple(self.ev(e) for e in node.elts)
        return self.built(values, self._display(values))

    def ev_Set(self, node):
        values = [self.ev(e) for e in node.elts]
        measured = self._display(values)
        try:
            return self.built(set(values), measured)
        except TypeError as e:
            raise ExpressionError(f"集合错误：{runtime_message(e)}") from None

    def ev_Dict(self, node):
        if any(k is None for k in node.keys):
            raise ExpressionError("不支持 ** 展开")
        pairs = [(self.ev(k), self.ev(v)) for k, v in zip(node.keys, node.values)]
        measured = self._display([x for pair in pairs for x in pair])
        try:
            return self.built(dict(pairs), measured)
        except TypeError as e:
            raise ExpressionError(f"字典错误：{runtime_message(e)}") from None

    def ev_JoinedStr(self, node):
        parts = [self._text_of(self.ev(v)) for v in node.values]
        total = sum(len(p) for p in parts)
        if total > MAX_STRING:
            raise _too_big("文本")
        self.charge(total)
        return "".join(parts)

    def ev_FormattedValue(self, node):
        value = self.ev(node.value)
        spec = self.ev(node.format_spec) if node.format_spec is not None else ""
        if node.conversion == ord("s") or not spec:
            value = self._text_of(value)
        if not spec:
            return value
        m = _FORMAT_SPEC.fullmatch(spec)
        if m is None:
            raise ExpressionError(f"不支持的格式说明：{spec[:40]}")
        width, precision = int(m["width"] or 0), int(m["precision"] or 0)
        if width > MAX_STRING:
            raise _too_big("格式宽度")
        if precision > MAX_FORMAT_PRECISION:
            raise ExpressionError(f"格式精度不能超过 {MAX_FORMAT_PRECISION} 位")
        if not isinstance(value, (str, int, float)):
            raise ExpressionError("只有文本和数字可以带格式说明")
        self.charge(max(width, self.size(value) * 2 + precision))
        try:
            return self.built(format(value, spec))
        except (TypeError, ValueError, OverflowError) as e:
            raise ExpressionError(f"格式错误：{runtime_message(e)}") from None

    def _comprehension(self, generators, emit):
        def walk(i, scope):
            if i == len(generators):
                emit(scope)
                return
            gen = generators[i]
            iterable = self.run_in(scope, gen.iter)
            if not isinstance(iterable, (list, tuple, dict, str, set)):
                raise ExpressionError("只能遍历列表、字典、集合或文本")
            for item in iterable:
                self.tick()
                inner = scope.new_child()
                self.bind(gen.target, item, inner)
                if all(self.run_in(inner, cond) for cond in gen.ifs):
                    walk(i + 1, inner)
        walk(0, ChainMap({}, self.names) if not isinstance(self.names, ChainMap) else self.names.new_child())

    def run_in(self, scope, node):
        saved, self.names = self.names, scope
        try:
            return self.ev(node)
        finally:
            self.names = saved

    def bind(self, target, value, scope):
        if isinstance(target, ast.Name):
            if target.id.startswith("_"):
                raise ExpressionError("不允许以下划线开头的名称")
            scope[target.id] = value
        elif isinstance(target, ast.Tuple):
            if not isinstance(value, (list, tuple)):
                raise ExpressionError("只能解包列表或元组")
            if len(value) != len(target.elts):
                raise ExpressionError("解包数量不符")
            for t, v in zip(target.elts, value):
                self.bind(t, v, scope)
        else:
            raise ExpressionError("推导式的变量只能是名称")

    def _collect(self, add):
        """An emit() for a comprehension that counts what it collects before adding it."""
        state = {"n": 0, "size": 2, "height": 1}

        def emit(*values):
            state["n"] += 1
            if state["n"] > MAX_SEQUENCE:
                raise _too_big("列表")
            size = state["size"] + sum(self.size(v) + 2 for v in values)
            height = max([state["height"]] + [1 + self.height(v) for v in values])
            state["size"], state["height"] = self.within(size, height)
            self.charge(_REF * len(values) * 2)
            add(*values)
        return emit, state

    def ev_ListComp(self, node):
        out = []
        emit, state = self._collect(out.append)
        self._comprehension(node.generators, lambda s: emit(self.run_in(s, node.elt)))
        return self.remember(out, state["size"], state["height"])

    ev_GeneratorExp = ev_ListComp

    def ev_SetComp(self, node):
        out = set()
        emit, state = self._collect(out.add)
        try:
            self._comprehension(node.generators, lambda s: emit(self.run_in(s, node.elt)))
        except TypeError as e:
            raise ExpressionError(f"集合错误：{runtime_message(e)}") from None
        return self.remember(out, state["size"], state["height"])

    def ev_DictComp(self, node):
        out = {}
        emit, state = self._collect(out.__setitem__)
        try:
            self._comprehension(node.generators, lambda s: emit(self.run_in(s, node.key), self.run_in(s, node.value)))
        except TypeError as e:
            raise ExpressionError(f"字典错误：{runtime_message(e)}") from None
        return self.remember(out, state["size"], state["height"])

    # --- statements --------------------------------------------------------------------------
    def assign(self, name, value):
        """Task data the script writes is counted whole: it is what the case stores and copies."""
        self.charge(self.size(value, limit=MAX_EVAL_BYTES))
        self.names[name] = value

    def exec_block(self, body):
        for stmt in body:
            self.tick()
            if isinstance(stmt, ast.Assign):
                value = self.ev(stmt.value)
                for t in stmt.targets:
                    self.assign(t.id, value)
            elif isinstance(stmt, ast.AugAssign):
                current = self.ev(ast.Name(id=stmt.target.id, ctx=ast.Load()))
                self.assign(stmt.target.id, self.binop(type(stmt.op), current, self.ev(stmt.value)))
            elif isinstance(stmt, ast.Delete):
                for t in stmt.targets:
                    self.names.pop(t.id, None)
            elif isinstance(stmt, ast.If):
                self.exec_block(stmt.body if self.ev(stmt.test) else stmt.orelse)
            elif isinstance(stmt, ast.Expr):
                self.ev(stmt.value)


def _guarded(run):
    """Run an evaluation; whatever goes wrong inside comes out as an ExpressionError."""
    try:
        return run()
    except ExpressionError:
        raise
    except RecursionError:
        raise ExpressionError(f"数据或表达式嵌套过深（超过 {MAX_DATA_DEPTH} 层）") from None
    except MemoryError:
        raise ExpressionError("表达式占用的内存超出限制") from None
    except Exception as e:  # noqa: BLE001 - the language must not fail any other way
        raise ExpressionError(f"计算错误：{runtime_message(e)}") from None


def evaluate(source, names):
    """Value of `source` with `names` (task data) as variables."""
    tree = compile_expression(source)
    return _guarded(lambda: _Run(names).ev(tree))


def execute(source, data):
    """Run the script `source`, assigning into the dict `data`."""
    tree = compile_script(source)
    _guarded(lambda: _Run(data).exec_block(tree.body))


def is_constant(source):
    """True when an expression uses no variables and calls nothing: its value is known at deploy."""
    tree = compile_expression(source)
    return not any(isinstance(n, (ast.Name, ast.Call)) for n in ast.walk(tree))


def check_expression(source):
    """None if the language accepts `source`, else the reason (for process validation)."""
    try:
        compile_expression(source)
    except ExpressionError as e:
        return str(e)
    return None


def check_script(source):
    try:
        compile_script(source)
    except ExpressionError as e:
        return str(e)
    return None
