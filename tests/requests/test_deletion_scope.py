"""A deletion tells each recipient only what is in its scope (issue 16, point 2).

A notice goes only to recipients that received, per the disclosures ledger, at least one
data category the deletion covers (a whole account covers every category), and names
only those categories: in its row, in the signed message the recipient gets, on the
desk's approval page (the same plan) and on the user's request page.
"""

import dataclasses

import pytest
from django.urls import reverse
from django.utils import translation

from consents.models import DataCategory
from privacyportal.registry import registry
from requests import propagation
from requests.models import DeletionNotice, PrivacyRequest, RequestEvent
from tests.accounts.factories import UserFactory
from tests.requests.factories import (
    DeletionFactory,
    RecipientFactory,
    WholeAccountDeletionFactory,
    disclose,
    served_recipient,
)
from tests.requests.recipient_server import RecipientServer

pytestmark = pytest.mark.django_db

Status = PrivacyRequest.Status
CHANGELIST = "admin:requests_privacyrequest_changelist"


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def officer():
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def desk(client, officer):
    client.force_login(officer)
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def server(settings):
    # The recipient only takes the notices here: confirmations are tests/requests/
    # test_notices_delivery.py's business, with a real worker and a live server.
    settings.PORTAL_BASE_URL = "http://127.0.0.1:9"
    with RecipientServer(ack=False) as recipient:
        yield recipient


def approve_at_the_desk(desk, privacy_request, capture):
    """The approval page, then the confirmation, as staff click them; delivery (eager
    tasks) runs when the approval commits."""
    payload = {"action": "approve_deletions", "_selected_action": [privacy_request.pk]}
    page = desk.post(reverse(CHANGELIST), payload)
    assert page.status_code == 200
    with capture(execute=True):
        desk.post(reverse(CHANGELIST), {**payload, "post": "yes"}, follow=True)
    privacy_request.refresh_from_db()
    return page.content.decode()


def told(privacy_request):
    return {
        notice.recipient.name: notice.categories
        for notice in privacy_request.notices.select_related("recipient")
    }


def page_of(client, user, privacy_request):
    client.force_login(user)
    client.cookies["django_language"] = "en"
    response = client.get(f"/account/requests/{privacy_request.reference}/")
    assert response.status_code == 200
    return response.content.decode()


def test_every_data_kind_says_which_categories_its_erasure_covers():
    codes = set(DataCategory.objects.values_list("code", flat=True))
    for kind in registry.kinds():
        assert kind.erased_categories is not None, kind.code
        assert set(kind.erased_categories) <= codes, kind.code


def test_a_partial_deletion_tells_only_the_recipients_of_its_categories_and_only_of_those(
    desk, officer, server, django_capture_on_commit_callbacks, client
):
    user = UserFactory()
    shop = served_recipient(server, "/shop", staff=officer, name="Shop Partner")
    search = served_recipient(server, "/search", staff=officer, name="Search Ads")
    courier = served_recipient(server, "/courier", staff=officer, name="Courier Co")
    disclose(user, shop, "shop-42", "phone_number", "browsing_records")
    disclose(user, search, "ads-7", "search_records")
    disclose(user, courier, "order-9", "phone_number")  # not in scope: never told
    privacy_request = DeletionFactory(user=user, started_by=officer)

    approval = approve_at_the_desk(desk, privacy_request, django_capture_on_commit_callbacks)

    # The desk saw, before approving, exactly the plan that was carried out.
    planned = approval.split('data-testid="planned-notices"', 1)[1].split("</ul>", 1)[0]
    assert "Shop Partner: Browsing records" in planned
    assert "Search Ads: Search records" in planned
    assert "Courier Co" not in planned and "Mobile number" not in planned

    assert privacy_request.status == Status.PROPAGATING
    assert told(privacy_request) == {
        "Search Ads": ["search_records"],
        "Shop Partner": ["browsing_records"],
    }
    # What each recipient received, signed: only its in-scope categories.
    (shop_post,) = server.received(path="/shop")
    assert shop_post.signature_valid
    assert shop_post.json["extensions"]["privacyportal"]["categories"] == ["browsing_records"]
    assert [i["identity_value"] for i in shop_post.json["subject_identities"]] == ["shop-42"]
    (search_post,) = server.received(path="/search")
    assert search_post.json["extensions"]["privacyportal"]["categories"] == ["search_records"]
    assert server.received(path="/courier") == []
    assert privacy_request.notices.filter(status=DeletionNotice.Status.DELIVERED).count() == 2

    # The user's page names who was told what, and no one else.
    body = page_of(client, user, privacy_request)
    block = body.split('data-testid="notices"', 1)[1].split("</ul>", 1)[0]
    assert "Shop Partner" in block and "Told to delete: Browsing records" in block
    assert "Search Ads" in block and "Told to delete: Search records" in block
    assert "Courier Co" not in body and "Mobile number" not in block
    assert "every third party" not in body
    timeline = body.split('data-testid="timeline"', 1)[1]
    assert "Told Shop Partner to delete: Browsing records." in timeline
    assert "Told Search Ads to delete: Search records." in timeline


