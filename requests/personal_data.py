"""What requests keeps about a user, registered with the personal-data registry."""

from datetime import datetime

from django.db import models
from django.utils.translation import gettext_lazy as _

from privacyportal.models import AuditEntry
from privacyportal.registry import DataField, DataKind, ExpiryAction, PurgeTarget, registry
from privacyportal.retention import BatchStats

from .audit import AuditAction
from .models import AccessCopy, Disclosure, LegalHold, PrivacyRequest, RequestEvent

ACCESS_COPIES = "access_copies"
# Each copy's file is deleted inside the batch's transaction: keep the batch small.
ACCESS_COPY_BATCH_SIZE = 100


def keep_as_evidence(user) -> int:
    """Requests and our answers are the record of how the user's rights were honoured
    (PIPL art. 50): erasure leaves them, and closing the account leaves them without a number."""
    return 0


registry.register(
    DataKind(
        code="privacy_requests",
        # Kept as evidence: erasing them erases nothing a recipient holds.
        erased_categories=(),
        label=_("Your requests"),
        description=_(
            "The requests you filed (copies, corrections, deletions, questions) and our answers "
            "(policy 4.1-4.2)."
        ),
        model=PrivacyRequest,
        user_lookup="user",
        fields=(
            DataField("created_at", _("Filed")),
            DataField("kind", _("Kind"), choices=PrivacyRequest.Kind),
            DataField("status", _("Status"), choices=PrivacyRequest.Status),
            DataField("details", _("Details")),
            DataField("due_on", _("Due")),
            DataField("answer", _("Answer")),
        ),
        erase=keep_as_evidence,
        retention=None,
        expiry_action=ExpiryAction.RETAIN,
        retention_note=_(
            "Kept as the record of how we answered your rights, also after your account is closed."
        ),
        ordering=("-created_at",),
    )
)

registry.register(
    DataKind(
        code="disclosures",
        erased_categories=(),
        label=_("Who received your data"),
        description=_(
            "Each time we shared your data with a third party: who, which kinds, when, and on "
            "what basis (your separate consent, or a legal exception of policy 3.4)."
        ),
        model=Disclosure,
        user_lookup="user",
        fields=(
            DataField("disclosed_at", _("Shared")),
            DataField("recipient__name", _("Recipient")),
            DataField("subject_identifier", _("Identifier at the recipient")),
            DataField("basis", _("Basis"), choices=Disclosure.Basis),
            DataField("legal_exception", _("Legal exception"), choices=Disclosure.LegalException),
        ),
        # Kept: a deletion has to tell every recipient, and the record of sharing is evidence.
        erase=keep_as_evidence,
        retention=None,
        expiry_action=ExpiryAction.RETAIN,
        retention_note=_("Kept as the record of who received your data, also after deletion."),
        ordering=("-disclosed_at", "-pk"),
    )
)

registry.exempt(
    RequestEvent,
    reason="Timeline rows belong to a request (registered as privacy_requests); their user "
    "reference is the staff member or user who acted.",
)
registry.exempt(
    LegalHold,
    reason="A legal hold is the staff's record of a legal obligation to keep a user's data; "
    "it is shown on the request it affects, not part of what the user provided.",
)


def users_under_legal_hold() -> models.QuerySet:
    return LegalHold.objects.filter(released_at__isnull=True).values("user_id")


# A legal hold stops every erasure, also those run by the kernel and by the apps below this one.
registry.provide_held_users(users_under_legal_hold)


def access_copies_expired(now: datetime) -> models.QuerySet:
    return AccessCopy.objects.filter(status=AccessCopy.Status.READY, expires_at__lt=now)


def access_copies_expire(now: datetime, *, stats: BatchStats | None = None) -> int:
    """Copies past their download date lose their file and become expired."""
    stats = stats if stats is not None else BatchStats()
    total = 0
    while True:
        with stats.batch() as batch:
            copies = list(
                access_copies_expired(now)
                .select_related("request")
                .select_for_update(skip_locked=True, of=("self",))
                .only("pk", "file", "request_id", "request__user_id")
                .order_by("pk")[:ACCESS_COPY_BATCH_SIZE]
            )
            # The file goes first: should the transaction then fail, the copy is still
            # "ready" past its date (the download page already refuses it) and the next
            # run deletes again; the other order could leave a file that nothing points to.
            for copy in copies:
                if copy.file:
                    copy.file.storage.delete(copy.file.name)
            batch.rows = AccessCopy.objects.filter(pk__in=[c.pk for c in copies]).update(
                status=AccessCopy.Status.EXPIRED, file=""
            )
            AuditEntry.objects.bulk_create(
                AuditEntry(
                    action=AuditAction.ACCESS_COPY_EXPIRED,
                    user_id=copy.request.user_id,
                    target_type=AccessCopy._meta.label_lower,
                    target_id=str(copy.pk),
                    details={"request": copy.request_id},
                )
                for copy in copies
            )
        total += batch.rows
        if not copies:
            return total


registry.register_purge(
    PurgeTarget(
        code=ACCESS_COPIES,
        label=_("Access copies (downloads)"),
        period=_("7 days after the copy is ready"),
        action=_("the file is deleted and the copy marked expired"),
        model_label="requests.AccessCopy",
        # A copy's expiry date is its own: the copies past it are the ones due now.
        cutoff=lambda now: now,
        purge=access_copies_expire,
        count=lambda now: access_copies_expired(now).count(),
    )
)
