"""A deletion of the browsing history, from the user's filing to the agent's approval.

The user files it through My requests with an SMS code; a privacy agent (staff, in the
"Privacy agent" group, not a superuser) signs in to the staff desk through its login
form, starts the request and approves the deletion on its confirmation page. Only the
browsing records are erased; the user's request page then shows it completed, with the
approval on its timeline, and the browsing history is empty.
"""

import importlib
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import BrowsingRecord, SecurityEvent
from accounts.services import activity_record, security_event_record
from consents.models import ConsentEvent, ConsentState, PolicyAcceptance, Purpose
from consents.selectors import consent_is_given
from consents.services import consent_grant
from privacyportal.templatetags.phones import phone_display
from requests.models import DeletionTombstone, PrivacyRequest, RequestEvent
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.browser

AGENT = importlib.import_module("requests.migrations.0002_staff_roles").AGENT
PASSWORD = "a long passphrase 42"
PURPOSE = "personalisation"
QUERIES = ["storage period", "delete my account", "consent receipt"]
GROUND = PrivacyRequest.Ground.NO_CONSENT
GROUND_LABEL = "4.2.2 The data was collected or used without my consent"
BROWSING = "Browsing and search records"


def test_user_files_deletion_of_browsing_history_and_agent_approves_it(
    live_server, new_context, sign_in, admin_sign_in, staff_roles, sms_code, sms_outbox, wait_until
):
    base = live_server.url

    # A user with personalised display on, a few browsing records and a security event.
    user = UserFactory()
    consent_grant(user=user, purpose=Purpose.objects.get(code=PURPOSE))
    assert wait_until(lambda: consent_is_given(user=user, purpose=PURPOSE))
    for query in QUERIES:
        assert activity_record(user=user, kind=BrowsingRecord.Kind.SEARCH, text=query)
    security_event_record(user=user, kind=SecurityEvent.Kind.SIGNED_IN, detail="code")
    assert BrowsingRecord.objects.filter(user=user).count() == len(QUERIES)
    kept = {
        "security events": list(
            SecurityEvent.all_objects.filter(user=user).values_list("pk", "restricted_at")
        ),
        "consent events": list(ConsentEvent.objects.filter(user=user).values_list("pk", "hash")),
        "consent states": list(
            ConsentState.objects.filter(user=user).values_list("pk", "purpose__code", "granted")
        ),
        "acceptances": list(PolicyAcceptance.objects.filter(user=user).values_list("pk")),
    }
    assert all(kept.values()), kept

    # A privacy agent: staff in the agent group, not a superuser, with a password.
    agent = UserFactory(is_staff=True, password=PASSWORD)
    agent.groups.add(staff_roles[AGENT])
    assert not agent.is_superuser

    # 1. The user files the deletion through My requests.
    user_page = sign_in(new_context(), user).new_page()
    user_page.goto(base + reverse("requests:list"))
    expect(user_page.get_by_role("heading", level=1)).to_have_text("My requests")
    user_page.get_by_test_id("file-links").get_by_role("link", name="Delete my data").click()
    expect(user_page).to_have_url(base + reverse("requests:new", args=["deletion"]))
    expect(user_page.get_by_role("heading", level=1)).to_have_text("Delete my data")
    user_page.get_by_role("radio", name=GROUND_LABEL).check()
    user_page.get_by_role("radio", name="Only the kinds of data I tick below").check()
    user_page.get_by_role("checkbox", name=BROWSING).check()
    checked = user_page.locator("input[name=scope_kinds]:checked")
    expect(checked).to_have_count(1)
    expect(checked).to_have_value("browsing_records")
    sent_before = len(sms_outbox)
    user_page.get_by_role("button", name="Send me a code").click()

    # 2. The code page: the summary of what is asked, then the code from the SMS.
    expect(user_page).to_have_url(base + reverse("requests:verify", args=["deletion"]))
    expect(user_page.get_by_role("heading", level=1)).to_have_text("Enter the code")
    expect(user_page.get_by_test_id("summary")).to_contain_text(BROWSING)
    assert not PrivacyRequest.objects.filter(user=user).exists()
    code = sms_code(user.phone.as_e164, after=sent_before)
    user_page.get_by_label("Code from the text message").fill(code)
    user_page.get_by_role("button", name="Confirm and file the request").click()

    # 3. The request's page: submitted, with its due date.
    privacy_request = PrivacyRequest.objects.get(user=user)
    detail_url = base + reverse("requests:detail", args=[privacy_request.reference])
    expect(user_page).to_have_url(detail_url)
    assert privacy_request.kind == PrivacyRequest.Kind.DELETION
    assert privacy_request.status == PrivacyRequest.Status.SUBMITTED
    assert privacy_request.ground == GROUND
    assert privacy_request.whole_account is False
    assert privacy_request.scope_kinds == ["browsing_records"]
    assert privacy_request.verified_at is not None
    due = privacy_request.effective_due_on
    assert due > timezone.localdate()
    expect(user_page.get_by_role("heading", level=1)).to_contain_text("Delete my data")
    expect(user_page.get_by_test_id("status")).to_have_text("Submitted")
    expect(user_page.get_by_test_id("due")).to_contain_text(f"{due:%Y-%m-%d}")
    expect(user_page.get_by_test_id("asked")).to_contain_text(BROWSING)
    expect(user_page.get_by_role("status")).to_contain_text(
        f"Your request was filed. We will answer by {due:%Y-%m-%d} at the latest."
    )
    # Nothing is erased before the team has checked it.
    assert BrowsingRecord.objects.filter(user=user).count() == len(QUERIES)

    # 4. The agent signs in to the staff desk and opens the request from the list.
    desk = admin_sign_in(new_context().new_page(), agent, PASSWORD)
    desk.goto(base + reverse("admin:requests_privacyrequest_changelist"))
    short = str(privacy_request.reference)[:8]
    row = desk.locator("#result_list tbody tr", has_text=short)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(phone_display(user.phone))
    row.get_by_role("link", name=short).click()
    change_url = base + reverse("admin:requests_privacyrequest_change", args=[privacy_request.pk])
    expect(desk).to_have_url(change_url)
    expect(desk.locator(".field-deletion_scope")).to_contain_text(BROWSING)
    tools = desk.locator(".object-tools")
    # Approval is offered only once the work has started.
    expect(tools.get_by_role("button", name="Approve deletion…")).to_have_count(0)

    # 5. Start the work.
    tools.get_by_role("button", name="Start work").click()
    expect(desk).to_have_url(change_url)
    expect(desk.locator("ul.messagelist li.success")).to_have_text(f"1 request started: {short}.")
    privacy_request.refresh_from_db()
    assert privacy_request.status == PrivacyRequest.Status.IN_PROGRESS
    assert privacy_request.assignee_id == agent.pk
    assert BrowsingRecord.objects.filter(user=user).count() == len(QUERIES)

    # 6. Approve the deletion: the confirmation page says what will be erased, then confirm.
    desk.locator(".object-tools").get_by_role("button", name="Approve deletion…").click()
    expect(desk.locator("h1")).to_have_text("Approve deletion")
    section = desk.locator("section.desk-deletion")
    expect(section).to_have_count(1)
    expect(section.locator("ul.desk-scope li")).to_have_text([BROWSING])
    expect(section).to_contain_text(GROUND_LABEL)
    expect(section.get_by_role("alert")).to_have_count(0)  # no legal hold
    assert BrowsingRecord.objects.filter(user=user).count() == len(QUERIES)
    desk.get_by_role("button", name="Yes, erase it").click()
    # Erasure asks for the password again (the sign-in was not a re-authentication); then
    # allauth carries out the confirmation it kept.
    expect(desk).to_have_url(re.compile(re.escape(base + reverse("account_reauthenticate"))))
    assert BrowsingRecord.objects.filter(user=user).count() == len(QUERIES)
    reauth = desk.locator(f"form[action='{reverse('account_reauthenticate')}']")
    reauth.locator("input[name=password]").fill(PASSWORD)
    reauth.locator("[type=submit]").click()
    expect(desk).to_have_url(change_url)
    expect(desk.locator("ul.messagelist li.success")).to_have_text(
        f"1 deletion carried out: {short}."
    )
    expect(desk.locator(".object-tools form")).to_have_count(0)

    # 7. The browsing records are gone; every other kind of the user's data is untouched.
    privacy_request.refresh_from_db()
    assert privacy_request.status == PrivacyRequest.Status.COMPLETED
    assert privacy_request.closed_at is not None
    assert not BrowsingRecord.objects.filter(user=user).exists()
    assert kept == {
        "security events": list(
            SecurityEvent.all_objects.filter(user=user).values_list("pk", "restricted_at")
        ),
        "consent events": list(ConsentEvent.objects.filter(user=user).values_list("pk", "hash")),
        "consent states": list(
            ConsentState.objects.filter(user=user).values_list("pk", "purpose__code", "granted")
        ),
        "acceptances": list(PolicyAcceptance.objects.filter(user=user).values_list("pk")),
    }
    assert all(restricted is None for _, restricted in kept["security events"])
    assert consent_is_given(user=user, purpose=PURPOSE)
    user.refresh_from_db()
    assert user.is_active and user.phone is not None
    tombstone = DeletionTombstone.objects.get(request=privacy_request)
    assert tombstone.user_id == user.pk
    assert tombstone.whole_account is False
    assert tombstone.kinds == ["browsing_records"]
    approved = RequestEvent.objects.get(
        request=privacy_request, action=RequestEvent.Action.DELETION_APPROVED
    )
    assert approved.actor_id == agent.pk
    assert approved.details["erased"] == {"browsing_records": len(QUERIES)}

    # 8. The user's page, reloaded: completed, with the approval on the timeline.
    user_page.reload()
    expect(user_page).to_have_url(detail_url)
    expect(user_page.get_by_test_id("status")).to_have_text("Completed")
    timeline = user_page.get_by_test_id("timeline").locator("li")
    expect(timeline.filter(has_text="Deletion approved and carried out")).to_have_count(1)
    expect(timeline.locator("strong")).to_have_text(
        ["Request filed", "Work started", "Deletion approved and carried out"]
    )
    expect(user_page.get_by_test_id("next")).to_contain_text("Your data was erased")
    expect(user_page.get_by_role("button", name="Withdraw request")).to_have_count(0)

    # The browsing history is empty.
    user_page.goto(base + reverse("accounts:history"))
    expect(user_page.get_by_role("heading", level=1)).to_have_text("Browsing and search history")
    expect(user_page.locator("ol.history li")).to_have_count(0)
    expect(user_page.get_by_text("Your history is empty.")).to_be_visible()
    for query in QUERIES:
        expect(user_page.locator("main")).not_to_contain_text(query)

    # The list shows it closed.
    user_page.goto(base + reverse("requests:list"))
    item = user_page.locator("ul.request-list li")
    expect(item).to_have_count(1)
    expect(item.locator(".status")).to_have_text("Completed")
