"""The desk's list costs the same number of queries for 10 requests as for 1,000."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from requests.models import PrivacyRequest
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db

Status = PrivacyRequest.Status
Kind = PrivacyRequest.Kind
STATUSES = [Status.SUBMITTED, Status.IN_PROGRESS, Status.COMPLETED, Status.REJECTED]
KINDS = [Kind.QUESTION, Kind.CORRECTION, Kind.DELETION, Kind.ACCESS]


@pytest.fixture
def superuser():
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def agents():
    return [UserFactory(is_staff=True, nickname=f"Agent {n}") for n in range(3)]


def make_requests(count: int, agents, offset: int) -> None:
    """Rows as the services leave them, written in bulk: factories would take minutes."""
    users = User.objects.bulk_create(
        [User(phone=f"+86137{offset + n:08d}", phone_verified=True) for n in range(count)]
    )
    today = timezone.localdate()
    rows = []
    for n, user in enumerate(users):
        status = STATUSES[n % len(STATUSES)]
        kind = KINDS[n % len(KINDS)]
        rows.append(
            PrivacyRequest(
                user=user,
                kind=kind,
                status=status,
                details="Why?",
                ground=PrivacyRequest.Ground.NO_CONSENT if kind == Kind.DELETION else "",
                whole_account=kind == Kind.DELETION,
                due_on=today + timedelta(days=(n % 40) - 10),
                extended_to=today + timedelta(days=20) if n % 7 == 0 else None,
                extension_reason="Archive" if n % 7 == 0 else "",
                rejection_reason="no_ground" if status == Status.REJECTED else "",
                assignee=agents[n % len(agents)] if n % 3 else None,
            )
        )
    PrivacyRequest.objects.bulk_create(rows)


def queries_for(client, params) -> tuple[int, int]:
    url = reverse("admin:requests_privacyrequest_changelist")
    client.get(url, params)  # warm: sessions, content types, the consent cache
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(captured), len(response.context["cl"].result_list)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"deadline": "overdue"},
        {"deadline": "soon"},
        {"assignee": "none", "status": "submitted"},
        {"q": "137 0000"},
        {"o": "-2"},
    ],
    ids=["all", "overdue", "soon", "unassigned", "search", "by-phone"],
)
def test_the_list_costs_the_same_for_10_and_1000_requests(client, superuser, agents, params):
    client.force_login(superuser)
    make_requests(10, agents, offset=0)
    small, small_rows = queries_for(client, params)

    make_requests(990, agents, offset=10)
    large, large_rows = queries_for(client, params)

    assert PrivacyRequest.objects.count() == 1000
    assert large_rows >= small_rows
    if not params:
        # A full page: 100 per page by default.
        assert (small_rows, large_rows) == (10, 100)
    assert large == small
