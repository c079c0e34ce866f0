"""The JSON API under /api/v1, token-authenticated, described at /api/v1/openapi.json."""
from flask import jsonify, render_template, request
from flask_smorest import Api

from ..cases import CaseError
from ..extensions import csrf


WEB_MESSAGES = {400: "请求有误（页面可能已过期，请刷新后重试）", 401: "请先登录", 403: "您无权访问此页面",
                404: "页面不存在，或您无权查看", 405: "不支持此操作", 413: "上传的内容过大",
                500: "系统出现错误，请稍后重试；如果问题持续，请联系管理员"}


class HuyingApi(Api):
    def handle_http_exception(self, error):
        """API errors as {"error", "message"}; the browser's errors stay HTML."""
        if not request.path.startswith("/api/"):
            return render_template("error.html", code=error.code, message=WEB_MESSAGES.get(error.code, error.name)), \
                error.code
        return http_error(error)


def http_error(error):
    data = getattr(error, "data", None) or {}
    body = {"error": (error.name or "error").lower().replace(" ", "_"),
            "message": data.get("message") or error.description or error.name}
    messages = data.get("messages")
    if messages:
        flat = {}
        for location in messages.values():
            if isinstance(location, dict):
                for k, v in location.items():
                    flat[k] = "；".join(map(str, v)) if isinstance(v, list) else str(v)
        body["errors"] = flat
        body["message"] = "请求参数有误"
    response = jsonify(body)
    response.status_code = error.code or 500
    return response


def register_api(app):
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api/v1")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    api = HuyingApi(app, spec_kwargs={
        "info": {"description": "乡呼县应 — the call/response case system. Authenticate with "
                                "POST /api/v1/auth/token, then send `Authorization: Bearer <token>`."},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
    })
    from . import lists, processes, supervision  # noqa: F401 - their routes join the same blueprint
    from .views import blp
    csrf.exempt(blp)
    api.register_blueprint(blp)

    @app.errorhandler(CaseError)
    def _case_error(e):
        body = {"error": e.code, "message": e.message}
        if e.errors is not None:
            body["errors"] = e.errors
        response = jsonify(body)
        response.status_code = e.status
        return response

    return api
