"""Staff sign in through allauth, with the users' limits, lockout and security events (issue 19,
point 3). The admin's own login form is gone: its page only says where to go."""

import time as real_time

import pytest
from allauth.core.internal import ratelimit as allauth_ratelimit
from django.test import Client
from django.urls import reverse

from accounts.models import SecurityEvent
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "staff desk passphrase 7"
STAFF_PHONE = "+8613700137001"
LOCKOUT = "Too many attempts"


@pytest.fixture
def staff():
    return UserFactory(phone=STAFF_PHONE, is_staff=True, is_superuser=True, password=PASSWORD)


@pytest.fixture
def clock(monkeypatch):
    """allauth's rate limits read the time from their own module: move it forward."""

    class Clock:
        offset = 0.0

        def time(self):
            return real_time.time() + self.offset

        monotonic = staticmethod(real_time.monotonic)
        sleep = staticmethod(real_time.sleep)

    fake = Clock()
    monkeypatch.setattr(allauth_ratelimit, "time", fake)
    return fake


def sign_in(client, password, next_url="/admin/"):
    client.cookies.load({"django_language": "en"})
    return client.post(
        f"{reverse('account_login')}?next={next_url}",
        {"login": STAFF_PHONE, "password": password},
    )


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_the_admin_login_page_redirects_to_allauth_keeping_next(client):
    response = client.get(reverse("admin:login") + "?next=/admin/requests/privacyrequest/")
    assert response.status_code == 302
    assert response["Location"] == (
        reverse("account_login") + "?next=%2Fadmin%2Frequests%2Fprivacyrequest%2F"
    )
    # The desk itself, asked for anonymously, ends on allauth's sign-in with the desk as next.
    response = client.get("/admin/requests/privacyrequest/", follow=True)
    assert response.redirect_chain[-1][0] == (
        reverse("account_login") + "?next=%2Fadmin%2Frequests%2Fprivacyrequest%2F"
    )
    assert response.status_code == 200


def test_the_old_admin_form_signs_no_one_in(client, staff):
    response = client.post(
        reverse("admin:login"), {"username": STAFF_PHONE, "password": PASSWORD, "next": "/admin/"}
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert not signed_in(client)


def test_staff_sign_in_with_phone_and_password_and_reach_the_desk(client, staff):
    response = sign_in(client, PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert signed_in(client)
    assert client.get("/admin/").status_code == 200
    event = SecurityEvent.objects.get(user=staff, kind=SecurityEvent.Kind.SIGNED_IN)
    assert event.detail == "password"


def test_thirty_wrong_passwords_are_stopped_and_each_is_a_security_event(client, staff, clock):
    answers = [sign_in(client, f"wrong guess {n}") for n in range(30)]
    assert not signed_in(client)
    # The first five are plain wrong passwords; every later one is refused by the limit,
    # with the lockout message or a 429, whatever the password.
    for response in answers[:5]:
        assert response.status_code == 200 and LOCKOUT not in response.content.decode()
    for response in answers[5:]:
        assert response.status_code == 429 or LOCKOUT in response.content.decode()

    # The right password is refused too while the limit holds.
    right = sign_in(client, PASSWORD)
    assert right.status_code == 429 or LOCKOUT in right.content.decode()
    assert not signed_in(client)

    # Each refusal the account saw is a security event of that account, with its address.
    events = SecurityEvent.objects.filter(user=staff, kind=SecurityEvent.Kind.SIGN_IN_FAILED)
    answered = [response for response in [*answers, right] if response.status_code != 429]
    assert events.count() == len(answered) >= 6
    assert events.filter(detail="password").count() == 5
    assert events.filter(detail="locked out").count() == len(answered) - 5
    assert set(events.values_list("ip_address", flat=True)) == {"127.0.0.1"}
    assert not SecurityEvent.objects.filter(user=staff, kind=SecurityEvent.Kind.SIGNED_IN).exists()

    # Once the limit has passed, the right password signs in.
    clock.offset = 301
    response = sign_in(client, PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert signed_in(client)


def test_the_lockout_is_per_account_not_one_for_everyone(client, staff, clock):
    """allauth keys the lockout by e-mail or username; numbers must each have their own."""
    other = UserFactory(password=PASSWORD)
    for n in range(5):
        sign_in(client, f"wrong guess {n}")
    clock.offset = 61  # past the per-address limit (10 a minute), not the account's lockout
    response = Client().post(
        reverse("account_login"), {"login": other.phone.as_e164, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert LOCKOUT in sign_in(client, PASSWORD).content.decode()
