from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Scope(models.TextChoices):
    CONSENT_READ = "consent:read", _("Check consents")
    DISCLOSURE_WRITE = "disclosure:write", _("Record disclosures")
    ACTIVITY_WRITE = "activity:write", _("Record browsing and search activity")


def validate_scopes(value) -> None:
    from django.core.exceptions import ValidationError

    if (
        not isinstance(value, list)
        or not value
        or len(set(value)) != len(value)
        or not set(value) <= set(Scope.values)
    ):
        raise ValidationError(_("Choose one or more of the scopes."), code="invalid_scopes")


class ServiceToken(models.Model):
    """What lets one internal service (the shop, the search…) call the API.

    Only the SHA-256 digest of the token is kept: the plaintext is shown once, when it
    is made. The token is 256 random bits, so a plain fast hash is enough (no salt or
    slow hash: those defend guessable secrets such as passwords, and there is nothing
    to guess here), and a fast hash is what lets every call be checked in microseconds.
    """

    service = models.CharField(
        _("service"),
        max_length=100,
        help_text=_("The calling service, as it appears in the logs (e.g. shop, search)."),
    )
    # The first characters of the token: enough to tell tokens apart in lists and logs,
    # far too few to use.
    prefix = models.CharField(_("token prefix"), max_length=16, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    # A list rather than a PostgreSQL array, so the embedded SQLite default works too.
    scopes = models.JSONField(_("scopes"), validators=[validate_scopes])
    created_at = models.DateTimeField(_("created"), editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        editable=False,
        verbose_name=_("created by"),
    )
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("revoked by"),
    )
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("service token")
        verbose_name_plural = _("service tokens")
        ordering = ["service", "-created_at"]
        constraints = [
            # One live token per service, so the service name in the logs is one caller;
            # a revoked token's name can be used again (rotation: revoke, then create).
            models.UniqueConstraint(
                fields=["service"],
                condition=Q(revoked_at__isnull=True),
                name="one_live_token_per_service",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service} ({self.prefix}…)"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
