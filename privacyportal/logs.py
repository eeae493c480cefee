"""Logging: a request id on every record, and no phone number in any record.

settings.LOGGING puts both filters on every handler: a filter on a logger would
miss the records that propagate to it from child loggers.
"""

from __future__ import annotations

import contextvars
import logging
import re
import uuid

from django.http import HttpRequest

from privacyportal.sms import mask_phone

REQUEST_ID_HEADER = "X-Request-ID"
# A proxy's id is kept so its logs and ours line up; anything else (too long, odd
# characters that could forge log lines) is replaced by our own.
REQUEST_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,127}")

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)


def request_id_from_header(value: str | None) -> str:
    if value and REQUEST_ID_RE.fullmatch(value):
        return value
    return str(uuid.uuid4())


class RequestIdMiddleware:
    """First in MIDDLEWARE, so redirects and errors from any later middleware carry the id too."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = request_id_from_header(request.headers.get(REQUEST_ID_HEADER))
        token = request_id_var.set(request.request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response[REQUEST_ID_HEADER] = request.request_id
        return response


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        # django.request logs some error responses after the middleware has returned;
        # those records carry the request itself.
        request = getattr(record, "request", None)
        record.request_id = getattr(request, "request_id", None) or request_id_var.get() or "-"
        return True


_SEP = r"(?:[\s+-]|%20)?"
PHONE_RE = re.compile(
    r"(?<![\w+%])(?:"
    # CN mobile, with or without +86 / 0086: 13800138000, +86 138-0013-8000, 0086 138 0013 8000
    rf"(?:(?:\+|%2B|00){_SEP}86{_SEP})?1[3-9]\d{_SEP}\d{{4}}{_SEP}\d{{4}}"
    # any other E.164 number
    r"|(?:\+|%2B)[1-9]\d{6,14}"
    r")(?!\w)",
    re.IGNORECASE,
)


def _masked(match: re.Match) -> str:
    text = match.group(0)
    digits = re.sub(r"%20|%2B|\D", "", text, flags=re.IGNORECASE)
    if text[0] == "+" or text[:3].upper() == "%2B":
        number = f"+{digits}"
    elif digits.startswith("00"):
        number = f"+{digits[2:]}"
    else:
        number = f"+86{digits}"
    return mask_phone(number)


def mask_phones(text: str) -> str:
    """Every phone number in ``text`` as mask_phone shows it: country code and last four digits."""
    return PHONE_RE.sub(_masked, text)


# What every LogRecord has; everything else on a record came in through ``extra``.
_RECORD_ATTRIBUTES = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "request_id",
}


def _mask_value(value):
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, HttpRequest):
        # Its repr has the query string (an admin search for a number, say).
        return f"{value.method} {value.path}"
    if isinstance(value, dict):
        return {key: _mask_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_value(item) for item in value]
    return mask_phones(str(value))


class PersonalDataFilter(logging.Filter):
    """Masks phone numbers in the message, its arguments, the traceback and every extra."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_phones(record.getMessage())
        record.args = ()
        if record.exc_info:
            # Formatters (the JSON one too) would format exc_info themselves, unmasked.
            record.exc_text = mask_phones(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = mask_phones(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_phones(record.stack_info)
        for key in record.__dict__.keys() - _RECORD_ATTRIBUTES:
            if not key.startswith("_"):
                setattr(record, key, _mask_value(getattr(record, key)))
        return True
