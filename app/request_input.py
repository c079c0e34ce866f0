"""What a request carries, refused in one place before any view sees it when no view could use it.

JSON request bodies, read strictly and within bounds, for the API and the browser's JSON posts alike.

Python's json module accepts what no client should send and fails on some input with errors
Flask does not expect (a 5,000-digit integer raises the int-size ValueError, 100,000 nested
brackets a RecursionError). `HuyingRequest.get_json` parses through `strict_loads`, which turns
every such body into a 400 with a Chinese message: not UTF-8, not JSON, NaN or Infinity,
numbers outside what a 64-bit integer or a double can hold, duplicate keys, nesting deeper
than MAX_DEPTH, NUL characters or lone surrogates in strings (text no database can store).

A browser request whose path has a NUL character, or a page asked for (GET) with one in its query
(the filters the page looks up), is a 400 as well: PostgreSQL cannot compare text with NUL, and no
page has a use for one. A form's POST checks its fields itself (login's `next` is only ever followed
to this site); the API's query parameters are refused per field by their schemas (422).
"""
import json
import math

from flask import Request, abort, current_app, request
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

MAX_DEPTH = 32              # the deepest real body (a list change's proposed item) nests 3 levels
MAX_INT = 2 ** 63 - 1       # what the database's integer columns and JSON consumers can hold
MAX_INT_DIGITS = 19


class BodyError(ValueError):
    """A request body refused before any view sees it; `message` is for the client."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


def _refuse_constant(name):
    raise BodyError(f"JSON 中不允许 {name}")


def _parse_int(text):
    digits = text.lstrip("-")
    if len(digits) > MAX_INT_DIGITS or abs(int(text)) > MAX_INT:
        raise BodyError("JSON 中的整数超出范围")
    return int(text)


def _parse_float(text):
    if len(text) > 400:
        raise BodyError("JSON 中的数字过长")
    value = float(text)
    if not math.isfinite(value):
        raise BodyError("JSON 中的数字超出范围")
    return value


def _object(pairs):
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen = set()
        duplicate = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise BodyError(f"JSON 对象中的键重复：{duplicate[:50]}")
    return obj


def _check_text(value):
    if "\x00" in value:
        raise BodyError("JSON 文本中含有不允许的 NUL 字符")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BodyError("JSON 文本中含有不成对的代理字符") from None


def _check_tree(root):
    """Depth and text of the parsed body, walked without recursion."""
    stack = [(root, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            _check_text(value)
            continue
        if not isinstance(value, (dict, list)):
            continue
        if depth > MAX_DEPTH:
            raise BodyError(f"JSON 嵌套超过 {MAX_DEPTH} 层")
        if isinstance(value, dict):
            for key, item in value.items():
                _check_text(key)
                stack.append((item, depth + 1))
        else:
            stack.extend((item, depth + 1) for item in value)


def strict_loads(data):
    """The JSON value of a request body (bytes or str); BodyError or JSONDecodeError when refused."""
    if isinstance(data, (bytes, bytearray)):
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            raise BodyError("请求体不是有效的 UTF-8 文本") from None
    try:
        value = json.loads(data, parse_constant=_refuse_constant, parse_int=_parse_int, parse_float=_parse_float,
                           object_pairs_hook=_object)
    except RecursionError:
        raise BodyError(f"JSON 嵌套超过 {MAX_DEPTH} 层") from None
    _check_tree(value)
    return value


def refusal_message(error):
    """The client's message for a body strict_loads refused."""
    if isinstance(error, BodyError):
        return error.message
    if isinstance(error, json.JSONDecodeError):
        return f"请求体不是有效的 JSON（第 {error.lineno} 行第 {error.colno} 列）"
    return "请求体不是有效的 JSON"


class _StrictJSON:
    """What Request.get_json calls as `json_module.loads`."""

    @staticmethod
    def loads(data, **_kwargs):
        return strict_loads(data)


# the routes that take files (app/evidence.py): their bodies may be as big as their files allow; one
# file per request for the API (UPLOAD_MAX_BYTES), a form's files together (UPLOAD_MAX_REQUEST_BYTES) in the browser
UPLOAD_ROUTES = {"api.attachments": False, "web.add_attachments": True, "web.new_case": True,
                 "web.task_page": True}
MULTIPART_OVERHEAD = 1024 * 1024     # the form's other fields and the parts' headers


class HuyingRequest(Request):
    """Flask's request with strict JSON bodies and Chinese refusals (400 bad JSON, 415 not JSON), and
    a body limit that lets the upload routes take their files (413 beyond, read or announced)."""

    @property
    def max_content_length(self):
        several = UPLOAD_ROUTES.get(self.endpoint)
        if several is None or not current_app:
            return super().max_content_length
        config = current_app.config
        files = config["UPLOAD_MAX_REQUEST_BYTES"] if several else config["UPLOAD_MAX_BYTES"]
        return max(config["MAX_CONTENT_LENGTH"] or 0, files + MULTIPART_OVERHEAD)

    @max_content_length.setter
    def max_content_length(self, value):
        self._max_content_length = value

    @property
    def json_module(self):
        return _StrictJSON

    @json_module.setter
    def json_module(self, _provider):
        """Flask hands every request the app's JSON provider; bodies keep the strict parser."""

    def on_json_loading_failed(self, e):
        if e is None:
            raise UnsupportedMediaType()
        error = BadRequest(refusal_message(e))
        error.data = {"message": error.description}     # what the API's error body says (app/errors.py)
        raise error


def refuse_nul_in_page_urls():
    """before_request: 400 for a browser path, or the query of a page asked for, with a NUL character."""
    if request.path.startswith("/api/"):
        return
    if "\x00" in request.path or (request.method in ("GET", "HEAD") and any(
            "\x00" in k or "\x00" in v for k, v in request.args.items(multi=True))):
        abort(400)
