import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from accounts.models import SecurityEvent
from tests.helpers import last_code, signup_data

# Transactional: SMS go out on commit, as in production.
pytestmark = pytest.mark.django_db(transaction=True)
User = get_user_model()


def sign_up(client, phone):
    return client.post(reverse("account_signup"), signup_data(phone))


@pytest.mark.parametrize(
    "typed",
    [
        "13800138000",
        "138 0013 8000",
        "138-0013-8000",
        "+86 138 0013 8000",
        "+8613800138000",
        "0086 13800138000",
    ],
)
def test_signup_accepts_what_people_type_and_verifies_by_code(client, sms_outbox, typed):
    response = sign_up(client, typed)
    assert response.status_code == 302
    assert response["Location"] == reverse("account_verify_phone")
    user = User.objects.get()
    assert user.phone.as_e164 == "+8613800138000"
    assert user.phone_verified is False
    assert not user.has_usable_password()

    code = last_code(sms_outbox, "+8613800138000")
    response = client.post(reverse("account_verify_phone"), {"code": code})
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:settings")
    user.refresh_from_db()
    assert user.phone_verified is True
    assert list(user.security_events.values_list("kind", flat=True).order_by("pk")) == [
        SecurityEvent.Kind.SIGNED_UP,
        SecurityEvent.Kind.SIGNED_IN,
    ]
    assert client.get(reverse("accounts:settings")).status_code == 200


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("12345", "Enter a valid mobile number"),
        ("abc", "Enter a valid mobile number"),
        ("010 6552 9988", "This is not a mobile number"),
        ("+1 202 555 01", "Enter a valid mobile number"),
        ("", "This field is required"),
    ],
)
def test_signup_rejects_bad_numbers_with_a_clear_message(client, sms_outbox, typed, message):
    client.cookies.load({"django_language": "en"})
    response = sign_up(client, typed)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not User.objects.exists()
    assert sms_outbox == []


def test_wrong_code_three_times_ends_the_attempt_and_keeps_the_number_unverified(
    client, sms_outbox
):
    client.cookies.load({"django_language": "en"})
    sign_up(client, "13800138000")
    code = last_code(sms_outbox, "+8613800138000")
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(2):
        response = client.post(reverse("account_verify_phone"), {"code": wrong})
        assert response.status_code == 200
        assert "This verification code is not right" in response.content.decode()
    response = client.post(reverse("account_verify_phone"), {"code": wrong})
    assert response.status_code == 302
    # The attempt is over: even the right code no longer signs the user in.
    response = client.post(reverse("account_verify_phone"), {"code": code}, follow=True)
    assert "_auth_user_id" not in client.session
    assert User.objects.get().phone_verified is False


def test_signup_with_a_registered_number_reveals_nothing_and_tells_the_owner(client, sms_outbox):
    User.objects.create_user(phone="+8613800138000", phone_verified=True)
    response = sign_up(client, "138 0013 8000")
    assert response.status_code == 302
    assert User.objects.count() == 1
    assert len(sms_outbox) == 1
    assert "already has an account" in sms_outbox[0].body or "已有账户" in sms_outbox[0].body


def test_an_abandoned_sign_up_can_be_finished_by_signing_in_with_a_code(client, sms_outbox):
    sign_up(client, "13800138000")
    client.cookies.clear()  # the person closes the browser before entering the code
    fresh = type(client)()
    fresh.post(reverse("account_request_login_code"), {"phone": "13800138000"})
    code = last_code(sms_outbox, "+8613800138000")
    response = fresh.post(reverse("account_confirm_login_code"), {"code": code})
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:settings")
    user = User.objects.get()
    assert user.phone_verified is True
    assert fresh.session["_auth_user_id"] == str(user.pk)
