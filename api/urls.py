"""``/api/v1/``: ninja's operations, each behind one wrapper that does what every call needs.

The wrapper refuses bodies that are too large or not JSON before anything reads them,
answers in English (machines read these messages), turns ninja's plain-text 405 into the
API's JSON error, and writes the one log line per call on ``api.calls``. Anything else
under the prefix is a JSON 404, never the portal's HTML page.
"""

from __future__ import annotations

import functools
import logging
import time

from django.db import DEFAULT_DB_ALIAS, transaction
from django.urls import URLPattern, re_path
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt

from .errors import error_response
from .views import api

logger = logging.getLogger("api.calls")

# The largest body any operation needs is the bulk check: 1,000 ids of up to 19 digits.
MAX_BODY = 64 * 1024
BODY_METHODS = {"POST", "PUT", "PATCH"}
# Reads need no transaction around the whole request: ATOMIC_REQUESTS would add a
# BEGIN/COMMIT pair to every consent check for nothing.
READ_ONLY = {"consent_check", "consent_check_bulk", "notice_state", "openapi-json", "openapi-view"}


def _refusal(request):
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return error_response(400, "Content-Length is not a number.")
    if length > MAX_BODY:
        return error_response(413, f"The body is larger than {MAX_BODY} bytes.")
    if request.method in BODY_METHODS and request.content_type != "application/json":
        return error_response(415, "Send the body as application/json.")
    return None


def _log(request, response, started: float) -> None:
    caller = getattr(request, "api_caller", None)
    match = request.resolver_match
    # The route's pattern, not the path: paths carry user ids and keys.
    route = "/" + match.route if match is not None else "-"
    duration_ms = round((time.perf_counter() - started) * 1000, 1)
    logger.info(
        "%s %s %s -> %s in %.1f ms",
        caller.service if caller else "-",
        request.method,
        route,
        response.status_code,
        duration_ms,
        extra={
            "service": caller.service if caller else None,
            "token_prefix": caller.prefix if caller else None,
            "method": request.method,
            "route": route,
            "status": response.status_code,
            "duration_ms": duration_ms,
        },
    )


def _api_call(view, *, writes: bool = False):
    @functools.wraps(view)
    def call(request, *args, **kwargs):
        started = time.perf_counter()
        with translation.override("en"):
            response = _refusal(request) or view(request, *args, **kwargs)
            if response.status_code == 405 and response.get("Content-Type", "").startswith("text/"):
                allow = response["Allow"]
                response = error_response(405, f"Use {allow}.")
                response["Allow"] = allow
        if writes and response.status_code >= 400 and transaction.get_connection().in_atomic_block:
            # ninja turns errors into responses, so ATOMIC_REQUESTS would commit what a
            # refused write did before it was refused: nothing of it may stay.
            transaction.set_rollback(True)
        _log(request, response, started)
        return response

    return call


@csrf_exempt
def not_found(request, rest: str = ""):
    return error_response(404, "No such endpoint.")


def _patterns() -> list[URLPattern]:
    patterns = []
    for pattern in api.urls[0]:
        read_only = pattern.name in READ_ONLY
        view = _api_call(pattern.callback, writes=not read_only)
        if read_only:
            view._non_atomic_requests = {DEFAULT_DB_ALIAS}
        patterns.append(URLPattern(pattern.pattern, view, pattern.default_args, pattern.name))
    return patterns


app_name = "api-v1"
urlpatterns = [*_patterns(), re_path(r"^(?P<rest>.*)$", _api_call(not_found), name="not_found")]
