"""The language switch: each language in its own name, a choice that lasts a year, kept on
the account while signed in and restored when the user signs in on another device."""

import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from accounts.models import SecurityEvent
from tests.accounts.factories import UserFactory
from tests.helpers import last_code

pytestmark = pytest.mark.django_db(transaction=True)

COOKIE = settings.LANGUAGE_COOKIE_NAME
YEAR = 365 * 24 * 3600
PHONE = "+8613800138000"


def switch_options(response) -> list[tuple[str, str]]:
    select = re.search(
        r'<select id="language-select".*?</select>', response.content.decode(), flags=re.S
    )
    assert select, "no language switch on the page"
    return re.findall(r'<option value="([^"]+)" lang="\1"[^>]*>([^<]+)</option>', select.group(0))


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_switch_names_each_language_in_its_own_words(client, language):
    client.cookies.load({COOKIE: language})
    response = client.get(reverse("home"))
    assert f'<html lang="{language}">' in response.content.decode()
    assert switch_options(response) == [("zh-hans", "简体中文"), ("en", "English")]


def test_the_choice_lasts_a_year(client):
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert response.status_code == 302
    cookie = response.cookies[COOKIE]
    assert cookie.value == "en"
    assert cookie["max-age"] == YEAR
    assert cookie["httponly"]


def test_choosing_while_signed_in_saves_it_on_the_account(client):
    user = UserFactory()
    client.force_login(user)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    user.refresh_from_db()
    assert user.language == "en"
    event = user.security_events.get(kind=SecurityEvent.Kind.PROFILE_CHANGED)
    assert event.detail == "language"
    # Choosing the same language again changes nothing and records nothing.
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert user.security_events.filter(kind=SecurityEvent.Kind.PROFILE_CHANGED).count() == 1


def test_choosing_while_signed_out_touches_no_account(client):
    user = UserFactory()
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    user.refresh_from_db()
    assert user.language == ""


def test_an_unknown_language_is_not_saved(client):
    user = UserFactory(language="en")
    client.force_login(user)
    client.post(reverse("set_language"), {"language": "xx", "next": "/"})
    user.refresh_from_db()
    assert user.language == "en"


def test_signing_in_on_another_device_restores_the_accounts_language(sms_outbox):
    user = UserFactory(phone=PHONE, language="en")
    device = Client()
    device.cookies.load({COOKIE: "zh-hans"})
    device.post(reverse("account_request_login_code"), {"phone": PHONE})
    response = device.post(
        reverse("account_confirm_login_code"), {"code": last_code(sms_outbox, PHONE)}
    )
    assert response.status_code == 302
    assert device.session["_auth_user_id"] == str(user.pk)
    cookie = response.cookies[COOKIE]
    assert cookie.value == "en"
    assert cookie["max-age"] == YEAR
    page = device.get(reverse("accounts:settings"))
    assert '<html lang="en">' in page.content.decode()
    assert "Account Settings" in page.content.decode()


def test_signed_in_the_accounts_language_wins_over_a_stale_cookie(client):
    user = UserFactory(language="en")
    client.force_login(user)
    client.cookies.load({COOKIE: "zh-hans"})
    response = client.get(reverse("accounts:settings"))
    assert '<html lang="en">' in response.content.decode()
    assert response.cookies[COOKIE].value == "en"
    # In step: no cookie is set again.
    assert COOKIE not in client.get(reverse("accounts:settings")).cookies


def test_without_a_saved_language_the_cookie_decides(client):
    user = UserFactory()
    client.force_login(user)
    client.cookies.load({COOKIE: "en"})
    response = client.get(reverse("accounts:settings"))
    assert '<html lang="en">' in response.content.decode()
    assert COOKIE not in response.cookies


def test_an_account_without_a_language_takes_the_one_it_signs_in_with(sms_outbox):
    """So that texts and the access copy, made away from any page, speak it too."""
    user = UserFactory(phone=PHONE)
    device = Client()
    device.cookies.load({COOKIE: "en"})
    device.post(reverse("account_request_login_code"), {"phone": PHONE})
    device.post(reverse("account_confirm_login_code"), {"code": last_code(sms_outbox, PHONE)})
    assert device.session["_auth_user_id"] == str(user.pk)
    user.refresh_from_db()
    assert user.language == "en"
    assert not user.security_events.filter(kind=SecurityEvent.Kind.PROFILE_CHANGED).exists()

    # Once it has one, signing in with another cookie does not overwrite it.
    device.post(reverse("account_logout"))
    device.cookies.load({COOKIE: "zh-hans"})
    device.post(reverse("account_request_login_code"), {"phone": PHONE})
    device.post(reverse("account_confirm_login_code"), {"code": last_code(sms_outbox, PHONE)})
    user.refresh_from_db()
    assert user.language == "en"
