"""One error shape for every refusal: ``{"error": {"code", "message", "fields": [...]}}``.

Messages are for the engineers of the calling services, in English. (A refused write
keeps nothing: ``api.urls`` rolls its transaction back.)
"""

from __future__ import annotations

import math

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, JsonResponse
from ninja import NinjaAPI
from ninja.errors import (
    AuthenticationError,
    AuthorizationError,
    HttpError,
    Throttled,
    ValidationError,
)

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "too_many_requests",
}


class ApiError(Exception):
    def __init__(self, status: int, message: str, *, code: str | None = None, fields=()):
        super().__init__(message)
        self.status = status
        self.code = code or CODES[status]
        self.message = message
        self.fields = list(fields)


def error_response(
    status: int, message: str, *, code: str | None = None, fields=()
) -> JsonResponse:
    return JsonResponse(
        {
            "error": {
                "code": code or CODES[status],
                "message": message,
                "fields": [{"field": f, "message": m} for f, m in fields],
            }
        },
        status=status,
    )


def _field_name(loc) -> str:
    # ninja puts the source first ("body", "path"); the name of the body argument follows.
    # pydantic also names the member of a union it tried (UserById): a class, not a field.
    # The API's fields are all snake_case, so a capital letter marks such a name.
    parts = [str(p) for p in loc[1:] if not str(p)[:1].isupper()]
    if loc and loc[0] == "body" and len(parts) > 1:
        parts = parts[1:]
    return ".".join(parts) or str(loc[0])


def _validation_message(error: dict) -> str:
    message = error.get("msg", "Invalid value.")
    return message.removeprefix("Value error, ")


def install(api: NinjaAPI) -> None:
    @api.exception_handler(ApiError)
    def _api_error(request: HttpRequest, exc: ApiError):
        return error_response(exc.status, exc.message, code=exc.code, fields=exc.fields)

    @api.exception_handler(ValidationError)
    def _invalid(request: HttpRequest, exc: ValidationError):
        fields = [(_field_name(e.get("loc", ())), _validation_message(e)) for e in exc.errors]
        return error_response(422, "The request is not valid: see fields.", fields=fields)

    @api.exception_handler(AuthenticationError)
    def _unauthenticated(request: HttpRequest, exc: AuthenticationError):
        response = error_response(
            401, "A valid service token is required: Authorization: Bearer <token>."
        )
        response["WWW-Authenticate"] = 'Bearer realm="privacyportal"'
        return response

    @api.exception_handler(AuthorizationError)
    def _forbidden(request: HttpRequest, exc: AuthorizationError):
        return error_response(403, exc.message)

    @api.exception_handler(Throttled)
    def _throttled(request: HttpRequest, exc: Throttled):
        response = error_response(429, "Too many requests: wait and try again.")
        if exc.wait is not None:
            response["Retry-After"] = str(max(1, math.ceil(exc.wait)))
        return response

    @api.exception_handler(HttpError)
    def _http_error(request: HttpRequest, exc: HttpError):
        # ninja raises HttpError(400) from the parser's exception for a body it cannot read.
        if exc.status_code == 400 and exc.__cause__ is not None:
            return error_response(400, "The body is not valid JSON.", code="malformed_json")
        return error_response(
            exc.status_code, exc.message, code=CODES.get(exc.status_code, "error")
        )

    @api.exception_handler(Http404)
    def _not_found(request: HttpRequest, exc: Http404):
        return error_response(404, "Not found.")

    @api.exception_handler(RequestDataTooBig)
    def _too_big(request: HttpRequest, exc: RequestDataTooBig):
        return error_response(413, "The body is too large.")
