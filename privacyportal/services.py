"""The kernel's writes: the audit row every change leaves, and the staff desk's second
factor reset (the desk's sign-in itself is ``privacyportal.staff_access``)."""

from allauth.mfa.models import Authenticator
from django.db import models, transaction

from .audit import AuditAction, audit_actions
from .models import AuditEntry


def audit_record(*, actor, action: str, target: models.Model, user=None, **details) -> AuditEntry:
    """Write an audit row; call it inside the transaction that makes the change.

    ``action`` comes from the fixed list (``privacyportal.audit``); ``user`` is the account
    the change concerns (the requester, the consenting user, the account edited), when
    there is one.
    """
    return AuditEntry.objects.create(
        actor=actor if actor is not None and actor.pk else None,
        action=audit_actions.check(action),
        user=user if user is not None and user.pk else None,
        target_type=target._meta.label_lower,
        target_id=str(target.pk),
        details=details,
    )


@transaction.atomic
def second_factor_reset(*, user, actor) -> int:
    """Remove every authenticator of ``user`` (a lost phone): at the next visit to the desk they
    set up a new one, after their password. Returns how many went; the audit row says which."""
    authenticators = Authenticator.objects.select_for_update().filter(user=user)
    types = sorted(authenticators.values_list("type", flat=True))
    removed, _ = authenticators.delete()
    audit_record(actor=actor, action=AuditAction.MFA_RESET, target=user, user=user, removed=types)
    return removed
