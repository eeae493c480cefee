"""Recipients and deletion notices (DESIGN §2 "Deletion and propagation").

An approved deletion creates one notice per recipient that received data in the
deletion's scope, naming only those categories, in the deletion's transaction. A worker posts each notice as signed JSON,
shaped after the OpenDSR erasure request; the recipient confirms through a signed
callback, shaped after the OpenDSR status callback. The notice row decides what
happens next (``next_attempt_at``): a lost message, a killed worker or a flushed
broker only delay a notice until the sweep queues it again.

The disclosures they follow are recorded by ``requests.disclosures``. The rows are kept
here; posting over HTTP (the message, its signature, the client) is
``requests.delivery``, and the request's status changes go through ``requests.lifecycle``.
"""

from __future__ import annotations

import hmac
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from privacyportal.errors import ServiceError
from privacyportal.registry import registry
from privacyportal.services import audit_record

from .audit import AuditAction

# The wire format (the headers, the body and its signature) is named through this module
# too, by the callback view and the tests that play a recipient: re-exported on purpose.
from .delivery import ATTEMPT_HEADER as ATTEMPT_HEADER
from .delivery import SIGNATURE_HEADER as SIGNATURE_HEADER
from .delivery import TIMESTAMP_HEADER as TIMESTAMP_HEADER
from .delivery import Outcome, backoff, batch_size, callback_sign, pool, post
from .delivery import notice_body as notice_body
from .delivery import sign as sign
from .lifecycle import Sms, event_record, request_lock, request_transition
from .models import (
    DeletionNotice,
    Disclosure,
    NoticeAttempt,
    NoticeCallback,
    PrivacyRequest,
    Recipient,
    RequestEvent,
)
from .tasks import deliver_notices_task
from .timeline import Note

logger = logging.getLogger(__name__)
Status = DeletionNotice.Status


class PropagationError(ServiceError):
    """A refused change to a notice or a recipient, with the reason for staff."""


class SignatureInvalid(Exception):
    """The callback was not signed with the recipient's secret, or not within the time
    window: nothing changes."""


class CallbackRefused(Exception):
    """A correctly signed callback that cannot count (again): nothing changes."""


# --- creating notices ------------------------------------------------------------------------


def scope_categories(privacy_request: PrivacyRequest) -> set[str] | None:
    """The data categories a deletion covers (each kind's registration says which its
    erasure touches); None for the whole account, or a kind that does not say: every one."""
    if privacy_request.whole_account:
        return None
    codes: set[str] = set()
    for code in privacy_request.scope_kinds:
        categories = registry.get(code).erased_categories
        if categories is None:
            return None
        codes.update(categories)
    return codes


@dataclass(frozen=True)
class PlannedNotice:
    """Who a deletion tells, of which categories, and by which identifiers."""

    recipient: Recipient
    categories: tuple[str, ...]
    subject_identifiers: tuple[str, ...]


def deletion_notice_plan(*, privacy_request: PrivacyRequest) -> list[PlannedNotice]:
    """The recipients to tell: those that received (per the disclosures ledger) at least one
    category in the deletion's scope, each with only those categories, and the identifiers
    of the disclosures that carried them. The approval page shows this same plan."""
    in_scope = scope_categories(privacy_request)
    by_recipient: dict[int, dict] = {}
    rows = Disclosure.objects.filter(user_id=privacy_request.user_id).values_list(
        "recipient_id", "subject_identifier", "categories__code"
    )
    for recipient_id, identifier, category in rows:
        if category is None or (in_scope is not None and category not in in_scope):
            continue
        entry = by_recipient.setdefault(recipient_id, {"ids": set(), "categories": set()})
        entry["ids"].add(identifier)
        entry["categories"].add(category)
    recipients = Recipient.objects.in_bulk(list(by_recipient))
    return [
        PlannedNotice(
            recipient=recipients[recipient_id],
            categories=tuple(sorted(entry["categories"])),
            subject_identifiers=tuple(sorted(entry["ids"])),
        )
        for recipient_id, entry in sorted(by_recipient.items())
    ]


def deletion_notices_create(*, privacy_request: PrivacyRequest) -> list[DeletionNotice]:
    """A notice for each recipient of the plan; call inside the deletion's transaction."""
    plan = deletion_notice_plan(privacy_request=privacy_request)
    if not plan:
        return []
    now = timezone.now()
    notices = [
        DeletionNotice(
            request=privacy_request,
            recipient=planned.recipient,
            status=Status.PENDING if planned.recipient.endpoint else Status.MANUAL,
            categories=list(planned.categories),
            subject_identifiers=list(planned.subject_identifiers),
            next_attempt_at=now if planned.recipient.endpoint else None,
        )
        for planned in plan
    ]
    DeletionNotice.objects.bulk_create(notices)
    due = [n.pk for n in notices if n.status == Status.PENDING]
    transaction.on_commit(lambda: queue_notices(due))
    return notices


