"""Recipients, disclosures and deletion notices (DESIGN §2 "Deletion and propagation").

An approved deletion creates one notice per recipient that received the user's
data, in the deletion's transaction. A worker posts each notice as signed JSON,
shaped after the OpenDSR erasure request; the recipient confirms through a signed
callback, shaped after the OpenDSR status callback. The notice row decides what
happens next (``next_attempt_at``): a lost message, a killed worker or a flushed
broker only delay a notice until the sweep queues it again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import random
import secrets
import threading
import time
from datetime import timedelta

import httpx
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from consents.models import ConsentState, DataCategory
from consents.selectors import consent_is_given
from privacyportal.services import audit_record

from .models import (
    DeletionNotice,
    Disclosure,
    NoticeAttempt,
    PrivacyRequest,
    Recipient,
    RequestEvent,
)

logger = logging.getLogger(__name__)
Status = DeletionNotice.Status

SHARING_PURPOSE = "third_party_sharing"
SIGNATURE_HEADER = "X-PrivacyPortal-Signature"


class PropagationError(Exception):
    def __init__(self, message, *, code: str = "invalid"):
        super().__init__(str(message))
        self.message = message
        self.code = code


class SignatureInvalid(Exception):
    """The callback was not signed with the recipient's secret: nothing changes."""


# --- recipients and disclosures ------------------------------------------------------------


@transaction.atomic
def recipient_secret_set(*, recipient: Recipient, actor) -> str:
    """A new signing secret; the caller shows it once, nothing shows it again."""
    secret = secrets.token_urlsafe(32)
    recipient.secret = secret
    recipient.secret_set_at = timezone.now()
    recipient.save(update_fields=["secret", "secret_set_at"])
    audit_record(actor=actor, action="recipient.secret_set", target=recipient)
    return secret


@transaction.atomic
def disclosure_record(
    *,
    user,
    recipient: Recipient,
    categories: list[DataCategory],
    subject_identifier: str,
    basis: str,
    legal_exception: str = "",
    legal_note: str = "",
    actor=None,
    disclosed_at=None,
    service: str = "",
) -> Disclosure:
    """Record one sharing. Sharing on consent needs the user's separate consent, now.

    ``service`` names the internal service that reported it through the API.
    """
    if not categories:
        raise PropagationError(_("Name the categories of data that were shared."))
    registered = set(recipient.data_categories.values_list("pk", flat=True))
    if not {category.pk for category in categories} <= registered:
        raise PropagationError(
            _("This recipient is not registered to receive some of these categories."),
            code="category_not_registered",
        )
    if not subject_identifier.strip():
        raise PropagationError(_("Give the identifier the recipient knows the user by."))
    consent_event = None
    if basis == Disclosure.Basis.CONSENT:
        if not consent_is_given(user=user, purpose=SHARING_PURPOSE):
            raise PropagationError(
                _("The user has not given separate consent to sharing with third parties."),
                code="consent_missing",
            )
        consent_event = (
            ConsentState.objects.filter(user=user, purpose__code=SHARING_PURPOSE, granted=True)
            .values_list("last_event", flat=True)
            .first()
        )
        legal_exception, legal_note = "", ""
    elif basis == Disclosure.Basis.LEGAL_EXCEPTION:
        if legal_exception not in Disclosure.LegalException.values:
            raise PropagationError(_("Choose the legal exception (policy 3.4)."))
        if not legal_note.strip():
            raise PropagationError(_("Note why the legal exception applies."))
    else:
        raise PropagationError(_("Choose the basis for the sharing."))
    disclosure = Disclosure.objects.create(
        user=user,
        recipient=recipient,
        subject_identifier=subject_identifier.strip(),
        basis=basis,
        consent_event_id=consent_event,
        legal_exception=legal_exception,
        legal_note=legal_note.strip(),
        recorded_by=actor if actor is not None and actor.pk else None,
        recorded_by_service=service,
        disclosed_at=disclosed_at or timezone.now(),
    )
    disclosure.categories.set(categories)
    return disclosure


# --- creating notices ------------------------------------------------------------------------


