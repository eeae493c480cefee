import uuid

from django.conf import settings
from django.db import models
from django.db.models import Case, F, IntegerField, Q, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from privacyportal import outgoing

# The staff desk's order (requests.admin): open requests first, the most urgent on top,
# then closed ones by their due date. The list sorts by these expressions and the table
# has an index on the very same ones, so a page of 100 is read from the index instead of
# sorting every request (a change here needs a migration, which the test suite asks for).
OPEN_STATUS_VALUES = ("submitted", "in_progress", "propagating")


def desk_open_rank():
    return Case(
        When(status__in=OPEN_STATUS_VALUES, then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )


def desk_effective_due():
    return Coalesce("extended_to", "due_on")


class PrivacyRequest(models.Model):
    """A user's request under policy 4.1-4.2 or a question, worked by staff against a deadline."""

    class Kind(models.TextChoices):
        ACCESS = "access", _("Copy of my data")
        CORRECTION = "correction", _("Correct or supplement my data")
        DELETION = "deletion", _("Delete my data")
        QUESTION = "question", _("Question or complaint")

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        IN_PROGRESS = "in_progress", _("In progress")
        # Deletion only: the data is erased; recorded recipients are being told to delete too.
        PROPAGATING = "propagating", _("Erased; telling recipients")
        COMPLETED = "completed", _("Completed")
        REJECTED = "rejected", _("Rejected")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    OPEN_STATUSES = tuple(map(Status, OPEN_STATUS_VALUES))

    class Ground(models.TextChoices):
        # Policy 4.2.1-4.2.5.
        UNLAWFUL = "4.2.1", _("4.2.1 The processing breaks laws or regulations")
        NO_CONSENT = "4.2.2", _("4.2.2 The data was collected or used without my consent")
        AGREEMENT_BREACH = "4.2.3", _("4.2.3 The processing seriously breaches our agreement")
        PURPOSE_DONE = (
            "4.2.4",
            _(
                "4.2.4 The purpose of the processing was achieved, cannot be achieved, or is no "
                "longer necessary"
            ),
        )
        SERVICE_ENDED = (
            "4.2.5",
            _("4.2.5 The service is no longer provided, or the storage period has expired"),
        )

    class RejectionReason(models.TextChoices):
        IDENTITY = (
            "identity",
            _("We could not confirm that the request comes from the account holder"),
        )
        LEGAL_OBLIGATION = "legal_obligation", _("The law requires us to keep this data")
        NO_GROUND = "no_ground", _("None of the policy's grounds applies")
        EXCESSIVE = (
            "excessive",
            _("The request is manifestly unfounded or repeats one just answered"),
        )
        OTHER_RIGHTS = "other_rights", _("Answering would harm the rights of others")
        OTHER = "other", _("Other reason (explained below)")

    reference = models.UUIDField(_("reference"), default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="privacy_requests",
        verbose_name=_("user"),
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.SUBMITTED, db_index=True
    )
    # What the user asked.
    details = models.TextField(_("details"), blank=True)
    ground = models.CharField(_("ground"), max_length=8, choices=Ground.choices, blank=True)
    whole_account = models.BooleanField(_("whole account"), default=False)
    scope_kinds = models.JSONField(_("data kinds"), default=list, blank=True)
    correction_field = models.CharField(_("field to correct"), max_length=64, blank=True)
    correction_value = models.CharField(_("proposed value"), max_length=200, blank=True)
    # The clock.
    created_at = models.DateTimeField(_("filed"), default=timezone.now)
    verified_at = models.DateTimeField(_("identity verified"), null=True, blank=True)
    due_on = models.DateField(_("due"), db_index=True)
    extended_to = models.DateField(_("extended to"), null=True, blank=True)
    extension_reason = models.TextField(_("reason for the extension"), blank=True)
    # The answer.
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_requests",
        verbose_name=_("assignee"),
    )
    rejection_reason = models.CharField(
        _("rejection reason"), max_length=24, choices=RejectionReason.choices, blank=True
    )
    answer = models.TextField(_("answer to the user"), blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        verbose_name = _("privacy request")
        verbose_name_plural = _("privacy requests")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "-created_at"]),
            models.Index(fields=["status", "due_on"]),
            models.Index(
                desk_open_rank(), desk_effective_due(), F("id"), name="privacyrequest_desk_order"
            ),
        ]
        permissions = [
            (
                "work_privacyrequest",
                _("Can work privacy requests (assign, start, extend, reject, complete)"),
            ),
            ("approve_deletion", _("Can approve deletion requests")),
            ("apply_correction", _("Can apply correction requests")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="deletion") | ~Q(ground=""), name="deletion_has_ground"
            ),
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(rejection_reason=""),
                name="rejection_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(extended_to__isnull=True) | ~Q(extension_reason=""),
                name="extension_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def short_reference(self) -> str:
        """The reference as the desk and the SMS name a request: enough to tell them apart."""
        return str(self.reference)[:8]

    @property
    def effective_due_on(self):
        return self.extended_to or self.due_on


