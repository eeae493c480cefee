"""Disclosures: every rule a recorded sharing must meet, and its one write.

The desk's form and the API only shape their input and show the refusal: the rules live
here, so both callers refuse the same sharings with the same words. Each refusal names the
input it is about (``field``) so a form can put it beside that field, and a ``code`` for
callers that answer machines.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from consents.models import ConsentState, DataCategory
from consents.selectors import consent_is_given
from privacyportal.errors import ServiceError
from privacyportal.services import audit_record

from .audit import AuditAction
from .models import Disclosure, Recipient

SHARING_PURPOSE = "third_party_sharing"


class DisclosureError(ServiceError):
    """A sharing that breaks a rule: nothing is written.

    ``desk_message`` is the same refusal in the desk's words, with what staff do next
    (the API's callers are engineers of other services, not staff).
    """

    def __init__(self, message, code: str | None = None, *, field=None, desk_message=None):
        super().__init__(message, code, field=field)
        self.desk_message = desk_message or message


def _consent_missing() -> DisclosureError:
    return DisclosureError(
        _("The user has not given separate consent to sharing with third parties."),
        code="consent_missing",
        field="basis",
        desk_message=_(
            "The user has not given separate consent to sharing with third parties. Record "
            "the sharing on a legal exception if one applies; otherwise the data must not be "
            "shared."
        ),
    )


def disclosure_refusals(
    *,
    user,
    recipient: Recipient | None,
    categories: list[DataCategory],
    subject_identifier: str,
    basis: str,
    legal_exception: str = "",
    legal_note: str = "",
    disclosed_at: datetime | None = None,
) -> list[DisclosureError]:
    """Every rule the sharing breaks, in order; writes nothing. A form shows them all at once.

    An input given as None did not parse in the caller's form, which already says so beside
    it: the rules about it wait until it is given.
    """
    refusals: list[DisclosureError] = []

    def refuse(message, **details) -> None:
        refusals.append(DisclosureError(message, **details))

    if user is not None and user.closed_at is not None:
        refuse(_("The user's account is closed."), code="account_closed", field="user")
    if recipient is not None and not recipient.is_active:
        refuse(
            _("This recipient is no longer active."), code="recipient_inactive", field="recipient"
        )
    if not categories:
        refuse(_("Name the categories of data that were shared."), field="categories")
    elif recipient is not None:
        registered = set(recipient.data_categories.values_list("pk", flat=True))
        outside = [category.name for category in categories if category.pk not in registered]
        if outside:
            refuse(
                _("This recipient is not registered to receive some of these categories."),
                code="category_not_registered",
                field="categories",
                desk_message=_(
                    "%(recipient)s is not registered to receive: %(categories)s. An officer "
                    "updates the recipient first."
                )
                % {"recipient": recipient.name, "categories": ", ".join(outside)},
            )
    if disclosed_at is not None and disclosed_at > timezone.now():
        refuse(_("A sharing is recorded after it happened."), field="disclosed_at")
    if not subject_identifier.strip():
        refuse(
            _("Give the identifier the recipient knows the user by."),
            field="subject_identifier",
        )
    if basis == Disclosure.Basis.CONSENT:
        if legal_exception or legal_note.strip():
            refuse(
                _("The sharing is on the user's consent: leave the legal exception empty."),
                field="legal_exception",
            )
        if user is not None and not consent_is_given(user=user, purpose=SHARING_PURPOSE):
            refusals.append(_consent_missing())
    elif basis == Disclosure.Basis.LEGAL_EXCEPTION:
        if legal_exception not in Disclosure.LegalException.values:
            refuse(_("Choose the legal exception (policy 3.4)."), field="legal_exception")
        if not legal_note.strip():
            refuse(_("Note why the legal exception applies."), field="legal_note")
    else:
        refuse(_("Choose the basis for the sharing."), field="basis")
    return refusals


def disclosure_check(**sharing) -> None:
    """Raise ``DisclosureError``, the first rule the sharing (``disclosure_refusals``'
    arguments) breaks; writes nothing."""
    refusals = disclosure_refusals(**sharing)
    if refusals:
        raise refusals[0]


@transaction.atomic
def disclosure_record(
    *,
    user,
    recipient: Recipient,
    categories: list[DataCategory],
    subject_identifier: str,
    basis: str,
    legal_exception: str = "",
    legal_note: str = "",
    actor=None,
    disclosed_at: datetime | None = None,
    service: str = "",
) -> Disclosure:
    """Record one sharing, once every rule holds (sharing on consent needs the user's
    separate consent, now), with its audit row.

    ``service`` names the internal service that reported it through the API.
    """
    disclosure_check(
        user=user,
        recipient=recipient,
        categories=categories,
        subject_identifier=subject_identifier,
        basis=basis,
        legal_exception=legal_exception,
        legal_note=legal_note,
        disclosed_at=disclosed_at,
    )
    consent_event = None
    if basis == Disclosure.Basis.CONSENT:
        consent_event = (
            ConsentState.objects.filter(user=user, purpose__code=SHARING_PURPOSE, granted=True)
            .values_list("last_event", flat=True)
            .first()
        )
        if consent_event is None:
            # The check reads the consent cache; the ledger's state, read in this
            # transaction, has the last word (a consent withdrawn a moment ago).
            raise _consent_missing()
    disclosure = Disclosure.objects.create(
        user=user,
        recipient=recipient,
        subject_identifier=subject_identifier.strip(),
        basis=basis,
        consent_event_id=consent_event,
        legal_exception=legal_exception,
        legal_note=legal_note.strip(),
        recorded_by=actor if actor is not None and actor.pk else None,
        recorded_by_service=service,
        disclosed_at=disclosed_at or timezone.now(),
    )
    disclosure.categories.set(categories)
    audit_record(
        actor=actor,
        action=AuditAction.DISCLOSURE_RECORDED,
        target=disclosure,
        user=user,
        recipient=recipient.pk,
        basis=basis,
        service=service,
    )
    return disclosure
