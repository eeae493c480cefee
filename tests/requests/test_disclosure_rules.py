"""Every rule of a recorded sharing lives in ``requests.disclosures``: each one refused by the
service itself, on the desk's form (beside its field, nothing written, what was typed kept)
and through the API (its status and code); a recorded sharing leaves its audit row."""

from dataclasses import dataclass, field
from datetime import timedelta

import httpx
import pytest
from django.urls import reverse
from django.utils import timezone, translation

from accounts.services import user_close
from api.models import Scope
from api.services import service_token_create
from consents.models import Channel, Purpose
from consents.selectors import consent_is_given
from consents.services import consent_withdraw
from privacyportal.models import AuditEntry
from requests.admin import recipients as recipients_admin
from requests.disclosures import (
    DisclosureError,
    disclosure_check,
    disclosure_record,
    disclosure_refusals,
)
from requests.models import Disclosure
from tests.accounts.factories import UserFactory
from tests.api.conftest import grant
from tests.consents.factories import categories
from tests.requests.factories import RecipientFactory

TYPED_IDENTIFIER = "CUST-0042"


@pytest.fixture
def world():
    """A consenting user, one who never consented, a closed account, and a recipient
    registered for the phone number and the profile."""
    consenting, unconsenting, closed = UserFactory(), UserFactory(), UserFactory()
    grant(consenting, "third_party_sharing")
    grant(closed, "third_party_sharing")
    user_close(user=closed)
    recipient = RecipientFactory(name="Acme Logistics", categories=("phone_number", "profile"))
    return {
        "consenting": consenting,
        "unconsenting": unconsenting,
        "closed": closed,
        "recipient": recipient,
    }


def sharing(world, changes=None, /, **more):
    """A sharing every rule accepts (a legal exception, with its note), then ``changes`` (a
    dict, or a function of the world giving one) and ``more``."""
    data = {
        "user": world["consenting"],
        "recipient": world["recipient"],
        "categories": categories("phone_number"),
        "subject_identifier": TYPED_IDENTIFIER,
        "basis": Disclosure.Basis.LEGAL_EXCEPTION,
        "legal_exception": "3.4.1",
        "legal_note": "Tax law requires it.",
        "disclosed_at": None,
    }
    data.update(changes(world) if callable(changes) else changes or {})
    data.update(more)
    return data


ON_CONSENT = {"basis": Disclosure.Basis.CONSENT, "legal_exception": "", "legal_note": ""}


def inactive_recipient(world):
    world["recipient"].is_active = False
    world["recipient"].save()
    return {}


@dataclass(frozen=True)
class Rule:
    name: str
    changes: object  # a dict of changes to ``sharing``, or a function of the world giving one
    code: str
    field: str
    message: str  # the service's words (English)
    desk_words: str  # what the desk shows beside the field
    api_status: int
    api_code: str = field(default="invalid")


RULES = [
    Rule(
        "no categories",
        {"categories": []},
        "invalid",
        "categories",
        "Name the categories of data that were shared.",
        "This field is required.",  # the form's own field says it first
        422,
    ),
    Rule(
        "a category the recipient is not registered for",
        lambda w: {"categories": categories("phone_number", "browsing_records")},
        "category_not_registered",
        "categories",
        "This recipient is not registered to receive some of these categories.",
        "Acme Logistics is not registered to receive: Browsing records. An officer updates "
        "the recipient first.",
        422,
        "category_not_registered",
    ),
    Rule(
        "an inactive recipient",
        inactive_recipient,
        "recipient_inactive",
        "recipient",
        "This recipient is no longer active.",
        "Select a valid choice.",  # the form offers active recipients only
        409,
        "recipient_inactive",
    ),
    Rule(
        "a closed account",
        lambda w: {"user": w["closed"]},
        "account_closed",
        "user",
        "The user's account is closed.",
        "The user's account is closed.",
        409,
        "account_closed",
    ),
    Rule(
        "a sharing in the future",
        lambda w: {"disclosed_at": timezone.now() + timedelta(days=1)},
        "invalid",
        "disclosed_at",
        "A sharing is recorded after it happened.",
        "A sharing is recorded after it happened.",
        422,
    ),
    Rule(
        "a legal exception on a sharing on consent",
        {"basis": Disclosure.Basis.CONSENT},
        "invalid",
        "legal_exception",
        "The sharing is on the user's consent: leave the legal exception empty.",
        "The sharing is on the user's consent: leave the legal exception empty.",
        422,
    ),
    Rule(
        "a sharing on consent the user never gave",
        lambda w: {**ON_CONSENT, "user": w["unconsenting"]},
        "consent_missing",
        "basis",
        "The user has not given separate consent to sharing with third parties.",
        "Record the sharing on a legal exception if one applies; otherwise the data must not "
        "be shared.",
        409,
        "consent_missing",
    ),
    Rule(
        "a legal exception not chosen",
        {"legal_exception": ""},
        "invalid",
        "legal_exception",
        "Choose the legal exception (policy 3.4).",
        "Choose the legal exception (policy 3.4).",
        422,
    ),
    Rule(
        "a legal exception without its note",
        {"legal_note": "   "},
        "invalid",
        "legal_note",
        "Note why the legal exception applies.",
        "Note why the legal exception applies.",
        422,
    ),
    Rule(
        "no identifier at the recipient",
        {"subject_identifier": "   "},
        "invalid",
        "subject_identifier",
        "Give the identifier the recipient knows the user by.",
        "This field is required.",  # the form strips it to nothing and says so first
        422,
    ),
    Rule(
        "no basis",
        {"basis": ""},
        "invalid",
        "basis",
        "Choose the basis for the sharing.",
        "This field is required.",
        422,
    ),
]
BY_NAME = pytest.mark.parametrize("rule", RULES, ids=[rule.name for rule in RULES])


