"""The consent check, one user and in bulk, answered by the selectors the pages use."""

import pytest

from accounts.services import user_close
from consents.models import Purpose
from consents.services import consent_withdraw
from tests.accounts.factories import UserFactory

from .conftest import grant

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_check_says_whether_the_user_gave_the_consent(api):
    on, off = UserFactory(), UserFactory()
    grant(on, "personalisation")

    for user, given in ((on, True), (off, False)):
        response = api.get(f"/consents/personalisation/users/{user.pk}")
        assert response.status_code == 200
        assert response.json() == {"user_id": user.pk, "purpose": "personalisation", "given": given}


def test_a_withdrawal_counts_at_once(api):
    user = UserFactory()
    grant(user, "personalisation")
    assert api.get(f"/consents/personalisation/users/{user.pk}").json()["given"] is True

    consent_withdraw(user=user, purpose=Purpose.objects.get(code="personalisation"))

    assert api.get(f"/consents/personalisation/users/{user.pk}").json()["given"] is False


def test_a_basic_purpose_is_always_given_and_a_closed_account_never(api):
    user = UserFactory()
    grant(user, "personalisation")
    assert api.get(f"/consents/account/users/{user.pk}").json()["given"] is True

    user_close(user=user)

    assert api.get(f"/consents/personalisation/users/{user.pk}").json()["given"] is False
    assert api.get(f"/consents/account/users/{user.pk}").json()["given"] is False


def test_unknown_purpose_and_unknown_user_are_404_json(api):
    user = UserFactory()

    response = api.get(f"/consents/no_such_purpose/users/{user.pk}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_purpose"

    response = api.get(f"/consents/personalisation/users/{user.pk + 1000}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_user"


def test_bad_user_ids_in_the_path_are_json_errors(api):
    for bad in ("abc", "0", "-1", str(2**63), "1.5"):
        response = api.get(f"/consents/personalisation/users/{bad}")
        assert response.status_code == 422, bad
        assert response.json()["error"]["fields"][0]["field"] == "user_id"
    response = api.get("/consents/personalisation/users/1/more")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_bulk_check_answers_for_each_user_in_order(api):
    users = [UserFactory() for _ in range(5)]
    for user in users[::2]:
        grant(user, "personalisation")
    user_close(user=users[4])
    ids = [u.pk for u in reversed(users)]

    response = api.post("/consents/personalisation/check", json={"user_ids": ids})

    assert response.status_code == 200
    assert response.json() == {
        "purpose": "personalisation",
        "results": [
            {"user_id": users[4].pk, "given": False},
            {"user_id": users[3].pk, "given": False},
            {"user_id": users[2].pk, "given": True},
            {"user_id": users[1].pk, "given": False},
            {"user_id": users[0].pk, "given": True},
        ],
    }


@pytest.mark.parametrize(
    "body, field",
    [
        ({"user_ids": []}, "user_ids"),
        ({"user_ids": list(range(1, 1002))}, "user_ids"),
        ({"user_ids": [1, 1]}, ""),
        ({"user_ids": ["1"]}, "user_ids.0"),
        ({"user_ids": [True]}, "user_ids.0"),
        ({"user_ids": [0]}, "user_ids.0"),
        ({"user_ids": [1], "purpose": "x"}, "purpose"),
        ({}, "user_ids"),
        ([1, 2], ""),
    ],
)
def test_the_bulk_check_refuses_bad_lists_with_422(api, body, field):
    response = api.post("/consents/personalisation/check", json=body)

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert any(f["field"].startswith(field) for f in error["fields"])


def test_the_bulk_check_takes_a_thousand_and_names_unknown_ids(api):
    user = UserFactory()
    ids = [user.pk] + [user.pk + 10_000 + n for n in range(999)]

    response = api.post("/consents/personalisation/check", json={"user_ids": ids})

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "unknown_users"
    assert str(user.pk + 10_000) in error["fields"][0]["message"]
