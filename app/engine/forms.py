"""User-task forms: JSON Schema files under `forms/`, one per form.

The same validation serves the browser form and the API: only the form's own fields reach the
task data (G5 of engine-notes), defaults are filled in, and every problem comes back as a
message in Chinese keyed by the field it concerns.

A property may carry `"x-options": "departments" | "townships" | "list_units" | "list_items"` (list_units:
the departments and the placeholder 属地乡镇（街道）, as a list item names its units): the server
turns it into a `oneOf` of the current choices when it serves or checks the form.

A property may carry `"x-required-message"`: what a missing value is told (else 此项为必填项).
A property may carry `"x-distinct-from": "<another property>"`: its value (or, for a list, none of
its items) may not be the other's — the cooperating departments of a dispatch do not include the
lead, say.
"""
import copy
import json

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError

MAX_FORM_BYTES = 256 * 1024

_TYPE_NAMES = {"string": "文本", "integer": "整数", "number": "数字", "boolean": "是/否",
               "array": "列表", "object": "对象", "null": "空"}


class FormError(Exception):
    """A form file that is not a usable JSON Schema; `detail`: the library's own words, if any."""

    def __init__(self, message, detail=None):
        super().__init__(message)
        self.detail = detail


def load_form(text, filename):
    """Parse and check one form file; returns the schema dict."""
    if isinstance(text, bytes):
        if len(text) > MAX_FORM_BYTES:
            raise FormError(f"表单文件 {filename} 过大")
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise FormError(f"表单文件 {filename} 不是 UTF-8 编码") from None
    try:
        schema = json.loads(text)
    except ValueError as e:
        where = f"（第 {e.lineno} 行第 {e.colno} 列）" if hasattr(e, "lineno") else ""
        raise FormError(f"表单文件 {filename} 不是合法的 JSON{where}：请检查括号、逗号和引号", str(e)) from None
    if not isinstance(schema, dict):
        raise FormError(f"表单文件 {filename} 必须是一个 JSON 对象")
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as e:
        where = "/".join(str(p) for p in e.path) or "顶层"
        raise FormError(f"表单文件 {filename} 不是合法的 JSON Schema：“{where}”处的写法不符合规范"
                        "（如 type 只能是 string、number、integer、boolean、array、object）", e.message) from None
    if schema.get("type", "object") != "object":
        raise FormError(f"表单文件 {filename} 的顶层类型必须是 object")
    props = schema.get("properties") or {}
    for name, prop in props.items():
        other = prop.get("x-distinct-from") if isinstance(prop, dict) else None
        if other is not None and (not isinstance(other, str) or other == name or other not in props):
            raise FormError(f"表单文件 {filename} 中“{name}”的 x-distinct-from 应为表单中另一字段的名称")
    return schema


def resolve_options(schema, options):
    """A copy of `schema` with each `x-options` property (at any depth) given its current choices.

    options(kind) -> [(value, label)]."""
    if not _has_options(schema):
        return schema
    schema = copy.deepcopy(schema)

    def fill(prop):
        if not isinstance(prop, dict):
            return
        kind = prop.get("x-options")
        if kind:
            prop["oneOf"] = [{"const": v, "title": label} for v, label in options(kind)]
        if isinstance(prop.get("items"), dict):
            fill(prop["items"])
        for sub in (prop.get("properties") or {}).values():
            fill(sub)
    fill(schema)
    return schema


def _has_options(schema):
    if not isinstance(schema, dict):
        return False
    return "x-options" in schema or _has_options(schema.get("items")) or \
        any(_has_options(p) for p in (schema.get("properties") or {}).values())


def clean_data(schema, data):
    """The submitted data reduced to the form's fields, with the form's defaults filled in (a
    field sent as null counts as not sent)."""
    props = schema.get("properties") or {}
    out = {k: v for k, v in data.items() if k in props and v is not None}
    for name, prop in props.items():
        if name not in out and isinstance(prop, dict) and "default" in prop:
            out[name] = copy.deepcopy(prop["default"])
    return out


def validate(schema, data):
    """{field: message} for each problem of `data` against `schema`; empty when valid."""
    errors = {}
    for field, value in data.items():
        if _has_nul(value):
            errors[field] = "含有不允许的字符"
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    for err in sorted(validator.iter_errors(data), key=lambda e: len(e.absolute_path)):
        field, message = _describe(err, schema)
        errors.setdefault(field, message)
    for field, message in _distinct(schema, data).items():
        errors.setdefault(field, message)
    return errors


def _distinct(schema, data):
    """{field: message} for each `x-distinct-from` property holding the other field's value."""
    props = schema.get("properties") or {}
    out = {}
    for name, prop in props.items():
        other = prop.get("x-distinct-from") if isinstance(prop, dict) else None
        if other not in props or data.get(other) in (None, "", []) or name not in data:
            continue
        value, taken = data[name], data[other]
        clash = taken in value if isinstance(value, list) else value == taken
        if clash:
            label = _choice_label(props[other], taken)
            title, other_title = prop.get("title") or name, props[other].get("title") or other
            out[name] = f"“{label}”已是{other_title}，不能同时作为{title}"
    return out


def _subschema(schema, path):
    """The (object) schema at a path of property names, or {}."""
    for name in path:
        schema = (schema.get("properties") or {}).get(name) if isinstance(schema, dict) else None
    return schema if isinstance(schema, dict) else {}


def _choice_label(prop, value):
    for choice in prop.get("oneOf") or []:
        if isinstance(choice, dict) and choice.get("const") == value:
            return choice.get("title") or str(value)
    return str(value)


def _has_nul(value):
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return False


def _describe(err, schema):
    path = [str(p) for p in err.absolute_path]
    v = err.validator
    if v == "required":
        missing = next((name for name in err.validator_value if name not in (err.instance or {})), None)
        prop = _subschema(schema, path).get("properties", {}).get(missing) or {}
        message = prop.get("x-required-message") if isinstance(prop, dict) else None
        return ".".join(path + [missing or "_"]), message if isinstance(message, str) and message else "此项为必填项"
    field = ".".join(path) or "_"
    value = err.validator_value
    messages = {
        "type": lambda: "类型不正确，应为" + "或".join(_TYPE_NAMES.get(t, t) for t in (value if isinstance(value, list) else [value])),
        "enum": lambda: "不在可选范围内",
        "const": lambda: "不在可选范围内",
        "oneOf": lambda: "不在可选范围内",
        "anyOf": lambda: "不在可选范围内",
        "minLength": lambda: f"至少填写 {value} 个字",
        "maxLength": lambda: f"最多 {value} 个字",
        "minimum": lambda: f"不能小于 {value}",
        "maximum": lambda: f"不能大于 {value}",
        "exclusiveMinimum": lambda: f"必须大于 {value}",
        "exclusiveMaximum": lambda: f"必须小于 {value}",
        "minItems": lambda: f"至少选择 {value} 项",
        "maxItems": lambda: f"最多选择 {value} 项",
        "uniqueItems": lambda: "不能有重复项",
        "format": lambda: "格式不正确",
        "pattern": lambda: "格式不正确",
        "additionalProperties": lambda: "含有表单以外的字段",
    }
    return field, messages.get(v, lambda: err.message)()


def field_titles(schema):
    """{field: title} for messages and the browser."""
    return {k: (p.get("title") or k) for k, p in (schema.get("properties") or {}).items() if isinstance(p, dict)}
