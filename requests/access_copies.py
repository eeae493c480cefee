"""The state of an access copy: claimed for building, its progress, ready (which
completes the request and texts the user) or failed. The builder
(``requests.access_copy``) and the sweep call these; each is one short transaction."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .lifecycle import Sms, event_record, request_lock, request_transition
from .models import AccessCopy, PrivacyRequest, RequestEvent
from .timeline import Note, local_time

Status = PrivacyRequest.Status
Action = RequestEvent.Action


# How long the user can download a ready copy.
COPY_LIFETIME = timedelta(days=7)


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
        privacy_request = request_lock(copy.request)
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
        request_transition(
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
        privacy_request = request_lock(copy.request)
        updated = AccessCopy.objects.filter(pk=copy_id, status=AccessCopy.Status.BUILDING).update(
            status=AccessCopy.Status.FAILED, error=error
        )
        if updated:
            # Staff-only detail goes in details; the user's timeline shows only the action.
            event_record(
                privacy_request, Action.COPY_FAILED, details={"copy": copy_id, "error": error}
            )
