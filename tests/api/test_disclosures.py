"""Recording a disclosure through the API goes through requests.disclosures.disclosure_record and its rules."""

import pytest
from django.utils import timezone

from requests.models import Disclosure
from tests.accounts.factories import UserFactory

from .conftest import grant

pytestmark = pytest.mark.django_db(transaction=True)


def body(user, recipient, /, **overrides):
    return {
        "user": {"id": user.pk},
        "recipient": recipient.name,
        "categories": ["phone_number"],
        "basis": "consent",
        "subject_identifier": "cust-42",
        **overrides,
    }


def test_a_disclosure_on_consent_is_recorded_with_the_calling_service(api, recipient):
    user = UserFactory(phone="+8613912345678")
    grant(user, "third_party_sharing")

    response = api.post(
        "/disclosures",
        json=body(user, recipient, user={"phone": "+86 139 1234 5678"}, recipient=recipient.pk),
    )

    assert response.status_code == 201, response.text
    data = response.json()
    disclosure = Disclosure.objects.get()
    assert data["id"] == disclosure.pk
    assert data["recipient"] == {"id": recipient.pk, "name": recipient.name}
    assert data["categories"] == ["phone_number"]
    assert data["recorded_by_service"] == "shop"
    assert disclosure.user == user
    assert disclosure.recorded_by_service == "shop"
    assert disclosure.consent_event is not None
    assert [c.code for c in disclosure.categories.all()] == ["phone_number"]


def test_a_legal_exception_needs_no_consent_but_needs_its_note(api, recipient):
    user = UserFactory()
    shared = timezone.now().replace(microsecond=0) - timezone.timedelta(days=1)
    exception = {"basis": "legal_exception", "legal_exception": "3.4.4"}

    refused = api.post("/disclosures", json=body(user, recipient, **exception))
    recorded = api.post(
        "/disclosures",
        json=body(
            user,
            recipient,
            **exception,
            legal_note="Court order 2025-17",
            disclosed_at=shared.isoformat(),
        ),
    )

    assert refused.status_code == 422
    assert recorded.status_code == 201, recorded.text
    assert Disclosure.objects.get().disclosed_at == shared


def test_without_separate_consent_the_disclosure_is_refused_with_409_and_nothing_is_kept(
    api, recipient
):
    user = UserFactory()

    response = api.post("/disclosures", json=body(user, recipient))

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "consent_missing"
    assert "separate consent" in response.json()["error"]["message"]
    assert Disclosure.objects.count() == 0


def test_a_category_the_recipient_is_not_registered_for_is_422(api, recipient):
    user = UserFactory()
    grant(user, "third_party_sharing")

    response = api.post("/disclosures", json=body(user, recipient, categories=["ip_address"]))

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "category_not_registered"
    assert Disclosure.objects.count() == 0


@pytest.mark.parametrize(
    "overrides, status, code",
    [
        ({"user": {"id": 10**9}}, 404, "unknown_user"),
        ({"user": {"phone": "+8613900000999"}}, 404, "unknown_user"),
        ({"recipient": "Nobody Ltd"}, 404, "unknown_recipient"),
        ({"recipient": 10**9}, 404, "unknown_recipient"),
        ({"categories": ["no_such_category"]}, 422, "unknown_category"),
        ({"categories": ["phone_number", "phone_number"]}, 422, "invalid"),
        ({"categories": []}, 422, "invalid"),
        ({"user": {"phone": "12345"}}, 422, "invalid"),
        ({"user": {"phone": "+86 10 6552 9988"}}, 422, "invalid"),
        ({"user": {}}, 422, "invalid"),
        ({"user": {"id": 1, "phone": "+8613900000999"}}, 422, "invalid"),
        ({"basis": "gut_feeling"}, 422, "invalid"),
        ({"subject_identifier": "a\x00b"}, 422, "invalid"),
        ({"subject_identifier": "x" * 201}, 422, "invalid"),
        ({"disclosed_at": "2099-01-01T00:00:00+08:00"}, 422, "invalid"),
        ({"disclosed_at": "2025-01-01T00:00:00"}, 422, "invalid"),
        ({"disclosed_at": "yesterday"}, 422, "invalid"),
        ({"shared_by": "me"}, 422, "invalid"),
    ],
)
def test_bad_disclosures_are_refused_with_a_clear_error_and_change_nothing(
    api, recipient, overrides, status, code
):
    user = UserFactory(phone="+8613900000001")
    grant(user, "third_party_sharing")

    response = api.post("/disclosures", json=body(user, recipient, **overrides))

    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]
    assert Disclosure.objects.count() == 0


def test_the_phone_error_says_what_a_valid_number_looks_like(api, recipient):
    user = UserFactory()

    response = api.post("/disclosures", json=body(user, recipient, user={"phone": "12345"}))

    fields = response.json()["error"]["fields"]
    assert any(f["field"] == "user.phone" and "mobile number" in f["message"] for f in fields)


def test_an_inactive_recipient_and_a_closed_account_are_refused(api, recipient):
    from accounts.services import user_close

    user, closed = UserFactory(), UserFactory()
    grant(user, "third_party_sharing")
    user_close(user=closed)

    assert api.post("/disclosures", json=body(closed, recipient)).json()["error"]["code"] == (
        "account_closed"
    )
    recipient.is_active = False
    recipient.save()
    response = api.post("/disclosures", json=body(user, recipient))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "recipient_inactive"
    assert Disclosure.objects.count() == 0
