"""Rate limits live in the Redis cache (REDIS_URL in `make test`), as in production."""

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse

from tests.accounts.factories import UserFactory
from tests.helpers import signup_data

pytestmark = pytest.mark.django_db(transaction=True)
PHONE = "+8613800138000"


def test_rate_limits_are_stored_in_redis():
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"


def test_requesting_sign_in_codes_too_fast_is_stopped_with_a_clear_message(client, sms_outbox):
    client.cookies.load({"django_language": "en"})
    UserFactory(phone=PHONE)
    assert client.post(reverse("account_request_login_code"), {"phone": PHONE}).status_code == 302
    # A second browser (no pending sign-in in its session) asks for the same number at once.
    response = client_class_fresh(client).post(
        reverse("account_request_login_code"), {"phone": PHONE}
    )
    assert response.status_code == 200
    assert (
        "Too many attempts. To protect your account, wait a few minutes"
        in response.content.decode()
    )
    assert len(sms_outbox) == 1


def test_sign_up_codes_to_one_number_are_limited(client, sms_outbox):
    client.cookies.load({"django_language": "en"})
    assert client.post(reverse("account_signup"), signup_data(PHONE)).status_code == 302
    other = client_class_fresh(client)
    response = other.post(reverse("account_signup"), signup_data(PHONE))
    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
    assert len(sms_outbox) == 1


def test_one_client_cannot_flood_many_numbers(client, sms_outbox):
    client.cookies.load({"django_language": "en"})
    statuses = []
    for n in range(12):
        fresh = client_class_fresh(client)
        statuses.append(
            fresh.post(reverse("account_signup"), signup_data(f"+86139{n:08d}")).status_code
        )
    assert statuses[:10] == [302] * 10
    assert statuses[10:] == [429, 429]
    assert len(sms_outbox) == 10
    # The refused sign-ups were rolled back, not left as accounts without a code.
    assert get_user_model().objects.count() == 10


def test_password_guessing_is_stopped(client):
    client.cookies.load({"django_language": "en"})
    UserFactory(phone=PHONE, password="a long passphrase 42")
    for _ in range(5):
        client.post(reverse("account_login"), {"login": PHONE, "password": "wrong"})
    response = client.post(
        reverse("account_login"), {"login": PHONE, "password": "a long passphrase 42"}
    )
    assert response.status_code == 200
    assert (
        "Too many attempts. To protect your account, wait a few minutes"
        in response.content.decode()
    )
    assert "_auth_user_id" not in client.session


def client_class_fresh(client):
    fresh = type(client)()
    fresh.cookies.load({"django_language": "en"})
    return fresh


def test_one_client_cannot_ask_sign_in_codes_for_many_numbers(client, sms_outbox):
    numbers = [f"+86139{n:08d}" for n in range(21)]
    for number in numbers:
        UserFactory(phone=number)
    bodies = []
    for number in numbers:
        response = client_class_fresh(client).post(
            reverse("account_request_login_code"), {"phone": number}
        )
        bodies.append((response.status_code, "Too many attempts" in response.content.decode()))
    assert bodies[:20] == [(302, False)] * 20
    assert bodies[20][1], bodies[20]
    assert len(sms_outbox) == 20


def test_changing_the_number_again_within_a_minute_is_stopped(client, sms_outbox):
    client.cookies.load({"django_language": "en"})
    client.force_login(UserFactory(phone=PHONE))
    first = client.post(reverse("account_change_phone"), {"phone": "139 0013 9000"})
    assert first.status_code == 302
    again = client.post(reverse("account_change_phone"), {"phone": "139 0013 9001"})
    assert again.status_code in (200, 429)
    assert "Too many attempts" in again.content.decode()
    assert [message.to for message in sms_outbox] == ["+8613900139000"]


def test_the_429_page_says_what_happened_in_the_portals_layout(client):
    client.cookies.load({"django_language": "en"})
    client.post(reverse("account_signup"), signup_data(PHONE))
    response = client_class_fresh(client).post(reverse("account_signup"), signup_data(PHONE))
    assert response.status_code == 429
    body = response.content.decode()
    assert "Too many attempts" in body
    assert 'class="site-header"' in body and "Traceback" not in body
    assert response["Content-Security-Policy"] and response["X-Frame-Options"] == "DENY"
