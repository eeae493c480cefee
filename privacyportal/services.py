from django.db import models

from .models import AuditEntry


def audit_record(*, actor, action: str, target: models.Model, **details) -> AuditEntry:
    """Write an audit row; call it inside the transaction that makes the change."""
    return AuditEntry.objects.create(
        actor=actor if actor is not None and actor.pk else None,
        action=action,
        target_type=target._meta.label_lower,
        target_id=str(target.pk),
        details=details,
    )
