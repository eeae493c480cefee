"""The audit actions of the internal API: staff making and revoking service tokens."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    SERVICE_TOKEN_CREATED = "service_token.created", _("Service token created")
    SERVICE_TOKEN_REVOKED = "service_token.revoked", _("Service token revoked")
