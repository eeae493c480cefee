"""Writes to privacy requests: filing, the lifecycle state machine, deletions,
corrections and legal holds. Every change writes its timeline event in the same
transaction; the user is told by SMS of every change of status."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.services import user_close
from privacyportal.registry import registry
from privacyportal.services import audit_record
from privacyportal.sms import queue_sms, send_sms

from . import corrections, propagation, tombstones
from .deadlines import WORKING_DAYS, due_date
from .models import AccessCopy, DeletionTombstone, LegalHold, PrivacyRequest, RequestEvent
from .timeline import Note, local_time

logger = logging.getLogger(__name__)

Status = PrivacyRequest.Status
Kind = PrivacyRequest.Kind
Action = RequestEvent.Action

# A code entered longer ago than this no longer proves who is filing.
VERIFICATION_FRESHNESS = timedelta(minutes=10)

TRANSITIONS: dict[str, set[str]] = {
    Status.SUBMITTED: {Status.IN_PROGRESS, Status.REJECTED, Status.WITHDRAWN},
    Status.IN_PROGRESS: {Status.COMPLETED, Status.REJECTED, Status.WITHDRAWN, Status.PROPAGATING},
    Status.PROPAGATING: {Status.COMPLETED},
}
CLOSED = {Status.COMPLETED, Status.REJECTED, Status.WITHDRAWN}


class RequestError(Exception):
    """A refused change, with a message for the person who asked."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


def _locked(privacy_request: PrivacyRequest) -> PrivacyRequest:
    return PrivacyRequest.objects.select_for_update().get(pk=privacy_request.pk)


class Sms:
    """What a status SMS says changed; each names its values (``_sms_body`` fills them)."""

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


def _sms_body(privacy_request: PrivacyRequest, change, **values) -> str:
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


def _notify(privacy_request: PrivacyRequest, change, *, phone: str | None = None, **values):
    """Text the requester what changed, once the transaction commits."""
    phone = phone or (privacy_request.user.phone.as_e164 if privacy_request.user.phone else None)
    if not phone:
        return
    queue_sms(to=phone, body=_sms_body(privacy_request, change, **values))


