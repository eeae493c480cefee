"""Writes for service tokens: made and revoked by staff, each with its audit row."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from privacyportal.errors import ServiceError
from privacyportal.services import audit_record

from .audit import AuditAction
from .auth import forget_token
from .models import Scope, ServiceToken
from .tokens import VISIBLE_CHARS, token_digest, token_new


class TokenError(ServiceError):
    """A token not made, with the reason for staff."""


@transaction.atomic
def service_token_create(*, service: str, scopes: list[str], actor) -> tuple[ServiceToken, str]:
    """A new token for ``service``; returns the row and the plaintext, which nothing keeps."""
    service = service.strip()
    if not service:
        raise TokenError(_("Name the service that will use the token."))
    scopes = sorted(set(scopes))
    if not scopes or not set(scopes) <= set(Scope.values):
        raise TokenError(_("Choose one or more of the scopes."))
    if (
        ServiceToken.objects.select_for_update()
        .filter(service=service, revoked_at__isnull=True)
        .exists()
    ):
        raise TokenError(
            _("%(service)s already has a live token: revoke it first.") % {"service": service}
        )
    plaintext = token_new()
    token = ServiceToken.objects.create(
        service=service,
        prefix=plaintext[:VISIBLE_CHARS],
        digest=token_digest(plaintext),
        scopes=scopes,
        created_at=timezone.now(),
        created_by=actor if actor is not None and actor.pk else None,
    )
    audit_record(
        actor=actor,
        action=AuditAction.SERVICE_TOKEN_CREATED,
        target=token,
        service=service,
        prefix=token.prefix,
        scopes=scopes,
    )
    return token, plaintext


@transaction.atomic
def service_token_revoke(*, token: ServiceToken, actor) -> ServiceToken:
    """Stop a token at once, in every process; revoking a revoked token changes nothing."""
    token = ServiceToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is not None:
        return token
    token.revoked_at = timezone.now()
    token.revoked_by = actor if actor is not None and actor.pk else None
    token.save(update_fields=["revoked_at", "revoked_by"])
    audit_record(
        actor=actor,
        action=AuditAction.SERVICE_TOKEN_REVOKED,
        target=token,
        service=token.service,
        prefix=token.prefix,
    )
    digest = token.digest
    transaction.on_commit(lambda: forget_token(digest))
    return token
