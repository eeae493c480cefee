import hashlib
import json
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


def _in_language(obj, field: str) -> str:
    """The zh-hans or English text of ``field`` for the active language (zh-hans when unsure)."""
    english = (get_language() or "").startswith("en")
    return getattr(obj, f"{field}_en" if english else f"{field}_zh_hans") or getattr(
        obj, f"{field}_zh_hans"
    )


class DataCategory(models.Model):
    """A kind of personal information named to users: what purposes use and recipients receive."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name_zh_hans = models.CharField(_("name (zh-hans)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100)

    class Meta:
        verbose_name = _("data category")
        verbose_name_plural = _("data categories")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return _in_language(self, "name")


class Purpose(models.Model):
    class Kind(models.TextChoices):
        BASIC = "basic", _("Basic: needed for the service")
        ADDITIONAL = "additional", _("Additional: off until the user turns it on")

    code = models.SlugField(
        _("code"),
        max_length=50,
        unique=True,
        help_text=_("Stable identifier used by the code and the API; cannot change."),
    )
    name_zh_hans = models.CharField(_("name (zh-hans)"), max_length=120)
    name_en = models.CharField(_("name (English)"), max_length=120)
    description_zh_hans = models.TextField(_("description (zh-hans)"))
    description_en = models.TextField(_("description (English)"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    requires_separate_consent = models.BooleanField(
        _("needs separate consent"),
        default=False,
        help_text=_(
            "PIPL separate consent (单独同意): asked on its own, with its own confirmation."
        ),
    )
    data_categories = models.ManyToManyField(
        DataCategory, related_name="purposes", verbose_name=_("data categories used")
    )
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("purpose")
        verbose_name_plural = _("purposes")
        ordering = ["position", "code"]
        constraints = [
            # A basic purpose has no opt-out, so "separate consent" cannot apply to it.
            models.CheckConstraint(
                condition=Q(kind="additional") | Q(requires_separate_consent=False),
                name="purpose_separate_consent_only_for_additional",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return _in_language(self, "name")

    @property
    def description(self) -> str:
        return _in_language(self, "description")

    @property
    def is_basic(self) -> bool:
        return self.kind == self.Kind.BASIC

    def text_hash(self, category_codes: list[str] | None = None) -> str:
        """SHA-256 of everything the user is shown about this purpose, in both languages."""
        if category_codes is None:
            category_codes = sorted(c.code for c in self.data_categories.all())
        text = {
            "code": self.code,
            "kind": self.kind,
            "separate": self.requires_separate_consent,
            "name": [self.name_zh_hans, self.name_en],
            "description": [self.description_zh_hans, self.description_en],
            "data_categories": sorted(category_codes),
        }
        return hashlib.sha256(
            json.dumps(text, ensure_ascii=False, sort_keys=True).encode()
        ).hexdigest()


class PolicyVersion(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")

    number = models.PositiveIntegerField(
        _("version"), unique=True, null=True, blank=True, editable=False
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.DRAFT, editable=False
    )
    title_zh_hans = models.CharField(_("title (zh-hans)"), max_length=200)
    title_en = models.CharField(_("title (English)"), max_length=200)
    body_zh_hans = models.TextField(_("text (zh-hans, Markdown)"))
    body_en = models.TextField(_("text (English, Markdown)"))
    summary_zh_hans = models.TextField(_("summary of changes (zh-hans)"), blank=True)
    summary_en = models.TextField(_("summary of changes (English)"), blank=True)
    is_material = models.BooleanField(
        _("material change"),
        default=False,
        help_text=_(
            "Material changes need every user's express acceptance before the processing "
            "they change goes on; others are shown as a notice."
        ),
    )
    changed_purposes = models.ManyToManyField(
        Purpose,
        blank=True,
        related_name="changed_in_versions",
        verbose_name=_("purposes whose terms change"),
        help_text=_(
            "For a material change: consents to these purposes count as not given until "
            "the user accepts this version."
        ),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    published_at = models.DateTimeField(_("published"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("policy version")
        verbose_name_plural = _("policy versions")
        ordering = ["-number", "-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(status="draft", number__isnull=True, published_at__isnull=True)
                    | Q(status="published", number__isnull=False, published_at__isnull=False)
                ),
                name="policy_version_number_iff_published",
            )
        ]

    def __str__(self) -> str:
        if self.number:
            return str(_("Version %(number)s") % {"number": self.number})
        return str(_("Draft: %(title)s") % {"title": self.title})

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED

    @property
    def title(self) -> str:
        return _in_language(self, "title")

    @property
    def body(self) -> str:
        return _in_language(self, "body")

    @property
    def summary(self) -> str:
        return _in_language(self, "summary")

    def text_hash(self) -> str:
        text = [self.title_zh_hans, self.title_en, self.body_zh_hans, self.body_en]
        return hashlib.sha256(json.dumps(text, ensure_ascii=False).encode()).hexdigest()


class Channel(models.TextChoices):
    SELF_SERVICE = "self_service", _("Self-service page")
    SIGNUP = "signup", _("Sign-up")
    STAFF = "staff", _("Staff, on the user's written instruction")
    API = "api", _("API")


class ConsentEvent(models.Model):
    """One entry of the append-only consent ledger.

    Each event carries the hash of the one before it (a single chain over the
    whole ledger), so an edited, removed or inserted row breaks the chain at
    that point; ``manage.py verify_consent_ledger`` names the first broken link.
    """

    class Action(models.TextChoices):
        GRANTED = "granted", _("Granted")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        POLICY_ACCEPTED = "policy_accepted", _("Policy accepted")
        POLICY_NOTICE_SEEN = "policy_notice_seen", _("Policy update notice seen")
        POLICY_DECLINED = "policy_declined", _("Policy declined")

    receipt_id = models.UUIDField(_("receipt id"), default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="consent_events",
        verbose_name=_("user"),
    )
    purpose = models.ForeignKey(
        Purpose,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
        verbose_name=_("purpose"),
    )
    action = models.CharField(_("action"), max_length=24, choices=Action.choices)
    channel = models.CharField(_("how"), max_length=16, choices=Channel.choices)
    occurred_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    policy_version = models.ForeignKey(
        PolicyVersion,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("policy version in force"),
    )
    text_hash = models.CharField(
        _("hash of the text shown"),
        max_length=64,
        help_text=_("SHA-256 of the purpose text (or policy text) the user saw."),
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    note = models.CharField(_("note"), max_length=500, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("device"), max_length=300, blank=True)
    # The chain covers a salted digest of the client details, not the details
    # themselves, so erasing IP address, device and salt keeps the chain intact
    # while leaving nothing to link the digest back to them.
    client_salt = models.CharField(max_length=32, blank=True)
    client_digest = models.CharField(max_length=64)
    previous_hash = models.CharField(_("previous event's hash"), max_length=64)
    hash = models.CharField(_("hash"), max_length=64, unique=True)

    class Meta:
        verbose_name = _("consent ledger event")
        verbose_name_plural = _("consent ledger")
        ordering = ["-pk"]
        indexes = [models.Index(fields=["user", "-occurred_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(action__in=["granted", "withdrawn"], purpose__isnull=False)
                | Q(
                    action__in=["policy_accepted", "policy_notice_seen", "policy_declined"],
                    purpose__isnull=True,
                ),
                name="consent_event_purpose_iff_consent_action",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_action_display()}"

    def chain_payload(self) -> dict:
        """The fields the hash covers: everything that states what happened."""
        return {
            "receipt_id": str(self.receipt_id),
            "user": self.user_id,
            "purpose": self.purpose_id,
            "action": self.action,
            "channel": self.channel,
            "occurred_at": self.occurred_at.isoformat(),
            "policy_version": self.policy_version_id,
            "text_hash": self.text_hash,
            "actor": self.actor_id,
            "note": self.note,
            "client_digest": self.client_digest,
            "previous_hash": self.previous_hash,
        }

    @staticmethod
    def digest_client(salt: str, ip_address: str | None, user_agent: str) -> str:
        return hashlib.sha256(f"{salt}\n{ip_address or ''}\n{user_agent}".encode()).hexdigest()

    def client_details_match(self) -> bool | None:
        """None once the details were erased; otherwise whether they are the ones recorded."""
        if not self.client_salt:
            return None
        return self.client_digest == self.digest_client(
            self.client_salt, self.ip_address, self.user_agent
        )

    def compute_hash(self) -> str:
        payload = json.dumps(self.chain_payload(), ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()


class LedgerHead(models.Model):
    """The newest event's hash, in one row that every ledger write locks.

    Locking it serialises appends (so the chain never forks) and lets the
    verifier notice events cut from the end of the chain.
    """

    GENESIS = "0" * 64

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    last_event = models.ForeignKey(
        ConsentEvent, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    last_hash = models.CharField(max_length=64, default=GENESIS)
    length = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("ledger head")
        constraints = [models.CheckConstraint(condition=Q(id=1), name="ledger_head_singleton")]

    def __str__(self) -> str:
        return f"{self.length} events, last {self.last_hash[:12]}"


class ConsentState(models.Model):
    """The current choice per user and additional purpose, updated with each ledger event."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="consent_states",
        verbose_name=_("user"),
    )
    purpose = models.ForeignKey(
        Purpose, on_delete=models.PROTECT, related_name="states", verbose_name=_("purpose")
    )
    granted = models.BooleanField(_("given"))
    changed_at = models.DateTimeField(_("since"))
    # The version in force when the user chose: a grant made under a version
    # that already carried a material change of this purpose is not invalidated by it.
    policy_version_number = models.PositiveIntegerField(_("under version"), default=0)
    last_event = models.ForeignKey(
        ConsentEvent, on_delete=models.PROTECT, related_name="+", verbose_name=_("ledger event")
    )

    class Meta:
        verbose_name = _("current consent")
        verbose_name_plural = _("current consents")
        constraints = [
            models.UniqueConstraint(fields=["user", "purpose"], name="consent_state_unique")
        ]
        indexes = [models.Index(fields=["purpose", "granted"])]

    def __str__(self) -> str:
        return f"{self.user_id}/{self.purpose_id}: {'given' if self.granted else 'not given'}"


