"""HTML forms from JSON Schema: which widget each property gets, and reading a POST back
into typed data. Validation is not done here: the browser's data goes through the same
`cases.check_form` as the API's.

A property of type object (the proposed item of a list change, say) becomes a fieldset of its
own sub-fields, named `item.domain`, `item.name`, ...; its errors come keyed the same way."""
import math
from dataclasses import dataclass, field

from flask import abort, request

MAX_NUMBER = 2 ** 31 - 1     # ids and version numbers fit the database's integer


def is_number(raw):
    """Whether a query-string value is a whole number the database can hold."""
    return raw.isascii() and raw.isdigit() and len(raw) <= 10 and int(raw) <= MAX_NUMBER


def query_number(name):
    """A positive whole number from the query string; None when not given, 404 when not a number."""
    raw = request.args.get(name, "")
    if raw == "":
        return None
    if not is_number(raw):
        abort(404)
    return int(raw)


@dataclass
class Widget:
    name: str
    title: str
    kind: str            # text, textarea, select, radio_bool, radio, checkboxes, number, object
    required: bool
    value: object = None
    error: str = None
    description: str = None
    choices: list = field(default_factory=list)   # [(value, label)]
    minimum: object = None
    maximum: object = None
    fields: list = field(default_factory=list)    # the sub-widgets of an object


def _choices(prop):
    if isinstance(prop.get("oneOf"), list):
        return [(c.get("const"), c.get("title") or str(c.get("const"))) for c in prop["oneOf"] if isinstance(c, dict)]
    if isinstance(prop.get("enum"), list):
        return [(v, str(v)) for v in prop["enum"]]
    return None


def _nested_errors(errors, name):
    """The errors of an object's sub-fields, keyed by the sub-field: {"item.domain": m} -> {"domain": m}."""
    head = name + "."
    return {k[len(head):]: v for k, v in (errors or {}).items() if isinstance(k, str) and k.startswith(head)}


def widgets(schema, values, errors, prefix=""):
    """The widgets of a form, in the order of its properties (`prefix` names the sub-fields of an object)."""
    required = set(schema.get("required") or [])
    values = values if isinstance(values, dict) else {}
    out = []
    for name, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, dict) or prop.get("readOnly"):
            continue
        t = prop.get("type", "string")
        value = values.get(name, prop.get("default"))
        w = Widget(name=prefix + name, title=prop.get("title") or name, kind="text", required=name in required,
                   value=value, error=(errors or {}).get(name), description=prop.get("description"))
        choices = _choices(prop)
        if t == "object":
            w.kind = "object"
            w.fields = widgets(prop, value, _nested_errors(errors, name), prefix=w.name + ".")
        elif t == "boolean":
            w.kind = "radio_bool"
        elif t == "array":
            w.kind = "checkboxes"
            w.choices = _choices(prop.get("items") or {}) or []
            w.value = value if isinstance(value, list) else []
        elif choices is not None:
            w.kind = "radio" if len(choices) <= 4 else "select"
            w.choices = choices
        elif t in ("integer", "number"):
            w.kind = "number"
            w.minimum, w.maximum = prop.get("minimum"), prop.get("maximum")
            if t == "integer" and w.minimum is not None and w.maximum is not None and w.maximum - w.minimum <= 9:
                w.kind = "radio"
                w.choices = [(i, str(i)) for i in range(int(w.minimum), int(w.maximum) + 1)]
        elif t == "string" and (prop.get("maxLength") or 0) > 200:
            w.kind = "textarea"
        out.append(w)
    return out


def _empty(value):
    return value is None or value == "" or value == [] or value == {}


def parse_form(schema, form, prefix=""):
    """Typed data from a submitted HTML form; empty optional fields are left out, and so is an
    object whose sub-fields are all empty."""
    data = {}
    for name, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, dict):
            continue
        key = prefix + name
        t = prop.get("type", "string")
        if t == "object":
            sub = parse_form(prop, form, prefix=key + ".")
            if not all(_empty(v) for v in sub.values()):
                data[name] = sub
            continue
        if t == "array":
            items = [v for v in form.getlist(key) if v != ""]
            if items or key in form:
                data[name] = items
            continue
        raw = form.get(key)
        if raw is None or raw == "":
            continue
        if t == "boolean":
            data[name] = {"true": True, "false": False}.get(raw, raw)
        elif t == "integer":
            try:
                data[name] = int(raw)
            except ValueError:
                data[name] = raw
        elif t == "number":
            try:
                number = float(raw)
            except ValueError:
                number = None
            data[name] = number if number is not None and math.isfinite(number) else raw   # JSON has no inf, NaN
        else:
            data[name] = raw
    return data
