"""The request state machine: locking a request, its timeline rows, the transitions it
may make and the status SMS that tells the user of each. The services of requests,
notices and copies build on it; it imports none of them."""

from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from privacyportal.errors import ServiceError
from privacyportal.sms import queue_sms

from .models import PrivacyRequest, RequestEvent

Status = PrivacyRequest.Status

TRANSITIONS: dict[str, set[str]] = {
    Status.SUBMITTED: {Status.IN_PROGRESS, Status.REJECTED, Status.WITHDRAWN},
    Status.IN_PROGRESS: {Status.COMPLETED, Status.REJECTED, Status.WITHDRAWN, Status.PROPAGATING},
    Status.PROPAGATING: {Status.COMPLETED},
}
CLOSED = {Status.COMPLETED, Status.REJECTED, Status.WITHDRAWN}


class RequestError(ServiceError):
    """A refused change, with a message for the person who asked."""


def request_lock(privacy_request: PrivacyRequest) -> PrivacyRequest:
    """The request's row, locked until the transaction ends; call inside one."""
    return PrivacyRequest.objects.select_for_update().get(pk=privacy_request.pk)


class Sms:
    """What a status SMS says changed; each names its values (``sms_body`` fills them)."""

    FILED = _("we received it and will answer by %(due)s.")
    STARTED = _("our privacy team has started work on it and will answer by %(due)s.")
    COPY_STARTED = _("we are preparing the copy of your data and will text you when it is ready.")
    EXTENDED = _("the deadline was extended to %(due)s; the reason is on the request's page.")
    REJECTED = _("it was rejected; the reason and how to complain are on the request's page.")
    WITHDRAWN = _("you withdrew it and we stopped working on it.")
    ANSWERED = _("it is completed; our answer is on the request's page.")
    CORRECTED = _("it is completed: the correction was made.")
    COPY_READY = _("it is completed: your copy can be downloaded until %(until)s.")
    ERASED_TELLING = _(
        "your data was erased; we are telling the third parties that received it to delete it too."
    )
    ERASED = _("it is completed: your data was erased; no third party had received it.")
    RECIPIENTS_TOLD = _(
        "it is completed: each third party that received the data was told to delete it."
    )
    # The number is erased with the account: nothing can reach it after this one.
    ACCOUNT_CLOSED = _(
        "your data was erased and your account is closed. This is the last text message to "
        "this number."
    )
    ACCOUNT_CLOSED_TELLING = _(
        "your data was erased and your account is closed; we are telling the third parties "
        "that received it to delete it too. This is the last text message to this number."
    )


def sms_body(privacy_request: PrivacyRequest, change, **values) -> str:
    # Texts go out in the portal's language; the page they point to has both.
    with translation.override(settings.LANGUAGE_CODE):
        text = str(change) % {
            "due": privacy_request.effective_due_on.isoformat(),
            **values,
        }
        names = {
            "reference": privacy_request.short_reference,
            "kind": privacy_request.get_kind_display(),
            "change": text,
        }
        if any(change is final for final in (Sms.ACCOUNT_CLOSED, Sms.ACCOUNT_CLOSED_TELLING)):
            # The account is gone: there is no page to point to.
            return gettext("Privacy request %(reference)s (%(kind)s): %(change)s") % names
        return (
            gettext(
                "Privacy request %(reference)s (%(kind)s): %(change)s Details: Account "
                "Settings → My requests."
            )
            % names
        )


def request_notify(privacy_request: PrivacyRequest, change, *, phone: str | None = None, **values):
    """Text the requester what changed, once the transaction commits."""
    phone = phone or (privacy_request.user.phone.as_e164 if privacy_request.user.phone else None)
    if not phone:
        return
    queue_sms(to=phone, body=sms_body(privacy_request, change, **values))


def event_record(
    privacy_request,
    action,
    *,
    actor=None,
    note="",
    note_code="",
    note_params=None,
    details=None,
    to_status="",
    from_status=None,
):
    """A timeline row. ``note`` is what staff wrote; the system speaks through ``note_code``
    and ``note_params`` (``requests.timeline``), never in words frozen in one language."""
    return RequestEvent.objects.create(
        request=privacy_request,
        action=action,
        from_status=(privacy_request.status if to_status else "")
        if from_status is None
        else from_status,
        to_status=to_status,
        actor=actor if actor is not None and actor.pk else None,
        note=str(note),
        note_code=str(note_code),
        note_params=note_params or {},
        details=details or {},
    )


def request_transition(
    privacy_request,
    to_status,
    action,
    *,
    actor=None,
    note="",
    note_code="",
    note_params=None,
    details=None,
    sms=None,
    sms_values=None,
    phone=None,
) -> RequestEvent:
    """Change the status with its timeline row; ``sms`` (a ``Sms`` text) tells the user."""
    if to_status not in TRANSITIONS.get(privacy_request.status, set()):
        raise RequestError(
            _("This request is %(status)s; it cannot become %(to)s.")
            % {
                "status": privacy_request.get_status_display(),
                "to": Status(to_status).label,
            }
        )
    event = event_record(
        privacy_request,
        action,
        actor=actor,
        note=note,
        note_code=note_code,
        note_params=note_params,
        details=details,
        to_status=to_status,
    )
    privacy_request.status = to_status
    if to_status in CLOSED:
        privacy_request.closed_at = event.occurred_at
    privacy_request.save()
    if sms is not None:
        request_notify(privacy_request, sms, phone=phone, **(sms_values or {}))
    return event
