"""Recipients, disclosures and deletion notices on the staff desk, and who may do what there.

No recipient server runs here: ``requests.propagation.queue_notices`` is replaced by a
recorder, so approving a deletion or retrying a notice queues ids and posts nothing.
"""

import importlib

import pytest
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from consents.models import Purpose
from consents.services import consent_grant
from privacyportal.models import AuditEntry
from requests import propagation, register
from requests.models import (
    DeletionNotice,
    Disclosure,
    NoticeAttempt,
    PrivacyRequest,
    Recipient,
    RequestEvent,
)
from tests.accounts.factories import UserFactory
from tests.consents.factories import categories
from tests.requests.factories import (
    QuestionFactory,
    RecipientFactory,
    WholeAccountDeletionFactory,
    disclose,
)

pytestmark = pytest.mark.django_db

NoticeStatus = DeletionNotice.Status
roles_migration = importlib.import_module("requests.migrations.0002_staff_roles")
recipients_migration = importlib.import_module("requests.migrations.0008_roles_for_recipients")
OFFICER, AGENT, AUDITOR = roles_migration.OFFICER, roles_migration.AGENT, roles_migration.AUDITOR


def ensure_roles():
    """The groups as the migrations made them (0002, then 0008 for the new models)."""
    if Group.objects.filter(name__in=[OFFICER, AGENT, AUDITOR]).count() != 3:
        loader = MigrationLoader(connection)
        with connection.schema_editor() as schema_editor:
            roles_migration.create_roles(
                loader.project_state(("requests", "0002_staff_roles")).apps, schema_editor
            )
            recipients_migration.grant(
                loader.project_state(("requests", "0008_roles_for_recipients")).apps,
                schema_editor,
            )
    return {group.name: group for group in Group.objects.all()}


@pytest.fixture(autouse=True)
def roles():
    return ensure_roles()


@pytest.fixture(autouse=True)
def queued(monkeypatch):
    """Notice ids the code queued for delivery (nothing is posted in these tests)."""
    ids = []
    monkeypatch.setattr(propagation, "queue_notices", lambda notice_ids: ids.extend(notice_ids))
    return ids


def staff_in(role, roles):
    user = UserFactory(is_staff=True)
    user.groups.add(roles[role])
    return User.objects.get(pk=user.pk)  # no cached permissions


def login(client, user):
    client.force_login(user)
    client.cookies["django_language"] = "en"
    return client


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def notice_for(privacy_request, recipient):
    return DeletionNotice.objects.get(request=privacy_request, recipient=recipient)


def act(client, action, notices, follow=True, **data):
    payload = {"action": action, "_selected_action": [n.pk for n in notices], **data}
    return client.post(reverse("admin:requests_deletionnotice_changelist"), payload, follow=follow)


def offered_actions(response):
    action_form = response.context["action_form"]
    if action_form is None:
        return set()
    return {name for name, _label in action_form.fields["action"].choices if name}


def disclosure_post(user, recipient, **overrides):
    data = {
        "user": user.pk,
        "recipient": recipient.pk,
        "categories": [c.pk for c in categories("phone_number")],
        "subject_identifier": "CUST-0042",
        "basis": Disclosure.Basis.CONSENT,
        "legal_exception": "",
        "legal_note": "",
        "disclosed_at_0": timezone.localdate().isoformat(),
        "disclosed_at_1": "00:00:00",
    }
    data.update(overrides)
    return data


# --- recipients -------------------------------------------------------------------------------