def deletion_notices_create(*, privacy_request: PrivacyRequest) -> int:
    """One notice per recipient holding the user's data; call inside the deletion's transaction."""
    user = privacy_request.user
    by_recipient: dict[int, dict] = {}
    rows = Disclosure.objects.filter(user=user).values_list(
        "recipient_id", "subject_identifier", "categories__code"
    )
    for recipient_id, identifier, category in rows:
        entry = by_recipient.setdefault(recipient_id, {"ids": set(), "categories": set()})
        entry["ids"].add(identifier)
        if category:
            entry["categories"].add(category)
    if not by_recipient:
        return 0
    now = timezone.now()
    recipients = Recipient.objects.in_bulk(list(by_recipient))
    notices = [
        DeletionNotice(
            request=privacy_request,
            recipient=recipients[recipient_id],
            status=Status.PENDING if recipients[recipient_id].endpoint else Status.MANUAL,
            categories=sorted(entry["categories"]),
            subject_identifiers=sorted(entry["ids"]),
            next_attempt_at=now if recipients[recipient_id].endpoint else None,
        )
        for recipient_id, entry in sorted(by_recipient.items())
    ]
    DeletionNotice.objects.bulk_create(notices)
    due = [n.pk for n in notices if n.status == Status.PENDING]
    transaction.on_commit(lambda: queue_notices(due))
    return len(notices)


def queue_notices(notice_ids) -> None:
    from .tasks import deliver_notice_task

    for notice_id in notice_ids:
        deliver_notice_task.delay(notice_id)


# --- the message -------------------------------------------------------------------------------


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def callback_url(notice: DeletionNotice) -> str:
    path = reverse("notice_callback", kwargs={"key": notice.idempotency_key})
    return settings.PORTAL_BASE_URL.rstrip("/") + path


def notice_body(notice: DeletionNotice) -> bytes:
    """An OpenDSR-style erasure request; the portal's own fields sit under ``extensions``."""
    message = {
        "api_version": "0.1",
        "subject_request_id": str(notice.idempotency_key),
        "subject_request_type": "erasure",
        "submitted_time": notice.created_at.isoformat(),
        "subject_identities": [
            {
                "identity_type": "controller_customer_id",
                "identity_value": value,
                "identity_format": "raw",
            }
            for value in notice.subject_identifiers
        ],
        "status_callback_urls": [callback_url(notice)],
        "extensions": {
            "privacyportal": {
                "categories": notice.categories,
                "request_reference": str(notice.request.reference),
                "recipient": notice.recipient.name,
            }
        },
    }
    return json.dumps(message, sort_keys=True, separators=(",", ":")).encode()


_clients: dict[int, httpx.Client] = {}
_clients_lock = threading.Lock()


def _client() -> httpx.Client:
    """One keep-alive client per process (forked workers get their own)."""
    pid = os.getpid()
    client = _clients.get(pid)
    if client is None:
        with _clients_lock:
            client = _clients.get(pid)
            if client is None:
                client = httpx.Client(timeout=settings.NOTICE_TIMEOUT, follow_redirects=False)
                _clients[pid] = client
    return client


def backoff(attempts: int) -> timedelta:
    """Exponential with full jitter: base·2^(n-1), capped, times a random factor in [0.5, 1]."""
    delay = min(
        settings.NOTICE_BACKOFF_BASE * 2 ** max(attempts - 1, 0), settings.NOTICE_BACKOFF_MAX
    )
    return timedelta(seconds=delay * (0.5 + random.random() / 2))  # noqa: S311  (jitter, not security)


# --- delivering ---------------------------------------------------------------------------------


def _claim(notice_id: int) -> DeletionNotice | None:
    """Take a due notice, skipping one another worker holds; lease it for the attempt."""
    with transaction.atomic():
        notice = (
            DeletionNotice.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("recipient", "request")
            .filter(pk=notice_id, status=Status.PENDING, next_attempt_at__lte=timezone.now())
            .first()
        )
        if notice is None:
            return None
        notice.attempts += 1
        # The lease: if this worker dies mid-attempt the notice is due again after it.
        notice.next_attempt_at = timezone.now() + timedelta(seconds=settings.NOTICE_LEASE)
        notice.save(update_fields=["attempts", "next_attempt_at"])
        return notice