class PolicyAcceptance(models.Model):
    """A user's acceptance of a published version (express at sign-up or on the acceptance page)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="policy_acceptances",
        verbose_name=_("user"),
    )
    version = models.ForeignKey(
        PolicyVersion,
        on_delete=models.PROTECT,
        related_name="acceptances",
        verbose_name=_("version"),
    )
    express = models.BooleanField(
        _("express acceptance"),
        help_text=_("False when the user only dismissed the notice of a non-material version."),
    )
    accepted_at = models.DateTimeField(_("time"))
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("device"), max_length=300, blank=True)
    event = models.OneToOneField(
        ConsentEvent, on_delete=models.PROTECT, related_name="+", verbose_name=_("ledger event")
    )

    class Meta:
        verbose_name = _("policy acceptance")
        verbose_name_plural = _("policy acceptances")
        ordering = ["-accepted_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "version"], name="policy_acceptance_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} accepted {self.version_id}"


class PolicySmsNotice(models.Model):
    """One user was told by SMS that a material version needs their decision.

    The row is the marker that makes the publication's SMS batches idempotent: a
    user with a row for a version is never texted about it again.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("user"),
    )
    version = models.ForeignKey(
        PolicyVersion, on_delete=models.PROTECT, related_name="+", verbose_name=_("version")
    )
    queued_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("policy SMS notice")
        verbose_name_plural = _("policy SMS notices")
        constraints = [
            models.UniqueConstraint(fields=["version", "user"], name="policy_sms_notice_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} told of {self.version_id}"