def test_a_new_secret_is_shown_once_and_never_again(admin_client, superuser):
    recipient = RecipientFactory(endpoint="https://acme.example/dsr")
    secret_url = reverse("admin:requests_recipient_secret", args=[recipient.pk])
    change_url = reverse("admin:requests_recipient_change", args=[recipient.pk])

    page = admin_client.get(change_url).content.decode()
    assert secret_url in page
    assert "Not set: notices to this endpoint cannot be signed." in page

    confirm = admin_client.get(secret_url)
    assert confirm.status_code == 200
    recipient.refresh_from_db()
    assert recipient.secret == "" and recipient.secret_set_at is None

    response = admin_client.post(secret_url)
    assert response.status_code == 200
    recipient.refresh_from_db()
    secret = recipient.secret
    assert len(secret) >= 32 and recipient.secret_set_at is not None
    assert secret in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    # Straight into the response: not in a message (messages travel in the session or a cookie).
    assert not messages_of(response)
    assert all(secret not in morsel.value for morsel in response.cookies.values())
    session = admin_client.session
    assert all(secret not in str(value) for value in session.values())
    # The audit row and the admin history say that it was set, not what it is.
    entry = AuditEntry.objects.get(action="recipient.secret_set", target_id=str(recipient.pk))
    assert entry.actor == superuser and secret not in str(entry.details)

    for url in [
        change_url,
        reverse("admin:requests_recipient_changelist"),
        secret_url,
        reverse("admin:requests_recipient_history", args=[recipient.pk]),
    ]:
        body = admin_client.get(url).content.decode()
        assert secret not in body, url
    page = admin_client.get(change_url).content.decode()
    set_on = timezone.localtime(recipient.secret_set_at).strftime("%Y-%m-%d %H:%M")
    assert f"Set on {set_on}" in page
    assert 'name="secret"' not in page

    again = admin_client.post(secret_url)
    recipient.refresh_from_db()
    assert recipient.secret != secret and recipient.secret in again.content.decode()
    assert secret not in again.content.decode()


def test_the_recipient_form_edits_the_register_and_never_the_secret(admin_client):
    recipient = RecipientFactory(endpoint="https://acme.example/dsr")
    register.recipient_secret_set(recipient=recipient, actor=None)
    recipient.refresh_from_db()
    secret = recipient.secret
    response = admin_client.post(
        reverse("admin:requests_recipient_change", args=[recipient.pk]),
        {
            "name": "Acme Logistics Ltd",
            "contact": "dpo@acme.example",
            "data_categories": [c.pk for c in categories("phone_number")],
            "endpoint": "",
            "is_active": "",
            "secret": "attacker-chosen",
        },
    )
    assert response.status_code == 302
    recipient.refresh_from_db()
    assert recipient.name == "Acme Logistics Ltd" and not recipient.is_active
    assert recipient.endpoint == ""
    assert [c.code for c in recipient.data_categories.all()] == ["phone_number"]
    assert recipient.secret == secret

    response = admin_client.post(
        reverse("admin:requests_recipient_change", args=[recipient.pk]),
        {
            "name": "Acme Logistics Ltd",
            "contact": "dpo@acme.example",
            "data_categories": [c.pk for c in categories("phone_number")],
            "endpoint": "http://acme.example/dsr",
            "is_active": "on",
        },
    )
    assert response.status_code == 200
    assert "The endpoint must be an https:// address." in response.content.decode()


def test_the_recipient_list_counts_notices_in_a_constant_number_of_queries(admin_client, superuser):
    url = reverse("admin:requests_recipient_changelist")

    def build(count, offset):
        for n in range(count):
            recipient = RecipientFactory(
                name=f"Recipient {offset + n}", endpoint="https://r.example/dsr" if n % 2 else ""
            )
            user = UserFactory()
            disclose(user, recipient, "C-1", "phone_number")
            # The whole account: the mobile number shared with each recipient is in scope.
            WholeAccountDeletionFactory(user=user, approved_by=superuser)

    build(2, 0)
    admin_client.get(url)  # the session, the permissions and the catalogue are cached after
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get(url).status_code == 200
    build(6, 10)
    with CaptureQueriesContext(connection) as many:
        response = admin_client.get(url)
    assert len(many) == len(few)

    DeletionNotice.objects.filter(recipient__name="Recipient 1").update(status=NoticeStatus.FAILED)
    rows = {row.name: row for row in admin_client.get(url).context["cl"].result_list}
    assert rows["Recipient 0"].open_count == 1 and rows["Recipient 0"].failed_count == 0
    assert rows["Recipient 1"].failed_count == 1
    body = response.content.decode()
    assert "manual (sent by staff)" in body
    assert "https://r.example/dsr" in body
    assert "Mobile number, Profile" in body

    filtered = admin_client.get(url, {"is_active__exact": "0"})
    assert list(filtered.context["cl"].result_list) == []


