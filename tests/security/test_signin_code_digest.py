"""Issue 19 point 10: a sign-in code is never readable where it is stored.

While a code waits, the browser's session (its row in ``django_session`` and its copy in
the Redis cache, the ``cached_db`` engine) holds only a keyed digest of it: whoever reads
the store, or a backup of it, cannot finish that browser's sign-in.
"""

import re

import pytest
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.urls import reverse

from tests.accounts.factories import UserFactory
from tests.helpers import last_code, signup_data

# Transactional: SMS go out on commit, as in production.
pytestmark = pytest.mark.django_db(transaction=True)
PHONE = "+8613800138000"


@pytest.fixture
def english(client):
    client.cookies.load({"django_language": "en"})
    return client


def stored_anywhere(code: str) -> list[str]:
    """Where the code stands on its own (not inside a longer number) in a session store."""
    pattern = re.compile(rb"(?<!\d)" + code.encode() + rb"(?!\d)")
    found = []
    for session in Session.objects.all():
        if pattern.search(session.session_data.encode()) or pattern.search(
            repr(session.get_decoded()).encode()
        ):
            found.append(f"django_session {session.session_key}")
    redis = cache._cache.get_client()
    for key in redis.keys("*"):
        value = redis.get(key) if redis.type(key) == b"string" else b""
        if value and pattern.search(value):
            found.append(f"cache {key!r}")
    return found


def test_a_requested_sign_in_code_is_stored_only_as_a_digest_and_still_signs_in(
    english, sms_outbox, settings
):
    assert settings.SESSION_ENGINE == "django.contrib.sessions.backends.cached_db"
    user = UserFactory(phone=PHONE)

    response = english.post(reverse("account_request_login_code"), {"phone": "138 0013 8000"})
    assert response.status_code == 302
    code = last_code(sms_outbox, PHONE)

    assert Session.objects.filter(session_key=english.session.session_key).exists()
    assert stored_anywhere(code) == []

    response = english.post(reverse("account_confirm_login_code"), {"code": code})
    assert response.status_code == 302
    assert english.session["_auth_user_id"] == str(user.pk)


def test_a_wrong_code_still_fails_and_counts_towards_the_limit(english, sms_outbox):
    UserFactory(phone=PHONE)
    english.post(reverse("account_request_login_code"), {"phone": PHONE})
    code = last_code(sms_outbox, PHONE)
    wrong = "000000" if code != "000000" else "111111"

    for _ in range(2):
        response = english.post(reverse("account_confirm_login_code"), {"code": wrong})
        assert response.status_code == 200
        assert "This verification code is not right" in response.content.decode()
        assert stored_anywhere(code) == []
    english.post(reverse("account_confirm_login_code"), {"code": wrong})
    # The third wrong code ended the attempt: the right one no longer signs in.
    english.post(reverse("account_confirm_login_code"), {"code": code})
    assert "_auth_user_id" not in english.session


def test_a_digest_copied_from_the_store_is_not_a_code(english, sms_outbox):
    UserFactory(phone=PHONE)
    english.post(reverse("account_request_login_code"), {"phone": PHONE})
    stored = repr(english.session.load())
    digest = re.search(r"'code': '([^']+)'", stored).group(1)

    response = english.post(reverse("account_confirm_login_code"), {"code": digest})

    assert response.status_code == 200
    assert "_auth_user_id" not in english.session


def test_the_sign_up_code_is_stored_only_as_a_digest_too(client, sms_outbox):
    client.post(reverse("account_signup"), signup_data("13800138000"))
    code = last_code(sms_outbox, PHONE)

    assert stored_anywhere(code) == []

    response = client.post(reverse("account_verify_phone"), {"code": code})
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:settings")