def queue_notices(notice_ids) -> None:
    """Queue delivery in batches (one message, one claim, one recording per batch)."""
    ids = list(notice_ids)
    size = batch_size()
    for start in range(0, len(ids), size):
        deliver_notices_task.delay(ids[start : start + size])


# --- delivering ---------------------------------------------------------------------------------


# What a post needs (``notice_body``, the signature, the endpoint): a batch loads no more.
_POSTED_FIELDS = (
    "idempotency_key",
    "created_at",
    "categories",
    "subject_identifiers",
    "attempts",
    "attempt_number",
    "recipient__name",
    "recipient__endpoint",
    "recipient__secret",
    "request__reference",
)


def _claim(notice_ids: list[int]) -> list[DeletionNotice]:
    """Take the due notices among these, skipping those another worker holds, and lease
    them for the attempt: if this worker dies mid-attempt they are due again after it."""
    now = timezone.now()
    with transaction.atomic():
        notices = list(
            DeletionNotice.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("recipient", "request")
            .only(*_POSTED_FIELDS)
            .filter(pk__in=notice_ids, status=Status.PENDING, next_attempt_at__lte=now)
            .order_by("pk")
        )
        if not notices:
            return []
        lease = now + timedelta(seconds=settings.NOTICE_LEASE)
        DeletionNotice.objects.filter(pk__in=[notice.pk for notice in notices]).update(
            attempts=F("attempts") + 1,
            attempt_number=F("attempt_number") + 1,
            next_attempt_at=lease,
        )
    for notice in notices:
        notice.attempts += 1
        notice.attempt_number += 1
        notice.next_attempt_at = lease
    return notices


def notices_deliver(notice_ids) -> dict[int, str]:
    """Post the due notices among these and record what happened: {notice id: new status}.

    At most ``batch_size()`` notices are claimed, posted and recorded at a time.
    """
    ids = list(notice_ids)
    statuses: dict[int, str] = {}
    size = batch_size()
    for start in range(0, len(ids), size):
        notices = _claim(ids[start : start + size])
        if notices:
            statuses.update(_record(list(pool().map(post, notices))))
    return statuses


@transaction.atomic
def _record(outcomes: list[Outcome]) -> dict[int, str]:
    # The notice rows only: the request's row is not needed here, and locking it would make
    # every worker recording outcomes for the same deletion wait for the others.
    notices = {
        notice.pk: notice
        for notice in DeletionNotice.objects.select_for_update()
        .only("status", "attempts")
        .filter(pk__in=[outcome.notice_id for outcome in outcomes])
        .order_by("pk")
    }
    NoticeAttempt.objects.bulk_create(
        NoticeAttempt(
            notice_id=outcome.notice_id,
            started_at=outcome.started,
            status_code=outcome.status_code,
            error=outcome.error,
            duration_ms=outcome.duration,
        )
        for outcome in outcomes
    )
    now = timezone.now()
    delivered, retried = [], []
    for outcome in outcomes:
        notice = notices[outcome.notice_id]
        if notice.status != Status.PENDING:
            # Confirmed (or closed by staff) while this attempt ran: nothing more to do.
            continue
        if not outcome.error:
            notice.status = Status.DELIVERED
            delivered.append(notice.pk)
            continue
        if notice.attempts >= settings.NOTICE_MAX_ATTEMPTS:
            notice.status = Status.FAILED
            notice.next_attempt_at = None
            transaction.on_commit(partial(_alert_officers, notice.pk))
        else:
            delay = backoff(notice.attempts)
            notice.next_attempt_at = now + delay
            if delay <= RETRY_BY_MESSAGE_WITHIN:
                transaction.on_commit(partial(_queue_retry, notice.pk, delay))
        notice.last_error = outcome.error
        retried.append(notice)
    # Delivered notices all change alike: one UPDATE. Failures differ (each its own backoff)
    # and are few; bulk_update's CASE per row would cost more than the rest of the batch.
    DeletionNotice.objects.filter(pk__in=delivered).update(
        status=Status.DELIVERED, delivered_at=now, next_attempt_at=None, last_error=""
    )
    if retried:
        DeletionNotice.objects.bulk_update(retried, ["status", "next_attempt_at", "last_error"])
    return {notice_id: notice.status for notice_id, notice in notices.items()}


# A retry due within this is queued at once with a countdown (the worker holds the message
# until then); a later one is left to the sweep, which queues it when it falls due. Either
# way the row decides: a retry message that finds the notice not due does nothing.
RETRY_BY_MESSAGE_WITHIN = timedelta(minutes=10)


