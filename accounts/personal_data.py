"""What accounts keeps about a user, registered with the personal-data registry."""

from datetime import datetime, timedelta

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.contrib.admin.models import LogEntry
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from privacyportal.registry import (
    YES_NO,
    DataField,
    DataKind,
    ExpiryAction,
    PurgeTarget,
    registry,
)
from privacyportal.retention import BATCH_SIZE, BatchStats, purge_in_batches
from privacyportal.services import audit_record
from privacyportal.templatetags.phones import phone_display

from .audit import AuditAction
from .models import BrowsingRecord, SecurityEvent, User
from .services import user_close

UNVERIFIED_SIGNUPS = "unverified_signups"
# A number not verified within a day was never going to be: the sign-up is closed and the
# number freed for whoever really holds it.
UNVERIFIED_SIGNUP_LIFETIME = timedelta(hours=24)


@transaction.atomic
def erase_profile(user) -> int:
    """Clear what the user added beyond the number; closing the account itself is a request."""
    changed = bool(user.nickname or user.avatar)
    if user.avatar:
        name, storage = user.avatar.name, user.avatar.storage
        transaction.on_commit(lambda: storage.delete(name))
    User.objects.filter(pk=user.pk).update(nickname="", avatar="")
    return int(changed)


def erase_security_events(user) -> int:
    """Security logs must be kept for their storage period even after a deletion
    request: they are restricted (hidden from every ordinary query), then purged."""
    return SecurityEvent.objects.filter(user=user).update(restricted_at=timezone.now())


def purge_security_events(
    cutoff, *, batch_size: int = BATCH_SIZE, stats: BatchStats | None = None
) -> int:
    # Restricted rows too (all_objects): the storage period is what kept them, and it is over.
    return purge_in_batches(
        SecurityEvent.all_objects.filter(occurred_at__lt=cutoff),
        batch_size=batch_size,
        stats=stats,
        order_by="occurred_at",
    )


registry.register(
    DataKind(
        code="account",
        # A partial deletion clears nickname and avatar; the number goes only with the account.
        erased_categories=("profile",),
        label=_("Account"),
        description=_(
            "Your mobile number, nickname and avatar, and when you joined (policy 2.4.1(1))."
        ),
        model=User,
        user_lookup="pk",
        fields=(
            DataField("phone", _("Mobile number"), display=phone_display),
            DataField("phone_verified", _("Number verified"), choices=YES_NO),
            DataField("nickname", _("Nickname")),
            DataField(
                "avatar",
                _("Avatar"),
                display=lambda v: str(_("uploaded") if v else ""),
                is_file=True,
            ),
            DataField("date_joined", _("Joined")),
            DataField("last_login", _("Last sign-in")),
        ),
        erase=erase_profile,
        # Closing the account (a deletion request) clears the profile and frees the number.
        retention=None,
        retention_note=_("Kept while your account is open."),
        expiry_action=ExpiryAction.DELETE,
    )
)

registry.register(
    DataKind(
        code="security_events",
        erased_categories=("device_information", "ip_address", "sign_in_records"),
        label=_("Security events"),
        description=_(
            "Sign-ins and changes to your account, with the device and IP address, "
            "kept to protect your account (policy 2.4.1(3))."
        ),
        model=SecurityEvent,
        user_lookup="user",
        fields=(
            DataField("occurred_at", _("Time")),
            DataField("kind", _("Event"), choices=SecurityEvent.Kind),
            DataField("detail", _("Detail"), choices=SecurityEvent.DETAIL_LABELS),
            DataField("ip_address", _("IP address")),
            DataField("user_agent", _("Device")),
        ),
        erase=erase_security_events,
        # The Cybersecurity Law (art. 21) asks for network logs to be kept at least six months.
        retention=timedelta(days=180),
        retention_note=_(
            "Kept for 180 days, then deleted. If you ask us to delete them sooner, they are "
            "locked away, used for nothing, until then."
        ),
        expiry_action=ExpiryAction.DELETE,
        timestamp_field="occurred_at",
        purge_expired=purge_security_events,
        ordering=("-occurred_at", "-pk"),
    )
)


def erase_second_factors(user) -> int:
    return Authenticator.objects.filter(user=user).delete()[0]


