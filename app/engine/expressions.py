"""The restricted expression language of Huying's processes.

Gateway conditions, timer durations, multi-instance inputs and script tasks are written by
analysts in a modeller. They look like Python (as in SpiffArena files) but never reach Python's
`eval`/`exec`: the source is parsed with `ast`, checked against a whitelist of node types, and
walked by this interpreter. There are no imports, no attribute access except a few listed
methods of plain data (`dict.get`, `str.startswith`, ...), no names starting with `_`, no loops
except bounded comprehensions, and every evaluation runs under a step budget, a size cap on the
values it builds and a wall-clock limit.

Scripts are sequences of assignments (`x = expr`, `x += expr`), `del x`, `if`/`elif`/`else`
and `pass`; they change the task data they run on and nothing else.
"""
import ast
import functools
import time
from collections import ChainMap

MAX_SOURCE = 4000          # characters of one expression or script
MAX_NODES = 600            # AST nodes of one expression or script
MAX_STEPS = 200_000        # interpreter steps of one evaluation
MAX_SECONDS = 0.25         # wall clock of one evaluation
MAX_SEQUENCE = 10_000      # items of a list/dict/set the language builds
MAX_STRING = 100_000       # characters of a string the language builds


class ExpressionError(Exception):
    """An expression or script that the language refuses, or that failed while running."""


def _unique(values):
    """The items of a list, first occurrence kept, in order."""
    seen, out = set(), []
    for v in values:
        key = repr(v) if isinstance(v, (dict, list)) else v
        if key not in seen:
            seen.add(key)
            out.append(v)
    return out


SAFE_FUNCTIONS = {
    "len": len, "min": min, "max": max, "sum": sum, "any": any, "all": all,
    "sorted": sorted, "abs": abs, "round": round, "str": str, "int": int, "float": float,
    "bool": bool, "list": list, "unique": _unique,
}


def register_functions(functions):
    """Make application functions (deadlines, settings) callable from expressions.

    Only plain functions of plain data belong here: they receive evaluated arguments and never
    the interpreter, the task or anything callable."""
    for name, fn in functions.items():
        if name.startswith("_") or not callable(fn):
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
    count = 0
    for node in ast.walk(tree):
        count += 1
        if count > MAX_NODES:
            raise ExpressionError(f"表达式过长（超过 {MAX_NODES} 个语法节点）")
        if not isinstance(node, allowed):
            raise ExpressionError(f"不允许的语法：{type(node).__name__}（{source[:60]}）")
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
        raise ExpressionError(f"语法错误：{e.msg}（第 {e.lineno} 行）") from None
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


