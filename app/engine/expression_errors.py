"""What an analyst (at deploy) or a supervisor (when a step fails) reads when an expression is wrong:
Python's own messages ("invalid syntax", "unsupported operand type(s) for +: 'int' and 'str'") said
in Chinese, each with what to change. No message of Python's or of a library is passed through:
what is not recognised gets the general advice of its kind."""
import re

TYPE_NAMES = {
    "str": "文本", "int": "整数", "float": "小数", "bool": "布尔值（True/False）", "NoneType": "空值（None）",
    "list": "列表", "tuple": "元组", "dict": "字典", "set": "集合", "frozenset": "集合", "date": "日期",
    "datetime": "日期时间", "timedelta": "时长",
}

OPERATORS = {"+": "加（+）", "-": "减（-）", "*": "乘（*）", "/": "除（/）", "//": "整除（//）", "%": "取余（%）",
             "** or pow()": "乘方（**）", "**": "乘方（**）", "<": "小于（<）", ">": "大于（>）", "<=": "小于等于（<=）",
             ">=": "大于等于（>=）", "&": "按位与（&）", "|": "按位或（|）", "^": "按位异或（^）"}

# syntax the restricted language refuses, by the class name of its syntax node
SYNTAX_NAMES = {
    "Lambda": "匿名函数（lambda）", "NamedExpr": "表达式中赋值（:=）", "Starred": "星号展开（*）",
    "Await": "await", "Yield": "yield", "YieldFrom": "yield", "For": "for 循环（请改用推导式，如 [x for x in 列表]）",
    "AsyncFor": "for 循环", "While": "while 循环", "FunctionDef": "定义函数（def）", "AsyncFunctionDef": "定义函数（def）",
    "ClassDef": "定义类（class）", "Import": "导入模块（import）", "ImportFrom": "导入模块（import）",
    "Return": "return（脚本中直接给变量赋值即可）", "Global": "global", "Nonlocal": "nonlocal", "Try": "异常处理（try）",
    "TryStar": "异常处理（try）", "With": "with", "AsyncWith": "with", "Raise": "raise", "Assert": "assert",
    "Match": "match 语句", "AnnAssign": "带类型说明的赋值（x: int = …）", "Break": "break", "Continue": "continue",
    "Expr": "单独的表达式", "Assign": "赋值", "AugAssign": "赋值", "If": "if 语句", "Delete": "del",
}

SYNTAX_RULES = [
    (r"'(.)' was never closed", "“{0}”没有配对的右括号：请在末尾补上“{close}”"),
    (r"^unmatched '(.)'", "多了一个“{0}”：请删去它，或在前面补上对应的左括号"),
    (r"closing parenthesis '(.)' does not match opening parenthesis '(.)'",
     "右括号“{0}”与左括号“{1}”不配对：请改成“{close1}”"),
    (r"unterminated (triple-quoted )?string literal|EOL while scanning|EOF while scanning",
     "引号没有闭合：文本要用一对英文引号括起来，如 \"已办结\""),
    (r"invalid character '(.)' \(U\+[0-9A-F]+\)",
     "用了中文或全角符号“{0}”：表达式中的括号、逗号、引号、冒号和分号都要用英文半角符号"),
    (r"invalid non-printable character",
     "有看不见的特殊字符（如全角空格、不换行空格）：请删去后重新输入半角空格"),
    (r"null bytes", "有看不见的空字符：请删去后重新输入"),
    (r"Maybe you meant '==' (or ':=' )?instead of '='", "判断是否相等要用“==”，单个“=”是赋值：请把“=”改成“==”"),
    (r"cannot assign to", "等号左边只能是变量名；判断是否相等请用“==”"),
    (r"Perhaps you forgot a comma", "两个值之间少了逗号：列表或函数参数的各项之间要用英文逗号“,”隔开"),
    (r"expected 'else' after 'if' expression", "条件表达式缺少 else：应写成 值1 if 条件 else 值2"),
    (r"expected ':'", "这里缺少英文冒号“:”（如 if 条件: 之后换行写语句）"),
    (r"unexpected indent", "这一行行首多了空格：请删去行首的空格（只有 if 之下的语句才缩进）"),
    (r"unindent does not match|inconsistent use of tabs", "缩进不一致：同一层的语句行首空格数要相同"),
    (r"expected an indented block", "if、else 之后的语句要比它多缩进 4 个空格"),
    (r"leading zeros in decimal integer", "数字不能以 0 开头（如 07 应写成 7；编号请用文本 \"07\"）"),
    (r"invalid (decimal|hexadecimal|octal|binary|digit) literal|invalid imaginary literal",
     "数字写法不对：数字后面不能紧跟字母或汉字；文本请加引号"),
    (r"unexpected character after line continuation", "反斜杠“\\”只能放在一行的末尾"),
    (r"^f-string", "格式化文本 f\"…\" 写法不对：花括号中应为一个值，如 f\"{{title}}（{{urgency}}）\""),
    (r"positional argument follows keyword argument", "函数参数写法不对：按名字给的参数（如 reverse=True）要放在最后"),
    (r"unexpected EOF|incomplete input", "表达式不完整：末尾缺少内容（如运算符右边的值或右括号）"),
    (r"'(return|yield|await|break|continue)' outside", "不能使用 {0}：脚本中直接给变量赋值即可"),
]

CLOSING = {"(": ")", "[": "]", "{": "}"}


def type_name(value):
    """The Chinese name of a value's type (or of a type's name)."""
    name = value if isinstance(value, str) else type(value).__name__
    return TYPE_NAMES.get(name, "这种值")