def test_a_recipient_with_disclosures_cannot_be_deleted(admin_client):
    used = RecipientFactory(name="Used")
    disclose(UserFactory(), used, "C-1", "phone_number")
    unused = RecipientFactory(name="Unused")

    page = admin_client.get(reverse("admin:requests_recipient_change", args=[used.pk]))
    assert reverse("admin:requests_recipient_delete", args=[used.pk]) not in (page.content.decode())
    assert "A recipient with records cannot be deleted" in page.content.decode()

    for method in (admin_client.get, admin_client.post):
        response = method(
            reverse("admin:requests_recipient_delete", args=[used.pk]),
            {"post": "yes"},
            follow=True,
        )
        assert response.status_code == 200
        assert any("cannot be deleted" in m for m in messages_of(response))
    assert Recipient.objects.filter(pk=used.pk).exists()

    changelist = admin_client.get(reverse("admin:requests_recipient_changelist"))
    assert "delete_selected" not in offered_actions(changelist)

    response = admin_client.post(
        reverse("admin:requests_recipient_delete", args=[unused.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not Recipient.objects.filter(pk=unused.pk).exists()


# --- disclosures ------------------------------------------------------------------------------


def test_a_disclosure_on_consent_needs_the_users_separate_consent(
    admin_client, superuser, django_capture_on_commit_callbacks
):
    user = UserFactory()
    recipient = RecipientFactory()
    url = reverse("admin:requests_disclosure_add")

    response = admin_client.post(url, disclosure_post(user, recipient))
    assert response.status_code == 200
    assert "The user has not given separate consent" in response.content.decode()
    assert not Disclosure.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):  # the consent cache is cleared then
        consent_grant(
            user=user,
            purpose=Purpose.objects.get(code="third_party_sharing"),
            separately_confirmed=True,
        )
    response = admin_client.post(url, disclosure_post(user, recipient))
    assert response.status_code == 302, response.context["adminform"].form.errors
    disclosure = Disclosure.objects.get()
    assert disclosure.basis == Disclosure.Basis.CONSENT
    assert disclosure.consent_event is not None
    assert disclosure.recorded_by == superuser
    assert disclosure.subject_identifier == "CUST-0042"
    assert [c.code for c in disclosure.categories.all()] == ["phone_number"]


def test_a_disclosure_on_a_legal_exception_needs_the_exception_and_a_note(admin_client):
    user = UserFactory()
    recipient = RecipientFactory()
    url = reverse("admin:requests_disclosure_add")

    response = admin_client.post(
        url, disclosure_post(user, recipient, basis="legal_exception", legal_exception="")
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "Choose the legal exception (policy 3.4)." in body
    assert "Note why the legal exception applies." in body

    response = admin_client.post(
        url, disclosure_post(user, recipient, basis="legal_exception", legal_exception="3.4.4")
    )
    assert response.status_code == 200
    assert "Note why the legal exception applies." in response.content.decode()
    assert not Disclosure.objects.exists()

    response = admin_client.post(
        url,
        disclosure_post(
            user,
            recipient,
            basis="legal_exception",
            legal_exception="3.4.4",
            legal_note="Police request no. 2026-17",
        ),
    )
    assert response.status_code == 302
    disclosure = Disclosure.objects.get()
    assert disclosure.legal_exception == "3.4.4" and disclosure.consent_event is None
    assert disclosure.legal_note == "Police request no. 2026-17"


def test_a_disclosure_names_only_categories_the_recipient_receives(admin_client):
    user = UserFactory()
    recipient = RecipientFactory(categories=["phone_number"])
    response = admin_client.post(
        reverse("admin:requests_disclosure_add"),
        disclosure_post(
            user,
            recipient,
            categories=[c.pk for c in categories("phone_number", "browsing_records")],
            basis="legal_exception",
            legal_exception="3.4.1",
            legal_note="Tax law",
        ),
    )
    assert response.status_code == 200
    assert "is not registered to receive: Browsing records" in response.content.decode()
    assert not Disclosure.objects.exists()


def test_an_inactive_recipient_is_not_offered_for_a_new_disclosure(admin_client):
    RecipientFactory(name="Active one")
    gone = RecipientFactory(name="Gone one")
    gone.is_active = False
    gone.save()
    response = admin_client.get(reverse("admin:requests_disclosure_add"))
    choices = response.context["adminform"].form.fields["recipient"].queryset
    assert [r.name for r in choices] == ["Active one"]


def test_recorded_disclosures_are_neither_edited_nor_deleted(admin_client):
    user = UserFactory()
    disclosure = disclose(
        user, RecipientFactory(), "C-1", "phone_number", legal_note="Tax law requires it."
    )
    change_url = reverse("admin:requests_disclosure_change", args=[disclosure.pk])

    page = admin_client.get(change_url)
    assert page.status_code == 200
    body = page.content.decode()
    assert 'name="_save"' not in body
    assert "Tax law requires it." in body

    response = admin_client.post(
        change_url,
        disclosure_post(user, disclosure.recipient, subject_identifier="changed"),
    )
    assert response.status_code == 403
    response = admin_client.post(
        reverse("admin:requests_disclosure_delete", args=[disclosure.pk]), {"post": "yes"}
    )
    assert response.status_code == 403
    changelist = admin_client.get(reverse("admin:requests_disclosure_changelist"))
    assert "delete_selected" not in offered_actions(changelist)
    disclosure.refresh_from_db()
    assert disclosure.subject_identifier == "C-1"


def test_the_disclosure_list_filters_and_searches_by_phone(admin_client):
    first, second = UserFactory(phone="+8613800138000"), UserFactory()
    acme, other = RecipientFactory(name="Acme"), RecipientFactory(name="Other")
    disclose(first, acme, "C-1", "phone_number")
    disclose(second, other, "C-1", "phone_number")
    url = reverse("admin:requests_disclosure_changelist")

    def shown(**query):
        return {
            d.user.phone.as_e164 for d in admin_client.get(url, query).context["cl"].result_list
        }

    assert shown(q="138 0013-8000") == {"+8613800138000"}
    assert shown(recipient__id__exact=str(other.pk)) == {second.phone.as_e164}
    assert len(shown(basis__exact="legal_exception")) == 2
    assert shown(basis__exact="consent") == set()
    body = admin_client.get(url).content.decode()
    # The desk shows numbers as every page does (issue 16 point 8).
    assert "Acme" in body and "+86 138 0013 8000" in body


# --- deletion notices ---------------------------------------------------------------------------


@pytest.fixture
def deletion(superuser):
    """A deletion told to two recipients: one with an endpoint, one by hand."""
    user = UserFactory()
    online = RecipientFactory(name="Online Shop", endpoint="https://shop.example/dsr")
    manual = RecipientFactory(name="Paper Archive", contact="privacy@paper.example")
    disclose(user, online, "SHOP-1", "phone_number")
    disclose(user, manual, "ARCH-9", "phone_number")
    # The whole account: the mobile number shared with each recipient is in scope.
    privacy_request = WholeAccountDeletionFactory(user=user, approved_by=superuser)
    return {
        "request": privacy_request,
        "online": notice_for(privacy_request, online),
        "manual": notice_for(privacy_request, manual),
    }


def test_approval_makes_one_notice_per_recipient(deletion):
    assert deletion["request"].status == PrivacyRequest.Status.PROPAGATING
    assert deletion["online"].status == NoticeStatus.PENDING
    assert deletion["manual"].status == NoticeStatus.MANUAL


def test_retrying_a_failed_notice_queues_it_again(
    admin_client, deletion, queued, django_capture_on_commit_callbacks
):
    notice = deletion["online"]
    DeletionNotice.objects.filter(pk=notice.pk).update(
        status=NoticeStatus.FAILED, attempts=8, next_attempt_at=None, last_error="HTTP 503"
    )
    queued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = act(admin_client, "retry_notices", [notice])
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.PENDING
    assert notice.attempts == 0 and notice.next_attempt_at is not None
    assert queued == [notice.pk]
    assert any("queued to be sent again" in m for m in messages_of(response))
    assert AuditEntry.objects.filter(action="deletion_notice.retried").exists()


def test_a_notice_to_send_by_hand_cannot_be_retried(admin_client, deletion, queued):
    queued.clear()
    response = act(admin_client, "retry_notices", [deletion["manual"]])
    assert any(
        m.startswith("Paper Archive") and "Only a failed or unconfirmed notice" in m
        for m in messages_of(response)
    )
    deletion["manual"].refresh_from_db()
    assert deletion["manual"].status == NoticeStatus.MANUAL
    assert queued == []


def test_marking_the_last_notice_sent_by_hand_completes_the_request(admin_client, deletion):
    privacy_request, manual = deletion["request"], deletion["manual"]
    propagation.notice_close(notice=deletion["online"], actor=None, reason="Recipient dissolved")

    page = act(admin_client, "mark_notices_sent", [manual])
    body = page.content.decode()
    assert page.status_code == 200
    assert "How and when the notice was sent" in body
    assert "privacy@paper.example" in body and "ARCH-9" in body

    empty = act(admin_client, "mark_notices_sent", [manual], post="yes", note="  ")
    assert empty.status_code == 200
    manual.refresh_from_db()
    assert manual.status == NoticeStatus.MANUAL

    response = act(
        admin_client,
        "mark_notices_sent",
        [manual],
        post="yes",
        note="Registered letter RR123 on 2026-11-20",
    )
    manual.refresh_from_db()
    privacy_request.refresh_from_db()
    assert manual.status == NoticeStatus.MANUAL_SENT
    assert manual.staff_note == "Registered letter RR123 on 2026-11-20"
    assert privacy_request.status == PrivacyRequest.Status.COMPLETED
    assert privacy_request.events.filter(action=RequestEvent.Action.NOTICE_SENT_BY_HAND).exists()
    assert any("marked as sent by hand" in m for m in messages_of(response))


def test_closing_a_notice_needs_a_reason_and_completes_when_it_is_the_last(admin_client, deletion):
    privacy_request, online, manual = deletion["request"], deletion["online"], deletion["manual"]
    act(admin_client, "close_notices", [online, manual], post="yes", reason="")
    online.refresh_from_db()
    assert online.status == NoticeStatus.PENDING

    response = act(
        admin_client,
        "close_notices",
        [online, manual],
        post="yes",
        reason="The recipient was dissolved in 2026.",
    )
    assert any("2 notices closed" in m for m in messages_of(response))
    for notice in (online, manual):
        notice.refresh_from_db()
        assert notice.status == NoticeStatus.CLOSED
        assert notice.staff_note == "The recipient was dissolved in 2026."
    privacy_request.refresh_from_db()
    assert privacy_request.status == PrivacyRequest.Status.COMPLETED

    again = act(admin_client, "close_notices", [online], post="yes", reason="Twice")
    assert any("already finished" in m for m in messages_of(again))


def test_the_notice_page_is_read_only_with_its_attempts_and_buttons(admin_client, deletion):
    online, manual = deletion["online"], deletion["manual"]
    NoticeAttempt.objects.create(notice=online, status_code=503, error="HTTP 503", duration_ms=41)
    DeletionNotice.objects.filter(pk=online.pk).update(
        status=NoticeStatus.FAILED, last_error="HTTP 503"
    )

    response = admin_client.get(reverse("admin:requests_deletionnotice_change", args=[online.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert 'name="_save"' not in body
    assert "HTTP 503" in body and "41" in body
    assert 'value="retry_notices"' in body and 'value="close_notices"' in body
    assert 'value="mark_notices_sent"' not in body
    assert str(deletion["request"].reference) in body

    body = admin_client.get(
        reverse("admin:requests_deletionnotice_change", args=[manual.pk])
    ).content.decode()
    assert 'value="mark_notices_sent"' in body and 'value="retry_notices"' not in body
    assert "privacy@paper.example" in body

    # From the page's button, back to the page.
    response = act(admin_client, "retry_notices", [online], follow=False, _return_to_change="1")
    assert response["Location"] == reverse("admin:requests_deletionnotice_change", args=[online.pk])


def test_the_notice_list_filters_by_status_and_searches_by_reference(admin_client, deletion):
    url = reverse("admin:requests_deletionnotice_changelist")
    with CaptureQueriesContext(connection):
        response = admin_client.get(url, {"status__exact": "manual"})
    assert [n.recipient.name for n in response.context["cl"].result_list] == ["Paper Archive"]
    prefix = str(deletion["request"].reference)[:8]
    response = admin_client.get(url, {"q": prefix})
    assert len(response.context["cl"].result_list) == 2
    assert prefix in response.content.decode()


def test_the_request_page_shows_its_notices(admin_client, deletion):
    response = admin_client.get(
        reverse("admin:requests_privacyrequest_change", args=[deletion["request"].pk])
    )
    body = response.content.decode()
    assert 'id="notices-group"' in body
    assert "Online Shop" in body and "Paper Archive" in body
    assert reverse("admin:requests_deletionnotice_change", args=[deletion["manual"].pk]) in body
    question = QuestionFactory()
    response = admin_client.get(reverse("admin:requests_privacyrequest_change", args=[question.pk]))
    assert response.status_code == 200
    assert 'id="notices-group"' not in response.content.decode()


# --- roles ---------------------------------------------------------------------------------------


def _set_secret(client, staff, deletion):
    recipient = deletion["online"].recipient
    response = client.post(reverse("admin:requests_recipient_secret", args=[recipient.pk]))
    recipient.refresh_from_db()
    return recipient.secret != "", response


def _edit_recipient(client, staff, deletion):
    recipient = deletion["manual"].recipient
    response = client.post(
        reverse("admin:requests_recipient_change", args=[recipient.pk]),
        {
            "name": "Renamed",
            "contact": recipient.contact,
            "data_categories": [c.pk for c in recipient.data_categories.all()],
            "endpoint": "",
            "is_active": "on",
        },
    )
    recipient.refresh_from_db()
    return recipient.name == "Renamed", response


def _add_recipient(client, staff, deletion):
    response = client.post(
        reverse("admin:requests_recipient_add"),
        {
            "name": "Newcomer",
            "contact": "dpo@new.example",
            "data_categories": [c.pk for c in categories("phone_number")],
            "endpoint": "",
            "is_active": "on",
        },
    )
    return Recipient.objects.filter(name="Newcomer").exists(), response


def _record_disclosure(client, staff, deletion):
    recipient = deletion["manual"].recipient
    response = client.post(
        reverse("admin:requests_disclosure_add"),
        disclosure_post(
            UserFactory(),
            recipient,
            basis="legal_exception",
            legal_exception="3.4.1",
            legal_note="Tax law",
            subject_identifier="ROLE-CHECK",
        ),
    )
    return Disclosure.objects.filter(subject_identifier="ROLE-CHECK").exists(), response


def _retry_notice(client, staff, deletion):
    notice = deletion["online"]
    DeletionNotice.objects.filter(pk=notice.pk).update(status=NoticeStatus.FAILED)
    response = act(client, "retry_notices", [notice], follow=False)
    notice.refresh_from_db()
    return notice.status == NoticeStatus.PENDING, response


def _close_notice(client, staff, deletion):
    notice = deletion["manual"]
    response = act(client, "close_notices", [notice], follow=False, post="yes", reason="Gone")
    notice.refresh_from_db()
    return notice.status == NoticeStatus.CLOSED, response


def _mark_sent(client, staff, deletion):
    notice = deletion["manual"]
    response = act(client, "mark_notices_sent", [notice], follow=False, post="yes", note="Fax")
    notice.refresh_from_db()
    return notice.status == NoticeStatus.MANUAL_SENT, response


def _view_pages(client, staff, deletion):
    urls = [
        reverse("admin:requests_recipient_changelist"),
        reverse("admin:requests_recipient_change", args=[deletion["online"].recipient_id]),
        reverse("admin:requests_disclosure_changelist"),
        reverse("admin:requests_deletionnotice_changelist"),
        reverse("admin:requests_deletionnotice_change", args=[deletion["online"].pk]),
    ]
    statuses = [client.get(url).status_code for url in urls]
    return all(status == 200 for status in statuses), None


CHECKS = [
    _view_pages,
    _set_secret,
    _edit_recipient,
    _add_recipient,
    _record_disclosure,
    _retry_notice,
    _close_notice,
    _mark_sent,
]
NOTICE_ACTIONS = {_retry_notice, _close_notice, _mark_sent}
ALLOWED = {
    OFFICER: set(CHECKS),
    AGENT: {_view_pages, _record_disclosure, _retry_notice, _close_notice, _mark_sent},
    AUDITOR: {_view_pages},
}


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__.lstrip("_"))
@pytest.mark.parametrize("role", list(ALLOWED))
def test_permission_matrix_for_recipients_disclosures_and_notices(
    client, roles, deletion, role, check
):
    staff = staff_in(role, roles)
    login(client, staff)

    happened, response = check(client, staff, deletion)

    if check in ALLOWED[role]:
        assert happened, response and (response.status_code, messages_of(response))
        return
    assert not happened
    if check in NOTICE_ACTIONS:
        # Not offered: the changelist ignores the post (with "No action selected." when the
        # role has other actions) and nothing changes.
        assert response.status_code in (200, 302), response.status_code
        assert set(messages_of(response)) <= {"No action selected."}
    else:
        assert response.status_code == 403


def test_the_secret_button_is_shown_only_to_those_who_may_set_it(client, roles, deletion):
    recipient = deletion["online"].recipient
    secret_url = reverse("admin:requests_recipient_secret", args=[recipient.pk])
    for role, shown in [(OFFICER, True), (AGENT, False), (AUDITOR, False)]:
        login(client, staff_in(role, roles))
        page = client.get(reverse("admin:requests_recipient_change", args=[recipient.pk]))
        assert (secret_url in page.content.decode()) is shown, role
        assert client.get(secret_url).status_code == (200 if shown else 403), role


def test_the_roles_get_the_new_models_as_documented(roles):
    def codes(name, model):
        return {
            p.codename
            for p in roles[name].permissions.filter(
                content_type__app_label="requests", content_type__model=model
            )
        }

    models = ["recipient", "disclosure", "deletionnotice", "noticeattempt"]
    for model in models:
        assert codes(OFFICER, model) == {
            f"{v}_{model}" for v in ("add", "change", "delete", "view")
        }
        assert codes(AUDITOR, model) == {f"view_{model}"}
    assert codes(AGENT, "recipient") == {"view_recipient"}
    assert codes(AGENT, "disclosure") == {"view_disclosure", "add_disclosure"}
    assert codes(AGENT, "deletionnotice") == {"view_deletionnotice", "change_deletionnotice"}
    assert codes(AGENT, "noticeattempt") == {"view_noticeattempt"}


def test_adding_changing_and_deleting_a_recipient_on_the_desk_is_audited(admin_client, superuser):
    shared = list(categories("phone_number", "profile"))
    response = admin_client.post(
        reverse("admin:requests_recipient_add"),
        {
            "name": "Audited Logistics",
            "contact": "privacy@audited.example",
            "data_categories": [c.pk for c in shared],
            "endpoint": "",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    recipient = Recipient.objects.get(name="Audited Logistics")
    added = AuditEntry.objects.get(action="recipient.added", target_id=str(recipient.pk))
    assert added.actor == superuser
    assert added.details["changes"]["categories"]["to"] == ["phone_number", "profile"]

    response = admin_client.post(
        reverse("admin:requests_recipient_change", args=[recipient.pk]),
        {
            "name": "Audited Logistics",
            "contact": "privacy@audited.example",
            "data_categories": [c.pk for c in shared if c.code == "phone_number"],
            "endpoint": "",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    changed = AuditEntry.objects.get(action="recipient.changed", target_id=str(recipient.pk))
    assert changed.details["changes"] == {
        "categories": {"from": ["phone_number", "profile"], "to": ["phone_number"]}
    }
    assert sorted(recipient.data_categories.values_list("code", flat=True)) == ["phone_number"]

    response = admin_client.post(
        reverse("admin:requests_recipient_delete", args=[recipient.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not Recipient.objects.filter(pk=recipient.pk).exists()
    assert AuditEntry.objects.filter(
        action="recipient.deleted", target_id=str(recipient.pk)
    ).exists()
