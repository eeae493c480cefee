"""Every route that takes an argument names what kind of thing it points at.

Routes pointing at one user's object must answer someone else exactly as they answer for
an object that does not exist; the others point at things that are the same for everyone
(a purpose, a policy version, a help topic) or carry their own secret. The list is walked
from the URLconf: a new route with an argument fails here until it is classified, and an
owned one until a cross-user test reaches it.
"""

import uuid

import pytest
from django.urls import reverse

from accounts.models import BrowsingRecord
from consents.models import ConsentEvent
from tests.requests.test_cross_user import ROUTES as REQUEST_ROUTES

from . import pages
from .world import build_world

# One user's own objects. The requests' routes are held to it by tests/requests/test_cross_user.py.
OWNED = {
    "accounts:history_delete",
    "consents:receipt",
    "requests:detail",
    "requests:download",
    "requests:withdraw",
}
SHARED = {
    # The same for every user: the purpose catalogue, the kinds of request, public pages.
    "consents:purpose",
    "requests:new",
    "requests:verify",
    "policy:version",
    "help_topic",
    # Carry a secret of their own: a recipient's signed acknowledgement and poll
    # (tests/requests/test_notices_delivery.py, tests/api/test_notices.py), allauth's e-mail and reset keys (no
    # account has an e-mail address).
    "notice_callback",
    "account_confirm_email",
    "account_reset_password_from_key",
    "api-v1:notice_state",
    # The internal API answers services, not people: a token with consent:read may ask
    # about any user by design (tests/api); anything else under /api/v1/ is a JSON 404.
    "api-v1:consent_check",
    "api-v1:consent_check_bulk",
    "api-v1:not_found",
}


def routes_with_arguments():
    found = set()
    for entry, _route, namespaces in pages._walk(pages.get_resolver().url_patterns):
        if "admin" in namespaces or entry.callback.__module__ in pages.NOT_PAGES:
            continue
        if pages._kwargs_of(entry):
            found.add(":".join((*namespaces, entry.name)))
    return found


def test_every_route_with_an_argument_is_classified():
    found = routes_with_arguments()
    assert found - OWNED - SHARED == set(), "classify these routes in OWNED or SHARED"
    assert (OWNED | SHARED) - found == set(), "these routes are gone: drop them here"


def test_the_request_routes_are_the_ones_the_cross_user_test_walks():
    assert {route for route in OWNED if route.startswith("requests:")} == set(REQUEST_ROUTES)


@pytest.fixture
def world(db, media_root):
    return build_world()


@pytest.fixture
def intruder(client, world):
    from tests.accounts.factories import UserFactory

    client.force_login(UserFactory(phone="+8613900139000", is_staff=True, is_superuser=True))
    return client


def test_someone_else_cannot_delete_my_history_record(intruder, world):
    record = BrowsingRecord.objects.get(user=world.owner)
    url = reverse("accounts:history_delete", args=[record.pk])
    missing = reverse("accounts:history_delete", args=[record.pk + 1000])
    assert intruder.post(url).status_code == intruder.post(missing).status_code == 404
    assert BrowsingRecord.objects.filter(pk=record.pk).exists()


def test_someone_else_cannot_read_my_consent_receipt(intruder, world):
    event = ConsentEvent.objects.filter(user=world.owner).exclude(receipt_id=None).first()
    url = reverse("consents:receipt", args=[event.receipt_id])
    missing = reverse("consents:receipt", args=[uuid.uuid4()])
    response = intruder.get(url)
    assert response.status_code == intruder.get(missing).status_code == 404
    assert str(world.owner.phone) not in response.content.decode()


def test_the_owner_reaches_both(client, world):
    client.force_login(world.owner)
    event = ConsentEvent.objects.filter(user=world.owner).exclude(receipt_id=None).first()
    assert client.get(reverse("consents:receipt", args=[event.receipt_id])).status_code == 200
    record = BrowsingRecord.objects.get(user=world.owner)
    assert client.post(reverse("accounts:history_delete", args=[record.pk])).status_code == 302
    assert not BrowsingRecord.objects.filter(pk=record.pk).exists()
