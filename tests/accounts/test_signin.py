import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from accounts.models import SecurityEvent
from tests.accounts.factories import UserFactory
from tests.helpers import last_code

# Transactional: SMS go out on commit, as in production.
pytestmark = pytest.mark.django_db(transaction=True)
User = get_user_model()
PHONE = "+8613800138000"


@pytest.fixture
def english(client):
    client.cookies.load({"django_language": "en"})
    return client


def test_sign_in_by_code_records_the_event_with_device_and_ip(english, sms_outbox):
    user = UserFactory(phone=PHONE)
    response = english.post(reverse("account_request_login_code"), {"phone": "138 0013 8000"})
    assert response.status_code == 302
    code = last_code(sms_outbox, PHONE)
    response = english.post(
        reverse("account_confirm_login_code"), {"code": code}, HTTP_USER_AGENT="TestPhone/1.0"
    )
    assert response.status_code == 302
    assert english.session["_auth_user_id"] == str(user.pk)
    event = user.security_events.get(kind=SecurityEvent.Kind.SIGNED_IN)
    assert event.detail == "code"
    assert event.user_agent == "TestPhone/1.0"
    assert event.ip_address == "127.0.0.1"


def test_login_page_with_empty_password_sends_a_code(english, sms_outbox):
    UserFactory(phone=PHONE)
    response = english.post(
        reverse("account_login"), {"login": "+86 138-0013-8000", "password": ""}
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_confirm_login_code"))
    assert last_code(sms_outbox, PHONE)


def test_sign_in_by_password_once_set(english, sms_outbox):
    user = UserFactory(phone=PHONE, password="a long passphrase 42")
    response = english.post(
        reverse("account_login"), {"login": "138 0013 8000", "password": "a long passphrase 42"}
    )
    assert response.status_code == 302
    assert english.session["_auth_user_id"] == str(user.pk)
    assert user.security_events.get(kind=SecurityEvent.Kind.SIGNED_IN).detail == "password"
    assert sms_outbox == []


def test_wrong_password_is_refused_with_a_clear_message(english):
    UserFactory(phone=PHONE, password="a long passphrase 42")
    response = english.post(reverse("account_login"), {"login": PHONE, "password": "nope"})
    assert response.status_code == 200
    assert "phone number and/or password you specified are not correct" in response.content.decode()
    assert "_auth_user_id" not in english.session


def test_password_sign_in_is_refused_for_a_code_only_account(english):
    UserFactory(phone=PHONE)
    response = english.post(
        reverse("account_login"), {"login": PHONE, "password": "anything at all"}
    )
    assert response.status_code == 200
    assert "_auth_user_id" not in english.session


def test_wrong_code_three_times_stops_the_sign_in(english, sms_outbox):
    UserFactory(phone=PHONE)
    english.post(reverse("account_request_login_code"), {"phone": PHONE})
    code = last_code(sms_outbox, PHONE)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(2):
        response = english.post(reverse("account_confirm_login_code"), {"code": wrong})
        assert response.status_code == 200
        assert "This verification code is not right" in response.content.decode()
    response = english.post(reverse("account_confirm_login_code"), {"code": wrong}, follow=True)
    assert "_auth_user_id" not in english.session
    english.post(reverse("account_confirm_login_code"), {"code": code})
    assert "_auth_user_id" not in english.session


def test_sign_out_records_the_event(english):
    user = UserFactory(phone=PHONE)
    english.force_login(user)
    response = english.post(reverse("account_logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in english.session
    assert user.security_events.filter(kind=SecurityEvent.Kind.SIGNED_OUT).count() == 1


def test_unknown_number_reveals_nothing_and_signs_no_one_in(english, sms_outbox):
    response = english.post(reverse("account_request_login_code"), {"phone": PHONE})
    assert response.status_code == 302
    assert [m.to for m in sms_outbox] == [PHONE]
    assert "no account" in sms_outbox[0].body
