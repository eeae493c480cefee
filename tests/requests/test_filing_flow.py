"""The filing journey's steps called directly (``requests.flows.filing``), as the views and
later the API call them: a request with a real session and the real database."""

from datetime import timedelta
from importlib import import_module

import pytest
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone, translation

from requests import verification
from requests.flows import filing
from requests.models import PrivacyRequest, RequestEvent
from tests.accounts.factories import UserFactory
from tests.helpers import last_code

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = "+8613800138000"
Kind = PrivacyRequest.Kind
DELETION = {"ground": "4.2.1", "whole_account": False, "scope_kinds": ["browsing_records"]}
KEY = "requests.pending.deletion"


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def user():
    return UserFactory(phone=PHONE)


@pytest.fixture
def http(rf, user):
    request = rf.post("/")
    request.user = user
    request.session = import_module(settings.SESSION_ENGINE).SessionStore()
    return request


def wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def test_only_copies_and_deletions_need_a_code():
    assert {kind for kind in Kind.values if filing.needs_code(kind)} == {
        Kind.ACCESS,
        Kind.DELETION,
    }


def test_a_kind_without_a_code_is_filed_at_once(http, user, sms_outbox):
    outcome = filing.begin(http, Kind.QUESTION, {"details": "How long do you keep my data?"})

    assert outcome.error == ""
    privacy_request = outcome.privacy_request
    assert privacy_request == PrivacyRequest.objects.get(user=user)
    assert privacy_request.kind == Kind.QUESTION
    assert privacy_request.verified_at is None
    assert privacy_request.is_open
    assert RequestEvent.objects.filter(
        request=privacy_request, action=RequestEvent.Action.SUBMITTED
    ).exists()
    assert KEY not in http.session
    assert "requests.pending.question" not in http.session
    # The one SMS says it was filed; no code was sent.
    assert len(sms_outbox) == 1
    assert "code" not in sms_outbox[0].body.lower()


def test_a_refused_kind_without_a_code_files_nothing(http, sms_outbox):
    outcome = filing.begin(http, Kind.QUESTION, {"details": "  "})

    assert outcome.refused and outcome.error
    assert str(outcome.message) == "Write your question or complaint."
    assert outcome.privacy_request is None
    assert not PrivacyRequest.objects.exists()
    assert list(sms_outbox) == []


def test_a_refusal_is_returned_before_any_code_is_sent(http, sms_outbox):
    outcome = filing.begin(http, Kind.DELETION, {**DELETION, "ground": "not a ground"})

    assert outcome.refused and outcome.error
    assert str(outcome.message) == "Choose the ground for the deletion (policy 4.2.1-4.2.5)."
    assert outcome.pending is None
    assert list(sms_outbox) == []
    assert KEY not in http.session
    assert not PrivacyRequest.objects.exists()


def test_begin_texts_a_code_and_keeps_the_filing_waiting(http, sms_outbox):
    outcome = filing.begin(http, Kind.DELETION, DELETION)

    assert outcome.error == ""
    assert outcome.privacy_request is None
    assert outcome.pending.payload == DELETION
    assert outcome.pending.sent_to == "+86*******8000"
    assert outcome.pending.attempts_left == verification.MAX_ATTEMPTS
    assert len(last_code(sms_outbox, PHONE)) == 6
    assert filing.waiting(http, Kind.DELETION).pending == outcome.pending
    assert not PrivacyRequest.objects.exists()


def test_a_second_code_at_once_is_rate_limited(http, sms_outbox):
    filing.begin(http, Kind.DELETION, DELETION)

    again = filing.begin(http, Kind.DELETION, DELETION)
    resent = filing.resend(http, Kind.DELETION)

    assert again.error == resent.error == "rate_limited"
    assert not again.refused
    assert again.message == verification.VerificationError.MESSAGES["rate_limited"]
    assert len(sms_outbox) == 1


def test_a_wrong_code_counts_an_attempt(http, sms_outbox):
    filing.begin(http, Kind.DELETION, DELETION)
    code = last_code(sms_outbox, PHONE)

    outcome = filing.confirm(http, Kind.DELETION, wrong(code))

    assert outcome.error == filing.WRONG_CODE
    assert outcome.field == "code"
    assert not outcome.refused and not outcome.starts_again
    assert outcome.message == "That code is not right. You can try 2 more times."
    assert outcome.pending.attempts_left == 2
    assert http.session[KEY]["attempts"] == 1
    assert not PrivacyRequest.objects.exists()


