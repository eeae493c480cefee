from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditEntry(models.Model):
    """Who did what to which object, written in the same transaction as the change.

    Rows are only ever added (DESIGN §3, after Zulip's RealmAuditLog); the admin
    shows them read-only. Consents have their own ledger, requests their timeline.
    """

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    action = models.CharField(_("action"), max_length=64, db_index=True)
    target_type = models.CharField(_("object type"), max_length=64)
    target_id = models.CharField(_("object id"), max_length=64)
    occurred_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        ordering = ["-occurred_at", "-pk"]
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return f"{self.action} {self.target_type}#{self.target_id}"