def test_a_partial_deletion_no_recipient_received_tells_no_one(
    desk, officer, server, django_capture_on_commit_callbacks, client, sms_outbox
):
    user = UserFactory()
    courier = served_recipient(server, "/courier", staff=officer, name="Courier Co")
    disclose(user, courier, "order-9", "phone_number", "profile")
    privacy_request = DeletionFactory(user=user, started_by=officer)
    sms_outbox.clear()

    approval = approve_at_the_desk(desk, privacy_request, django_capture_on_commit_callbacks)

    assert "None: no recipient received data in this scope." in approval
    assert privacy_request.status == Status.COMPLETED
    assert not privacy_request.notices.exists()
    assert server.requests == []
    body = page_of(client, user, privacy_request)
    assert 'data-testid="notices"' not in body and "Courier Co" not in body
    assert 'data-testid="no-recipients"' in body
    assert "No third party had received this data, so no one needed to be told." in body
    approved = privacy_request.events.get(action=RequestEvent.Action.DELETION_APPROVED)
    assert approved.details["notices"] == 0
    assert approved.note_params["notices"] == []
    (sms,) = sms_outbox
    assert privacy_request.short_reference in sms.body


def test_a_whole_account_deletion_tells_every_recipient_of_everything_it_received(
    desk, officer, server, django_capture_on_commit_callbacks
):
    user = UserFactory()
    other = UserFactory()
    shop = served_recipient(server, "/shop", staff=officer, name="Shop Partner")
    courier = served_recipient(server, "/courier", staff=officer, name="Courier Co")
    archive = RecipientFactory(name="Archive Ltd")  # no endpoint: staff send it by hand
    disclose(user, shop, "shop-42", "browsing_records", "search_records")
    disclose(user, courier, "order-9", "phone_number")
    disclose(user, courier, "order-10", "profile")
    disclose(user, archive, "box-3", "ip_address")
    disclose(other, shop, "shop-43", "phone_number")  # another user's: not this deletion's
    privacy_request = WholeAccountDeletionFactory(user=user, started_by=officer)

    approval = approve_at_the_desk(desk, privacy_request, django_capture_on_commit_callbacks)

    planned = approval.split('data-testid="planned-notices"', 1)[1].split("</ul>", 1)[0]
    assert "Shop Partner: Browsing records, Search records" in planned
    assert "Courier Co: Mobile number, Profile" in planned
    assert "Archive Ltd: IP address" in planned and "staff send this notice by hand" in planned

    assert told(privacy_request) == {
        "Archive Ltd": ["ip_address"],
        "Courier Co": ["phone_number", "profile"],
        "Shop Partner": ["browsing_records", "search_records"],
    }
    (courier_post,) = server.received(path="/courier")
    message = courier_post.json
    assert message["extensions"]["privacyportal"]["categories"] == ["phone_number", "profile"]
    assert sorted(i["identity_value"] for i in message["subject_identities"]) == [
        "order-10",
        "order-9",
    ]
    (shop_post,) = server.received(path="/shop")
    assert [i["identity_value"] for i in shop_post.json["subject_identities"]] == ["shop-42"]
    manual = privacy_request.notices.get(recipient=archive)
    assert manual.status == DeletionNotice.Status.MANUAL
    # The same plan as the service used: the approval page's rule is the service's rule.
    plan = propagation.deletion_notice_plan(privacy_request=privacy_request)
    assert {p.recipient.name: list(p.categories) for p in plan} == told(privacy_request)


def test_scope_categories_follow_the_kinds_of_the_request(monkeypatch):
    deletion = PrivacyRequest(scope_kinds=["browsing_records", "security_events"])
    assert propagation.scope_categories(deletion) == {
        "browsing_records",
        "search_records",
        "device_information",
        "ip_address",
        "sign_in_records",
    }
    assert propagation.scope_categories(PrivacyRequest(scope_kinds=["account"])) == {"profile"}
    assert propagation.scope_categories(PrivacyRequest(whole_account=True)) is None
    # A kind whose registration does not say which categories it touches covers them all.
    declared = registry.get
    monkeypatch.setattr(
        registry, "get", lambda code: dataclasses.replace(declared(code), erased_categories=None)
    )
    assert propagation.scope_categories(PrivacyRequest(scope_kinds=["account"])) is None