registry.register(
    DataKind(
        code="second_factors",
        erased_categories=(),
        label=_("Second factors"),
        description=_(
            "The authenticator app and recovery codes a staff account signs in with. The copy "
            "says which you have and when they were used, never their secrets."
        ),
        model=Authenticator,
        user_lookup="user",
        fields=(
            DataField("type", _("Kind"), choices=Authenticator.Type),
            DataField("created_at", _("Added")),
            DataField("last_used_at", _("Last used")),
        ),
        erase=erase_second_factors,
        retention_note=_("Kept while the account is open, or until a superuser resets them."),
    )
)

registry.exempt(
    LogEntry,
    reason="Django admin's change log records what staff did in the desk; it describes "
    "staff work, not an end user's data, and is kept as the staff audit trail.",
)

registry.exempt(
    EmailAddress,
    reason="Sign-up and sign-in are by mobile number only; the portal never asks for "
    "an e-mail address, so allauth's e-mail table stays empty.",
)


def erase_browsing_records(user) -> int:
    return BrowsingRecord.objects.filter(user=user).delete()[0]


def purge_browsing_records(
    cutoff, *, batch_size: int = BATCH_SIZE, stats: BatchStats | None = None
) -> int:
    return purge_in_batches(
        BrowsingRecord.objects.filter(occurred_at__lt=cutoff),
        batch_size=batch_size,
        stats=stats,
        order_by="occurred_at",
    )


registry.register(
    DataKind(
        code="browsing_records",
        erased_categories=("browsing_records", "search_records"),
        label=_("Browsing and search records"),
        description=_(
            "What you searched for in Help and which help pages you opened, recorded only "
            "while personalised display is on, to show you information that fits your needs "
            "(policy 2.4.1(2))."
        ),
        model=BrowsingRecord,
        user_lookup="user",
        fields=(
            DataField("occurred_at", _("Time")),
            DataField("kind", _("Kind"), choices=BrowsingRecord.Kind),
            DataField("text", _("Search or page")),
            DataField("path", _("Page address")),
            # Empty for the portal's own pages, else the internal service that reported it.
            DataField("source", _("Recorded by"), choices={"": _("this portal")}),
        ),
        erase=erase_browsing_records,
        retention=timedelta(days=180),
        retention_note=_(
            "Recorded only while personalised display is on; deleted when you turn it off, "
            "and after 180 days at most. You can delete them yourself at any time."
        ),
        collected_under="personalisation",
        expiry_action=ExpiryAction.DELETE,
        timestamp_field="occurred_at",
        purge_expired=purge_browsing_records,
        ordering=("-occurred_at", "-pk"),
    )
)


def unverified_signups_stale(cutoff: datetime) -> models.QuerySet:
    # A legal hold stops every erasure, this one too.
    return registry.without_held_users(
        User.objects.filter(
            phone_verified=False,
            closed_at__isnull=True,
            date_joined__lt=cutoff,
            is_staff=False,
            is_superuser=False,
        )
    )


def unverified_signups_close(cutoff: datetime, *, stats: BatchStats | None = None) -> int:
    """Erase, through the registry, what each stale sign-up left, then close it: the
    consent ledger refers to the user row for good, so the row stays, without a number."""
    stats = stats if stats is not None else BatchStats()
    closed = 0
    last = 0
    while True:
        # One account per transaction: erasing walks every kind, so keep each one short.
        with stats.batch() as batch:
            user = (
                unverified_signups_stale(cutoff)
                .filter(pk__gt=last)
                .order_by("pk")
                .select_for_update(skip_locked=True)
                .first()
            )
            if user is not None:
                last = user.pk
                erased = {kind.code: kind.erase(user) for kind in registry.kinds()}
                user_close(user=user)
                audit_record(
                    actor=None,
                    action=AuditAction.ACCOUNT_CLOSED_UNVERIFIED,
                    target=user,
                    user=user,
                    joined=user.date_joined.isoformat(),
                    erased=erased,
                )
                batch.rows = 1
        if user is None:
            return closed
        closed += 1


registry.register_purge(
    PurgeTarget(
        code=UNVERIFIED_SIGNUPS,
        label=_("Sign-ups whose number was never verified"),
        period=_("24 hours after signing up"),
        action=_("everything erased through the registry, the account closed, the number freed"),
        model_label="accounts.User",
        cutoff=lambda now: now - UNVERIFIED_SIGNUP_LIFETIME,
        purge=unverified_signups_close,
        count=lambda cutoff: unverified_signups_stale(cutoff).count(),
    )
)
