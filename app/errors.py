"""The domain's refusals, each with the HTTP status it maps to (web and API alike)."""


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