def nothing_written():
    return (
        not Disclosure.objects.exists()
        and not AuditEntry.objects.filter(action="disclosure.recorded").exists()
    )


# --- the service ------------------------------------------------------------------------------


@BY_NAME
@pytest.mark.django_db
def test_the_service_refuses(rule, world):
    data = sharing(world, rule.changes)

    with pytest.raises(DisclosureError) as refused:
        disclosure_record(**data)
    with pytest.raises(DisclosureError) as checked:
        disclosure_check(**data)

    for error in (refused.value, checked.value):
        with translation.override("en"):
            said = str(error.message)
        assert (error.code, error.field, said) == (
            rule.code,
            rule.field,
            rule.message,
        )
    assert [(r.code, r.field) for r in disclosure_refusals(**data)] == [(rule.code, rule.field)]
    assert nothing_written()


@pytest.mark.django_db
def test_the_check_names_every_broken_rule_at_once_and_the_record_the_first(world):
    data = sharing(world, categories=[], legal_exception="", legal_note="", user=world["closed"])

    refusals = disclosure_refusals(**data)
    with pytest.raises(DisclosureError) as refused:
        disclosure_record(**data)

    assert [r.field for r in refusals] == ["user", "categories", "legal_exception", "legal_note"]
    assert refused.value.code == "account_closed"
    assert nothing_written()


@pytest.mark.django_db
def test_a_recorded_sharing_writes_its_audit_row_with_it(world):
    staff = UserFactory(is_staff=True)
    user, recipient = world["consenting"], world["recipient"]

    disclosure = disclosure_record(**sharing(world, ON_CONSENT), actor=staff)

    entry = AuditEntry.objects.get(action="disclosure.recorded")
    assert (entry.actor, entry.user) == (staff, user)
    assert (entry.target_type, entry.target_id) == ("requests.disclosure", str(disclosure.pk))
    assert entry.details == {"recipient": recipient.pk, "basis": "consent", "service": ""}
    assert disclosure.consent_event is not None and disclosure.recorded_by == staff


def stale_consent(user):
    """The consent withdrawn a moment ago: the ledger says so, while the consent cache,
    cleared only once the withdrawal commits (never, in a test's transaction), still says
    it is given."""
    purpose = Purpose.objects.get(code="third_party_sharing")
    assert consent_is_given(user=user, purpose=purpose.code)
    consent_withdraw(user=user, purpose=purpose, channel=Channel.SELF_SERVICE)
    assert consent_is_given(user=user, purpose=purpose.code)


@pytest.mark.django_db
def test_the_ledger_has_the_last_word_over_the_consent_cache(world):
    stale_consent(world["consenting"])

    with pytest.raises(DisclosureError) as refused:
        disclosure_record(**sharing(world, ON_CONSENT))

    assert (refused.value.code, refused.value.field) == ("consent_missing", "basis")
    assert nothing_written()


# --- the desk ---------------------------------------------------------------------------------


@pytest.fixture
def superuser():
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def desk(client, superuser):
    client.force_login(superuser)
    client.cookies["django_language"] = "en"
    return client