class _Run:
    """One evaluation: the namespace, the step budget and the deadline."""

    def __init__(self, names):
        self.names = names
        self.steps = 0
        self.deadline = time.monotonic() + MAX_SECONDS

    def tick(self, n=1):
        self.steps += n
        if self.steps > MAX_STEPS:
            raise ExpressionError("表达式计算步数超出限制")
        if self.steps % 512 == 0 and time.monotonic() > self.deadline:
            raise ExpressionError("表达式计算超时")

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
        if op is ast.Pow:
            if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (a, b)) \
                    or abs(b) > 64 or abs(a) > 1e12:
                raise ExpressionError("乘方只允许较小的数字")
        if op is ast.Mult:
            seq = a if isinstance(a, (str, list, tuple)) else b if isinstance(b, (str, list, tuple)) else None
            n = b if seq is a else a
            if seq is not None and isinstance(n, int) and len(seq) * max(n, 0) > MAX_STRING:
                raise ExpressionError("结果过大")
        if op is ast.Mod and isinstance(a, str):
            raise ExpressionError("不支持文本的 % 格式化，请用 f\"...\"")
        try:
            value = _BINOPS[op](a, b)
        except ExpressionError:
            raise
        except Exception as e:  # TypeError, ZeroDivisionError, ...
            raise ExpressionError(f"运算错误：{e}") from None
        return self.sized(value)

    def ev_UnaryOp(self, node):
        try:
            return _UNARY[type(node.op)](self.ev(node.operand))
        except TypeError as e:
            raise ExpressionError(f"运算错误：{e}") from None

    def ev_Compare(self, node):
        left = self.ev(node.left)
        for op, comp in zip(node.ops, node.comparators):
            right = self.ev(comp)
            try:
                ok = _CMPOPS[type(op)](left, right)
            except TypeError as e:
                raise ExpressionError(f"比较错误：{e}") from None
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
                raise ExpressionError(f"{type(obj).__name__} 没有可用的方法 {node.func.attr}")
            fn = getattr(obj, node.func.attr)
        else:
            fn = SAFE_FUNCTIONS[node.func.id]
        for a in args:
            if isinstance(a, (list, tuple, dict, set, str)):
                self.tick(len(a))
        try:
            value = fn(*args, **kwargs)
        except ExpressionError:
            raise
        except Exception as e:
            raise ExpressionError(f"函数调用错误：{e}") from None
        if isinstance(value, (map, filter, type({}.keys()), type({}.values()), type({}.items()))):
            value = list(value)
        return self.sized(value)

    def ev_Attribute(self, node):
        raise ExpressionError("方法只能被调用，不能取值")

    def ev_Subscript(self, node):
        obj = self.ev(node.value)
        if isinstance(node.slice, ast.Slice):
            parts = [self.ev(p) if p is not None else None for p in (node.slice.lower, node.slice.upper, node.slice.step)]
            key = slice(*parts)
        else:
            key = self.ev(node.slice)
        if not isinstance(obj, (dict, list, tuple, str)):
            raise ExpressionError(f"{type(obj).__name__} 不能取下标")
        try:
            return obj[key]
        except (KeyError, IndexError, TypeError, ValueError) as e:
            raise ExpressionError(f"取值错误：{e!r}") from None

    def ev_List(self, node):
        return self.sized([self.ev(e) for e in node.elts])

    def ev_Tuple(self, node):
        return tuple(self.ev(e) for e in node.elts)

    def ev_Set(self, node):
        try:
            return self.sized({self.ev(e) for e in node.elts})
        except TypeError as e:
            raise ExpressionError(f"集合错误：{e}") from None

    def ev_Dict(self, node):
        if any(k is None for k in node.keys):
            raise ExpressionError("不支持 ** 展开")
        try:
            return self.sized({self.ev(k): self.ev(v) for k, v in zip(node.keys, node.values)})
        except TypeError as e:
            raise ExpressionError(f"字典错误：{e}") from None

    def ev_JoinedStr(self, node):
        return self.sized("".join(str(self.ev(v)) for v in node.values))

    def ev_FormattedValue(self, node):
        value = self.ev(node.value)
        spec = self.ev(node.format_spec) if node.format_spec is not None else ""
        try:
            return format(value, spec)
        except (TypeError, ValueError) as e:
            raise ExpressionError(f"格式错误：{e}") from None

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
            try:
                values = list(value)
            except TypeError:
                raise ExpressionError("不能解包") from None
            if len(values) != len(target.elts):
                raise ExpressionError("解包数量不符")
            for t, v in zip(target.elts, values):
                self.bind(t, v, scope)
        else:
            raise ExpressionError("推导式的变量只能是名称")

    def ev_ListComp(self, node):
        out = []
        self._comprehension(node.generators, lambda s: out.append(self.sized_item(out, self.run_in(s, node.elt))))
        return out

    ev_GeneratorExp = ev_ListComp

    def ev_SetComp(self, node):
        out = set()
        try:
            self._comprehension(node.generators, lambda s: out.add(self.sized_item(out, self.run_in(s, node.elt))))
        except TypeError as e:
            raise ExpressionError(f"集合错误：{e}") from None
        return out

    def ev_DictComp(self, node):
        out = {}

        def emit(s):
            self.sized_item(out, None)
            out[self.run_in(s, node.key)] = self.run_in(s, node.value)
        try:
            self._comprehension(node.generators, emit)
        except TypeError as e:
            raise ExpressionError(f"字典错误：{e}") from None
        return out

    @staticmethod
    def sized_item(container, item):
        if len(container) >= MAX_SEQUENCE:
            raise ExpressionError("结果过大")
        return item

    @staticmethod
    def sized(value):
        if isinstance(value, str) and len(value) > MAX_STRING:
            raise ExpressionError("结果过大")
        if isinstance(value, (list, tuple, dict, set)) and len(value) > MAX_SEQUENCE:
            raise ExpressionError("结果过大")
        return value

    # --- statements --------------------------------------------------------------------------
    def exec_block(self, body):
        for stmt in body:
            self.tick()
            if isinstance(stmt, ast.Assign):
                value = self.ev(stmt.value)
                for t in stmt.targets:
                    self.names[t.id] = value
            elif isinstance(stmt, ast.AugAssign):
                current = self.ev(ast.Name(id=stmt.target.id, ctx=ast.Load()))
                self.names[stmt.target.id] = self.binop(type(stmt.op), current, self.ev(stmt.value))
            elif isinstance(stmt, ast.Delete):
                for t in stmt.targets:
                    self.names.pop(t.id, None)
            elif isinstance(stmt, ast.If):
                self.exec_block(stmt.body if self.ev(stmt.test) else stmt.orelse)
            elif isinstance(stmt, ast.Expr):
                self.ev(stmt.value)


def evaluate(source, names):
    """Value of `source` with `names` (task data) as variables."""
    tree = compile_expression(source)
    return _Run(names).ev(tree)


def execute(source, data):
    """Run the script `source`, assigning into the dict `data`."""
    tree = compile_script(source)
    _Run(data).exec_block(tree.body)


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
