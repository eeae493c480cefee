"""Filing a request, step by step (policy 4.1-4.2).

A copy hands over everything we hold and a deletion cannot be undone, so those two wait
for a fresh SMS code: ``begin`` checks the filing and texts the code, ``resend`` texts a
new one, ``confirm`` checks it and files. The other kinds are filed by ``begin`` at once.

Every step returns an ``Outcome``: the request once filed, or why not, as ``error`` (a code
for machines) and ``message`` (in the user's words): the services' error when they refuse
the filing (``refused``), else a ``VerificationError`` code, or ``WRONG_CODE`` for a wrong
code with attempts left. The caller decides what that looks like (a page, a redirect, a
status).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import ngettext

from .. import selectors, services, verification
from ..models import PrivacyRequest

Kind = PrivacyRequest.Kind

# A browser left signed in is not enough for these: the account holder confirms with a
# code sent to the number.
NEEDS_CODE = frozenset({Kind.ACCESS, Kind.DELETION})
WRONG_CODE = "wrong_code"
# The filing waiting for the code is gone: the requester fills the form in again.
STARTS_AGAIN = frozenset({"too_many_attempts", "nothing_pending"})


@dataclass(frozen=True)
class Outcome:
    privacy_request: PrivacyRequest | None = None
    pending: verification.Pending | None = None
    error: str = ""
    message: str = ""
    # The services refused the filing itself: a new code would not help.
    refused: bool = False
    # The input the message is about, when it is one.
    field: str | None = None

    @property
    def starts_again(self) -> bool:
        return self.error in STARTS_AGAIN


def _stopped(error: verification.VerificationError) -> Outcome:
    return Outcome(error=error.code, message=error.message)


def _refused(error: services.RequestError) -> Outcome:
    return Outcome(error=error.code, message=error.message, refused=True)


def needs_code(kind: str) -> bool:
    return kind in NEEDS_CODE


def copy_in_progress(request, kind: str) -> PrivacyRequest | None:
    """The copy already being prepared, when a copy is asked for again: nothing to file."""
    if kind != Kind.ACCESS:
        return None
    return selectors.open_access_request_for_user(user=request.user)


def waiting(request, kind: str) -> Outcome:
    """The filing waiting for its code (``pending``), or ``nothing_pending``."""
    pending = verification.pending(request, kind) if needs_code(kind) else None
    if pending is None:
        return _stopped(verification.VerificationError("nothing_pending"))
    return Outcome(pending=pending)


def file_now(request, kind: str, data: dict, *, verified_at=None) -> Outcome:
    try:
        privacy_request = services.request_file(
            user=request.user, kind=kind, verified_at=verified_at, **data
        )
    except services.RequestError as error:
        return _refused(error)
    # A copy can be ready by now (built on commit): then there is no answer to wait for.
    privacy_request.refresh_from_db(fields=["status"])
    return Outcome(privacy_request=privacy_request)


def begin(request, kind: str, data: dict) -> Outcome:
    """File ``data`` (a filing form's ``filing_data()``), or text the code it waits for."""
    if not needs_code(kind):
        return file_now(request, kind, data)
    try:
        # Refuse before the code is sent: a refusal should cost no SMS.
        services.request_validate(user=request.user, kind=kind, **data)
    except services.RequestError as error:
        return _refused(error)
    try:
        verification.start(request, kind, payload=data)
    except verification.VerificationError as error:
        return _stopped(error)
    return waiting(request, kind)


def resend(request, kind: str) -> Outcome:
    """A new code for the filing already waiting; what the user filled in is kept."""
    try:
        verification.resend(request, kind)
    except verification.VerificationError as error:
        return _stopped(error)
    return waiting(request, kind)


def confirm(request, kind: str, code: str) -> Outcome:
    """File the waiting filing when ``code`` is right; else say why not."""
    before = waiting(request, kind)
    if before.pending is None:
        return before
    try:
        right = verification.check(request, kind, code)
    except verification.VerificationError as error:
        return _stopped(error)
    if right:
        return file_now(request, kind, before.pending.payload, verified_at=timezone.now())
    after = waiting(request, kind)
    attempts_left = after.pending.attempts_left
    return Outcome(
        pending=after.pending,
        error=WRONG_CODE,
        field="code",
        message=ngettext(
            "That code is not right. You can try %(count)d more time.",
            "That code is not right. You can try %(count)d more times.",
            attempts_left,
        )
        % {"count": attempts_left},
    )
