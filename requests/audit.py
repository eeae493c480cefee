"""The audit actions of requests: legal holds, recipients, disclosures, deletion notices,
expired copies and replayed deletions. The desk's actions on a request itself are on its
timeline instead (``RequestEvent``: who, what, when, in the same transaction)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    LEGAL_HOLD_SET = "legal_hold.set", _("Legal hold set")
    LEGAL_HOLD_RELEASED = "legal_hold.released", _("Legal hold released")
    RECIPIENT_ADDED = "recipient.added", _("Recipient added to the register")
    RECIPIENT_CHANGED = "recipient.changed", _("Recipient changed in the register")
    RECIPIENT_DELETED = "recipient.deleted", _("Recipient deleted from the register")
    RECIPIENT_SECRET_SET = "recipient.secret_set", _("Recipient's signing secret set")
    DISCLOSURE_RECORDED = "disclosure.recorded", _("Disclosure recorded")
    DELETION_NOTICE_RETRIED = "deletion_notice.retried", _("Deletion notice sent again")
    DELETION_NOTICE_SENT_BY_HAND = (
        "deletion_notice.sent_by_hand",
        _("Deletion notice marked as sent by hand"),
    )
    DELETION_NOTICE_CLOSED = "deletion_notice.closed", _("Deletion notice closed")
    ACCESS_COPY_EXPIRED = "access_copy.expired", _("Access copy expired")
    DELETION_REPLAYED = "deletion.replayed", _("Deletion replayed after a restore")
