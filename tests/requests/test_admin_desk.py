"""The staff desk end to end through Django admin: actions, intermediate pages, filters, search."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from accounts.models import BrowsingRecord
from accounts.services import activity_record
from consents.models import Purpose
from consents.services import consent_grant
from privacyportal.models import AuditEntry
from requests import services, timeline
from requests.deadlines import due_date
from requests.models import (
    AccessCopy,
    DeletionTombstone,
    LegalHold,
    PrivacyRequest,
    RequestEvent,
)
from tests.accounts.factories import UserFactory
from tests.requests.factories import (
    AccessFactory,
    CorrectionFactory,
    DeletionFactory,
    QuestionFactory,
    WholeAccountDeletionFactory,
)

pytestmark = pytest.mark.django_db

Status = PrivacyRequest.Status
Kind = PrivacyRequest.Kind
Action = RequestEvent.Action
CHANGELIST = "admin:requests_privacyrequest_changelist"


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def act(client, action, requests, follow=True, **data):
    """Post an admin action for the given requests, as the changelist form (or a page) does."""
    payload = {"action": action, "_selected_action": [r.pk for r in requests], **data}
    return client.post(reverse(CHANGELIST), payload, follow=follow)


def events(privacy_request):
    return list(privacy_request.events.values_list("action", "from_status", "to_status"))


def short(privacy_request):
    return str(privacy_request.reference)[:8]


def listed(client, **params):
    response = client.get(reverse(CHANGELIST), params)
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


# --- assign and start, in bulk -----------------------------------------------------------------


def test_assign_to_me_and_start_in_bulk_report_each_refusal(admin_client, superuser):
    first, second = QuestionFactory(), QuestionFactory()
    closed = QuestionFactory()
    services.request_reject(
        privacy_request=closed, actor=superuser, reason=PrivacyRequest.RejectionReason.NO_GROUND
    )

    response = act(admin_client, "assign_to_me", [first, second, closed], index="0")
    shown = messages_of(response)
    assert f"2 requests assigned to you: {short(first)}, {short(second)}." in shown
    assert f"{short(closed)}: Only an open request can be assigned." in shown
    for privacy_request in (first, second):
        privacy_request.refresh_from_db()
        assert privacy_request.assignee == superuser
        event = privacy_request.events.get(action=Action.ASSIGNED)
        assert event.actor == superuser and event.details == {"assignee": superuser.pk}
    closed.refresh_from_db()
    assert closed.assignee is None

    response = act(admin_client, "start_requests", [first, second, closed], index="0")
    shown = messages_of(response)
    assert f"2 requests started: {short(first)}, {short(second)}." in shown
    assert f"{short(closed)}: This request is Rejected; it cannot become In progress." in shown
    first.refresh_from_db()
    assert first.status == Status.IN_PROGRESS
    assert events(first)[-1] == (Action.STARTED, Status.SUBMITTED, Status.IN_PROGRESS)
    assert first.events.get(action=Action.STARTED).actor == superuser
    closed.refresh_from_db()
    assert closed.status == Status.REJECTED


# --- intermediate pages ------------------------------------------------------------------------


def test_extend_asks_for_the_reason_and_extends_once(
    admin_client, superuser, sms_outbox, django_capture_on_commit_callbacks
):
    privacy_request = QuestionFactory()
    page = act(admin_client, "extend_requests", [privacy_request], follow=False)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="reason"' in html and 'name="post"' in html and short(privacy_request) in html

    # No reason: the page again, with the error; nothing changed.
    again = act(admin_client, "extend_requests", [privacy_request], post="yes", reason=" ")
    assert again.status_code == 200 and again.context["form"].errors
    privacy_request.refresh_from_db()
    assert privacy_request.extended_to is None

    sms_outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = act(
            admin_client,
            "extend_requests",
            [privacy_request],
            post="yes",
            reason="We need the archive team's answer.",
        )
    assert f"1 deadline extended, the user was told why: {short(privacy_request)}." in messages_of(
        response
    )
    privacy_request.refresh_from_db()
    assert privacy_request.extended_to == due_date(privacy_request.due_on, working_days=15)
    assert privacy_request.extension_reason == "We need the archive team's answer."
    event = privacy_request.events.get(action=Action.EXTENDED)
    assert event.actor == superuser and event.note == "We need the archive team's answer."
    assert [m.to for m in sms_outbox] == [privacy_request.user.phone.as_e164]

    response = act(admin_client, "extend_requests", [privacy_request], post="yes", reason="More.")
    assert f"{short(privacy_request)}: The deadline was already extended once." in messages_of(
        response
    )
    assert privacy_request.events.filter(action=Action.EXTENDED).count() == 1


def test_reject_offers_the_reasons_and_tells_how_to_complain(admin_client, superuser):
    privacy_request = QuestionFactory()
    page = act(admin_client, "reject_requests", [privacy_request], follow=False)
    html = page.content.decode()
    for value, _label in PrivacyRequest.RejectionReason.choices:
        assert f'value="{value}"' in html

    # "Other" needs words: the service refuses, the desk shows why.
    response = act(admin_client, "reject_requests", [privacy_request], post="yes", reason="other")
    assert f"{short(privacy_request)}: Explain the reason for the rejection." in messages_of(
        response
    )
    privacy_request.refresh_from_db()
    assert privacy_request.status == Status.SUBMITTED

    response = act(
        admin_client,
        "reject_requests",
        [privacy_request],
        post="yes",
        reason="no_ground",
        text="The data is not ours.",
    )
    assert f"1 request rejected: {short(privacy_request)}." in messages_of(response)
    privacy_request.refresh_from_db()
    assert privacy_request.status == Status.REJECTED
    assert privacy_request.rejection_reason == "no_ground"
    assert privacy_request.closed_at is not None
    event = privacy_request.events.get(action=Action.REJECTED)
    assert event.actor == superuser
    assert event.note == "The data is not ours."  # staff's words; the rest is a code
    note = timeline.event_note(event)
    assert str(PrivacyRequest.RejectionReason.NO_GROUND.label) in note
    assert "The data is not ours." in note and "PIPL art. 50" in note


def test_complete_answers_a_question_and_refuses_a_rejected_one(admin_client, superuser):
    privacy_request = QuestionFactory(started_by=superuser)
    page = act(admin_client, "complete_requests", [privacy_request], follow=False)
    assert 'name="answer"' in page.content.decode()

    response = act(
        admin_client,
        "complete_requests",
        [privacy_request],
        post="yes",
        answer="We keep your number and your consents.",
    )
    assert f"1 request completed: {short(privacy_request)}." in messages_of(response)
    privacy_request.refresh_from_db()
    assert privacy_request.status == Status.COMPLETED
    assert privacy_request.answer == "We keep your number and your consents."
    assert events(privacy_request)[-1] == (Action.COMPLETED, Status.IN_PROGRESS, Status.COMPLETED)

    rejected = QuestionFactory()
    services.request_reject(privacy_request=rejected, actor=superuser, reason="excessive")
    response = act(admin_client, "complete_requests", [rejected], post="yes", answer="Done.")
    assert response.status_code == 200
    assert (
        f"{short(rejected)}: This request is Rejected; it cannot become Completed."
        in messages_of(response)
    )
    rejected.refresh_from_db()
    assert rejected.status == Status.REJECTED and rejected.answer == ""
    assert not rejected.events.filter(action=Action.COMPLETED).exists()


def test_a_deletion_cannot_be_completed_with_an_answer(admin_client, superuser):
    privacy_request = DeletionFactory(started_by=superuser)
    response = act(admin_client, "complete_requests", [privacy_request], post="yes", answer="Ok")
    assert (
        f"{short(privacy_request)}: Deletions complete when approved, copies when they are ready."
        in messages_of(response)
    )
    privacy_request.refresh_from_db()
    assert privacy_request.status == Status.IN_PROGRESS


# --- deletions -----------------------------------------------------------------------------------


@pytest.fixture
def browsing_user():
    user = UserFactory()
    consent_grant(user=user, purpose=Purpose.objects.get(code="personalisation"))
    for text in ("privacy policy", "delete my account"):
        assert activity_record(user=user, kind=BrowsingRecord.Kind.SEARCH, text=text)
    return user


def test_approving_a_deletion_erases_the_records_in_scope(admin_client, superuser, browsing_user):
    privacy_request = DeletionFactory(user=browsing_user, started_by=superuser)
    page = act(admin_client, "approve_deletions", [privacy_request], follow=False)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Browsing and search records" in html
    assert "The whole account" not in html and "Active legal hold" not in html

    response = act(admin_client, "approve_deletions", [privacy_request], post="yes")
    assert f"1 deletion carried out: {short(privacy_request)}." in messages_of(response)
    assert not BrowsingRecord.objects.filter(user=browsing_user).exists()
    privacy_request.refresh_from_db()
    assert privacy_request.status == Status.COMPLETED
    event = privacy_request.events.get(action=Action.DELETION_APPROVED)
    assert event.actor == superuser and event.details["erased"] == {"browsing_records": 2}
    tombstone = DeletionTombstone.objects.get(request=privacy_request)
    assert tombstone.user_id == browsing_user.pk and tombstone.kinds == ["browsing_records"]
    assert not tombstone.whole_account
    browsing_user.refresh_from_db()
    assert browsing_user.is_active and browsing_user.phone is not None


def test_a_legal_hold_stops_approval_and_shows_its_reason(admin_client, superuser, browsing_user):
    privacy_request = DeletionFactory(user=browsing_user, started_by=superuser)
    services.legal_hold_set(user=browsing_user, reason="Court order 2026-17", actor=superuser)

    page = act(admin_client, "approve_deletions", [privacy_request], follow=False)
    html = page.content.decode()
    assert "Active legal hold" in html and "Court order 2026-17" in html

    response = act(admin_client, "approve_deletions", [privacy_request], post="yes")
    assert response.status_code == 200
    assert (
        f"{short(privacy_request)}: A legal hold stops erasure for this user: "
        "Court order 2026-17" in messages_of(response)
    )
    held = privacy_request.events.get(action=Action.DELETION_HELD)
    assert held.actor == superuser and held.note == "Court order 2026-17"
    privacy_request.refresh_from_db()
    assert privacy_request.status == Status.IN_PROGRESS
    assert BrowsingRecord.objects.filter(user=browsing_user).count() == 2
    assert not DeletionTombstone.objects.exists()


def test_whole_account_deletion_closes_the_account(admin_client, superuser):
    user = UserFactory(nickname="Leaving")
    privacy_request = WholeAccountDeletionFactory(user=user, started_by=superuser)
    page = act(admin_client, "approve_deletions", [privacy_request], follow=False)
    assert "The whole account" in page.content.decode()

    response = act(admin_client, "approve_deletions", [privacy_request], post="yes")
    assert f"1 deletion carried out: {short(privacy_request)}." in messages_of(response)
    user.refresh_from_db()
    assert user.phone is None and not user.is_active and user.closed_at is not None
    assert user.nickname == ""
    tombstone = DeletionTombstone.objects.get(request=privacy_request)
    assert tombstone.whole_account and tombstone.user_id == user.pk
    assert "browsing_records" in tombstone.kinds and "account" in tombstone.kinds
    privacy_request.refresh_from_db()
    assert privacy_request.status == Status.COMPLETED
    # The desk still lists it, without a number.
    assert privacy_request in listed(admin_client)
    assert "(account closed)" in admin_client.get(reverse(CHANGELIST)).content.decode()


def test_approving_a_deletion_that_was_not_started_is_an_error_message(admin_client):
    privacy_request = DeletionFactory()
    response = act(admin_client, "approve_deletions", [privacy_request], post="yes")
    assert (
        f"{short(privacy_request)}: Start the request before approving the deletion."
        in messages_of(response)
    )
    assert not DeletionTombstone.objects.exists()


# --- corrections ---------------------------------------------------------------------------------


def test_the_correction_page_shows_current_and_proposed_side_by_side(admin_client, superuser):
    user = UserFactory(nickname="Old Name")
    privacy_request = CorrectionFactory(
        user=user, correction_value="New Name", started_by=superuser
    )

    page = act(admin_client, "apply_corrections", [privacy_request], follow=False)
    assert page.status_code == 200
    html = page.content.decode()
    assert '<div class="current">' in html and '<div class="proposed">' in html
    current = html.index('<div class="current">')
    proposed = html.index('<div class="proposed">')
    assert html.index("Old Name", current) < proposed < html.index("New Name", proposed)
    assert 'value="Apply"' in html

    response = act(admin_client, "apply_corrections", [privacy_request], post="yes")
    assert f"1 correction applied: {short(privacy_request)}." in messages_of(response)
    user.refresh_from_db()
    assert user.nickname == "New Name"
    applied = privacy_request.events.get(action=Action.CORRECTION_APPLIED)
    assert applied.details == {"field": "nickname", "old": "Old Name", "new": "New Name"}
    privacy_request.refresh_from_db()
    assert privacy_request.status == Status.COMPLETED


def test_an_other_correction_is_answered_not_applied(admin_client, superuser):
    privacy_request = CorrectionFactory(
        correction_field="other",
        correction_value="",
        details="My birthday is wrong.",
        started_by=superuser,
    )
    page = act(admin_client, "apply_corrections", [privacy_request], follow=False)
    assert "Complete with an answer" in page.content.decode()
    response = act(admin_client, "apply_corrections", [privacy_request], post="yes")
    assert (
        f"{short(privacy_request)}: This request has no value the desk can apply; answer it "
        "instead." in messages_of(response)
    )
    response = act(
        admin_client, "complete_requests", [privacy_request], post="yes", answer="Fixed."
    )
    privacy_request.refresh_from_db()
    assert privacy_request.status == Status.COMPLETED


# --- the request's page ----------------------------------------------------------------------------


def test_the_request_page_is_read_only_with_timeline_and_buttons(admin_client, superuser):
    privacy_request = QuestionFactory(details="Who received my data?")
    url = reverse("admin:requests_privacyrequest_change", args=[privacy_request.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Who received my data?" in html
    assert 'name="_save"' not in html and 'name="details"' not in html
    assert str(Action.SUBMITTED.label) in html  # the timeline
    for name in ("assign_to_me", "start_requests", "extend_requests", "reject_requests"):
        assert f'value="{name}"' in html
    for name in ("complete_requests", "approve_deletions", "apply_corrections"):
        assert f'value="{name}"' not in html

    # The button runs the action for this request and comes back to its page.
    response = admin_client.post(
        reverse(CHANGELIST),
        {
            "action": "start_requests",
            "_selected_action": [privacy_request.pk],
            "_return_to_change": "1",
        },
    )
    assert response.status_code == 302 and response["Location"] == url
    privacy_request.refresh_from_db()
    assert privacy_request.status == Status.IN_PROGRESS
    html = admin_client.get(url).content.decode()
    assert str(Action.STARTED.label) in html and 'value="complete_requests"' in html

    # An intermediate page reached from the request's page returns to it.
    page = admin_client.post(
        reverse(CHANGELIST),
        {
            "action": "complete_requests",
            "_selected_action": [privacy_request.pk],
            "_return_to_change": "1",
        },
    )
    assert f'href="{url}"' in page.content.decode()
    response = admin_client.post(
        reverse(CHANGELIST),
        {
            "action": "complete_requests",
            "_selected_action": [privacy_request.pk],
            "_return_to_change": "1",
            "post": "yes",
            "answer": "Nobody.",
        },
    )
    assert response.status_code == 302 and response["Location"] == url

    # Fields are never edited, requests never added or deleted through the admin.
    count = RequestEvent.objects.count()
    assert admin_client.post(url, {"status": "submitted", "answer": "x"}).status_code == 403
    assert admin_client.get(reverse("admin:requests_privacyrequest_add")).status_code == 403
    delete_url = reverse("admin:requests_privacyrequest_delete", args=[privacy_request.pk])
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403
    assert "delete_selected" not in admin_client.get(reverse(CHANGELIST)).content.decode()
    privacy_request.refresh_from_db()
    assert privacy_request.status == Status.COMPLETED and privacy_request.answer == "Nobody."
    assert RequestEvent.objects.count() == count


def test_the_request_page_shows_the_access_copy_status_and_a_hold(admin_client, superuser):
    user = UserFactory()
    access = AccessFactory(user=user)
    html = admin_client.get(
        reverse("admin:requests_privacyrequest_change", args=[access.pk])
    ).content.decode()
    assert str(AccessCopy.Status.PENDING.label) in html

    services.legal_hold_set(user=user, reason="Tax audit", actor=superuser)
    erase = WholeAccountDeletionFactory(user=user)
    html = admin_client.get(
        reverse("admin:requests_privacyrequest_change", args=[erase.pk])
    ).content.decode()
    assert "Tax audit" in html and "The whole account" in html


# --- the list: filters, search, order ---------------------------------------------------------------


def set_due(privacy_request, due_on, extended_to=None, status=None):
    PrivacyRequest.objects.filter(pk=privacy_request.pk).update(
        due_on=due_on,
        extended_to=extended_to,
        extension_reason="Archive" if extended_to else "",
        status=status or privacy_request.status,
        rejection_reason="no_ground" if status == Status.REJECTED else "",
    )
    privacy_request.refresh_from_db()
    return privacy_request


def test_deadline_filters_overdue_and_due_soon(admin_client):
    today = timezone.localdate()
    overdue = set_due(QuestionFactory(), today - timedelta(days=2))
    overdue_closed = set_due(QuestionFactory(), today - timedelta(days=2), status=Status.REJECTED)
    due_today = set_due(QuestionFactory(), today)
    soon = set_due(QuestionFactory(), due_date(today, working_days=3))
    later = set_due(QuestionFactory(), due_date(today, working_days=4))
    extended_far = set_due(
        QuestionFactory(), today - timedelta(days=5), extended_to=today + timedelta(days=20)
    )
    extended_soon = set_due(
        QuestionFactory(), today - timedelta(days=5), extended_to=due_date(today, working_days=1)
    )

    assert set(listed(admin_client, deadline="overdue")) == {overdue}
    assert set(listed(admin_client, deadline="soon")) == {due_today, soon, extended_soon}
    everything = listed(admin_client)
    assert {later, extended_far, overdue_closed} <= set(everything)
    # Open requests first, the most urgent on top; closed ones last.
    assert everything[0] == overdue and everything[-1] == overdue_closed

    # "Show counts" counts each deadline choice in SQL too.
    faceted = admin_client.get(reverse(CHANGELIST), {"_facets": "True"}).content.decode()
    assert "Overdue (1)" in faceted and "Due within 3 working days (3)" in faceted

    html = admin_client.get(reverse(CHANGELIST)).content.decode()
    assert '<strong class="overdue">' in html
    assert '<td class="field-days_left">3</td>' in html


def test_search_by_phone_as_typed_and_by_reference(admin_client):
    wanted = QuestionFactory(user=UserFactory(phone="+8613800138000"))
    other = QuestionFactory(user=UserFactory(phone="+8613900139000"))
    for typed in ("138 0013 8000", "+86 138-0013-8000", "13800138000", "0013-8000"):
        assert listed(admin_client, q=typed) == [wanted], typed
    assert listed(admin_client, q=short(other)) == [other]
    assert listed(admin_client, q="no such thing") == []


def test_filter_by_assignee_mine_and_unassigned(admin_client, superuser):
    mine = QuestionFactory()
    services.request_assign(privacy_request=mine, assignee=superuser, actor=superuser)
    colleague = UserFactory(is_staff=True, nickname="Agent Li")
    theirs = QuestionFactory()
    services.request_assign(privacy_request=theirs, assignee=colleague, actor=colleague)
    nobody = QuestionFactory()

    assert listed(admin_client, assignee="me") == [mine]
    assert listed(admin_client, assignee="none") == [nobody]
    assert listed(admin_client, assignee=str(colleague.pk)) == [theirs]
    html = admin_client.get(reverse(CHANGELIST)).content.decode()
    assert "Unassigned" in html and "Agent Li" in html
    assert set(listed(admin_client, status="submitted", kind="question")) == {
        mine,
        theirs,
        nobody,
    }


# --- legal holds and tombstones ---------------------------------------------------------------------


def test_legal_holds_are_set_and_released_through_the_services(admin_client, superuser):
    user = UserFactory()
    add_url = reverse("admin:requests_legalhold_add")
    form = admin_client.get(add_url).content.decode()
    # The user is picked by number (autocomplete), never added or edited from here.
    assert "admin-autocomplete" in form and 'id="add_id_user"' not in form
    found = admin_client.get(
        reverse("admin:autocomplete"),
        {
            "app_label": "requests",
            "model_name": "legalhold",
            "field_name": "user",
            "term": str(user.phone)[3:7] + " " + str(user.phone)[7:],
        },
    ).json()["results"]
    assert [r["id"] for r in found] == [str(user.pk)]
    response = admin_client.post(add_url, {"user": user.pk, "reason": "Court order 7"})
    assert response.status_code == 302, response.content.decode()[:3000]
    hold = LegalHold.objects.get(user=user)
    assert hold.set_by == superuser and hold.reason == "Court order 7"
    assert AuditEntry.objects.filter(action="legal_hold.set", target_id=str(hold.pk)).exists()

    # A second active hold for the same user is refused on the form.
    again = admin_client.post(add_url, {"user": user.pk, "reason": "Another"})
    assert again.status_code == 200
    assert "This user already has an active legal hold." in again.content.decode()
    assert "one_active_hold_per_user" not in again.content.decode()
    assert LegalHold.objects.filter(user=user).count() == 1

    change_url = reverse("admin:requests_legalhold_change", args=[hold.pk])
    page = admin_client.get(change_url).content.decode()
    assert 'value="release_holds"' in page and 'name="_save"' not in page
    assert admin_client.post(change_url, {"reason": "edited"}).status_code == 403
    delete_url = reverse("admin:requests_legalhold_delete", args=[hold.pk])
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403

    changelist = reverse("admin:requests_legalhold_changelist")
    # The button on the hold's page runs the release action and comes back to the page.
    response = admin_client.post(
        changelist,
        {
            "action": "release_holds",
            "_selected_action": [hold.pk],
            "index": "0",
            "_return_to_change": "1",
        },
    )
    assert response.status_code == 302 and response["Location"] == change_url
    response = admin_client.get(change_url)
    assert "1 legal hold released." in messages_of(response)
    assert 'value="release_holds"' not in response.content.decode()
    hold.refresh_from_db()
    assert hold.released_at is not None and hold.released_by == superuser
    assert AuditEntry.objects.filter(action="legal_hold.released").count() == 1

    response = admin_client.post(
        changelist,
        {"action": "release_holds", "_selected_action": [hold.pk], "index": "0"},
        follow=True,
    )
    assert any("This legal hold was already released." in m for m in messages_of(response))
    assert AuditEntry.objects.filter(action="legal_hold.released").count() == 1
    assert [
        h.pk for h in admin_client.get(changelist, {"state": "released"}).context["cl"].result_list
    ] == [hold.pk]


def test_tombstones_are_a_read_only_list(admin_client, superuser):
    privacy_request = DeletionFactory(started_by=superuser)
    services.deletion_approve(privacy_request=privacy_request, actor=superuser)
    tombstone = DeletionTombstone.objects.get()
    changelist = reverse("admin:requests_deletiontombstone_changelist")
    response = admin_client.get(changelist)
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [tombstone]
    assert admin_client.get(reverse("admin:requests_deletiontombstone_add")).status_code == 403
    change_url = reverse("admin:requests_deletiontombstone_change", args=[tombstone.pk])
    assert admin_client.post(change_url, {"kinds": "[]"}).status_code == 403
    delete_url = reverse("admin:requests_deletiontombstone_delete", args=[tombstone.pk])
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403
    assert DeletionTombstone.objects.count() == 1
