"""The domain's refusals, each with the HTTP status it maps to, and the one place that turns every
error into an answer: JSON `{error, message[, errors]}` under /api/ (the ApiError of the OpenAPI
document), a Chinese page elsewhere. No request gets a 500 for its input; an unreachable or
locked database is a 503 with Retry-After, and the next request after it is back is served."""
import sqlite3

import psycopg
from flask import current_app, jsonify, render_template, request
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException


class CaseError(Exception):
    """A request the domain refuses; `status` is the HTTP status it maps to."""
    status = 400
    code = "bad_request"

    def __init__(self, message, errors=None):
        super().__init__(message)
        self.message = message
        self.errors = errors


class NotFound(CaseError):
    status, code = 404, "not_found"


class Forbidden(CaseError):
    status, code = 403, "forbidden"


class Conflict(CaseError):
    status, code = 409, "conflict"


class Invalid(CaseError):
    status, code = 422, "invalid"


# what the database (or the pool in front of it) raises when it cannot be reached, is locked past
# the busy timeout, or dropped the connection: the service is unavailable, the request was fine
DATABASE_ERRORS = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError, sa_exc.TimeoutError,
                   psycopg.OperationalError, psycopg.InterfaceError, sqlite3.OperationalError)
RETRY_AFTER_SECONDS = 10
UNAVAILABLE_MESSAGE = "数据库暂时无法访问，请稍后重试"

WEB_MESSAGES = {400: "请求有误（页面可能已过期，请刷新后重试）", 401: "请先登录", 403: "您无权访问此页面",
                404: "页面不存在，或您无权查看", 405: "不支持此操作", 413: "上传的内容过大",
                415: "不支持的内容类型", 429: "操作过于频繁，请稍后重试",
                500: "系统出现错误，请稍后重试；如果问题持续，请联系管理员"}
API_MESSAGES = {400: "请求有误", 401: "需要有效的 Bearer 令牌", 403: "您的角色无权执行此操作", 404: "资源不存在",
                405: "此路径不支持该请求方法", 406: "无法提供所要求的内容类型", 409: "与当前状态冲突",
                413: "请求体过大", 415: "请求体应为 JSON（Content-Type: application/json）", 422: "请求参数有误",
                429: "请求过于频繁，请稍后重试", 500: "系统出现错误，请稍后重试；如果问题持续，请联系管理员"}


def wants_json():
    """The API's requests, and the browser's JSON posts (the modeller's deploy), are answered in JSON."""
    return request.path.startswith("/api/") or request.is_json


def error_response(status, code, message, errors=None, headers=None):
    """The API's error body, as the OpenAPI document's ApiError declares it."""
    body = {"error": code, "message": message}
    if errors is not None:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    response.headers.extend(headers or {})
    return response


def flat_messages(messages, prefix=""):
    """webargs' {location: {field: [messages]}} (nested for nested fields) as {"field.sub": "m1；m2"}."""
    flat = {}
    for key, value in messages.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flat_messages(value, name + "."))
        elif isinstance(value, (list, tuple)):
            flat[name] = "；".join(map(str, value))
        else:
            flat[name] = str(value)
    return flat


def _validation_errors(messages):
    flat = {}
    for location, fields in messages.items():
        flat.update(flat_messages(fields) if isinstance(fields, dict) else {location: "；".join(map(str, fields))})
    return flat


def _http_error(error):
    """An HTTPException (abort, routing, webargs' 422, an unhandled error as 500) for API or browser."""
    data = getattr(error, "data", None) or {}
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    headers.update(data.get("headers") or {})
    if not wants_json():
        return render_template("error.html", code=error.code, message=WEB_MESSAGES.get(error.code, error.name)), \
            error.code, headers
    code = (error.name or "error").lower().replace(" ", "_")
    if data.get("messages"):
        return error_response(error.code, code, "请求参数有误", _validation_errors(data["messages"]), headers)
    message = data.get("message") or API_MESSAGES.get(error.code) or error.name
    return error_response(error.code, code, message, data.get("errors"), headers)


def _case_error(e):
    if not wants_json():     # a page does not tell what exists: 403 and 404 say only that it is not shown
        message = WEB_MESSAGES[e.status] if e.status in (403, 404) else e.message
        return render_template("error.html", code=e.status, message=message), e.status
    return error_response(e.status, e.code, e.message, e.errors)


def _database_unavailable(error):
    """503 while the database cannot answer; the session is dropped so the next request starts afresh."""
    current_app.logger.error("database unavailable: %s", error)
    from .extensions import db
    try:
        db.session.remove()
    except DATABASE_ERRORS + (sa_exc.SQLAlchemyError,):
        current_app.logger.warning("could not release the failed database session", exc_info=True)
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if request.endpoint == "web.healthz":
        response = jsonify({"status": "unavailable", "message": UNAVAILABLE_MESSAGE})
        response.status_code = 503
        response.headers.extend(headers)
        return response
    if wants_json():
        return error_response(503, "service_unavailable", UNAVAILABLE_MESSAGE, headers=headers)
    # rendered without the context processors: Flask-Login's would ask the database who is signed in
    page = current_app.jinja_env.get_template("unavailable.html").render(message=UNAVAILABLE_MESSAGE, request=request)
    return page, 503, headers


def register_handlers(app):
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(CaseError, _case_error)
    for error_class in DATABASE_ERRORS:
        app.register_error_handler(error_class, _database_unavailable)