def syntax_message(error, source):
    """'语法错误（第 1 行第 7 个字符“or”处）：…' for a SyntaxError raised parsing `source`."""
    msg = error.msg or ""
    advice = None
    for pattern, text in SYNTAX_RULES:
        m = re.search(pattern, msg)
        if m:
            groups = [g or "" for g in m.groups()]
            advice = text.format(*groups, close=CLOSING.get(groups[0], ")") if groups else ")",
                                 close1=CLOSING.get(groups[1], ")") if len(groups) > 1 else ")")
            break
    if advice is None:
        advice = _general_syntax_advice(source, error)
    return f"语法错误{_where(source, error)}：{advice}"


def _general_syntax_advice(source, error):
    if re.search(r"(?<![=!<>])=(?!=)", source or "") and error.lineno in (None, 1) and "\n" not in source.strip():
        return "判断是否相等要用“==”，单个“=”是赋值：请把“=”改成“==”"
    line = _line(source, error.lineno)
    if not error.offset or error.offset > len(line.rstrip()):
        return "表达式不完整：末尾缺少内容（如运算符右边的值、右括号或引号）"
    return "这里写法不对：请检查运算符两边是否都有值、括号和引号是否成对、是否用了中文标点"


def _line(source, lineno):
    lines = (source or "").split("\n")
    return lines[lineno - 1] if lineno and 0 < lineno <= len(lines) else ""


def _where(source, error):
    if not error.lineno:
        return ""
    line = _line(source, error.lineno)
    parts = f"第 {error.lineno} 行"
    if error.offset and 0 < error.offset <= len(line):
        near = line[error.offset - 1:error.offset + 11].strip()
        parts += f"第 {error.offset} 个字符" + (f"“{near}”处" if near else "")
    return f"（{parts}）"


def refused_syntax(node):
    return SYNTAX_NAMES.get(type(node).__name__, "这种写法")


def runtime_message(error):
    """What went wrong evaluating, in Chinese, for a Python exception raised by an operation or call."""
    text = str(error)
    if isinstance(error, ZeroDivisionError):
        return "除数为零：请先判断除数不为 0，如 a / b if b else 0"
    if isinstance(error, KeyError):
        key = error.args[0] if error.args else ""
        return f"没有键 {key!r}：请先用 in 判断，或写成 字典.get({key!r}, 默认值)"
    if isinstance(error, IndexError):
        return "下标超出了范围：请先用 len() 判断长度"
    if isinstance(error, OverflowError):
        return "数值过大，超出了可计算的范围"
    rules = [
        (r"unsupported operand type\(s\) for (.+?): '(\w+)' and '(\w+)'",
         lambda op, a, b: f"{type_name(a)}和{type_name(b)}不能做{OPERATORS.get(op, op)}运算："
                          "请先用 int()、float() 或 str() 转成同一类型"),
        (r'can only concatenate (\w+) \(not "(\w+)"\) to \w+',
         lambda a, b: f"{type_name(a)}只能和{type_name(a)}相连，这里是{type_name(b)}："
                      + ("请用 str() 转成文本，或用 f\"…\"" if a == "str" else "请先转成同一类型")),
        (r"'(.+?)' not supported between instances of '(\w+)' and '(\w+)'",
         lambda op, a, b: f"{type_name(a)}和{type_name(b)}不能比较{OPERATORS.get(op, op)}：请先转成同一类型"),
        (r"bad operand type for unary (\S+): '(\w+)'", lambda op, a: f"{type_name(a)}前面不能加“{op}”"),
        (r"unhashable type: '(\w+)'", lambda a: f"{type_name(a)}不能作为集合的元素或字典的键"),
        (r"can't multiply sequence by non-int", lambda: "文本或列表只能乘以整数"),
        (r"object of type '(\w+)' has no len\(\)", lambda a: f"{type_name(a)}没有长度：len() 只用于文本、列表、字典和集合"),
        (r"'(\w+)' object is not iterable", lambda a: f"{type_name(a)}不能逐项遍历"),
        (r"'(\w+)' object is not subscriptable", lambda a: f"{type_name(a)}不能取下标"),
        (r"(list|tuple|string) indices must be integers", lambda a: "列表和文本的下标要用整数"),
        (r"invalid literal for int\(\) with base \d+: (.*)", lambda v: f"{v} 不是整数，不能用 int() 转换"),
        (r"could not convert string to float: (.*)", lambda v: f"{v} 不是数字，不能用 float() 转换"),
        (r"takes (no|exactly one|at most|at least|\d+).*argument|expected .*arguments?, got|missing \d+ required"
         r"|takes no keyword arguments|argument must be|got an unexpected keyword",
         lambda *_: "参数的个数或类型不对：请对照函数的用法"),
        (r"must be (str|int|float|real number), not (\w+)", lambda a, b: f"这里应为{type_name(a)}，而不是{type_name(b)}"),
        (r"not enough values to unpack|too many values to unpack", lambda *_: "解包的数量不符"),
        (r"substring not found|is not in list", lambda *_: "要找的内容不在其中：请先用 in 判断"),
        (r"empty sequence|arg is an empty", lambda *_: "列表为空，不能取最大值或最小值：请先判断列表不为空"),
    ]
    for pattern, say in rules:
        m = re.search(pattern, text)
        if m:
            return say(*m.groups())
    if isinstance(error, TypeError):
        return "值的类型不对（如文本和数字混用）：请检查参与运算的变量，必要时用 int()、float() 或 str() 转换"
    if isinstance(error, ValueError):
        return "值不合要求：请检查参与运算的变量的取值"
    return "无法计算：请检查表达式和参与运算的变量"

