"""Consent receipts, shaped after the Kantara Initiative Consent Receipt Specification v1.1.

A receipt is the user's own copy of one ledger event: what they agreed to (or
withdrew), when, how, under which policy version, and the hashes that tie it to
the chained ledger, so that they can later prove what was recorded.

Who the controller is comes from settings (read with defaults, so a missing
setting never breaks a download):

``PRIVACY_CONTROLLER_NAME``, ``PRIVACY_CONTROLLER_CONTACT``,
``PRIVACY_CONTROLLER_ADDRESS``, ``PRIVACY_CONTROLLER_COUNTRY``,
``PRIVACY_CONTROLLER_EMAIL``, ``PRIVACY_CONTROLLER_PHONE``,
``PRIVACY_CONTROLLER_URL``.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from .models import ConsentEvent

RECEIPT_VERSION = "KI-CR-v1.1.0"
JURISDICTION = "CN"
EXTENSION_KEY = "x-ledger"
THIRD_PARTY_PURPOSE = "third_party_sharing"
POLICY_PURPOSE_CATEGORY = "privacy_policy"


def _setting(name: str, default: str) -> str:
    return str(getattr(settings, name, "") or default)


def _controller(request: HttpRequest) -> dict:
    return {
        "piiController": _setting(
            "PRIVACY_CONTROLLER_NAME", _("The operator of this privacy portal")
        ),
        "onBehalf": False,
        "contact": _setting(
            "PRIVACY_CONTROLLER_CONTACT", _("Personal information protection officer")
        ),
        "address": {
            "streetAddress": _setting(
                "PRIVACY_CONTROLLER_ADDRESS", _("See the contact section of the privacy policy")
            ),
            "addressCountry": _setting("PRIVACY_CONTROLLER_COUNTRY", JURISDICTION),
        },
        "email": _setting("PRIVACY_CONTROLLER_EMAIL", ""),
        "phone": _setting("PRIVACY_CONTROLLER_PHONE", ""),
        "piiControllerUrl": _setting("PRIVACY_CONTROLLER_URL", request.build_absolute_uri("/")),
    }


def _policy_url(event: ConsentEvent, request: HttpRequest) -> str:
    version = event.policy_version
    if version is not None and version.number:
        return request.build_absolute_uri(f"/policy/v{version.number}/")
    return request.build_absolute_uri(reverse("policy:in_force"))


def _purpose_entry(event: ConsentEvent) -> dict:
    purpose = event.purpose
    third_party = purpose.code == THIRD_PARTY_PURPOSE
    return {
        "purpose": purpose.name,
        "purposeCategory": [purpose.code],
        "consentType": "EXPLICIT",
        "piiCategory": [category.name for category in purpose.data_categories.all()],
        "primaryPurpose": purpose.is_basic,
        "termination": _("Until withdrawn in Account Settings"),
        "thirdPartyDisclosure": third_party,
        "thirdPartyName": (
            _("The recipients listed under “My data” in Account Settings") if third_party else ""
        ),
    }


def _policy_entry(event: ConsentEvent) -> dict:
    number = event.policy_version.number if event.policy_version else 0
    express = event.action == ConsentEvent.Action.POLICY_ACCEPTED
    return {
        "purpose": _("Privacy policy version %(number)s") % {"number": number},
        "purposeCategory": [POLICY_PURPOSE_CATEGORY],
        # A notice of a non-material version is shown, not agreed to: the spec asks
        # that a consent that is not explicit say how it came about.
        "consentType": "EXPLICIT" if express else "IMPLICIT",
        "piiCategory": [],
        "primaryPurpose": True,
        "termination": _("Until a newer version is accepted or the account is deleted"),
        "thirdPartyDisclosure": False,
        "thirdPartyName": "",
    }


def receipt_for_event(event: ConsentEvent, *, request: HttpRequest) -> dict:
    """The receipt for one ledger event, as a JSON-ready dict in the active language."""
    is_consent = event.purpose_id is not None
    return {
        "version": RECEIPT_VERSION,
        "jurisdiction": JURISDICTION,
        "consentTimestamp": int(event.occurred_at.timestamp()),
        "collectionMethod": event.get_channel_display(),
        "consentReceiptID": str(event.receipt_id),
        "language": get_language() or settings.LANGUAGE_CODE,
        "piiPrincipalId": event.user.phone.as_e164,
        "piiControllers": [_controller(request)],
        "policyUrl": _policy_url(event, request),
        "services": [
            {
                "service": _("Privacy portal"),
                "purposes": [_purpose_entry(event) if is_consent else _policy_entry(event)],
            }
        ],
        "sensitive": False,
        "spiCat": [],
        EXTENSION_KEY: {
            "action": event.action,
            "channel": event.channel,
            "occurredAt": event.occurred_at.isoformat(),
            "policyVersion": event.policy_version.number if event.policy_version else None,
            "purposeCode": event.purpose.code if is_consent else None,
            "purposeTextHash": event.text_hash,
            "eventHash": event.hash,
            "previousHash": event.previous_hash,
        },
    }
