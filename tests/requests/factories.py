"""Recipients, privacy requests of each kind, disclosures and deletion notices, made the way
the product makes them: requests through ``request_file`` (real due dates, timeline and
status texts), disclosures through ``disclosure_record``, notices by approving a deletion.

Categories are given as codes; a recipient is registered for every category unless told
which. The defaults fit together: a disclosure shares browsing records, which a deletion
erases, so approving one tells that recipient.
"""

import factory
from django.utils import timezone

from requests import register, services
from requests.disclosures import disclosure_record
from requests.models import DeletionNotice, Disclosure, PrivacyRequest, Recipient
from tests.accounts.factories import UserFactory
from tests.consents.factories import categories as data_categories

Kind = PrivacyRequest.Kind


class RecipientFactory(factory.django.DjangoModelFactory):
    """``categories``: the codes it is registered to receive (all when not given).
    ``secret``: the staff member who sets its signing secret through the service; the
    secret, shown once in the product, is kept on ``recipient.plain_secret``."""

    class Meta:
        model = Recipient
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Recipient {n}")
    contact = factory.LazyAttribute(lambda o: f"dpo@{o.name.split()[0].lower()}.example")
    endpoint = ""

    @factory.post_generation
    def categories(recipient, create, extracted, **kwargs):
        if extracted is None:
            recipient.data_categories.set(data_categories())
        elif extracted:
            recipient.data_categories.set(data_categories(*extracted))

    @factory.post_generation
    def secret(recipient, create, extracted, **kwargs):
        if extracted:
            recipient.plain_secret = register.recipient_secret_set(
                recipient=recipient, actor=extracted
            )


def served_recipient(server, path: str, *, staff, **fields) -> Recipient:
    """A recipient whose endpoint is ``path`` on a ``RecipientServer``, which signs its
    callbacks with the secret the portal gave it."""
    recipient = RecipientFactory(endpoint=server.endpoint(path), secret=staff, **fields)
    server.secrets[path] = recipient.plain_secret
    return recipient


class PrivacyRequestFactory(factory.Factory):
    """A request filed through ``request_file``. ``verified=True`` stands for an SMS code
    entered just now (access and deletion need one); ``started_by`` starts it on the desk."""

    class Meta:
        model = PrivacyRequest

    class Params:
        verified = factory.Trait(verified_at=factory.LazyFunction(timezone.now))

    user = factory.SubFactory(UserFactory)

    @classmethod
    def _create(cls, model_class, **fields):
        return services.request_file(**fields)

    @factory.post_generation
    def started_by(privacy_request, create, extracted, **kwargs):
        if extracted:
            services.request_start(privacy_request=privacy_request, actor=extracted)
            privacy_request.refresh_from_db()


class QuestionFactory(PrivacyRequestFactory):
    kind = Kind.QUESTION
    details = "What do you keep about me?"


class AccessFactory(PrivacyRequestFactory):
    kind = Kind.ACCESS
    verified = True


class CorrectionFactory(PrivacyRequestFactory):
    kind = Kind.CORRECTION
    correction_field = "nickname"
    correction_value = "New Name"


class DeletionFactory(PrivacyRequestFactory):
    """A deletion of the browsing records (``scope_kinds``); ``approved_by`` starts it if
    nobody did and approves the erasure, which makes the notices to recipients."""

    kind = Kind.DELETION
    verified = True
    ground = PrivacyRequest.Ground.NO_CONSENT
    scope_kinds = ("browsing_records",)

    @factory.post_generation
    def approved_by(privacy_request, create, extracted, **kwargs):
        if extracted:
            if privacy_request.status == PrivacyRequest.Status.SUBMITTED:
                services.request_start(privacy_request=privacy_request, actor=extracted)
            services.deletion_approve(privacy_request=privacy_request, actor=extracted)
            privacy_request.refresh_from_db()


class WholeAccountDeletionFactory(DeletionFactory):
    whole_account = True
    scope_kinds = ()


class DisclosureFactory(factory.Factory):
    """A sharing recorded through ``disclosure_record``, on a legal exception, or with
    ``on_consent=True`` on the user's separate consent (which the user must have given);
    ``categories`` are codes the recipient is registered for."""

    class Meta:
        model = Disclosure

    class Params:
        on_consent = factory.Trait(
            basis=Disclosure.Basis.CONSENT, legal_exception="", legal_note=""
        )

    user = factory.SubFactory(UserFactory)
    recipient = factory.SubFactory(RecipientFactory)
    categories = ("browsing_records",)
    subject_identifier = factory.LazyAttribute(lambda o: f"ID-{o.user.pk}")
    basis = Disclosure.Basis.LEGAL_EXCEPTION
    legal_exception = Disclosure.LegalException.LEGAL_OBLIGATION
    legal_note = "Required by law."

    @classmethod
    def _create(cls, model_class, *, categories=(), **fields):
        return disclosure_record(categories=data_categories(*categories), **fields)


def disclose(user, recipient, identifier: str, *codes: str, **fields) -> Disclosure:
    """``DisclosureFactory`` said the way the ledger's tests speak: who, to whom, known by
    which identifier there, which categories (browsing records when none is named)."""
    if codes:
        fields["categories"] = codes
    return DisclosureFactory(
        user=user, recipient=recipient, subject_identifier=identifier, **fields
    )


class NoticeFactory(factory.Factory):
    """A deletion notice, due now: a recipient with a signing secret (``endpoint``,
    ``name``, secret set by ``staff``) was told the user's mobile number as ``C-1``, and the
    whole account's deletion was approved."""

    class Meta:
        model = DeletionNotice

    endpoint = "https://dsr.acme.example/notices"
    name = "Acme Logistics"
    staff = factory.SubFactory(UserFactory, is_staff=True)

    @classmethod
    def _create(cls, model_class, *, endpoint, name, staff):
        recipient = RecipientFactory(name=name, endpoint=endpoint, secret=staff)
        disclosure = DisclosureFactory(
            recipient=recipient, categories=["phone_number"], subject_identifier="C-1"
        )
        privacy_request = WholeAccountDeletionFactory(user=disclosure.user, approved_by=staff)
        return privacy_request.notices.get()
