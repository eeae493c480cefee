"""What requests keeps about a user, registered with the personal-data registry."""

from django.utils.translation import gettext_lazy as _

from privacyportal.registry import DataField, DataKind, ExpiryAction, registry

from .models import Disclosure, LegalHold, PrivacyRequest, RequestEvent


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
