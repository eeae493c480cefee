"""Status SMS: in order, and saying what happened (issue 16, point 3).

Every status text names the request (its short reference and kind, in zh-hans, the
portal's language) and the change; the copy's "being prepared" text comes before its
"ready" text; the extension gives the new date; a whole-account deletion sends a last
text to the number before it is erased.
"""

import pytest
from django.utils import translation

from requests import propagation, services, timeline
from requests.models import AccessCopy, DeletionNotice, PrivacyRequest
from tests.accounts.factories import UserFactory
from tests.requests.factories import (
    AccessFactory,
    CorrectionFactory,
    DeletionFactory,
    QuestionFactory,
    RecipientFactory,
    WholeAccountDeletionFactory,
    disclose,
)

pytestmark = pytest.mark.django_db(transaction=True)

Kind = PrivacyRequest.Kind
Status = PrivacyRequest.Status


@pytest.fixture
def staff():
    return UserFactory(is_staff=True)


def zh(text, **values) -> str:
    with translation.override("zh-hans"):
        return str(text) % values if values else str(text)


def kind_zh(privacy_request) -> str:
    with translation.override("zh-hans"):
        return str(Kind(privacy_request.kind).label)


def bodies(outbox, user_phone):
    return [m.body for m in outbox if m.to == user_phone]


def assert_names_the_request(body, privacy_request):
    assert privacy_request.short_reference in body, body
    assert kind_zh(privacy_request) in body, body
    assert "status" not in body.lower() and "状态" not in body, body


def test_the_copy_texts_being_prepared_then_ready_in_that_order(sms_outbox, media_root):
    user = UserFactory()
    phone = user.phone.as_e164
    sms_outbox.clear()

    privacy_request = AccessFactory(user=user)

    copy = AccessCopy.objects.get(request=privacy_request)
    assert copy.status == AccessCopy.Status.READY
    first, second = bodies(sms_outbox, phone)
    assert zh(services.Sms.COPY_STARTED) in first
    assert zh(services.Sms.COPY_READY, until=timeline.local_time(copy.expires_at)) in second
    assert "已完成" in second
    for body in (first, second):
        assert_names_the_request(body, privacy_request)


def test_a_failing_sms_provider_does_not_hold_up_the_copy(sms_outbox, media_root, monkeypatch):
    user = UserFactory()
    sms_outbox.clear()

    def provider_down(**kwargs):
        raise ConnectionError("SMS provider down")

    monkeypatch.setattr(services, "send_sms", provider_down)
    privacy_request = AccessFactory(user=user)

    assert AccessCopy.objects.get(request=privacy_request).status == AccessCopy.Status.READY
    # The "being prepared" text was lost; the "ready" one still came, and nothing out of order.
    (ready,) = bodies(sms_outbox, user.phone.as_e164)
    assert "已完成" in ready and privacy_request.short_reference in ready


def test_each_step_of_a_question_is_texted_with_what_changed(staff, sms_outbox):
    user = UserFactory()
    phone = user.phone.as_e164
    sms_outbox.clear()
    privacy_request = QuestionFactory(user=user, started_by=staff)
    privacy_request = services.request_extend(
        privacy_request=privacy_request, actor=staff, reason="We ask the archive."
    )
    services.request_complete(privacy_request=privacy_request, actor=staff, answer="Because.")

    filed, started, extended, completed = bodies(sms_outbox, phone)
    for body in (filed, started, extended, completed):
        assert_names_the_request(body, privacy_request)
    assert zh(services.Sms.FILED, due=privacy_request.due_on.isoformat()) in filed
    assert zh(services.Sms.STARTED, due=privacy_request.due_on.isoformat()) in started
    # The extension says so and gives the new date, not a status that did not change.
    assert zh(services.Sms.EXTENDED, due=privacy_request.extended_to.isoformat()) in extended
    assert privacy_request.extended_to.isoformat() in extended
    assert zh(services.Sms.ANSWERED) in completed


def test_rejection_withdrawal_and_correction_texts(staff, sms_outbox):
    user = UserFactory(nickname="Old")
    phone = user.phone.as_e164
    rejected = QuestionFactory(user=user)
    withdrawn = QuestionFactory(user=user)
    corrected = CorrectionFactory(user=user, correction_value="New", started_by=staff)
    sms_outbox.clear()

    services.request_reject(privacy_request=rejected, actor=staff, reason="excessive")
    services.request_withdraw(privacy_request=withdrawn, user=user)
    services.correction_apply(privacy_request=corrected, actor=staff)

    texts = bodies(sms_outbox, phone)
    assert len(texts) == 3
    for body, privacy_request, change in zip(
        texts,
        (rejected, withdrawn, corrected),
        (services.Sms.REJECTED, services.Sms.WITHDRAWN, services.Sms.CORRECTED),
        strict=True,
    ):
        assert_names_the_request(body, privacy_request)
        assert zh(change) in body


def test_a_partial_deletion_texts_the_erasure_then_that_every_recipient_was_told(staff, sms_outbox):
    user = UserFactory()
    phone = user.phone.as_e164
    archive = RecipientFactory(name="Archive")  # no endpoint: sent by hand
    disclose(user, archive, "Archive-1", "browsing_records")
    privacy_request = DeletionFactory(user=user, started_by=staff)
    sms_outbox.clear()

    services.deletion_approve(privacy_request=privacy_request, actor=staff)
    notice = DeletionNotice.objects.get(request=privacy_request, recipient=archive)
    propagation.notice_mark_sent(notice=notice, actor=staff, note="Registered letter RR-1")

    erased, done = bodies(sms_outbox, phone)
    assert zh(services.Sms.ERASED_TELLING) in erased
    assert zh(services.Sms.RECIPIENTS_TOLD) in done
    for body in (erased, done):
        assert_names_the_request(body, privacy_request)


def test_a_whole_account_deletion_sends_a_last_text_before_the_number_is_erased(staff, sms_outbox):
    user = UserFactory()
    phone = user.phone.as_e164
    archive = RecipientFactory(name="Archive")
    disclose(user, archive, "Archive-1", "phone_number")
    privacy_request = WholeAccountDeletionFactory(user=user, started_by=staff)
    sms_outbox.clear()

    services.deletion_approve(privacy_request=privacy_request, actor=staff)

    user.refresh_from_db()
    assert user.phone is None
    (last,) = sms_outbox
    assert last.to == phone
    assert zh(services.Sms.ACCOUNT_CLOSED_TELLING) in last.body
    assert "最后一条短信" in last.body
    assert_names_the_request(last.body, privacy_request)
    # No page to point to: the account is closed.
    assert "我的请求" not in last.body

    # When the recipient is dealt with later, nothing is sent: there is no number left.
    notice = DeletionNotice.objects.get(request=privacy_request, recipient=archive)
    propagation.notice_mark_sent(notice=notice, actor=staff, note="Registered letter RR-2")
    privacy_request.refresh_from_db()
    assert privacy_request.status == Status.COMPLETED
    assert len(sms_outbox) == 1


def test_a_whole_account_deletion_without_recipients_says_it_is_the_last_text(staff, sms_outbox):
    user = UserFactory()
    phone = user.phone.as_e164
    privacy_request = WholeAccountDeletionFactory(user=user, started_by=staff)
    sms_outbox.clear()

    services.deletion_approve(privacy_request=privacy_request, actor=staff)

    (last,) = sms_outbox
    assert last.to == phone and zh(services.Sms.ACCOUNT_CLOSED) in last.body
