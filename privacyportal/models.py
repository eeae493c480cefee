from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditEntry(models.Model):
    """Who did what to which object, for whom, written in the same transaction as the change.

    Rows are only ever added (DESIGN §3, after Zulip's RealmAuditLog); the admin
    shows them read-only. ``action`` is a code from the fixed list in
    ``privacyportal.audit``. Consents have their own ledger, requests their timeline.
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
    # The account the change concerns. Erasure keeps the user row (closed, without number),
    # so the link stays; SET_NULL only guards a row deleted outside the app.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_entries",
        verbose_name=_("user concerned"),
    )
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


class PurgeRun(models.Model):
    """What one purge did to one target, so staff can see the storage periods kept (policy 5.1).

    A target is a registered data kind (its code), or ``access_copies`` (downloads past
    their date) or ``unverified_signups`` (numbers never verified). The row is written
    when the target starts and finished when it ends, so a row without an end is a run
    still going, or one that died. Dry runs are recorded too, flagged, with what would
    have gone.
    """

    run = models.UUIDField(_("purge run"), db_index=True)
    target = models.CharField(_("what"), max_length=64, db_index=True)
    dry_run = models.BooleanField(_("dry run"), default=False)
    # Rows whose period counts from before this moment had outlived it.
    cutoff = models.DateTimeField(_("older than"), null=True, blank=True)
    rows = models.PositiveBigIntegerField(_("rows"), default=0)
    batches = models.PositiveIntegerField(_("transactions"), default=0)
    started_at = models.DateTimeField(_("started"), default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), null=True, blank=True)
    longest_batch_ms = models.PositiveIntegerField(
        _("longest transaction (ms)"), null=True, blank=True
    )
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("purge run")
        verbose_name_plural = _("purge runs")
        ordering = ["-started_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.target} @ {self.started_at:%Y-%m-%d %H:%M}"
