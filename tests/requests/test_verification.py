"""The fresh SMS code before a copy or a deletion: hashed, short-lived, three tries,
and rate-limited (in Redis, as in production)."""

import json
from datetime import timedelta

import pytest
from allauth.core.internal.ratelimit import get_cache_key, parse_rate
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from requests import verification
from requests.models import PrivacyRequest
from tests.accounts.factories import UserFactory
from tests.helpers import last_code

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = "+8613800138000"
KEY = "requests.pending.deletion"
DELETION = {"ground": "4.2.1", "scope": "kinds", "scope_kinds": ["browsing_records"]}
NEW = reverse("requests:new", args=["deletion"])
VERIFY = reverse("requests:verify", args=["deletion"])


@pytest.fixture
def user():
    return UserFactory(phone=PHONE)


def wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def a_minute_passes():
    # The rate limits live in the cache; emptying it is what waiting out the window does.
    cache.clear()


def test_the_session_holds_a_keyed_hash_never_the_code(signed_in, sms_outbox):
    signed_in.post(NEW, DELETION)
    code = last_code(sms_outbox, PHONE)
    session = signed_in.session
    state = session[KEY]
    assert code not in json.dumps(dict(session.items()))
    assert len(state["digest"]) == 64
    assert state["payload"] == {
        "ground": "4.2.1",
        "whole_account": False,
        "scope_kinds": ["browsing_records"],
        "details": "",
    }
    assert state["sent_to"] == "+86*******8000"
    assert state["attempts"] == 0
    expires_at = timezone.datetime.fromisoformat(state["expires_at"])
    assert timedelta(minutes=9) < expires_at - timezone.now() <= timedelta(minutes=10)


def test_codes_are_six_digits_and_differ(signed_in, sms_outbox):
    codes = set()
    for _ in range(3):
        a_minute_passes()
        signed_in.post(NEW, DELETION)
        code = last_code(sms_outbox, PHONE)
        assert len(code) == 6 and code.isdigit()
        codes.add(code)
    assert len(codes) > 1


def test_a_code_is_bound_to_its_user(signed_in, sms_outbox):
    signed_in.post(NEW, DELETION)
    code = last_code(sms_outbox, PHONE)
    # Another account whose session somehow holds the same state cannot use the code.
    other = Client()
    other.force_login(UserFactory())
    session = other.session
    session[KEY] = signed_in.session[KEY]
    session.save()
    assert other.post(VERIFY, {"code": code}).status_code == 400
    assert not PrivacyRequest.objects.exists()


def test_an_expired_code_is_refused_and_a_new_one_keeps_the_filing(signed_in, user, sms_outbox):
    signed_in.post(NEW, {**DELETION, "details": "please"})
    code = last_code(sms_outbox, PHONE)
    session = signed_in.session
    state = session[KEY]
    state["expires_at"] = (timezone.now() - timedelta(seconds=1)).isoformat()
    session[KEY] = state
    session.save()

    response = signed_in.post(VERIFY, {"code": code})
    assert response.status_code == 400
    assert "This code has expired: codes last 10 minutes." in response.content.decode()
    assert not PrivacyRequest.objects.exists()

    a_minute_passes()
    response = signed_in.post(VERIFY, {"resend": "1"}, follow=True)
    assert "We sent a new code." in response.content.decode()
    new_code = last_code(sms_outbox, PHONE)
    if new_code != code:
        assert signed_in.post(VERIFY, {"code": code}).status_code == 400
    signed_in.post(VERIFY, {"code": new_code})
    privacy_request = PrivacyRequest.objects.get(user=user)
    assert privacy_request.details == "please"


def test_three_attempts_then_the_filing_is_dropped(signed_in, sms_outbox):
    signed_in.post(NEW, DELETION)
    code = last_code(sms_outbox, PHONE)
    statuses = [signed_in.post(VERIFY, {"code": wrong(code)}).status_code for _ in range(3)]
    assert statuses == [400, 400, 302]
    assert KEY not in signed_in.session
    assert signed_in.post(VERIFY, {"code": code})["Location"] == NEW
    assert not PrivacyRequest.objects.exists()


def test_a_malformed_code_does_not_use_up_an_attempt(signed_in, sms_outbox):
    signed_in.post(NEW, DELETION)
    for bad in ["12ab56", "123", ""]:
        response = signed_in.post(VERIFY, {"code": bad})
        assert response.status_code == 400
    assert signed_in.session[KEY]["attempts"] == 0
    assert "The code has 6 digits." in signed_in.post(VERIFY, {"code": "12"}).content.decode()


def test_asking_codes_too_fast_is_refused_with_a_clear_message(signed_in, sms_outbox):
    assert signed_in.post(NEW, DELETION).status_code == 302
    response = signed_in.post(NEW, DELETION)
    assert response.status_code == 429
    body = response.content.decode()
    assert "wait a minute before asking for another one" in body
    # The code already sent still works: the page leads back to it.
    assert f'href="{VERIFY}"' in body
    response = signed_in.post(VERIFY, {"resend": "1"}, follow=True)
    assert "wait a minute before asking for another one" in response.content.decode()
    assert len(sms_outbox) == 1


def test_codes_per_number_are_limited_per_hour(signed_in, sms_outbox):
    statuses = []
    for _ in range(6):
        statuses.append(signed_in.post(NEW, DELETION).status_code)
        # Only the one-a-minute window passes; the hourly count stays.
        cache.delete(
            get_cache_key(
                None,
                app="allauth.account",
                action="request_verify",
                rate=parse_rate("1/60s/key"),
                key=PHONE,
            )
        )
    assert statuses == [302] * 5 + [429]
    assert len(sms_outbox) == 5


def test_verify_without_a_pending_filing_starts_again(signed_in):
    response = signed_in.get(VERIFY, follow=True)
    assert response.redirect_chain[-1][0] == NEW
    assert "There is nothing waiting for a code" in response.content.decode()


def test_check_refuses_without_a_pending_filing(rf, user):
    request = rf.post(VERIFY)
    request.user = user
    request.session = {}
    with pytest.raises(verification.VerificationError) as raised:
        verification.check(request, "deletion", "123456")
    assert raised.value.code == "nothing_pending"
