"""Reads for the API: who and what a call names, and what a polling recipient may see."""

from __future__ import annotations

import hmac
import time
from uuid import UUID

from django.contrib.auth import get_user_model
from django.db.models import Max

from consents.models import DataCategory
from requests.delivery import sign
from requests.models import DeletionNotice, Recipient

from .memory import memory

# How far a polling recipient's clock may be from ours.
POLL_CLOCK_SKEW = 300


def user_by_ref(*, user_id: int | None = None, phone: str | None = None):
    """The user a call names by id or by (E.164) mobile number; None when there is none."""
    users = get_user_model().objects
    if user_id is not None:
        return users.filter(pk=user_id).first()
    return users.filter(phone=phone).first()


def users_closed(*, user_ids: list[int]) -> dict[int, bool]:
    """Whether each existing account is closed; ids without an account are left out.

    From process memory when it can (``api.memory``; closing or deleting an account drops
    the entry, see ``api.signals``); only accounts that exist are remembered.
    """
    result = memory.get_many(user_ids)
    missing = [u for u in user_ids if u not in result]
    if missing:
        epoch = memory.epoch()
        for pk, closed_at in (
            get_user_model().objects.filter(pk__in=missing).values_list("pk", "closed_at")
        ):
            result[pk] = closed_at is not None
            memory.put(pk, result[pk], epoch)
    return result


def recipient_by_ref(*, ref: int | str) -> Recipient | None:
    if isinstance(ref, int):
        return Recipient.objects.filter(pk=ref).first()
    return Recipient.objects.filter(name=ref).first()


def categories_by_codes(*, codes: list[str]) -> tuple[list[DataCategory], list[str]]:
    """The categories found, and the codes that name none."""
    found = {c.code: c for c in DataCategory.objects.filter(code__in=codes)}
    return [found[c] for c in codes if c in found], [c for c in codes if c not in found]


def poll_message(*, key: UUID, timestamp: str) -> bytes:
    """What a polling recipient signs: the notice's key and the time, so a poll cannot be replayed
    later."""
    return f"{key}.{timestamp}".encode()


def notice_for_recipient(*, key: UUID, timestamp: str, signature: str) -> dict | None:
    """The state of a notice, for its recipient only (signed with its secret, recently).

    An unknown key and a bad signature both give None, so a caller cannot tell them apart.
    """
    try:
        skew = abs(time.time() - int(timestamp))
    except (ValueError, OverflowError):
        return None
    if skew > POLL_CLOCK_SKEW:
        return None
    notice = (
        DeletionNotice.objects.select_related("recipient")
        .annotate(last_attempt_at=Max("attempt_log__started_at"))
        .filter(idempotency_key=key)
        .first()
    )
    secret = notice.recipient.secret if notice is not None else ""
    expected = sign(poll_message(key=key, timestamp=timestamp), secret or "-")
    # Bytes: compare_digest refuses str with non-ASCII characters, which a header may carry.
    matches = hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))
    if not matches or notice is None or not secret:
        return None
    return {
        "subject_request_id": notice.idempotency_key,
        "status": notice.status,
        "attempts": notice.attempts,
        "created_at": notice.created_at,
        "last_attempt_at": notice.last_attempt_at,
        "delivered_at": notice.delivered_at,
        "acknowledged_at": notice.acknowledged_at,
        "subject_identities": notice.subject_identifiers,
        "categories": notice.categories,
    }
