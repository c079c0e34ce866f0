"""Data a form could be answered with, generated from its JSON Schema: a value of each field's
type that the form accepts (its default, its first choice, a number within its bounds, a text of
its least length). Used by the deploy's dry run and by tests that drive any process."""


_FORMATS = {"date": "2026-12-01", "date-time": "2026-12-01T09:00:00+08:00", "time": "09:00:00+08:00",
            "email": "demo@example.org", "uri": "https://example.org/", "uuid": "00000000-0000-4000-8000-000000000000"}


def sample(schema, options=None, depth=0):
    """A value for `schema` (a form or one of its properties). options(kind) -> [(value, label)]
    gives the choices of an `x-options` field; without it such a field gets a placeholder code."""
    if not isinstance(schema, dict) or depth > 8:
        return None
    if "default" in schema:
        return schema["default"]
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("oneOf", "anyOf"):
        choices = [c for c in schema.get(key) or [] if isinstance(c, dict)]
        if choices:
            return sample(choices[0], options, depth + 1)
    if schema.get("x-options"):
        found = options(schema["x-options"]) if options else []
        return found[0][0] if found else "DRYRUN"
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        return {name: sample(prop, options, depth + 1) for name, prop in (schema.get("properties") or {}).items()}
    if kind == "array":
        item = sample(schema.get("items") or {}, options, depth + 1)
        return [item] * max(int(schema.get("minItems") or 1), 1) if item is not None else []
    if kind == "boolean":
        return True
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        value = low + 1 if "exclusiveMinimum" in schema and "minimum" not in schema else low
        high = schema.get("maximum", schema.get("exclusiveMaximum"))
        if high is not None and value > high:
            value = high
        return int(value) if kind == "integer" else value
    if kind == "null":
        return None
    if schema.get("format") in _FORMATS:
        return _FORMATS[schema["format"]]
    text = "测试"
    least = int(schema.get("minLength") or 0)
    if least > len(text):
        text = text * (least // len(text) + 1)
    most = schema.get("maxLength")
    return text[:most] if most else text
