"""The register of recipients (policy 3.1): who receives users' data, of which categories,
and where their deletion notices go. Every change an officer makes is audited, because the
register decides what users are told about sharing and where notices are sent."""

from __future__ import annotations

import secrets

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from privacyportal.errors import ServiceError
from privacyportal.services import audit_record

from .audit import AuditAction
from .models import Recipient

# The fields whose before and after the audit row keeps (the secret never).
AUDITED_FIELDS = ("name", "contact", "endpoint", "is_active")


class RegisterError(ServiceError):
    """A refused change to the register, with the reason for staff."""


def recipient_has_records(recipient: Recipient) -> bool:
    """Whether users' data went to this recipient: its disclosures and notices are then the
    record of who received what, and the recipient stays (deactivated, not deleted)."""
    return recipient.disclosures.exists() or recipient.notices.exists()


def _category_codes(recipient: Recipient) -> list[str]:
    return sorted(recipient.data_categories.values_list("code", flat=True))


@transaction.atomic
def recipient_save(*, recipient: Recipient, actor, categories=None) -> Recipient:
    """Add a recipient or change one; ``categories``, when given, replace its data categories.

    The audit row keeps what changed, before and after, categories included.
    """
    creating = recipient.pk is None
    before = (
        {}
        if creating
        else {
            **Recipient.objects.select_for_update().values(*AUDITED_FIELDS).get(pk=recipient.pk),
            "categories": _category_codes(recipient),
        }
    )
    recipient.full_clean()
    recipient.save()
    if categories is not None:
        recipient.data_categories.set(categories)
    after = {
        **{name: getattr(recipient, name) for name in AUDITED_FIELDS},
        "categories": _category_codes(recipient),
    }
    changes = {
        name: {"from": before.get(name), "to": value}
        for name, value in after.items()
        if creating or before.get(name) != value
    }
    audit_record(
        actor=actor,
        action=AuditAction.RECIPIENT_ADDED if creating else AuditAction.RECIPIENT_CHANGED,
        target=recipient,
        changes=changes,
    )
    return recipient


def recipient_check_deletable(recipient: Recipient) -> None:
    """Raise ``RegisterError`` when the recipient received data and so must stay."""
    if recipient_has_records(recipient):
        raise RegisterError(
            _(
                "“%(name)s” cannot be deleted: its disclosures and deletion notices are the "
                "record of who received users' data. Untick “active” instead."
            )
            % {"name": recipient.name},
            "has_records",
        )


@transaction.atomic
def recipient_delete(*, recipient: Recipient, actor) -> None:
    """Delete a recipient entered by mistake; one that received data cannot go."""
    recipient = Recipient.objects.select_for_update().get(pk=recipient.pk)
    recipient_check_deletable(recipient)
    audit_record(
        actor=actor,
        action=AuditAction.RECIPIENT_DELETED,
        target=recipient,
        name=recipient.name,
        categories=_category_codes(recipient),
    )
    recipient.delete()


@transaction.atomic
def recipient_secret_set(*, recipient: Recipient, actor) -> str:
    """A new signing secret; the caller shows it once, nothing shows it again."""
    secret = secrets.token_urlsafe(32)
    recipient.secret = secret
    recipient.secret_set_at = timezone.now()
    recipient.save(update_fields=["secret", "secret_set_at"])
    audit_record(actor=actor, action=AuditAction.RECIPIENT_SECRET_SET, target=recipient)
    return secret
