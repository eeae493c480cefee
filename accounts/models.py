import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext
from phonenumber_field.modelfields import PhoneNumberField

from privacyportal.templatetags.phones import phone_display

from .managers import UserManager


def avatar_path(instance, filename: str) -> str:
    # A random name: the file name must not reveal the user or the upload's original name.
    return f"avatars/{uuid.uuid4().hex}.png"


class User(AbstractBaseUser, PermissionsMixin):
    # Empty only once the account is closed: closing frees the number for a new sign-up.
    phone = PhoneNumberField(_("mobile number"), unique=True, region="CN", null=True, blank=True)
    phone_verified = models.BooleanField(_("number verified"), default=False)
    nickname = models.CharField(_("nickname"), max_length=40, blank=True)
    avatar = models.ImageField(_("avatar"), upload_to=avatar_path, blank=True)
    is_staff = models.BooleanField(_("staff status"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)
    closed_at = models.DateTimeField(_("account closed"), null=True, blank=True)
    # The language the user chose on the switch; empty until they choose. Restored at
    # sign-in on any device, and the language the portal writes to them in.
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, blank=True
    )

    objects = UserManager()

    USERNAME_FIELD = "phone"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        # The desk picks, filters and shows users by this: the number first, so staff can
        # tell two "Xiao Ming"s apart. "closed" is the account's state, not a closing date.
        if self.phone is None:
            state = pgettext("account state", "closed")
            return f"#{self.pk} ({state})"
        number = phone_display(self.phone)
        return f"{number} ({self.nickname})" if self.nickname else number

    def get_short_name(self) -> str:
        """The desk greets staff by this: the nickname, else the number as the pages show it."""
        return self.nickname or phone_display(self.phone)


class UnrestrictedManager(models.Manager):
    """Rows kept only because the law requires it are invisible to every ordinary query."""

    def get_queryset(self):
        return super().get_queryset().filter(restricted_at__isnull=True)


class SecurityEvent(models.Model):
    """Sign-ins and account changes, kept for security (policy 2.4.1(3)) as a basic function."""

    class Kind(models.TextChoices):
        SIGNED_UP = "signed_up", _("Signed up")
        SIGNED_IN = "signed_in", _("Signed in")
        SIGN_IN_FAILED = "sign_in_failed", _("Sign-in refused")
        SIGNED_OUT = "signed_out", _("Signed out")
        PASSWORD_SET = "password_set", _("Password set")
        PASSWORD_CHANGED = "password_changed", _("Password changed")
        PASSWORD_REMOVED = "password_removed", _("Password removed")
        PHONE_CHANGED = "phone_changed", _("Mobile number changed")
        PROFILE_CHANGED = "profile_changed", _("Profile changed")
        AVATAR_CHANGED = "avatar_changed", _("Avatar changed")
        AVATAR_REMOVED = "avatar_removed", _("Avatar removed")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="security_events",
        verbose_name=_("user"),
    )
    kind = models.CharField(_("event"), max_length=32, choices=Kind.choices)
    occurred_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("device"), max_length=300, blank=True)
    # How it happened, e.g. the sign-in method ("code", "password") or the field changed.
    detail = models.CharField(_("detail"), max_length=200, blank=True)
    # Set when the user's data was erased while the law still requires these logs
    # (Cybersecurity Law art. 21): kept until the storage period ends, read by nothing else.
    restricted_at = models.DateTimeField(_("restricted since"), null=True, blank=True)

    objects = UnrestrictedManager()
    all_objects = models.Manager()  # noqa: DJ012  (a second manager, not a field)

    class Meta:
        verbose_name = _("security event")
        verbose_name_plural = _("security events")
        ordering = ["-occurred_at", "-pk"]
        indexes = [models.Index(fields=["user", "-occurred_at"])]

    SIGN_IN_METHODS = {"code": _("by SMS code"), "password": _("by password")}
    # A profile change stores the field's name; the reader sees what changed in words.
    CHANGED_FIELDS = {"nickname": _("nickname changed"), "language": _("language changed")}
    DETAIL_LABELS = {**SIGN_IN_METHODS, **CHANGED_FIELDS}

    def __str__(self) -> str:
        return f"{self.get_kind_display()} @ {self.occurred_at:%Y-%m-%d %H:%M}"

    @property
    def detail_display(self) -> str:
        return str(self.DETAIL_LABELS.get(self.detail, self.detail))


class BrowsingRecord(models.Model):
    """A search or a page view, kept for personalised display (policy 2.4.1(2)).

    Written only by ``accounts.services.activity_record``, which asks the consent check first.
    """

    class Kind(models.TextChoices):
        SEARCH = "search", _("Search query")
        VIEW = "view", _("Page viewed")

    # The consent purpose without which no record is kept.
    PURPOSE = "personalisation"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="browsing_records",
        verbose_name=_("user"),
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    # The query as typed, or the title of the page viewed.
    text = models.CharField(_("text"), max_length=200)
    path = models.CharField(_("page address"), max_length=300, blank=True)
    # The internal service that reported it through the API; empty for the portal's own pages.
    source = models.CharField(_("recorded by"), max_length=100, blank=True)
    # Indexed on its own too: the retention purge looks for old rows of every user.
    occurred_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("browsing or search record")
        verbose_name_plural = _("browsing and search records")
        ordering = ["-occurred_at", "-pk"]
        indexes = [models.Index(fields=["user", "-occurred_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.text}"

    @property
    def link(self) -> str:
        """The viewed page's address for a link, only ever a path on this site."""
        if self.path.startswith("/") and url_has_allowed_host_and_scheme(
            self.path, allowed_hosts=None
        ):
            return self.path
        return ""