def _event(
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


def _transition(
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
    event = _event(
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
        _notify(privacy_request, sms, phone=phone, **(sms_values or {}))
    return event


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
    _event(
        privacy_request, Action.SUBMITTED, actor=user, to_status=Status.SUBMITTED, from_status=""
    )
    if kind == Kind.ACCESS:
        # A copy needs no one's decision: the worker builds it at once. Its "in progress"
        # text is sent by that same task before the build is queued, so the "ready" text,
        # sent when the build ends, can never arrive first (two SMS tasks could overtake
        # each other on two worker processes, or through a retry).
        copy = AccessCopy.objects.create(request=privacy_request)
        _transition(privacy_request, Status.IN_PROGRESS, Action.STARTED)
        from .tasks import start_access_copy_task

        transaction.on_commit(lambda: start_access_copy_task.delay(copy.pk))
    else:
        _notify(privacy_request, Sms.FILED)
    return privacy_request


@transaction.atomic
def request_withdraw(*, privacy_request: PrivacyRequest, user) -> PrivacyRequest:
    privacy_request = _locked(privacy_request)
    if privacy_request.user_id != user.pk:
        raise RequestError(_("This is not your request."))
    _transition(privacy_request, Status.WITHDRAWN, Action.WITHDRAWN, actor=user, sms=Sms.WITHDRAWN)
    return privacy_request


# --- the staff desk -------------------------------------------------------------------------


@transaction.atomic
def request_assign(*, privacy_request: PrivacyRequest, assignee, actor) -> PrivacyRequest:
    privacy_request = _locked(privacy_request)
    if not privacy_request.is_open:
        raise RequestError(_("Only an open request can be assigned."))
    privacy_request.assignee = assignee
    privacy_request.save(update_fields=["assignee"])
    _event(privacy_request, Action.ASSIGNED, actor=actor, details={"assignee": assignee.pk})
    return privacy_request


@transaction.atomic
def request_start(*, privacy_request: PrivacyRequest, actor) -> PrivacyRequest:
    privacy_request = _locked(privacy_request)
    if privacy_request.assignee_id is None:
        privacy_request.assignee = actor
    _transition(privacy_request, Status.IN_PROGRESS, Action.STARTED, actor=actor, sms=Sms.STARTED)
    return privacy_request


@transaction.atomic
def request_extend(*, privacy_request: PrivacyRequest, actor, reason: str) -> PrivacyRequest:
    """Push the deadline back once, by up to another 15 working days; the user sees why."""
    privacy_request = _locked(privacy_request)
    if not privacy_request.is_open:
        raise RequestError(_("Only an open request can be extended."))
    if privacy_request.extended_to:
        raise RequestError(_("The deadline was already extended once."))
    if not reason.strip():
        raise RequestError(_("Give the reason for the extension; the user will see it."))
    privacy_request.extended_to = due_date(privacy_request.due_on, working_days=WORKING_DAYS)
    privacy_request.extension_reason = reason.strip()
    privacy_request.save(update_fields=["extended_to", "extension_reason"])
    _event(
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
    _notify(privacy_request, Sms.EXTENDED)
    return privacy_request


@transaction.atomic
def request_reject(
    *, privacy_request: PrivacyRequest, actor, reason: str, text: str = ""
) -> PrivacyRequest:
    """Refuse, always with a reason from the list (and words), and how to complain."""
    privacy_request = _locked(privacy_request)
    if reason not in PrivacyRequest.RejectionReason.values:
        raise RequestError(_("Choose the reason for the rejection."))
    if reason == PrivacyRequest.RejectionReason.OTHER and not text.strip():
        raise RequestError(_("Explain the reason for the rejection."))
    privacy_request.rejection_reason = reason
    privacy_request.answer = text.strip()
    _transition(
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
    privacy_request = _locked(privacy_request)
    if privacy_request.kind in (Kind.DELETION, Kind.ACCESS):
        raise RequestError(_("Deletions complete when approved, copies when they are ready."))
    if not answer.strip():
        raise RequestError(_("Write the answer the user will see."))
    privacy_request.answer = answer.strip()
    _transition(
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
    privacy_request = _locked(privacy_request)
    field = corrections.FIELDS.get(privacy_request.correction_field)
    if privacy_request.kind != Kind.CORRECTION or field is None or field.apply is None:
        raise RequestError(_("This request has no value the desk can apply; answer it instead."))
    if privacy_request.status != Status.IN_PROGRESS:
        raise RequestError(_("Start the request before applying the correction."))
    user = privacy_request.user
    old = field.current(user)
    field.apply(user=user, value=privacy_request.correction_value, actor=actor)
    _event(
        privacy_request,
        Action.CORRECTION_APPLIED,
        actor=actor,
        details={"field": field.code, "old": old, "new": privacy_request.correction_value},
    )
    _transition(
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
            locked = _locked(privacy_request)
            _event(locked, Action.DELETION_HELD, actor=actor, note=hold.reason)
        raise RequestError(
            _("A legal hold stops erasure for this user: %(reason)s") % {"reason": hold.reason}
        )
    return _deletion_execute(privacy_request=privacy_request, actor=actor)


@transaction.atomic
def _deletion_execute(*, privacy_request: PrivacyRequest, actor) -> PrivacyRequest:
    privacy_request = _locked(privacy_request)
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
    _transition(
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

# How long the user can download a ready copy.
COPY_LIFETIME = timedelta(days=7)


def _local(moment: datetime) -> str:
    return local_time(moment)


# A build running longer than this belonged to a worker that was killed.
ACCESS_COPY_STALE_AFTER = timedelta(minutes=30)


def _claimable(copy: AccessCopy) -> bool:
    if copy.status in (AccessCopy.Status.PENDING, AccessCopy.Status.FAILED):
        return True
    return (
        copy.status == AccessCopy.Status.BUILDING
        and copy.building_since is not None
        and copy.building_since < timezone.now() - ACCESS_COPY_STALE_AFTER
    )


def access_copies_due() -> list[int]:
    """Copies that should be building but are not: queued ones whose message was lost,
    and builds whose worker died. The periodic sweep queues them again."""
    now = timezone.now()
    return list(
        AccessCopy.objects.filter(request__status=Status.IN_PROGRESS)
        .filter(
            Q(status=AccessCopy.Status.PENDING, request__created_at__lt=now - timedelta(minutes=5))
            | Q(status=AccessCopy.Status.BUILDING, building_since__lt=now - ACCESS_COPY_STALE_AFTER)
        )
        .values_list("pk", flat=True)
    )


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
        send_sms(to=phone.as_e164, body=_sms_body(privacy_request, Sms.COPY_STARTED))
    except Exception:
        logger.warning(
            "The 'copy in progress' SMS for copy %s was not sent", copy_id, exc_info=True
        )
        return False
    return True


def access_copy_claim(copy_id: int) -> AccessCopy | None:
    """Take a pending or failed copy for building; None when there is nothing to do.

    Nothing to do: the copy is gone, another worker holds its row right now, it is
    being built elsewhere, it is already ready or expired, or its request was closed.
    """
    with transaction.atomic():
        copy = (
            AccessCopy.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("request__user")
            .filter(pk=copy_id)
            .first()
        )
        if copy is None or not _claimable(copy):
            return None
        if copy.request.status != Status.IN_PROGRESS:
            return None
        copy.status = AccessCopy.Status.BUILDING
        copy.building_since = timezone.now()
        copy.progress = 0
        copy.error = ""
        copy.save(update_fields=["status", "building_since", "progress", "error"])
    return copy


def access_copy_progress(copy_id: int, progress: int) -> None:
    """One autocommitted UPDATE: the page polling the copy sees it move."""
    AccessCopy.objects.filter(pk=copy_id, status=AccessCopy.Status.BUILDING).update(
        progress=progress
    )


def access_copy_mark_ready(*, copy_id: int, file_name: str, size: int, built_at: datetime) -> bool:
    """Ready, the request completed and the user told, in one transaction.

    False (and nothing changed) when the copy is no longer being built or its request
    was closed meanwhile (withdrawn while the copy was made): the caller discards the file.
    """
    with transaction.atomic():
        copy = AccessCopy.objects.select_related("request").get(pk=copy_id)
        privacy_request = _locked(copy.request)
        copy = AccessCopy.objects.select_for_update().get(pk=copy_id)
        if copy.status != AccessCopy.Status.BUILDING:
            return False
        if privacy_request.status != Status.IN_PROGRESS:
            copy.status = AccessCopy.Status.FAILED
            copy.error = "The request was closed before the copy was ready; the copy was discarded."
            copy.save(update_fields=["status", "error"])
            return False
        expires_at = built_at + COPY_LIFETIME
        copy.status = AccessCopy.Status.READY
        copy.file.name = file_name
        copy.size = size
        copy.progress = 100
        copy.built_at = built_at
        copy.expires_at = expires_at
        copy.error = ""
        copy.save()
        _transition(
            privacy_request,
            Status.COMPLETED,
            Action.COPY_READY,
            note_code=Note.COPY_READY,
            note_params={"expires_at": expires_at.isoformat()},
            details={"copy": copy.pk, "size": size, "expires_at": expires_at.isoformat()},
            sms=Sms.COPY_READY,
            sms_values={"until": local_time(expires_at)},
        )
    return True


def access_copy_mark_failed(*, copy_id: int, error: str) -> None:
    """Failed, with a staff-visible timeline event; the error must name no personal data."""
    with transaction.atomic():
        copy = AccessCopy.objects.select_related("request").get(pk=copy_id)
        privacy_request = _locked(copy.request)
        updated = AccessCopy.objects.filter(pk=copy_id, status=AccessCopy.Status.BUILDING).update(
            status=AccessCopy.Status.FAILED, error=error
        )
        if updated:
            # Staff-only detail goes in details; the user's timeline shows only the action.
            _event(privacy_request, Action.COPY_FAILED, details={"copy": copy_id, "error": error})


# --- legal holds ------------------------------------------------------------------------------


@transaction.atomic
def legal_hold_set(*, user, reason: str, actor) -> LegalHold:
    if not reason.strip():
        raise RequestError(_("Give the reason for the legal hold."))
    type(user).objects.select_for_update().get(pk=user.pk)
    if active_hold(user) is not None:
        raise RequestError(_("This user already has an active legal hold."))
    hold = LegalHold.objects.create(user=user, reason=reason.strip(), set_by=actor)
    audit_record(actor=actor, action="legal_hold.set", target=hold, user=user.pk)
    return hold


@transaction.atomic
def legal_hold_release(*, hold: LegalHold, actor) -> LegalHold:
    hold = LegalHold.objects.select_for_update().get(pk=hold.pk)
    if hold.released_at is not None:
        raise RequestError(_("This legal hold was already released."))
    hold.released_at = timezone.now()
    hold.released_by = actor
    hold.save(update_fields=["released_at", "released_by"])
    audit_record(actor=actor, action="legal_hold.released", target=hold, user=hold.user_id)
    return hold