def notice_deliver(notice_id: int) -> str | None:
    """Post one due notice and record what happened; returns its new status, or None."""
    notice = _claim(notice_id)
    if notice is None:
        return None
    if not notice.recipient.secret:
        # Never post unsigned: the recipient could not tell the notice is ours.
        return _record(
            notice.pk,
            started=timezone.now(),
            status_code=None,
            error="no signing secret",
            duration=0,
        )
    body = notice_body(notice)
    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": str(notice.idempotency_key),
        SIGNATURE_HEADER: sign(body, notice.recipient.secret),
    }
    started = timezone.now()
    clock = time.perf_counter()
    status_code, error = None, ""
    try:
        response = _client().post(notice.recipient.endpoint, content=body, headers=headers)
        status_code = response.status_code
        if not 200 <= status_code < 300:
            error = f"HTTP {status_code}"
    except httpx.HTTPError as exc:
        error = type(exc).__name__
    duration = int((time.perf_counter() - clock) * 1000)
    return _record(
        notice.pk, started=started, status_code=status_code, error=error, duration=duration
    )


@transaction.atomic
def _record(notice_id, *, started, status_code, error, duration) -> str:
    # The notice row only: the request's row is not needed here, and locking it would make
    # every worker recording an outcome for the same deletion wait for the others.
    notice = DeletionNotice.objects.select_for_update().get(pk=notice_id)
    NoticeAttempt.objects.create(
        notice=notice,
        started_at=started,
        status_code=status_code,
        error=error,
        duration_ms=duration,
    )
    if notice.status != Status.PENDING:
        # Confirmed (or closed by staff) while this attempt ran: nothing more to do.
        return notice.status
    if not error:
        notice.status = Status.DELIVERED
        notice.delivered_at = timezone.now()
        notice.next_attempt_at = None
        notice.last_error = ""
    elif notice.attempts >= settings.NOTICE_MAX_ATTEMPTS:
        notice.status = Status.FAILED
        notice.next_attempt_at = None
        notice.last_error = error
        transaction.on_commit(lambda: _alert_officers(notice_id))
    else:
        delay = backoff(notice.attempts)
        notice.next_attempt_at = timezone.now() + delay
        notice.last_error = error
        if delay <= RETRY_BY_MESSAGE_WITHIN:
            transaction.on_commit(lambda: _queue_retry(notice_id, delay))
    notice.save(update_fields=["status", "delivered_at", "next_attempt_at", "last_error"])
    return notice.status


# A retry due within this is queued at once with a countdown (the worker holds the message
# until then); a later one is left to the sweep, which queues it when it falls due. Either
# way the row decides: a retry message that finds the notice not due does nothing.
RETRY_BY_MESSAGE_WITHIN = timedelta(minutes=10)


def _queue_retry(notice_id: int, delay: timedelta) -> None:
    from .tasks import deliver_notice_task

    deliver_notice_task.apply_async((notice_id,), countdown=delay.total_seconds())


