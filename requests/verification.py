"""A fresh SMS code before a copy or a deletion is filed (policy 4.1-4.2: we must know
the request comes from the account holder, and a signed-in browser left open is not enough).

The pending filing (the form's cleaned data) waits in the session beside a hash of the
code, never the code itself: the session store is a database table and a Redis cache, and
neither should hold a working code. The hash is keyed with SECRET_KEY, so six digits
cannot be recovered from a leaked session by trying the million possibilities.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from allauth.core import ratelimit
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from privacyportal.errors import ServiceError
from privacyportal.sms import mask_phone, queue_sms

CODE_LENGTH = 6
CODE_TTL = timedelta(minutes=10)
MAX_ATTEMPTS = 3
RATE_LIMIT_ACTION = "request_verify"
SESSION_PREFIX = "requests.pending."


class VerificationError(ServiceError):
    """The code step cannot go on; ``code`` says why, ``message`` says it to the user."""

    MESSAGES = {
        "rate_limited": _(
            "We sent you a code only a moment ago. To protect your account, wait a minute "
            "before asking for another one (at most 5 codes an hour)."
        ),
        "expired": _(
            "This code has expired: codes last 10 minutes. Ask for a new code below; "
            "what you filled in is kept."
        ),
        "too_many_attempts": _(
            "The code was entered wrongly 3 times. To protect your account nothing was filed "
            "and the code no longer works; please start again."
        ),
        "nothing_pending": _("There is nothing waiting for a code. Please start again."),
        "no_phone": _("Your account has no mobile number to send a code to."),
    }

    def __init__(self, code: str):
        super().__init__(self.MESSAGES[code], code)


@dataclass(frozen=True)
class Pending:
    payload: dict
    sent_to: str
    expires_at: datetime
    attempts_left: int


def _key(purpose_key: str) -> str:
    return f"{SESSION_PREFIX}{purpose_key}"


def _digest(request, purpose_key: str, salt: str, code: str) -> str:
    # Bound to the user and the purpose, so a state copied elsewhere proves nothing.
    value = f"{request.user.pk}:{purpose_key}:{salt}:{code}"
    return salted_hmac("requests.verification", value, algorithm="sha256").hexdigest()


def _phone(request) -> str:
    phone = getattr(request.user, "phone", None)
    if not phone:
        raise VerificationError("no_phone")
    return phone.as_e164


def _send_code(request, purpose_key: str, payload: dict) -> None:
    phone = _phone(request)
    if not ratelimit.consume(request, action=RATE_LIMIT_ACTION, key=phone):
        raise VerificationError("rate_limited")
    code = "".join(secrets.choice("0123456789") for _ in range(CODE_LENGTH))
    salt = secrets.token_hex(8)
    request.session[_key(purpose_key)] = {
        "salt": salt,
        "digest": _digest(request, purpose_key, salt, code),
        "expires_at": (timezone.now() + CODE_TTL).isoformat(),
        "attempts": 0,
        "sent_to": mask_phone(phone),
        "payload": payload,
    }
    queue_sms(
        to=phone,
        body=gettext(
            "Your code to confirm your privacy request is %(code)s. It expires in 10 minutes."
        )
        % {"code": code},
    )


def start(request, purpose_key: str, *, payload: dict) -> None:
    """Keep ``payload`` (JSON-safe) waiting and text a new code; raises when refused."""
    _send_code(request, purpose_key, payload)


def resend(request, purpose_key: str) -> None:
    """A new code for the filing already waiting; what the user filled in is kept."""
    state = request.session.get(_key(purpose_key))
    if state is None:
        raise VerificationError("nothing_pending")
    _send_code(request, purpose_key, state["payload"])


def pending(request, purpose_key: str) -> Pending | None:
    state = request.session.get(_key(purpose_key))
    if state is None:
        return None
    return Pending(
        payload=state["payload"],
        sent_to=state["sent_to"],
        expires_at=datetime.fromisoformat(state["expires_at"]),
        attempts_left=MAX_ATTEMPTS - state["attempts"],
    )


def clear(request, purpose_key: str) -> None:
    request.session.pop(_key(purpose_key), None)


def check(request, purpose_key: str, code: str) -> bool:
    """True once for the right code (the state is then gone), False for a wrong one.

    Raises VerificationError when nothing waits, the code has expired, or the last
    attempt was used up (the pending filing is then dropped).
    """
    key = _key(purpose_key)
    state = request.session.get(key)
    if state is None:
        raise VerificationError("nothing_pending")
    if timezone.now() >= datetime.fromisoformat(state["expires_at"]):
        raise VerificationError("expired")
    if constant_time_compare(
        _digest(request, purpose_key, state["salt"], code.strip()), state["digest"]
    ):
        del request.session[key]
        return True
    state["attempts"] += 1
    if state["attempts"] >= MAX_ATTEMPTS:
        del request.session[key]
        raise VerificationError("too_many_attempts")
    request.session[key] = state
    return False
