"""What consents keeps about a user, registered with the personal-data registry."""

from django.db import transaction
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from privacyportal.models import AuditEntry
from privacyportal.registry import YES_NO, DataField, DataKind, ExpiryAction, registry

from .cache import consent_cache
from .models import (
    Channel,
    ConsentEvent,
    ConsentState,
    PolicyAcceptance,
    PolicySmsNotice,
    Purpose,
)


def purpose_names() -> dict[str, str]:
    """Every purpose's code and its name in the active language (inactive ones too: the
    history keeps them). Kept with the purposes' catalogue, which a purpose change drops."""
    return consent_cache.catalogue_derived(
        ("purpose names", get_language()),
        lambda: {purpose.code: purpose.name for purpose in Purpose.objects.all()},
    )


@transaction.atomic
def erase_consent_states(user) -> int:
    deleted = ConsentState.objects.filter(user=user).delete()[0]
    transaction.on_commit(lambda: consent_cache.invalidate_user(user.pk))
    return deleted


def erase_consent_history_client_details(user) -> int:
    """The ledger is kept as proof of each choice; what identifies the device goes.

    The chain covers only a salted digest of IP address and device, so removing
    them and the salt leaves the chain verifiable and the digest unlinkable.
    """
    # Only rows that still hold details: erasing twice changes nothing (replay_deletions).
    return (
        ConsentEvent.objects.filter(user=user)
        .filter(Q(ip_address__isnull=False) | ~Q(user_agent="") | ~Q(client_salt=""))
        .update(ip_address=None, user_agent="", client_salt="")
    )


def erase_acceptance_client_details(user) -> int:
    return (
        PolicyAcceptance.objects.filter(user=user)
        .filter(Q(ip_address__isnull=False) | ~Q(user_agent=""))
        .update(ip_address=None, user_agent="")
    )


registry.register(
    DataKind(
        code="consents",
        erased_categories=(),
        label=_("Your choices"),
        description=_(
            "Which optional uses of your data you have switched on or off (policy 2.1.2)."
        ),
        model=ConsentState,
        user_lookup="user",
        fields=(
            DataField("purpose__code", _("Purpose"), choices=purpose_names),
            DataField("granted", _("Given"), choices=YES_NO),
            DataField("changed_at", _("Since")),
            DataField("policy_version_number", _("Under policy version")),
        ),
        erase=erase_consent_states,
        retention=None,
        retention_note=_("Kept while your account is open."),
        expiry_action=ExpiryAction.DELETE,
        ordering=("purpose__position", "purpose__code"),
    )
)

registry.register(
    DataKind(
        code="consent_history",
        # Erasing strips the IP address and device from each entry.
        erased_categories=("device_information", "ip_address"),
        label=_("Consent history"),
        description=_(
            "Every choice you made and every policy version you accepted, with the policy "
            "version in force and a fingerprint of the text you saw (policy VI)."
        ),
        model=ConsentEvent,
        user_lookup="user",
        fields=(
            DataField("occurred_at", _("Time")),
            DataField("action", _("Action"), choices=ConsentEvent.Action),
            DataField("purpose__code", _("Purpose"), choices=purpose_names),
            DataField("channel", _("How"), choices=Channel),
            DataField("policy_version__number", _("Policy version")),
            DataField("text_hash", _("Fingerprint of the text shown")),
            DataField("ip_address", _("IP address")),
            DataField("user_agent", _("Device")),
            DataField("receipt_id", _("Receipt")),
        ),
        erase=erase_consent_history_client_details,
        # The ledger is the proof of each choice: when the account goes, the entries
        # stay without what identifies the device.
        retention=None,
        expiry_action=ExpiryAction.ANONYMISE,
        retention_note=_(
            "Kept as proof of your choices; after your account is deleted only the choice "
            "itself remains, without IP address or device."
        ),
        ordering=("-occurred_at", "-pk"),
    )
)

registry.register(
    DataKind(
        code="policy_acceptances",
        erased_categories=("device_information", "ip_address"),
        label=_("Policy acceptances"),
        description=_("Which versions of the privacy policy you accepted, when and from where."),
        model=PolicyAcceptance,
        user_lookup="user",
        fields=(
            DataField("version__number", _("Version")),
            DataField("express", _("Express acceptance"), choices=YES_NO),
            DataField("accepted_at", _("Time")),
            DataField("ip_address", _("IP address")),
            DataField("user_agent", _("Device")),
        ),
        erase=erase_acceptance_client_details,
        retention=None,
        expiry_action=ExpiryAction.ANONYMISE,
        retention_note=_(
            "Kept as proof of acceptance; IP address and device go with your account."
        ),
        ordering=("-accepted_at",),
    )
)

registry.exempt(
    AuditEntry,
    reason="Audit entries record what staff did (publishing a policy version, setting a "
    "legal hold, changing an account) and to whom: evidence of how the data was handled, "
    "kept when the account is erased. They name the user by the closed account's row "
    "(without number) and hold no personal data in their details.",
)

registry.exempt(
    PolicySmsNotice,
    reason="A delivery marker (user, policy version, time) that keeps a material version's "
    "SMS from being sent twice; it holds no number and no text, and goes with the user row.",
)
