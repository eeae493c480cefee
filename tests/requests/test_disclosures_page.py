"""The user's side of sharing: the recipients told to delete on a deletion's page, and
"Who received my data" in Account Settings (only the signed-in user's own rows)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from requests import propagation, services
from requests.models import DeletionNotice, PrivacyRequest
from tests.accounts.factories import UserFactory
from tests.requests.factories import DeletionFactory, DisclosureFactory, RecipientFactory

pytestmark = pytest.mark.django_db

NoticeStatus = DeletionNotice.Status


@pytest.fixture(autouse=True)
def no_delivery(monkeypatch):
    """No recipient server here: nothing is queued or posted."""
    monkeypatch.setattr(propagation, "queue_notices", lambda notice_ids: None)


@pytest.fixture
def boss():
    return UserFactory(is_staff=True, is_superuser=True)


def signed_in(client, user):
    client.force_login(user)
    client.cookies["django_language"] = "en"
    return client


def notices_block(response) -> str:
    body = response.content.decode()
    start = body.index('data-testid="notices"')
    return body[start : body.index("</ul>", start)]


def test_the_request_page_says_where_each_recipient_stands(client, boss):
    user = UserFactory()
    names = {
        "pending": ("Alpha Pay", "https://alpha.example/dsr"),
        "delivered": ("Bravo Mail", "https://bravo.example/dsr"),
        "acknowledged": ("Charlie Ads", "https://charlie.example/dsr"),
        "failed": ("Delta Cloud", "https://delta.example/dsr"),
        "manual": ("Echo Print", ""),
        "manual_sent": ("Foxtrot Post", ""),
        "closed": ("Golf Archive", ""),
    }
    recipients = {
        state: RecipientFactory(name=name, endpoint=endpoint)
        for state, (name, endpoint) in names.items()
    }
    for recipient in recipients.values():
        DisclosureFactory(user=user, recipient=recipient)
    privacy_request = DeletionFactory(user=user, approved_by=boss)
    assert privacy_request.status == PrivacyRequest.Status.PROPAGATING
    notices = {
        state: DeletionNotice.objects.get(request=privacy_request, recipient=recipient)
        for state, recipient in recipients.items()
    }
    confirmed_at = timezone.now() - timedelta(days=1)
    # What the worker and the recipients' callbacks would have left.
    DeletionNotice.objects.filter(pk=notices["delivered"].pk).update(
        status=NoticeStatus.DELIVERED, delivered_at=timezone.now()
    )
    DeletionNotice.objects.filter(pk=notices["acknowledged"].pk).update(
        status=NoticeStatus.ACKNOWLEDGED, acknowledged_at=confirmed_at
    )
    DeletionNotice.objects.filter(pk=notices["failed"].pk).update(status=NoticeStatus.FAILED)
    propagation.notice_mark_sent(
        notice=notices["manual_sent"], actor=boss, note="Registered letter RR-1 (staff only)"
    )
    propagation.notice_close(
        notice=notices["closed"], actor=boss, reason="The company was dissolved."
    )

    response = signed_in(client, user).get(
        reverse("requests:detail", args=[privacy_request.reference])
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "Recipients told to delete" in body
    block = notices_block(response)
    today = timezone.localdate().isoformat()
    expected = {
        "Alpha Pay": "Waiting to be sent",
        "Bravo Mail": "Delivered, waiting for their confirmation",
        "Charlie Ads": f"Confirmed deleted on {timezone.localtime(confirmed_at):%Y-%m-%d}",
        "Delta Cloud": "Sending failed; our staff will retry",
        "Echo Print": "Waiting to be sent",
        "Foxtrot Post": f"Sent by our staff on {today}",
        "Golf Archive": "Closed: The company was dissolved.",
    }
    for name, words in expected.items():
        item = block[block.index(name) :]
        item = item[: item.index("</li>")]
        assert words in item, (name, item)
    # The evidence of a notice sent by hand is for staff, not for the page.
    assert "RR-1" not in body


def test_the_block_appears_once_the_deletion_is_carried_out_and_stays_after(client, boss):
    user = UserFactory()
    recipient = RecipientFactory(name="Hotel Shop")
    DisclosureFactory(user=user, recipient=recipient)
    waiting = DeletionFactory(user=user)
    signed_in(client, user)
    page = client.get(reverse("requests:detail", args=[waiting.reference])).content.decode()
    assert "Recipients told to delete" not in page

    services.request_start(privacy_request=waiting, actor=boss)
    done = services.deletion_approve(privacy_request=waiting, actor=boss)
    notice = DeletionNotice.objects.get(request=done)
    propagation.notice_mark_sent(notice=notice, actor=boss, note="E-mail to dpo")
    done.refresh_from_db()
    assert done.status == PrivacyRequest.Status.COMPLETED
    response = client.get(reverse("requests:detail", args=[done.reference]))
    assert "Hotel Shop" in notices_block(response)
    assert "Sent by our staff on" in notices_block(response)


def test_a_deletion_without_recipients_has_no_block(client, boss):
    user = UserFactory()
    privacy_request = DeletionFactory(user=user, approved_by=boss)
    assert privacy_request.status == PrivacyRequest.Status.COMPLETED
    page = signed_in(client, user).get(reverse("requests:detail", args=[privacy_request.reference]))
    assert "Recipients told to delete" not in page.content.decode()


def test_who_received_my_data_lists_only_my_own_disclosures_newest_first(client):
    me, someone = UserFactory(), UserFactory()
    acme, bank = RecipientFactory(name="Acme Courier"), RecipientFactory(name="Bank of Elsewhere")
    now = timezone.now()
    DisclosureFactory(
        user=me,
        recipient=acme,
        categories=["phone_number", "profile"],
        disclosed_at=now - timedelta(days=10),
    )
    DisclosureFactory(
        user=me, recipient=bank, disclosed_at=now - timedelta(days=1), legal_exception="3.4.4"
    )
    DisclosureFactory(
        user=someone, recipient=RecipientFactory(name="Secret Partner"), disclosed_at=now
    )

    response = signed_in(client, me).get(reverse("requests:disclosures"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Secret Partner" not in body
    assert body.index("Bank of Elsewhere") < body.index("Acme Courier")
    assert "Mobile number, Profile" in body
    assert "a legal exception: 3.4.4 Judicial or administrative law enforcement" in body
    assert "dpo@acme.example" in body
    assert f"{timezone.localtime(now - timedelta(days=10)):%Y-%m-%d}" in body
    assert [d.recipient.name for d in response.context["page"].object_list] == [
        "Bank of Elsewhere",
        "Acme Courier",
    ]


def test_a_disclosure_on_consent_is_shown_as_consent(client, django_capture_on_commit_callbacks):
    from consents.models import Purpose
    from consents.services import consent_grant

    me = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        consent_grant(
            user=me,
            purpose=Purpose.objects.get(code="third_party_sharing"),
            separately_confirmed=True,
        )
    DisclosureFactory(
        user=me,
        recipient=RecipientFactory(name="India Travel"),
        categories=["profile"],
        subject_identifier="T-1",
        on_consent=True,
    )
    body = signed_in(client, me).get(reverse("requests:disclosures")).content.decode()
    assert "India Travel" in body
    assert "Basis:" in body and "your separate consent" in body


def test_nothing_shared_says_so(client):
    response = signed_in(client, UserFactory()).get(reverse("requests:disclosures"))
    assert 'data-testid="no-disclosures"' in response.content.decode()


def test_the_page_needs_sign_in_and_is_linked_from_account_settings(client):
    url = reverse("requests:disclosures")
    assert url == "/account/requests/disclosures/"
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))

    settings_page = signed_in(client, UserFactory()).get(reverse("accounts:settings"))
    assert f'href="{url}"' in settings_page.content.decode()
    assert "Who received my data" in settings_page.content.decode()
