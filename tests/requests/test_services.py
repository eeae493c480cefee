"""The request lifecycle, deletions and legal holds, through the services."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone, translation

from accounts.models import BrowsingRecord, SecurityEvent
from accounts.services import activity_record
from consents.models import ConsentEvent, Purpose
from consents.services import consent_grant
from requests import services, timeline
from requests.deadlines import due_date
from requests.models import DeletionTombstone, PrivacyRequest, RequestEvent
from tests.accounts.factories import UserFactory
from tests.requests.factories import (
    CorrectionFactory,
    DeletionFactory,
    QuestionFactory,
    WholeAccountDeletionFactory,
)

pytestmark = pytest.mark.django_db(transaction=True)
Status = PrivacyRequest.Status
Kind = PrivacyRequest.Kind


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def staff():
    return UserFactory(is_staff=True)


def actions(privacy_request):
    return list(privacy_request.events.values_list("action", "from_status", "to_status"))


def test_filing_sets_the_deadline_writes_the_timeline_and_tells_the_user(sms_outbox):
    user = UserFactory()
    privacy_request = QuestionFactory(user=user)
    assert privacy_request.status == Status.SUBMITTED
    assert privacy_request.due_on == due_date(privacy_request.created_at)
    assert actions(privacy_request) == [("submitted", "", "submitted")]
    assert [m.to for m in sms_outbox] == [user.phone.as_e164]


def test_access_and_deletion_need_a_fresh_code():
    user = UserFactory()
    with pytest.raises(services.RequestError, match="new SMS code"):
        services.request_file(user=user, kind=Kind.DELETION, ground="4.2.2", whole_account=True)
    with pytest.raises(services.RequestError, match="new SMS code"):
        services.request_file(
            user=user,
            kind=Kind.ACCESS,
            verified_at=timezone.now() - timedelta(minutes=11),
        )
    assert not PrivacyRequest.objects.exists()


def test_a_deletion_needs_a_ground_and_a_scope():
    user = UserFactory()
    with pytest.raises(services.RequestError, match="ground"):
        WholeAccountDeletionFactory(user=user, ground="")
    with pytest.raises(services.RequestError, match="which data"):
        DeletionFactory(user=user, scope_kinds=())
    with pytest.raises(services.RequestError, match="which data"):
        DeletionFactory(user=user, scope_kinds=["no_such_kind"])
    assert not PrivacyRequest.objects.exists()


def test_the_state_machine_refuses_illegal_moves(staff, sms_outbox):
    privacy_request = QuestionFactory()
    services.request_reject(
        privacy_request=privacy_request, actor=staff, reason="no_ground", text="Not about data."
    )
    with pytest.raises(services.RequestError, match="cannot become"):
        services.request_start(privacy_request=privacy_request, actor=staff)
    with pytest.raises(services.RequestError, match="cannot become"):
        services.request_withdraw(privacy_request=privacy_request, user=privacy_request.user)
    privacy_request.refresh_from_db()
    assert privacy_request.status == Status.REJECTED


def test_a_rejection_carries_a_reason_and_how_to_complain(staff):
    privacy_request = QuestionFactory()
    with pytest.raises(services.RequestError, match="reason"):
        services.request_reject(privacy_request=privacy_request, actor=staff, reason="")
    with pytest.raises(services.RequestError, match="Explain"):
        services.request_reject(privacy_request=privacy_request, actor=staff, reason="other")
    services.request_reject(privacy_request=privacy_request, actor=staff, reason="excessive")
    event = privacy_request.events.get(action=RequestEvent.Action.REJECTED)
    # Stored as a code; each reader gets the reason and how to complain in their language.
    assert (event.note_code, event.note_params) == ("rejected", {"reason": "excessive"})
    note = timeline.event_note(event)
    assert "manifestly unfounded" in note
    assert "complaint" in note and "court" in note
    with translation.override("zh-hans"):
        zh = timeline.event_note(event)
    assert zh != note and "法院" in zh


def test_question_lifecycle_with_assign_start_extend_and_complete(staff, sms_outbox):
    user = UserFactory()
    privacy_request = QuestionFactory(user=user)
    services.request_assign(privacy_request=privacy_request, assignee=staff, actor=staff)
    services.request_start(privacy_request=privacy_request, actor=staff)
    services.request_extend(privacy_request=privacy_request, actor=staff, reason="Waiting for IT.")
    with pytest.raises(services.RequestError, match="already extended once"):
        services.request_extend(privacy_request=privacy_request, actor=staff, reason="Again.")
    services.request_complete(privacy_request=privacy_request, actor=staff, answer="We keep X.")
    privacy_request.refresh_from_db()
    assert privacy_request.status == Status.COMPLETED and privacy_request.closed_at
    assert privacy_request.extended_to > privacy_request.due_on
    assert [a for a, _, _ in actions(privacy_request)] == [
        "submitted",
        "assigned",
        "started",
        "extended",
        "completed",
    ]
    # Filed, started, extended, completed: each told by SMS.
    assert len([m for m in sms_outbox if m.to == user.phone.as_e164]) == 4


def test_the_user_can_withdraw_an_open_request_only_their_own(sms_outbox):
    user = UserFactory()
    privacy_request = QuestionFactory(user=user)
    with pytest.raises(services.RequestError, match="not your request"):
        services.request_withdraw(privacy_request=privacy_request, user=UserFactory())
    services.request_withdraw(privacy_request=privacy_request, user=user)
    privacy_request.refresh_from_db()
    assert privacy_request.status == Status.WITHDRAWN


def test_a_correction_is_applied_through_the_service_and_audited(staff):
    user = UserFactory(nickname="Wrong Name")
    privacy_request = CorrectionFactory(user=user, correction_value="Right Name")
    with pytest.raises(services.RequestError, match="Start"):
        services.correction_apply(privacy_request=privacy_request, actor=staff)
    services.request_start(privacy_request=privacy_request, actor=staff)
    services.correction_apply(privacy_request=privacy_request, actor=staff)
    user.refresh_from_db()
    assert user.nickname == "Right Name"
    applied = privacy_request.events.get(action=RequestEvent.Action.CORRECTION_APPLIED)
    assert applied.details == {"field": "nickname", "old": "Wrong Name", "new": "Right Name"}
    privacy_request.refresh_from_db()
    assert privacy_request.status == Status.COMPLETED


def _browsing_history(user, n=3):
    consent_grant(user=user, purpose=Purpose.objects.get(code="personalisation"))
    for i in range(n):
        activity_record(user=user, kind="search", text=f"query {i}")


def test_approving_a_deletion_erases_its_scope_only_and_leaves_a_tombstone(staff):
    user, other = UserFactory(), UserFactory()
    _browsing_history(user)
    _browsing_history(other)
    SecurityEvent.objects.create(user=user, kind=SecurityEvent.Kind.SIGNED_IN)
    privacy_request = DeletionFactory(user=user)
    services.request_start(privacy_request=privacy_request, actor=staff)
    services.deletion_approve(privacy_request=privacy_request, actor=staff)

    assert not BrowsingRecord.objects.filter(user=user).exists()
    assert BrowsingRecord.objects.filter(user=other).count() == 3
    assert SecurityEvent.objects.filter(user=user).count() == 1  # not in scope
    privacy_request.refresh_from_db()
    assert privacy_request.status == Status.COMPLETED
    approved = privacy_request.events.get(action=RequestEvent.Action.DELETION_APPROVED)
    assert approved.details == {"erased": {"browsing_records": 3}, "notices": 0}
    tombstone = DeletionTombstone.objects.get()
    assert (tombstone.user_id, tombstone.kinds) == (user.pk, ["browsing_records"])


def test_whole_account_deletion_closes_the_account_frees_the_number_and_restricts_logs(
    staff, sms_outbox, client
):
    user = UserFactory(nickname="Xiao Ming")
    phone = user.phone.as_e164
    _browsing_history(user)
    SecurityEvent.objects.create(
        user=user, kind=SecurityEvent.Kind.SIGNED_IN, ip_address="10.0.0.1"
    )
    client.force_login(user)
    privacy_request = WholeAccountDeletionFactory(
        user=user, ground=PrivacyRequest.Ground.PURPOSE_DONE
    )
    services.request_start(privacy_request=privacy_request, actor=staff)
    services.deletion_approve(privacy_request=privacy_request, actor=staff)

    user.refresh_from_db()
    assert user.phone is None and not user.is_active and user.closed_at
    assert user.nickname == "" and not user.has_usable_password()
    assert not BrowsingRecord.objects.filter(user=user).exists()
    # Security logs are locked away for their storage period, invisible to ordinary queries.
    assert not SecurityEvent.objects.filter(user=user).exists()
    assert SecurityEvent.all_objects.filter(user=user, restricted_at__isnull=False).exists()
    # The consent ledger keeps the facts without IP address or device, and stays verifiable.
    assert not ConsentEvent.objects.filter(user=user).exclude(ip_address=None).exists()
    # Signed out everywhere: the session no longer authenticates.
    assert client.get("/account/")["Location"].startswith("/accounts/login/")
    # The number is free for a new account; the last SMS still reached the old number.
    assert get_user_model().objects.create_user(phone=phone)
    assert sms_outbox[-1].to == phone
    assert DeletionTombstone.objects.get().whole_account is True


def test_a_legal_hold_stops_erasure_and_the_request_says_why(staff):
    user = UserFactory()
    _browsing_history(user)
    privacy_request = DeletionFactory(user=user)
    services.request_start(privacy_request=privacy_request, actor=staff)
    hold = services.legal_hold_set(user=user, reason="Court order 2026-17", actor=staff)
    with pytest.raises(services.RequestError, match="Court order 2026-17"):
        services.deletion_approve(privacy_request=privacy_request, actor=staff)
    assert BrowsingRecord.objects.filter(user=user).count() == 3
    held = privacy_request.events.get(action=RequestEvent.Action.DELETION_HELD)
    assert held.note == "Court order 2026-17"
    privacy_request.refresh_from_db()
    assert privacy_request.status == Status.IN_PROGRESS

    services.legal_hold_release(hold=hold, actor=staff)
    services.deletion_approve(privacy_request=privacy_request, actor=staff)
    assert not BrowsingRecord.objects.filter(user=user).exists()


def test_one_active_hold_per_user_and_a_reason_is_required(staff):
    user = UserFactory()
    with pytest.raises(services.RequestError, match="reason"):
        services.legal_hold_set(user=user, reason=" ", actor=staff)
    services.legal_hold_set(user=user, reason="Tax audit", actor=staff)
    with pytest.raises(services.RequestError, match="already has an active"):
        services.legal_hold_set(user=user, reason="Another", actor=staff)
