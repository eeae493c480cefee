"""Activity from other services is kept only under the personalisation consent; callers
never need to know: the answer is 202 either way and says what happened."""

import pytest

from accounts.models import BrowsingRecord
from accounts.services import user_close
from tests.accounts.factories import UserFactory

from .conftest import grant

pytestmark = pytest.mark.django_db(transaction=True)


def test_with_the_consent_the_activity_is_stored_with_its_source(api):
    user = UserFactory()
    grant(user, "personalisation")

    response = api.post(
        "/activity", json={"user_id": user.pk, "kind": "search", "text": "  running   shoes "}
    )

    assert response.status_code == 202
    assert response.json() == {"stored": True, "reason": None}
    record = BrowsingRecord.objects.get()
    assert (record.user, record.kind, record.text, record.source) == (
        user,
        "search",
        "running shoes",
        "shop",
    )


def test_without_the_consent_it_is_accepted_and_dropped(api):
    user = UserFactory()

    response = api.post("/activity", json={"user_id": user.pk, "kind": "view", "text": "Shoes"})

    assert response.status_code == 202
    assert response.json() == {"stored": False, "reason": "no_personalisation_consent"}
    assert BrowsingRecord.objects.count() == 0


def test_a_closed_account_and_text_with_nothing_to_keep_are_dropped_too(api):
    closed, user = UserFactory(), UserFactory()
    grant(user, "personalisation")
    user_close(user=closed)

    assert api.post(
        "/activity", json={"user_id": closed.pk, "kind": "view", "text": "Shoes"}
    ).json() == {"stored": False, "reason": "account_closed"}
    assert api.post(
        "/activity", json={"user_id": user.pk, "kind": "view", "text": "\x01\x02"}
    ).json() == {"stored": False, "reason": "empty_text"}
    assert BrowsingRecord.objects.count() == 0


@pytest.mark.parametrize(
    "payload, status",
    [
        ({"user_id": 10**9, "kind": "search", "text": "x"}, 404),
        ({"user_id": 1, "kind": "purchase", "text": "x"}, 422),
        ({"user_id": 1, "kind": "search", "text": ""}, 422),
        ({"user_id": 1, "kind": "search", "text": "x" * 201}, 422),
        ({"user_id": 1, "kind": "search", "text": "x", "path": "/p"}, 422),
        ({"user_id": "1", "kind": "search", "text": "x"}, 422),
    ],
)
def test_bad_activity_is_refused(api, payload, status):
    grant(UserFactory(), "personalisation")

    response = api.post("/activity", json=payload)

    assert response.status_code == status
    assert response.json()["error"]["message"]
    assert BrowsingRecord.objects.count() == 0
