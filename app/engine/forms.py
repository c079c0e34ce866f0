"""User-task forms: JSON Schema files under `forms/`, one per form.

The same validation serves the browser form and the API: only the form's own fields reach the
task data (G5 of engine-notes), defaults are filled in, and every problem comes back as a
message in Chinese keyed by the field it concerns.

A property may carry `"x-options": "departments" | "townships" | "list_items"`: the server
turns it into a `oneOf` of the current choices when it serves or checks the form.
"""
import copy
import json

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError

MAX_FORM_BYTES = 256 * 1024

_TYPE_NAMES = {"string": "文本", "integer": "整数", "number": "数字", "boolean": "是/否",
               "array": "列表", "object": "对象", "null": "空"}


class FormError(Exception):
    """A form file that is not a usable JSON Schema."""


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
        raise FormError(f"表单文件 {filename} 不是合法的 JSON：{e}") from None
    if not isinstance(schema, dict):
        raise FormError(f"表单文件 {filename} 必须是一个 JSON 对象")
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as e:
        raise FormError(f"表单文件 {filename} 不是合法的 JSON Schema：{e.message}") from None
    if schema.get("type", "object") != "object":
        raise FormError(f"表单文件 {filename} 的顶层类型必须是 object")
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
    return errors


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
        return ".".join(path + [missing or "_"]), "此项为必填项"
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