class RequestEvent(models.Model):
    """One step on a request's timeline: its audit row, written with the change."""

    class Action(models.TextChoices):
        SUBMITTED = "submitted", _("Request filed")
        ASSIGNED = "assigned", _("Assigned")
        STARTED = "started", _("Work started")
        EXTENDED = "extended", _("Deadline extended")
        REJECTED = "rejected", _("Rejected")
        WITHDRAWN = "withdrawn", _("Withdrawn by you")
        COMPLETED = "completed", _("Completed")
        CORRECTION_APPLIED = "correction_applied", _("Correction applied")
        DELETION_APPROVED = "deletion_approved", _("Deletion approved and carried out")
        DELETION_HELD = "deletion_held", _("Deletion paused by a legal hold")
        COPY_READY = "copy_ready", _("Copy of your data ready")
        COPY_FAILED = "copy_failed", _("Building the copy failed")
        NOTICE_ACKNOWLEDGED = "notice_acknowledged", _("A recipient confirmed the deletion")
        NOTICE_SENT_BY_HAND = "notice_sent_by_hand", _("A deletion notice was sent by hand")
        NOTICE_CLOSED = "notice_closed", _("A deletion notice was closed by staff")

    request = models.ForeignKey(
        PrivacyRequest, on_delete=models.CASCADE, related_name="events", verbose_name=_("request")
    )
    action = models.CharField(_("action"), max_length=24, choices=Action.choices)
    from_status = models.CharField(_("from"), max_length=16, blank=True)
    to_status = models.CharField(_("to"), max_length=16, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    occurred_at = models.DateTimeField(_("time"), default=timezone.now)
    # Shown to the user on their timeline: what staff wrote (a reason, an answer), as written.
    note = models.TextField(_("note"), blank=True)
    # What the system says on the timeline, as a code and its values (``requests.timeline``),
    # so that each reader gets it in their own language; staff-only detail goes in details.
    note_code = models.CharField(_("message"), max_length=32, blank=True)
    note_params = models.JSONField(_("message values"), default=dict, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("timeline event")
        verbose_name_plural = _("timeline events")
        ordering = ["occurred_at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} @ {self.occurred_at:%Y-%m-%d %H:%M}"


class AccessCopy(models.Model):
    """The ZIP of everything the registry holds about the user, for an access request."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to start")
        BUILDING = "building", _("Being prepared")
        READY = "ready", _("Ready to download")
        FAILED = "failed", _("Failed")
        EXPIRED = "expired", _("Expired")

    request = models.OneToOneField(
        PrivacyRequest,
        on_delete=models.CASCADE,
        related_name="access_copy",
        verbose_name=_("request"),
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    # When the current build was claimed: a build older than the stale limit
    # belonged to a worker that died, and may be claimed again.
    building_since = models.DateTimeField(_("building since"), null=True, blank=True)
    file = models.FileField(_("file"), upload_to="access-copies/", blank=True)
    size = models.PositiveBigIntegerField(_("size (bytes)"), default=0)
    built_at = models.DateTimeField(_("ready since"), null=True, blank=True)
    expires_at = models.DateTimeField(_("download until"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("access copy")
        verbose_name_plural = _("access copies")

    def __str__(self) -> str:
        return f"{self.request} ({self.get_status_display()})"


class LegalHold(models.Model):
    """Staff stop erasure of a user's data while the law needs it kept (e.g. a court order)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="legal_holds",
        verbose_name=_("user"),
    )
    reason = models.TextField(_("reason"))
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("set by"),
    )
    set_at = models.DateTimeField(_("set"), default=timezone.now)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("released by"),
    )
    released_at = models.DateTimeField(_("released"), null=True, blank=True)

    class Meta:
        verbose_name = _("legal hold")
        verbose_name_plural = _("legal holds")
        ordering = ["-set_at"]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="legal_hold_has_reason"),
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(released_at__isnull=True),
                name="one_active_hold_per_user",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({'released' if self.released_at else 'active'})"


