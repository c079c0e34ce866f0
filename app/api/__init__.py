"""The JSON API under /api/v1, token-authenticated, described at /api/v1/openapi.json.

Every error it answers is an ApiError `{error, message, errors?}` (app/errors.py renders them all),
and the document says so: each operation lists the error statuses it can answer, the ones every
operation shares added here (ErrorResponses) so that no view can forget them."""
import http

from apispec import BasePlugin
from flask_smorest import Api, Blueprint
from flask_smorest.utils import prepare_response
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import UnsupportedMediaType
from werkzeug.routing import BaseConverter

from ..extensions import csrf
from .schemas import ApiError

RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before trying again",
                               "schema": {"type": "integer", "minimum": 1}}}


class ApiArgumentsParser(FlaskParser):
    """webargs reading JSON bodies through the app's strict parser (app/request_input.py): a body
    that is not JSON is a 400 (or a 415 when it does not say it is JSON), never a 500."""

    def _raw_load_json(self, req):
        if not req.get_data(cache=True):
            return core.missing
        if not is_json_request(req):
            raise UnsupportedMediaType()
        return req.get_json()


class ApiBlueprint(Blueprint):
    ARGUMENTS_PARSER = ApiArgumentsParser()

    def errors(self, *statuses):
        """Document the error statuses a view answers beyond those every operation shares (ErrorResponses),
        each an ApiError: e.g. @blp.errors(403, 409)."""
        def decorate(view):
            for status in statuses:
                view = self.alt_response(status, response=http.HTTPStatus(status).name)(view)
            return view
        return decorate


class IsoDateConverter(BaseConverter):
    """A date in the path, YYYY-MM-DD (documented as format: date); anything else is no such path."""
    regex = r"\d{4}-\d{2}-\d{2}"


class ErrorResponses(BasePlugin):
    """The error statuses every operation can answer, documented on each: 401 without a valid
    token and 403 for a role that may not (but on the public token exchange), 404 for an unknown path
    id, 400/413/415 for a body that is not JSON, too big or not declared JSON, 503 while the database is unreachable."""

    def operation_helper(self, path=None, operations=None, **kwargs):
        for operation in (operations or {}).values():
            responses = operation.setdefault("responses", {})
            wanted = [503]
            if operation.get("security") != []:
                wanted += [401, 403]     # 403: e.g. an integration account (role integration) outside its endpoints
            if "{" in (path or ""):
                wanted.append(404)
            if "requestBody" in operation:
                wanted += [400, 413, 415]
            present = {str(code) for code in responses}
            for code in wanted:
                if str(code) not in present:
                    responses[code] = http.HTTPStatus(code).name


class HuyingApi(Api):
    ERROR_SCHEMA = ApiError
    DEFAULT_ERROR_RESPONSE_NAME = None       # every error status is listed, so schemathesis can hold us to it

    def _register_error_handlers(self):
        """app/errors.py handles every error of the app, the API's included."""

    def _register_responses(self):
        super()._register_responses()
        for status in (http.HTTPStatus.TOO_MANY_REQUESTS, http.HTTPStatus.SERVICE_UNAVAILABLE):
            response = {"description": f"{status.phrase}: try again after the seconds Retry-After says",
                        "schema": self.ERROR_SCHEMA, "headers": RETRY_AFTER}
            prepare_response(response, self.spec, self.DEFAULT_RESPONSE_CONTENT_TYPE)
            self.spec.components.response(status.name, response, lazy=True)


def register_api(app):
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api/v1")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    api = HuyingApi(app, spec_kwargs={
        "info": {"description": "乡呼县应 — the call/response case system. Authenticate with "
                                "POST /api/v1/auth/token, then send `Authorization: Bearer <token>`. "
                                "Errors come as ApiError {error, message, errors?} with a 4xx status, "
                                "or 503 with Retry-After while the database is unreachable."},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
        "extra_plugins": [ErrorResponses()],
    })
    app.url_map.converters["isodate"] = IsoDateConverter
    api.register_converter(IsoDateConverter, lambda _converter: {"type": "string", "format": "date"})
    from . import command, conversation, duplicates, evidence, integration, lists, notifications, processes, supervision  # noqa: F401 - their routes join the same blueprint
    from .views import blp
    csrf.exempt(blp)
    api.register_blueprint(blp)
    return api