def notices_due(limit: int = 5000) -> list[int]:
    """Every notice whose next attempt is due: what the sweep queues again."""
    return list(
        DeletionNotice.objects.filter(status=Status.PENDING, next_attempt_at__lte=timezone.now())
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def _alert_officers(notice_id: int) -> None:
    notice = DeletionNotice.objects.select_related("recipient", "request").get(pk=notice_id)
    emails = settings.PRIVACY_OFFICER_EMAILS
    if not emails:
        logger.error("Deletion notice %s failed and no PRIVACY_OFFICER_EMAILS is set", notice_id)
        return
    send_mail(
        subject=f"[privacy portal] Deletion notice to {notice.recipient.name} failed",
        message=(
            f"The deletion notice {notice.idempotency_key} to {notice.recipient.name} failed after "
            f"{notice.attempts} attempts (last error: {notice.last_error}).\n"
            f"Retry it from the staff desk: {settings.PORTAL_BASE_URL.rstrip('/')}"
            f"{reverse('admin:requests_deletionnotice_change', args=[notice.pk])}\n"
        ),
        from_email=None,
        recipient_list=emails,
    )


# --- acknowledgement and staff actions -------------------------------------------------------


def notice_acknowledge(*, key, body: bytes, signature: str) -> DeletionNotice:
    """The recipient's signed status callback. A bad signature changes nothing."""
    with transaction.atomic():
        notice = (
            DeletionNotice.objects.select_for_update()
            .select_related("recipient", "request")
            .filter(idempotency_key=key)
            .first()
        )
        if notice is None or not notice.recipient.secret:
            raise SignatureInvalid
        if not hmac.compare_digest(sign(body, notice.recipient.secret), signature or ""):
            raise SignatureInvalid
        try:
            message = json.loads(body)
        except ValueError as exc:
            raise PropagationError(_("The body is not JSON.")) from exc
        if message.get("subject_request_id") != str(notice.idempotency_key):
            raise PropagationError(_("The callback names another request."))
        if message.get("request_status") != "completed" or notice.status in DeletionNotice.DONE:
            return notice
        notice.status = Status.ACKNOWLEDGED
        notice.acknowledged_at = timezone.now()
        notice.next_attempt_at = None
        notice.save(update_fields=["status", "acknowledged_at", "next_attempt_at"])
        _request_event(notice, RequestEvent.Action.NOTICE_ACKNOWLEDGED)
        _complete_if_done(notice.request)
        return notice


def _request_event(notice, action, *, actor=None, note=""):
    from .services import _event

    _event(
        notice.request, action, actor=actor, note=note, details={"recipient": notice.recipient.name}
    )


def _complete_if_done(privacy_request: PrivacyRequest) -> None:
    from .services import _locked, _transition

    if privacy_request.notices.exclude(status__in=DeletionNotice.DONE).exists():
        return
    privacy_request = _locked(privacy_request)
    if privacy_request.status == PrivacyRequest.Status.PROPAGATING:
        _transition(privacy_request, PrivacyRequest.Status.COMPLETED, RequestEvent.Action.COMPLETED)


def _staff_locked(notice: DeletionNotice) -> DeletionNotice:
    return (
        DeletionNotice.objects.select_for_update()
        .select_related("request", "recipient")
        .get(pk=notice.pk)
    )


@transaction.atomic
def notice_retry(*, notice: DeletionNotice, actor) -> DeletionNotice:
    notice = _staff_locked(notice)
    if notice.status not in (Status.FAILED, Status.DELIVERED):
        raise PropagationError(_("Only a failed or unconfirmed notice can be sent again."))
    if not notice.recipient.endpoint:
        raise PropagationError(_("This recipient has no endpoint: send the notice by hand."))
    notice.status = Status.PENDING
    notice.attempts = 0
    notice.next_attempt_at = timezone.now()
    notice.save(update_fields=["status", "attempts", "next_attempt_at"])
    audit_record(actor=actor, action="deletion_notice.retried", target=notice)
    transaction.on_commit(lambda: queue_notices([notice.pk]))
    return notice


@transaction.atomic
def notice_mark_sent(*, notice: DeletionNotice, actor, note: str) -> DeletionNotice:
    """For a recipient without an endpoint: staff sent the notice by hand, with evidence."""
    notice = _staff_locked(notice)
    if notice.status != Status.MANUAL:
        raise PropagationError(_("Only a notice to be sent by hand can be marked as sent."))
    if not note.strip():
        raise PropagationError(_("Note how and when the notice was sent."))
    notice.status = Status.MANUAL_SENT
    notice.staff_note = note.strip()
    notice.save(update_fields=["status", "staff_note"])
    audit_record(actor=actor, action="deletion_notice.sent_by_hand", target=notice)
    _request_event(notice, RequestEvent.Action.NOTICE_SENT_BY_HAND, actor=actor)
    _complete_if_done(notice.request)
    return notice


@transaction.atomic
def notice_close(*, notice: DeletionNotice, actor, reason: str) -> DeletionNotice:
    notice = _staff_locked(notice)
    if notice.status in DeletionNotice.DONE:
        raise PropagationError(_("This notice is already finished."))
    if not reason.strip():
        raise PropagationError(_("Give the reason for closing the notice."))
    notice.status = Status.CLOSED
    notice.staff_note = reason.strip()
    notice.next_attempt_at = None
    notice.save(update_fields=["status", "staff_note", "next_attempt_at"])
    audit_record(actor=actor, action="deletion_notice.closed", target=notice, reason=reason.strip())
    _request_event(notice, RequestEvent.Action.NOTICE_CLOSED, actor=actor, note=reason.strip())
    _complete_if_done(notice.request)
    return notice
