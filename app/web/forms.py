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
    step: str = None     # a number input's step: "any" for a number, none (whole numbers) for an integer


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
        t = _type_of(prop)
        value = values.get(name, prop.get("default"))
        w = Widget(name=prefix + name, title=prop.get("title") or name, kind="text", required=name in required,
                   value=value, error=(errors or {}).get(name), description=prop.get("description"))
        choices = _choices(prop)
        if t == "object":
            w.kind = "location" if prop.get("x-widget") == "location" else "object"
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
            w.step = "any" if t == "number" else None
            w.minimum, w.maximum = prop.get("minimum"), prop.get("maximum")
            if t == "integer" and w.minimum is not None and w.maximum is not None and w.maximum - w.minimum <= 9:
                w.kind = "radio"
                w.choices = [(i, str(i)) for i in range(int(w.minimum), int(w.maximum) + 1)]
        elif t == "string" and prop.get("format") == "date":
            w.kind = "date"
        elif t == "string" and (prop.get("maxLength") or 0) > 200:
            w.kind = "textarea"
        out.append(w)
    return out


def _type_of(prop):
    """A property's type; of a list of types (["string", "null"]: may be left empty), the first not null."""
    t = prop.get("type", "string")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), "string")
    return t


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
        t = _type_of(prop)
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


# --- a form answered by one of its buttons ---------------------------------------------------------
@dataclass
class Action:
    """One button of a form marked `x-actions`: pressing it answers the fields of its `data` (签收:
    `returned` false) and sends its own `fields` (退回: the reason) with the form's other fields."""
    index: int
    title: str
    data: dict
    fields: list
    summary: str = None
    description: str = None
    widgets: list = field(default_factory=list)


class Actions:
    """The `x-actions` of a form: [{title, data, fields?, summary?, description?}]. A form with
    actions has a button per action instead of one submit; the data it stores is the same as the
    form's own fields would give (the contract's variables do not change)."""

    def __init__(self, schema):
        self.schema = schema or {}
        raw = self.schema.get("x-actions")
        props = self.schema.get("properties") or {}
        self.items = []
        for i, a in enumerate(raw if isinstance(raw, list) else []):
            if isinstance(a, dict) and isinstance(a.get("data"), dict) and a.get("title"):
                own = [f for f in (a.get("fields") or []) if isinstance(f, str) and f in props]
                self.items.append(Action(i, str(a["title"]), a["data"], own, a.get("summary"), a.get("description")))
        self.controlled = {k for a in self.items for k in list(a.data) + a.fields}

    def __bool__(self):
        return bool(self.items)

    def __iter__(self):
        return iter(self.items)

    def main_schema(self):
        """The form without the fields its actions answer or carry."""
        if not self.items:
            return self.schema
        props = {k: v for k, v in (self.schema.get("properties") or {}).items() if k not in self.controlled}
        return dict(self.schema, properties=props)

    def chosen(self, index):
        return next((a for a in self.items if a.index == index), None) if index is not None else None

    def values(self, action, parsed):
        """The data of a submission by `action`: the form's own fields, the action's fields, its data."""
        out = {k: v for k, v in parsed.items() if k not in self.controlled or k in action.fields}
        out.update(action.data)
        return out

    def widgets(self, values, errors):
        """The actions, each with the widgets of its own fields."""
        props = self.schema.get("properties") or {}
        for a in self.items:
            sub = dict(self.schema, properties={k: props[k] for k in a.fields},
                       required=[k for k in a.fields if k in self._required_when(a)])
            a.widgets = widgets(sub, values, errors)
        return self.items

    def _required_when(self, action):
        """The fields the form requires once the action's data is given (its `if`/`then`)."""
        out = set(self.schema.get("required") or [])
        for rule in [self.schema] + list(self.schema.get("allOf") or []):
            cond = (rule.get("if") or {}).get("properties") or {}
            if cond and all(k in action.data and action.data[k] == (c or {}).get("const") for k, c in cond.items()):
                out.update((rule.get("then") or {}).get("required") or [])
        return out


def task_actions(schema):
    return Actions(schema)