def test_the_right_code_files_with_verified_at(http, user, sms_outbox):
    filing.begin(http, Kind.DELETION, {**DELETION, "details": "please"})
    code = last_code(sms_outbox, PHONE)
    before = timezone.now()

    outcome = filing.confirm(http, Kind.DELETION, code)

    assert outcome.error == ""
    privacy_request = PrivacyRequest.objects.get(user=user)
    assert outcome.privacy_request == privacy_request
    assert privacy_request.kind == Kind.DELETION
    assert privacy_request.details == "please"
    assert privacy_request.scope_kinds == ["browsing_records"]
    assert before <= privacy_request.verified_at <= timezone.now()
    assert KEY not in http.session
    # The code works once.
    assert filing.confirm(http, Kind.DELETION, code).error == "nothing_pending"
    assert PrivacyRequest.objects.count() == 1


def test_an_expired_code_is_refused_and_the_filing_kept(http, sms_outbox):
    filing.begin(http, Kind.DELETION, DELETION)
    code = last_code(sms_outbox, PHONE)
    state = http.session[KEY]
    state["expires_at"] = (timezone.now() - timedelta(seconds=1)).isoformat()
    http.session[KEY] = state

    outcome = filing.confirm(http, Kind.DELETION, code)

    assert outcome.error == "expired"
    assert outcome.field is None
    assert not outcome.refused and not outcome.starts_again
    assert outcome.message == verification.VerificationError.MESSAGES["expired"]
    assert filing.waiting(http, Kind.DELETION).pending.payload == DELETION
    assert not PrivacyRequest.objects.exists()


def test_too_many_attempts_drop_the_filing(http, sms_outbox):
    filing.begin(http, Kind.DELETION, DELETION)
    code = last_code(sms_outbox, PHONE)

    errors = [filing.confirm(http, Kind.DELETION, wrong(code)).error for _ in range(3)]

    assert errors == [filing.WRONG_CODE, filing.WRONG_CODE, "too_many_attempts"]
    last = filing.confirm(http, Kind.DELETION, code)
    assert last.error == "nothing_pending"
    assert last.starts_again
    assert KEY not in http.session
    assert not PrivacyRequest.objects.exists()


def test_a_refusal_after_the_right_code_files_nothing(http, user, sms_outbox):
    filing.begin(http, Kind.DELETION, DELETION)
    code = last_code(sms_outbox, PHONE)
    # Between the code and its check, the payload turned unacceptable (a kind unknown).
    state = http.session[KEY]
    state["payload"] = {**DELETION, "scope_kinds": ["no_such_kind"]}
    http.session[KEY] = state

    outcome = filing.confirm(http, Kind.DELETION, code)

    assert outcome.refused and outcome.error
    assert str(outcome.message) == "Choose which data to delete, or the whole account."
    assert not outcome.starts_again
    assert not PrivacyRequest.objects.exists()


def test_waiting_without_a_filing_says_start_again(http):
    outcome = filing.waiting(http, Kind.ACCESS)

    assert outcome.pending is None
    assert outcome.error == "nothing_pending"
    assert outcome.starts_again
    assert outcome.message == verification.VerificationError.MESSAGES["nothing_pending"]
    assert filing.waiting(http, Kind.QUESTION).pending is None


def test_resend_keeps_the_filing_and_sends_a_new_code(http, sms_outbox):
    filing.begin(http, Kind.DELETION, {**DELETION, "details": "kept"})
    # The rate limits live in the cache; emptying it is what waiting out the window does.
    cache.clear()

    outcome = filing.resend(http, Kind.DELETION)

    assert outcome.error == ""
    assert outcome.pending.payload["details"] == "kept"
    assert len(sms_outbox) == 2
    assert filing.confirm(http, Kind.DELETION, last_code(sms_outbox, PHONE)).privacy_request


def test_a_copy_being_prepared_is_found_before_filing_again(http, user, media_root):
    assert filing.copy_in_progress(http, Kind.ACCESS) is None
    open_copy = PrivacyRequest.objects.create(
        user=user, kind=Kind.ACCESS, due_on=timezone.localdate() + timedelta(days=15)
    )

    assert filing.copy_in_progress(http, Kind.ACCESS) == open_copy
    assert filing.copy_in_progress(http, Kind.QUESTION) is None
