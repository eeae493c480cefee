"""Writes to privacy requests: filing, the staff desk, deletions, corrections, the
"being prepared" text of a copy, and legal holds. Every change goes through the state
machine (``requests.lifecycle``): its timeline event in the same transaction, and an
SMS to the user of every change of status."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.services import user_close
from privacyportal.registry import registry
from privacyportal.services import audit_record
from privacyportal.sms import send_sms

from . import corrections, propagation, tombstones
from .audit import AuditAction
from .deadlines import WORKING_DAYS, due_date
from .lifecycle import (
    RequestError,
    Sms,
    event_record,
    request_lock,
    request_notify,
    request_transition,
    sms_body,
)
from .models import AccessCopy, DeletionTombstone, LegalHold, PrivacyRequest, RequestEvent
from .tasks import start_access_copy_task
from .timeline import Note

logger = logging.getLogger(__name__)

Status = PrivacyRequest.Status
Kind = PrivacyRequest.Kind
Action = RequestEvent.Action

# A code entered longer ago than this no longer proves who is filing.
VERIFICATION_FRESHNESS = timedelta(minutes=10)

# --- filing ------------------------------------------------------------------------------


def _check_fresh(verified_at: datetime | None) -> None:
    if verified_at is None or timezone.now() - verified_at > VERIFICATION_FRESHNESS:
        raise RequestError(_("Please confirm it is you with a new SMS code first."))


def request_validate(
    *,
    user,
    kind: str,
    details: str = "",
    ground: str = "",
    whole_account: bool = False,
    scope_kinds=(),
    correction_field: str = "",
    correction_value: str = "",
) -> list[str]:
    """Everything that makes a filing acceptable except the code; returns the deletion scope.

    The filing page calls it before sending a code, so a refusal costs no SMS.
    """
    if kind not in Kind.values:
        raise RequestError(_("Unknown kind of request."))
    if (
        kind == Kind.ACCESS
        and user.privacy_requests.filter(
            kind=Kind.ACCESS, status__in=PrivacyRequest.OPEN_STATUSES
        ).exists()
    ):
        raise RequestError(_("A copy of your data is already being prepared."))
    scope = []
    if kind == Kind.DELETION:
        if ground not in PrivacyRequest.Ground.values:
            raise RequestError(_("Choose the ground for the deletion (policy 4.2.1-4.2.5)."))
        known = {k.code for k in registry.kinds()}
        scope = [] if whole_account else sorted(set(scope_kinds))
        if not whole_account and (not scope or not set(scope) <= known):
            raise RequestError(_("Choose which data to delete, or the whole account."))
    if kind == Kind.CORRECTION:
        if correction_field not in corrections.FIELDS:
            raise RequestError(_("Choose what to correct."))
        if not correction_value.strip() and not details.strip():
            raise RequestError(_("Say what the correct value is."))
    if kind == Kind.QUESTION and not details.strip():
        raise RequestError(_("Write your question or complaint."))
    return scope


@transaction.atomic
def request_file(
    *,
    user,
    kind: str,
    verified_at: datetime | None = None,
    details: str = "",
    ground: str = "",
    whole_account: bool = False,
    scope_kinds=(),
    correction_field: str = "",
    correction_value: str = "",
) -> PrivacyRequest:
    """File a request. Access and deletion need a fresh SMS code (``verified_at``)."""
    if kind in (Kind.ACCESS, Kind.DELETION):
        _check_fresh(verified_at)
    scope = request_validate(
        user=user,
        kind=kind,
        details=details,
        ground=ground,
        whole_account=whole_account,
        scope_kinds=scope_kinds,
        correction_field=correction_field,
        correction_value=correction_value,
    )
    clock_start = verified_at or timezone.now()
    privacy_request = PrivacyRequest.objects.create(
        user=user,
        kind=kind,
        details=details.strip(),
        ground=ground if kind == Kind.DELETION else "",
        whole_account=whole_account if kind == Kind.DELETION else False,
        scope_kinds=scope,
        correction_field=correction_field if kind == Kind.CORRECTION else "",
        correction_value=correction_value.strip() if kind == Kind.CORRECTION else "",
        verified_at=verified_at,
        due_on=due_date(clock_start),
    )
    event_record(
        privacy_request, Action.SUBMITTED, actor=user, to_status=Status.SUBMITTED, from_status=""
    )
    if kind == Kind.ACCESS:
        # A copy needs no one's decision: the worker builds it at once. Its "in progress"
        # text is sent by that same task before the build is queued, so the "ready" text,
        # sent when the build ends, can never arrive first (two SMS tasks could overtake
        # each other on two worker processes, or through a retry).
        copy = AccessCopy.objects.create(request=privacy_request)
        request_transition(privacy_request, Status.IN_PROGRESS, Action.STARTED)
        transaction.on_commit(lambda: start_access_copy_task.delay(copy.pk))
    else:
        request_notify(privacy_request, Sms.FILED)
    return privacy_request


@transaction.atomic
def request_withdraw(*, privacy_request: PrivacyRequest, user) -> PrivacyRequest:
    privacy_request = request_lock(privacy_request)
    if privacy_request.user_id != user.pk:
        raise RequestError(_("This is not your request."))
    request_transition(
        privacy_request, Status.WITHDRAWN, Action.WITHDRAWN, actor=user, sms=Sms.WITHDRAWN
    )
    return privacy_request


# --- the staff desk -------------------------------------------------------------------------


@transaction.atomic
def request_assign(*, privacy_request: PrivacyRequest, assignee, actor) -> PrivacyRequest:
    privacy_request = request_lock(privacy_request)
    if not privacy_request.is_open:
        raise RequestError(_("Only an open request can be assigned."))
    privacy_request.assignee = assignee
    privacy_request.save(update_fields=["assignee"])
    event_record(privacy_request, Action.ASSIGNED, actor=actor, details={"assignee": assignee.pk})
    return privacy_request


@transaction.atomic
def request_start(*, privacy_request: PrivacyRequest, actor) -> PrivacyRequest:
    privacy_request = request_lock(privacy_request)
    if privacy_request.assignee_id is None:
        privacy_request.assignee = actor
    request_transition(
        privacy_request, Status.IN_PROGRESS, Action.STARTED, actor=actor, sms=Sms.STARTED
    )
    return privacy_request


@transaction.atomic
def request_extend(*, privacy_request: PrivacyRequest, actor, reason: str) -> PrivacyRequest:
    """Push the deadline back once, by up to another 15 working days; the user sees why."""
    privacy_request = request_lock(privacy_request)
    if not privacy_request.is_open:
        raise RequestError(_("Only an open request can be extended."))
    if privacy_request.extended_to:
        raise RequestError(_("The deadline was already extended once."))
    if not reason.strip():
        raise RequestError(_("Give the reason for the extension; the user will see it."))
    privacy_request.extended_to = due_date(privacy_request.due_on, working_days=WORKING_DAYS)
    privacy_request.extension_reason = reason.strip()
    privacy_request.save(update_fields=["extended_to", "extension_reason"])
    event_record(
        privacy_request,
        Action.EXTENDED,
        actor=actor,
        note=reason.strip(),
        note_code=Note.EXTENDED,
        note_params={"to": privacy_request.extended_to.isoformat()},
        details={
            "from": privacy_request.due_on.isoformat(),
            "to": privacy_request.extended_to.isoformat(),
        },
    )
    request_notify(privacy_request, Sms.EXTENDED)
    return privacy_request


@transaction.atomic
def request_reject(
    *, privacy_request: PrivacyRequest, actor, reason: str, text: str = ""
) -> PrivacyRequest:
    """Refuse, always with a reason from the list (and words), and how to complain."""
    privacy_request = request_lock(privacy_request)
    if reason not in PrivacyRequest.RejectionReason.values:
        raise RequestError(_("Choose the reason for the rejection."))
    if reason == PrivacyRequest.RejectionReason.OTHER and not text.strip():
        raise RequestError(_("Explain the reason for the rejection."))
    privacy_request.rejection_reason = reason
    privacy_request.answer = text.strip()
    request_transition(
        privacy_request,
        Status.REJECTED,
        Action.REJECTED,
        actor=actor,
        note=text.strip(),
        note_code=Note.REJECTED,
        note_params={"reason": reason},
        sms=Sms.REJECTED,
    )
    return privacy_request


@transaction.atomic
def request_complete(*, privacy_request: PrivacyRequest, actor, answer: str = "") -> PrivacyRequest:
    """Close a question or a correction of "other" data with an answer to the user."""
    privacy_request = request_lock(privacy_request)
    if privacy_request.kind in (Kind.DELETION, Kind.ACCESS):
        raise RequestError(_("Deletions complete when approved, copies when they are ready."))
    if not answer.strip():
        raise RequestError(_("Write the answer the user will see."))
    privacy_request.answer = answer.strip()
    request_transition(
        privacy_request,
        Status.COMPLETED,
        Action.COMPLETED,
        actor=actor,
        note=answer.strip(),
        sms=Sms.ANSWERED,
    )
    return privacy_request


@transaction.atomic
def correction_apply(*, privacy_request: PrivacyRequest, actor) -> PrivacyRequest:
    privacy_request = request_lock(privacy_request)
    field = corrections.FIELDS.get(privacy_request.correction_field)
    if privacy_request.kind != Kind.CORRECTION or field is None or field.apply is None:
        raise RequestError(_("This request has no value the desk can apply; answer it instead."))
    if privacy_request.status != Status.IN_PROGRESS:
        raise RequestError(_("Start the request before applying the correction."))
    user = privacy_request.user
    old = field.current(user)
    field.apply(user=user, value=privacy_request.correction_value, actor=actor)
    event_record(
        privacy_request,
        Action.CORRECTION_APPLIED,
        actor=actor,
        details={"field": field.code, "old": old, "new": privacy_request.correction_value},
    )
    request_transition(
        privacy_request,
        Status.COMPLETED,
        Action.COMPLETED,
        actor=actor,
        note_code=Note.CORRECTION_APPLIED,
        note_params={"field": field.code, "value": privacy_request.correction_value},
        sms=Sms.CORRECTED,
    )
    return privacy_request


def active_hold(user) -> LegalHold | None:
    return LegalHold.objects.filter(user=user, released_at__isnull=True).first()


def deletion_approve(*, privacy_request: PrivacyRequest, actor) -> PrivacyRequest:
    """Erase the scope in one transaction (DESIGN §2 step 1), or record why a hold stops it."""
    hold = active_hold(privacy_request.user)
    if hold is not None:
        with transaction.atomic():
            locked = request_lock(privacy_request)
            event_record(locked, Action.DELETION_HELD, actor=actor, note=hold.reason)
        raise RequestError(
            _("A legal hold stops erasure for this user: %(reason)s") % {"reason": hold.reason}
        )
    return _deletion_execute(privacy_request=privacy_request, actor=actor)


@transaction.atomic
def _deletion_execute(*, privacy_request: PrivacyRequest, actor) -> PrivacyRequest:
    privacy_request = request_lock(privacy_request)
    if privacy_request.kind != Kind.DELETION:
        raise RequestError(_("Only a deletion request can be approved for erasure."))
    if privacy_request.status != Status.IN_PROGRESS:
        raise RequestError(_("Start the request before approving the deletion."))
    user = privacy_request.user
    # Lock the user too: a hold set while this runs must not be missed.
    type(user).objects.select_for_update().get(pk=user.pk)
    if active_hold(user) is not None:
        raise RequestError(_("A legal hold was set meanwhile; nothing was erased."))
    kinds = (
        registry.kinds()
        if privacy_request.whole_account
        else [registry.get(code) for code in privacy_request.scope_kinds]
    )
    # Notices first: they copy what each recipient knows the user by before erasure.
    notices = propagation.deletion_notices_create(privacy_request=privacy_request)
    told = [
        {"recipient": notice.recipient.name, "categories": notice.categories}
        for notice in sorted(notices, key=lambda notice: notice.recipient.name)
    ]
    erased = {kind.code: kind.erase(user) for kind in kinds}
    tombstone = DeletionTombstone.objects.create(
        user_id=user.pk,
        request=privacy_request,
        whole_account=privacy_request.whole_account,
        kinds=[kind.code for kind in kinds],
    )
    transaction.on_commit(lambda: tombstones.journal_append(tombstone))
    # Read before closing the account erases it: the last text goes to this number.
    phone = user.phone.as_e164 if user.phone else None
    if privacy_request.whole_account:
        user_close(user=user)
        sms = Sms.ACCOUNT_CLOSED_TELLING if notices else Sms.ACCOUNT_CLOSED
    else:
        sms = Sms.ERASED_TELLING if notices else Sms.ERASED
    request_transition(
        privacy_request,
        Status.PROPAGATING if notices else Status.COMPLETED,
        Action.DELETION_APPROVED,
        actor=actor,
        note_code=Note.ERASED,
        note_params={
            "whole_account": privacy_request.whole_account,
            "kinds": [kind.code for kind in kinds],
            "notices": told,
        },
        details={"erased": erased, "notices": len(notices)},
        sms=sms,
        phone=phone,
    )
    return privacy_request


# --- access copies ---------------------------------------------------------------------------


def access_copy_announce(copy_id: int) -> bool:
    """Text the requester, now, that their copy is being prepared; False when it is not
    (the copy started already, or its request was closed) or the text could not be sent.

    Sent here and not queued: the build is queued only after this returns, so the
    "ready" text cannot overtake this one. A failure is logged, not raised: the copy must
    not wait for the SMS provider, and the "ready" text still follows.
    """
    copy = AccessCopy.objects.select_related("request__user").filter(pk=copy_id).first()
    if copy is None or copy.status != AccessCopy.Status.PENDING:
        return False
    privacy_request = copy.request
    phone = privacy_request.user.phone
    if privacy_request.status != Status.IN_PROGRESS or not phone:
        return False
    try:
        send_sms(to=phone.as_e164, body=sms_body(privacy_request, Sms.COPY_STARTED))
    except Exception:
        logger.warning(
            "The 'copy in progress' SMS for copy %s was not sent", copy_id, exc_info=True
        )
        return False
    return True


# --- legal holds ------------------------------------------------------------------------------


@transaction.atomic
def legal_hold_set(*, user, reason: str, actor) -> LegalHold:
    if not reason.strip():
        raise RequestError(_("Give the reason for the legal hold."))
    type(user).objects.select_for_update().get(pk=user.pk)
    if active_hold(user) is not None:
        raise RequestError(_("This user already has an active legal hold."))
    hold = LegalHold.objects.create(user=user, reason=reason.strip(), set_by=actor)
    audit_record(actor=actor, action=AuditAction.LEGAL_HOLD_SET, target=hold, user=user)
    return hold


@transaction.atomic
def legal_hold_release(*, hold: LegalHold, actor) -> LegalHold:
    hold = LegalHold.objects.select_for_update().get(pk=hold.pk)
    if hold.released_at is not None:
        raise RequestError(_("This legal hold was already released."))
    hold.released_at = timezone.now()
    hold.released_by = actor
    hold.save(update_fields=["released_at", "released_by"])
    audit_record(actor=actor, action=AuditAction.LEGAL_HOLD_RELEASED, target=hold, user=hold.user)
    return hold