def as_post(data):
    when = data["disclosed_at"] or timezone.now() - timedelta(hours=1)
    when = timezone.localtime(when)
    return {
        "user": data["user"].pk,
        "recipient": data["recipient"].pk,
        "categories": [category.pk for category in data["categories"]],
        "subject_identifier": data["subject_identifier"],
        "basis": data["basis"],
        "legal_exception": data["legal_exception"],
        "legal_note": data["legal_note"],
        "disclosed_at_0": when.date().isoformat(),
        "disclosed_at_1": when.strftime("%H:%M:%S"),
    }


@BY_NAME
@pytest.mark.django_db
def test_the_desk_shows_the_refusal_beside_its_field_and_keeps_what_was_typed(rule, world, desk):
    posted = as_post(sharing(world, rule.changes))

    response = desk.post(reverse("admin:requests_disclosure_add"), posted)

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert rule.field in form.errors, form.errors
    assert rule.desk_words in " ".join(form.errors[rule.field])
    assert form["legal_note"].value() == posted["legal_note"]
    assert form["subject_identifier"].value() == posted["subject_identifier"]
    assert nothing_written()


@pytest.mark.django_db
def test_the_desk_records_a_sharing_with_its_audit_row(world, desk, superuser):
    response = desk.post(reverse("admin:requests_disclosure_add"), as_post(sharing(world)))

    assert response.status_code == 302, response.context["adminform"].form.errors
    disclosure = Disclosure.objects.get()
    assert response["Location"] == reverse("admin:requests_disclosure_changelist")
    entry = AuditEntry.objects.get(action="disclosure.recorded")
    assert (entry.actor, entry.user, entry.target_id) == (
        superuser,
        world["consenting"],
        str(disclosure.pk),
    )


@pytest.mark.django_db
def test_a_consent_withdrawn_between_the_check_and_the_write_is_shown_not_a_500(
    world, desk, monkeypatch
):
    stale_consent(world["consenting"])
    writes = []
    record = recipients_admin.disclosure_record

    def recorded(**given):
        writes.append(given)
        return record(**given)

    monkeypatch.setattr(recipients_admin, "disclosure_record", recorded)
    posted = as_post(sharing(world, ON_CONSENT))

    response = desk.post(reverse("admin:requests_disclosure_add"), posted)

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert "Record the sharing on a legal exception if one applies" in " ".join(
        form.errors["basis"]
    )
    assert form["subject_identifier"].value() == TYPED_IDENTIFIER
    assert form["user"].value() == str(world["consenting"].pk)
    assert len(writes) == 1  # shown again, not tried again
    assert nothing_written()


# --- the API ----------------------------------------------------------------------------------


@pytest.fixture
def api(live_server):
    """A client of the live API with a token that may record disclosures, as "shop"."""
    _token, secret = service_token_create(
        service="shop", scopes=[Scope.DISCLOSURE_WRITE], actor=UserFactory(is_superuser=True)
    )
    with httpx.Client(
        base_url=live_server.url + "/api/v1", headers={"Authorization": f"Bearer {secret}"}
    ) as client:
        yield client


def as_json(data):
    body = {
        "user": {"id": data["user"].pk},
        "recipient": data["recipient"].name,
        "categories": [category.code for category in data["categories"]],
        "subject_identifier": data["subject_identifier"],
        "basis": data["basis"],
        "legal_exception": data["legal_exception"] or None,
        "legal_note": data["legal_note"],
    }
    if data["disclosed_at"] is not None:
        body["disclosed_at"] = data["disclosed_at"].isoformat()
    return body


@BY_NAME
@pytest.mark.django_db(transaction=True)
def test_the_api_refuses_with_the_status_and_code(rule, world, api):
    response = api.post("/disclosures", json=as_json(sharing(world, rule.changes)))

    assert response.status_code == rule.api_status, response.text
    assert response.json()["error"]["code"] == rule.api_code
    assert response.json()["error"]["message"]
    assert nothing_written()


@pytest.mark.django_db(transaction=True)
def test_the_api_records_a_sharing_with_its_audit_row(world, api):
    response = api.post("/disclosures", json=as_json(sharing(world)))

    assert response.status_code == 201, response.text
    entry = AuditEntry.objects.get(action="disclosure.recorded")
    assert (entry.actor, entry.user, entry.target_id) == (
        None,
        world["consenting"],
        str(response.json()["id"]),
    )
    assert entry.details["service"] == "shop"
