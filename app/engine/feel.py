"""Camunda's expressions in Huying's restricted language (expressions.py).

Camunda 7 writes conditions in JUEL (`${amount > 1000 && approved}`, `#{x == 'a'}`), Camunda 8 in
FEEL (`= amount > 1000 and approved`, `= x = "a"`). What both share with the restricted language —
comparisons, boolean logic, arithmetic over variables, properties (`order.amount`) and literals
— is translated; anything else (a method call, `execution.getVariable(...)`, a bean, a FEEL
function, a list or a range) is refused with the reason, never guessed at.
"""
import keyword
import re

from . import expressions


class FeelError(Exception):
    """An expression that has no translation; the message (Chinese) says why."""


_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>&&|\|\||==|!=|<=|>=|<|>|=|!|\+|-|\*|/|%|\(|\)|\.|\[|\]|,|\?|:)
""", re.X)
_WORDS = {"and": "and", "or": "or", "not": "not", "eq": "==", "ne": "!=", "lt": "<", "gt": ">",
          "le": "<=", "ge": ">=", "div": "/", "mod": "%", "empty": "empty", "instanceof": "instanceof"}
_LITERALS = {"true": "True", "false": "False", "null": "None"}
_COMPARE = {"==": "==", "!=": "!=", "<": "<", ">": ">", "<=": "<=", ">=": ">=", "=": "=="}
_JUEL = re.compile(r"^\s*[$#]\{(.*)\}\s*$", re.S)


def is_juel(text):
    return bool(text) and ("${" in text or "#{" in text)


def is_feel(text):
    return bool(text) and text.lstrip().startswith("=")


def translate(text):
    """The restricted-language text of a JUEL (`${...}`) or FEEL (`=...`) expression; FeelError
    when it has none. Text that is neither is returned as it is."""
    if is_juel(text):
        m = _JUEL.match(text)
        if m is None or "${" in m.group(1) or "#{" in m.group(1):
            raise FeelError("表达式中混有文本和多个 ${...}，呼应只接受一个完整的 ${...} 表达式")
        return _checked(_Parser(m.group(1), "juel").parse())
    if is_feel(text):
        return _checked(_Parser(text.lstrip()[1:], "feel").parse())
    return text


def _checked(out):
    reason = expressions.check_expression(out)
    if reason:
        raise FeelError(f"转换结果“{out}”不被受限表达式语言接受：{reason}")
    return out


class _Parser:
    """Recursive descent over the shared subset; emits fully parenthesised Python-like text."""

    def __init__(self, source, dialect):
        self.dialect = dialect
        self.tokens = []
        pos = 0
        while pos < len(source):
            m = _TOKEN.match(source, pos)
            if m is None:
                raise FeelError(f"无法识别“{source[pos:pos + 10]}”")
            pos = m.end()
            kind = m.lastgroup
            if kind == "space":
                continue
            value = m.group(kind)
            if kind == "name" and value in _WORDS:
                kind, value = "op", _WORDS[value]
            self.tokens.append((kind, value))
        self.i = 0

    def peek(self, offset=0):
        i = self.i + offset
        return self.tokens[i] if i < len(self.tokens) else (None, None)

    def take(self):
        tok = self.peek()
        self.i += 1
        return tok

    def accept(self, *ops):
        kind, value = self.peek()
        if kind == "op" and value in ops:
            self.i += 1
            return value
        return None

    def parse(self):
        if not self.tokens:
            raise FeelError("表达式为空")
        out = self.disjunction()
        if self.i < len(self.tokens):
            raise FeelError(f"“{self.peek()[1]}”处无法继续：呼应只支持比较、与或非和算术")
        return out

    def disjunction(self):
        out = self.conjunction()
        while self.accept("||", "or"):
            out = f"{out} or {self.conjunction()}"
        return out

    def conjunction(self):
        out = self.comparison()
        while self.accept("&&", "and"):
            out = f"{out} and {self.comparison()}"
        return out

    def comparison(self):
        left = self.additive()
        kind, value = self.peek()
        if kind == "op" and value in _COMPARE:
            if value == "=" and self.dialect == "juel":
                raise FeelError("JUEL 中比较相等应写 ==（= 是赋值）")
            self.i += 1
            right = self.additive()
            left = f"({left} {_COMPARE[value]} {right})"
            if self.peek()[0] == "op" and self.peek()[1] in _COMPARE:
                raise FeelError("连续比较（a < b < c）请拆成两个比较用“与”连接")
        elif kind == "op" and value in ("?", "instanceof"):
            raise FeelError("条件运算符 ?: 和 instanceof 不被支持")
        elif kind == "name" and value in ("between", "in", "instance"):
            raise FeelError(f"FEEL 的 {value} 不被支持：请改写为比较")
        return left

    def additive(self):
        out = self.multiplicative()
        while True:
            op = self.accept("+", "-")
            if op is None:
                return out
            out = f"({out} {op} {self.multiplicative()})"

    def multiplicative(self):
        out = self.unary()
        while True:
            op = self.accept("*", "/", "%")
            if op is None:
                return out
            out = f"({out} {op} {self.unary()})"

    def unary(self):
        if self.accept("!"):
            return f"(not {self.unary()})"
        if self.peek() == ("op", "not"):
            if self.dialect == "feel" and self.peek(1) == ("op", "("):
                self.i += 2
                inner = self.disjunction()
                self.expect(")")
                return f"(not {inner})"
            self.i += 1
            return f"(not {self.unary()})"
        if self.accept("empty"):
            return f"(not {self.unary()})"
        if self.accept("-"):
            return f"(-{self.unary()})"
        return self.primary()

    def expect(self, op):
        if not self.accept(op):
            raise FeelError(f"缺少“{op}”")

    def primary(self):
        kind, value = self.take()
        if kind is None:
            raise FeelError("表达式不完整")
        if kind == "number":
            return value
        if kind == "string":
            return repr(_unquote(value))
        if kind == "op" and value == "(":
            inner = self.disjunction()
            self.expect(")")
            return f"({inner})"
        if kind == "op" and value == "[":
            raise FeelError("列表和区间（[...]）不被支持")
        if kind != "name":
            raise FeelError(f"“{value}”处无法继续：呼应只支持比较、与或非和算术")
        if value in _LITERALS:
            return _LITERALS[value]
        if self.peek() == ("op", "("):
            raise FeelError(f"函数或方法调用“{value}(...)”不被支持：呼应只翻译比较和逻辑运算")
        if keyword.iskeyword(value) or value.startswith("_"):
            raise FeelError(f"变量名“{value}”不能用在呼应的表达式中")
        if value in ("execution", "task", "connection"):
            raise FeelError(f"“{value}”是 Camunda 引擎对象，呼应中没有；请直接使用流程变量")
        out = value
        while True:
            if self.accept("."):
                kind, attr = self.take()
                if kind != "name":
                    raise FeelError("“.”之后应为属性名")
                if self.peek() == ("op", "("):
                    raise FeelError(f"方法调用“{value}.{attr}(...)”不被支持：请直接使用流程变量")
                out = f"{out}[{attr!r}]"
            elif self.accept("["):
                out = f"{out}[{self.disjunction()}]"
                self.expect("]")
            else:
                return out


def _unquote(token):
    body = token[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


# --- timers ------------------------------------------------------------------------------------
_ISO_DURATION = re.compile(r"-?P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+([.,]\d+)?S)?)?", re.I)
_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?", re.I)
_ISO_CYCLE = re.compile(r"R\d*/[^\s\"']+", re.I)
_FEEL_TIME = re.compile(r'^(duration|date and time|cycle)\s*\(\s*"([^"]*)"\s*\)$')


def iso_literal(text):
    """The ISO 8601 text of an unquoted timer literal (PT1H, R3/PT10M, a date-time, FEEL `=PT1H`,
    `=duration("PT1H")`), or None when `text` is not one."""
    value = (text or "").strip()
    if value.startswith("="):
        value = value[1:].strip()
        m = _FEEL_TIME.match(value)
        if m:
            value = m.group(2).strip()
        elif len(value) > 1 and value[0] == value[-1] == '"':
            value = value[1:-1].strip()
    for pattern in (_ISO_DURATION, _ISO_DATETIME, _ISO_CYCLE):
        if pattern.fullmatch(value):
            return value.upper() if pattern is not _ISO_DATETIME else value
    return None


def variable_of(text):
    """The variable named by `${var}`, `#{var}` or FEEL `=var`, or None."""
    value = (text or "").strip()
    m = _JUEL.match(value)
    if m:
        value = m.group(1).strip()
    elif value.startswith("="):
        value = value[1:].strip()
    else:
        return None
    if re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", value) and not keyword.iskeyword(value) and value not in _LITERALS:
        return value
    return None
