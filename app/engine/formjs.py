"""Camunda Forms (form-js JSON, as Camunda Modeler saves a `.form`) as Huying's JSON Schema form.

form-js lists `components`, each with a `type`, a `key` (the variable it binds), a `label`, a
`defaultValue`, `validate` ({required, min, max, minLength, maxLength, pattern}) and, for choices,
static `values` ([{label, value}]). What has a JSON Schema counterpart becomes a property of the
schema forms.py loads; what has none (a dynamic option source, an expression, a file picker) is
reported, and layout-only components (text, spacer, separator, image) are left out silently.
"""
import json
import re

from .forms import FormError, load_form

MAX_FORM_BYTES = 256 * 1024
_LAYOUT = {"text", "html", "spacer", "separator", "image", "button", "iframe"}
_GROUPS = {"group", "dynamiclist", "table"}


class FormJsError(Exception):
    """A file that is not a form-js form; the message (Chinese) says why."""


def is_formjs(value):
    """Whether a parsed JSON value is a form-js form (and not a JSON Schema)."""
    return isinstance(value, dict) and isinstance(value.get("components"), list) and "properties" not in value


def parse(content, filename):
    """The JSON value of a form file's bytes (or text, or a dict already)."""
    if isinstance(content, dict):
        return content
    if isinstance(content, bytes):
        if len(content) > MAX_FORM_BYTES:
            raise FormJsError(f"表单文件 {filename} 过大")
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise FormJsError(f"表单文件 {filename} 不是 UTF-8 编码") from None
    try:
        return json.loads(content)
    except ValueError as e:
        raise FormJsError(f"表单文件 {filename} 不是合法的 JSON：{e}") from None


def convert(form, filename):
    """(JSON Schema, [report lines]) of a form-js form."""
    schema = {"type": "object", "title": form.get("id") or filename, "properties": {}, "required": []}
    notes = []
    _components(form.get("components") or [], schema, notes, filename)
    if not schema["required"]:
        del schema["required"]
    if not schema["properties"]:
        notes.append(f"表单 {filename} 中没有可填写的字段")
    try:
        load_form(json.dumps(schema, ensure_ascii=False), filename)
    except FormError as e:
        raise FormJsError(f"Camunda 表单 {filename} 转换后不是可用的表单：{e}") from None
    return schema, notes


def _components(components, schema, notes, filename):
    for c in components:
        if not isinstance(c, dict):
            continue
        kind = c.get("type")
        if kind in _LAYOUT:
            continue
        if kind in _GROUPS:
            if kind == "group" and not c.get("path"):
                _components(c.get("components") or [], schema, notes, filename)
            else:
                notes.append(f"表单 {filename} 的“{c.get('label') or c.get('id')}”（{kind}）未转换：呼应的表单不支持分组数据和动态列表")
            continue
        key = c.get("key")
        if not isinstance(key, str) or not key:
            notes.append(f"表单 {filename} 的组件“{c.get('label') or c.get('id') or kind}”没有 key，未转换")
            continue
        prop, why = _property(c)
        if prop is None:
            notes.append(f"表单 {filename} 的字段“{c.get('label') or key}”（{kind}）未转换：{why}")
            continue
        if "." in key:
            notes.append(f"表单 {filename} 的字段 key “{key}”含“.”，按一个变量名“{key.replace('.', '_')}”保存")
            key = key.replace(".", "_")
        schema["properties"][key] = prop
        validate = c.get("validate") if isinstance(c.get("validate"), dict) else {}
        if validate.get("required") is True:
            schema["required"].append(key)
        for unsupported in ("validationType",):
            if validate.get(unsupported) and validate.get(unsupported) not in ("email", "phone"):
                notes.append(f"表单 {filename} 的字段“{c.get('label') or key}”的校验 {unsupported} 未转换")
        if c.get("conditional") or c.get("readonly") not in (None, False) or c.get("disabled"):
            notes.append(f"表单 {filename} 的字段“{c.get('label') or key}”的条件显示、只读或禁用设置未转换，字段照常可填")


def _label(c):
    return str(c.get("label") or c.get("dateLabel") or c.get("key"))[:200]


def _options(c):
    values = c.get("values")
    if not isinstance(values, list) or not values:
        if c.get("valuesKey") or c.get("valuesExpression"):
            return None, "选项来自流程变量或表达式（valuesKey/valuesExpression），呼应只支持静态选项"
        return None, "没有静态选项（values）"
    out = []
    for v in values:
        if not isinstance(v, dict) or "value" not in v:
            return None, "选项格式不对（应为 {label, value}）"
        if not isinstance(v["value"], (str, int, float, bool)):
            return None, "选项的值应为文本、数字或是/否"
        out.append({"const": v["value"], "title": str(v.get("label") or v["value"])[:200]})
    return out, None


def _type_of(values):
    if all(isinstance(v, bool) for v in values):
        return "boolean"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "integer"
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return "number"
    return "string"


def _property(c):
    kind = c.get("type")
    validate = c.get("validate") if isinstance(c.get("validate"), dict) else {}
    prop = {"title": _label(c)}
    if c.get("description"):
        prop["description"] = str(c["description"])[:1000]
    if kind in ("textfield", "textarea"):
        prop["type"] = "string"
        for src, dst in (("minLength", "minLength"), ("maxLength", "maxLength")):
            if isinstance(validate.get(src), int) and not isinstance(validate.get(src), bool) and validate[src] >= 0:
                prop[dst] = validate[src]
        if isinstance(validate.get("pattern"), str) and validate["pattern"]:
            try:
                re.compile(validate["pattern"])
            except re.error:
                return None, f"校验的正则表达式“{validate['pattern'][:60]}”无法使用"
            prop["pattern"] = validate["pattern"]
        if validate.get("validationType") == "email":
            prop["format"] = "email"
        if validate.get("required") is True and "minLength" not in prop:
            prop["minLength"] = 1
        if kind == "textarea" and prop.get("maxLength", 2000) > 200:
            prop["maxLength"] = prop.get("maxLength", 2000)     # the browser form shows a text area
    elif kind == "number":
        prop["type"] = "integer" if c.get("decimalDigits") == 0 else "number"
        for src in ("min", "max"):
            if isinstance(validate.get(src), (int, float)) and not isinstance(validate.get(src), bool):
                prop["minimum" if src == "min" else "maximum"] = validate[src]
    elif kind == "checkbox":
        prop["type"] = "boolean"
    elif kind in ("select", "radio"):
        options, why = _options(c)
        if options is None:
            return None, why
        prop["oneOf"] = options
        prop["type"] = _type_of([o["const"] for o in options])
    elif kind in ("checklist", "taglist"):
        options, why = _options(c)
        if options is None:
            return None, why
        prop.update(type="array", items={"oneOf": options}, uniqueItems=True)
    elif kind == "datetime":
        subtype = c.get("subtype") or "date"
        if subtype == "date":
            prop.update(type="string", format="date")
        elif subtype == "datetime":
            prop.update(type="string", format="date-time")
        else:
            return None, "只有时间（time）的字段没有对应的表单类型"
    else:
        return None, f"组件类型 {kind} 没有对应的表单字段"
    default = c.get("defaultValue")
    if default not in (None, "") and isinstance(default, (str, int, float, bool, list)):
        prop["default"] = default
    return prop, None