class DeletionTombstone(models.Model):
    """What a deletion erased, kept so the erasure can be replayed after a backup restore.

    It names the user only by id: the number and everything else are gone.
    """

    user_id = models.BigIntegerField(_("user id"), db_index=True)
    request = models.ForeignKey(
        PrivacyRequest,
        on_delete=models.PROTECT,
        related_name="tombstones",
        verbose_name=_("request"),
    )
    whole_account = models.BooleanField(_("whole account"))
    kinds = models.JSONField(_("data kinds erased"), default=list)
    erased_at = models.DateTimeField(_("erased"), default=timezone.now)

    class Meta:
        verbose_name = _("deletion tombstone")
        verbose_name_plural = _("deletion tombstones")
        ordering = ["erased_at"]

    def __str__(self) -> str:
        return f"user {self.user_id} @ {self.erased_at:%Y-%m-%d}"


def _endpoint_validator(value: str) -> None:
    """The kernel's guard for outgoing calls (named here: migrations refer to this name)."""
    outgoing.validate_url(value)


class Recipient(models.Model):
    """A third party that receives users' data (policy 3.1)."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    contact = models.TextField(_("contact"), help_text=_("Who to reach there, and how."))
    data_categories = models.ManyToManyField(
        "consents.DataCategory",
        related_name="recipients",
        verbose_name=_("data categories received"),
    )
    endpoint = models.URLField(
        _("deletion notice endpoint"),
        blank=True,
        validators=[_endpoint_validator],
        help_text=_("Where deletion notices are posted. Leave empty: staff send notices by hand."),
    )
    # Kept to sign notices and check acknowledgements; shown once when set, never again.
    secret = models.CharField(max_length=128, blank=True, editable=False)
    secret_set_at = models.DateTimeField(_("secret set"), null=True, blank=True, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("added"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("recipient")
        verbose_name_plural = _("recipients")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Disclosure(models.Model):
    """One sharing of a user's data with a recipient: the ledger the user and staff read."""

    class Basis(models.TextChoices):
        CONSENT = "consent", _("The user's separate consent")
        LEGAL_EXCEPTION = "legal_exception", _("A legal exception (policy 3.4)")

    class LegalException(models.TextChoices):
        LEGAL_OBLIGATION = "3.4.1", _("3.4.1 Our obligations under laws and regulations")
        NATIONAL_SECURITY = "3.4.2", _("3.4.2 National security and national defence")
        PUBLIC_INTEREST = "3.4.3", _("3.4.3 Public safety, public health, major public interests")
        LAW_ENFORCEMENT = "3.4.4", _("3.4.4 Judicial or administrative law enforcement")
        VITAL_INTERESTS = (
            "3.4.5",
            _("3.4.5 Protecting life or property when consent is hard to get"),
        )
        MADE_PUBLIC = "3.4.6", _("3.4.6 Information the user made public")
        LAWFULLY_PUBLIC = "3.4.7", _("3.4.7 Information from lawfully published sources")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="disclosures",
        verbose_name=_("user"),
    )
    recipient = models.ForeignKey(
        Recipient, on_delete=models.PROTECT, related_name="disclosures", verbose_name=_("recipient")
    )
    categories = models.ManyToManyField(
        "consents.DataCategory", related_name="disclosures", verbose_name=_("data categories")
    )
    subject_identifier = models.CharField(
        _("identifier at the recipient"),
        max_length=200,
        help_text=_("What the recipient knows the user by (their customer id, an order number…)."),
    )
    disclosed_at = models.DateTimeField(_("shared"), default=timezone.now, db_index=True)
    basis = models.CharField(_("basis"), max_length=24, choices=Basis.choices)
    consent_event = models.ForeignKey(
        "consents.ConsentEvent",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("consent in the ledger"),
    )
    legal_exception = models.CharField(
        _("legal exception"), max_length=8, choices=LegalException.choices, blank=True
    )
    legal_note = models.TextField(_("note on the legal exception"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    # The internal service that reported the sharing through the API (empty: staff did).
    recorded_by_service = models.CharField(
        _("reported by service"), max_length=100, blank=True, editable=False
    )
    recorded_at = models.DateTimeField(_("recorded"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("disclosure")
        verbose_name_plural = _("disclosures")
        ordering = ["-disclosed_at", "-pk"]
        indexes = [models.Index(fields=["user", "recipient"])]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(basis="consent", consent_event__isnull=False, legal_exception="")
                    | (
                        Q(basis="legal_exception", consent_event__isnull=True)
                        & ~Q(legal_exception="")
                    )
                ),
                name="disclosure_basis_is_complete",
            )
        ]

    def __str__(self) -> str:
        return f"{self.recipient} @ {self.disclosed_at:%Y-%m-%d}"


class DeletionNotice(models.Model):
    """The message that tells one recipient to delete what it received (DESIGN §2 steps 1-5).

    The row, not the broker, is the source of truth: ``next_attempt_at`` says when a
    worker should (re)try, and the sweep queues every notice that is due.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        DELIVERED = "delivered", _("Delivered; waiting for the recipient's confirmation")
        ACKNOWLEDGED = "acknowledged", _("Confirmed deleted by the recipient")
        FAILED = "failed", _("Failed; staff will retry")
        MANUAL = "manual", _("To be sent by staff (no endpoint)")
        MANUAL_SENT = "manual_sent", _("Sent by staff")
        CLOSED = "closed", _("Closed by staff")

    DONE = (Status.ACKNOWLEDGED, Status.MANUAL_SENT, Status.CLOSED)

    request = models.ForeignKey(
        PrivacyRequest, on_delete=models.PROTECT, related_name="notices", verbose_name=_("request")
    )
    recipient = models.ForeignKey(
        Recipient, on_delete=models.PROTECT, related_name="notices", verbose_name=_("recipient")
    )
    idempotency_key = models.UUIDField(_("idempotency key"), default=uuid.uuid4, unique=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, db_index=True)
    # Only the categories in the deletion's scope that this recipient received: what it is
    # told to delete (``propagation.deletion_notice_plan``).
    categories = models.JSONField(_("data categories"), default=list)
    subject_identifiers = models.JSONField(_("identifiers at the recipient"), default=list)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    # ``attempts`` starts again when staff send a notice again (it counts towards the
    # retry limit); this number never does. Each post carries it and the recipient's
    # confirmation signs it: only attempts from ``confirm_from`` on can be confirmed.
    attempt_number = models.PositiveIntegerField(_("latest attempt's number"), default=0)
    confirm_from = models.PositiveIntegerField(_("confirmable from attempt"), default=1)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True, db_index=True)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    staff_note = models.TextField(_("staff note"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("deletion notice")
        verbose_name_plural = _("deletion notices")
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "recipient"], name="one_notice_per_recipient"
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["manual_sent", "closed"]) | ~Q(staff_note=""),
                name="staff_closed_notice_has_note",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.recipient} ({self.get_status_display()})"

    @property
    def is_done(self) -> bool:
        return self.status in self.DONE


class NoticeAttempt(models.Model):
    """One delivery attempt: what the recipient answered, for staff."""

    notice = models.ForeignKey(
        DeletionNotice,
        on_delete=models.CASCADE,
        related_name="attempt_log",
        verbose_name=_("notice"),
    )
    started_at = models.DateTimeField(_("time"), default=timezone.now)
    status_code = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)

    class Meta:
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        ordering = ["started_at", "pk"]

    def __str__(self) -> str:
        return f"{self.notice_id} @ {self.started_at:%H:%M:%S} → {self.status_code or self.error}"


class NoticeCallback(models.Model):
    """A recipient's signed confirmation, accepted once: the same signature again is a replay."""

    notice = models.ForeignKey(
        DeletionNotice,
        on_delete=models.CASCADE,
        related_name="callbacks",
        verbose_name=_("notice"),
    )
    attempt = models.PositiveIntegerField(_("attempt"))
    signed_at = models.DateTimeField(_("signed"))
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    request_status = models.CharField(_("status reported"), max_length=32, blank=True)
    signature = models.CharField(_("signature"), max_length=80, unique=True)

    class Meta:
        verbose_name = _("recipient's confirmation")
        verbose_name_plural = _("recipients' confirmations")
        ordering = ["received_at", "pk"]

    def __str__(self) -> str:
        return f"{self.notice_id} attempt {self.attempt} @ {self.received_at:%H:%M:%S}"