def _queue_retry(notice_id: int, delay: timedelta) -> None:
    deliver_notices_task.apply_async(([notice_id],), countdown=delay.total_seconds())


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


def _header_number(value) -> str:
    """A header that must be a plain decimal number (it is signed as sent)."""
    value = value or ""
    if not (0 < len(value) <= 20 and value.isascii() and value.isdigit()):
        raise SignatureInvalid
    return value


def notice_acknowledge(
    *, key, body: bytes, signature: str, timestamp: str, attempt: str
) -> DeletionNotice:
    """The recipient's signed status callback. It counts once, within
    ``NOTICE_CALLBACK_MAX_AGE`` of the time it signs, and only for an attempt made since
    staff last sent the notice again; anything else changes nothing."""
    timestamp, attempt = _header_number(timestamp), _header_number(attempt)
    with transaction.atomic():
        notice = (
            DeletionNotice.objects.select_for_update()
            .select_related("recipient", "request")
            .filter(idempotency_key=key)
            .first()
        )
        if notice is None or not notice.recipient.secret:
            raise SignatureInvalid
        # As bytes: compare_digest refuses a str with non-ASCII characters (a TypeError, a 500).
        expected = callback_sign(
            body, notice.recipient.secret, timestamp=timestamp, attempt=attempt
        ).encode()
        if not hmac.compare_digest(expected, (signature or "").encode("utf-8", "replace")):
            raise SignatureInvalid
        now = timezone.now()
        if abs(now.timestamp() - int(timestamp)) > settings.NOTICE_CALLBACK_MAX_AGE:
            raise SignatureInvalid
        if not notice.confirm_from <= int(attempt) <= notice.attempt_number:
            raise CallbackRefused(_("This confirmation names an attempt that cannot be confirmed."))
        if NoticeCallback.objects.filter(signature=signature).exists():
            raise CallbackRefused(_("This confirmation was already received."))
        try:
            message = json.loads(body)
        except ValueError as exc:
            raise PropagationError(_("The body is not JSON.")) from exc
        if not isinstance(message, dict):
            raise PropagationError(_("The body is not a JSON object."))
        if message.get("subject_request_id") != str(notice.idempotency_key):
            raise PropagationError(_("The callback names another request."))
        request_status = message.get("request_status")
        NoticeCallback.objects.create(
            notice=notice,
            attempt=int(attempt),
            signed_at=datetime.fromtimestamp(int(timestamp), tz=UTC),
            received_at=now,
            request_status=str(request_status or "")[:32],
            signature=signature,
        )
        if request_status != "completed" or notice.status in DeletionNotice.DONE:
            return notice
        notice.status = Status.ACKNOWLEDGED
        notice.acknowledged_at = now
        notice.next_attempt_at = None
        notice.save(update_fields=["status", "acknowledged_at", "next_attempt_at"])
        _request_event(notice, RequestEvent.Action.NOTICE_ACKNOWLEDGED)
        _complete_if_done(notice.request)
        return notice


def _request_event(notice, action, *, actor=None, note=""):
    # Each of these events has a timeline message of the same name.
    event_record(
        notice.request,
        action,
        actor=actor,
        note=note,
        note_code=Note(action.value),
        note_params={"recipient": notice.recipient.name},
        details={"recipient": notice.recipient.name},
    )


def _complete_if_done(privacy_request: PrivacyRequest) -> None:
    if privacy_request.notices.exclude(status__in=DeletionNotice.DONE).exists():
        return
    privacy_request = request_lock(privacy_request)
    if privacy_request.status == PrivacyRequest.Status.PROPAGATING:
        request_transition(
            privacy_request,
            PrivacyRequest.Status.COMPLETED,
            RequestEvent.Action.COMPLETED,
            sms=Sms.RECIPIENTS_TOLD,
        )


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
    # Confirmations of the attempts before this one no longer count.
    notice.confirm_from = notice.attempt_number + 1
    notice.next_attempt_at = timezone.now()
    notice.save(update_fields=["status", "attempts", "confirm_from", "next_attempt_at"])
    audit_record(
        actor=actor,
        action=AuditAction.DELETION_NOTICE_RETRIED,
        target=notice,
        user=notice.request.user,
    )
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
    audit_record(
        actor=actor,
        action=AuditAction.DELETION_NOTICE_SENT_BY_HAND,
        target=notice,
        user=notice.request.user,
    )
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
    audit_record(
        actor=actor,
        action=AuditAction.DELETION_NOTICE_CLOSED,
        target=notice,
        user=notice.request.user,
        reason=reason.strip(),
    )
    _request_event(notice, RequestEvent.Action.NOTICE_CLOSED, actor=actor, note=reason.strip())
    _complete_if_done(notice.request)
    return notice
