"""The consent page and the consent checks cost a fixed number of queries, however many
purposes, grants, ledger events or users there are."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from consents import services
from consents.models import Purpose
from consents.selectors import consent_is_given, consents_given
from tests.accounts.factories import UserFactory
from tests.consents.factories import PurposeFactory, categories

pytestmark = pytest.mark.django_db

EXTRA_PURPOSES = 13


def cold():
    """Forget every cached catalogue and user, in Redis and in this process."""
    from django.core.cache import cache

    from consents.cache import consent_cache

    cache.clear()
    consent_cache.reset_local()


def count_queries(func):
    with CaptureQueriesContext(connection) as captured:
        result = func()
    return len(captured), result


def add_purposes(n=EXTRA_PURPOSES):
    codes = [category.code for category in categories()[:3]]
    return [
        PurposeFactory(
            code=f"extra_{i}",
            requires_separate_consent=i % 3 == 0,
            position=100 + i,
            data_categories=codes[: 1 + i % 3],
        )
        for i in range(n)
    ]


def test_the_consent_page_costs_the_same_with_7_or_20_purposes(client):
    user = UserFactory()
    client.cookies.load({"django_language": "en"})
    client.force_login(user)
    services.consent_grant(user=user, purpose=Purpose.objects.get(code="personalisation"))
    page = reverse("consents:page")

    cold()
    seven, response = count_queries(lambda: client.get(page))
    assert response.status_code == 200
    warm_seven, _ = count_queries(lambda: client.get(page))

    extra = add_purposes()
    for purpose in extra[::2]:
        services.consent_grant(user=user, purpose=purpose, separately_confirmed=True)
    services.consent_withdraw(user=user, purpose=extra[0])
    assert Purpose.objects.filter(is_active=True).count() == 20

    cold()
    twenty, response = count_queries(lambda: client.get(page))
    body = response.content.decode()
    assert "Extra function 12" in body
    assert body.count('<strong class="on">On</strong>') == 1 + len(extra[2::2])
    warm_twenty, _ = count_queries(lambda: client.get(page))

    assert twenty == seven
    assert warm_twenty == warm_seven
    assert warm_seven < seven  # the catalogue and the user's consents came from the cache


def test_consent_is_given_costs_the_same_cold_and_nothing_warm():
    user = UserFactory()
    personalisation = Purpose.objects.get(code="personalisation")
    services.consent_grant(user=user, purpose=personalisation)
    services.consent_grant(
        user=user, purpose=Purpose.objects.get(code="cross_border"), separately_confirmed=True
    )

    cold()
    few, given = count_queries(lambda: consent_is_given(user=user, purpose="personalisation"))
    assert given is True
    with CaptureQueriesContext(connection) as warm:
        assert consent_is_given(user=user, purpose="personalisation") is True
        assert consent_is_given(user=user, purpose="public_disclosure") is False
        assert consent_is_given(user=user, purpose="account") is True
    assert len(warm) == 0

    extra = add_purposes()
    for _ in range(3):
        for purpose in extra:
            services.consent_grant(user=user, purpose=purpose, separately_confirmed=True)
            services.consent_withdraw(user=user, purpose=purpose)
    for purpose in extra:
        services.consent_grant(user=user, purpose=purpose, separately_confirmed=True)
    assert user.consent_events.count() > 80

    cold()
    many, given = count_queries(lambda: consent_is_given(user=user, purpose="extra_7"))
    assert given is True
    assert many == few
    with CaptureQueriesContext(connection) as warm:
        assert consent_is_given(user=user, purpose="extra_7") is True
        assert consent_is_given(user=user, purpose="personalisation") is True
    assert len(warm) == 0


def test_consents_given_costs_the_same_for_5_or_50_users():
    personalisation = Purpose.objects.get(code="personalisation")
    users = [UserFactory() for _ in range(50)]
    for user in users[::2]:
        services.consent_grant(user=user, purpose=personalisation)
    expected = {user.pk: i % 2 == 0 for i, user in enumerate(users)}

    cold()
    five, answer = count_queries(
        lambda: consents_given(user_ids=[u.pk for u in users[:5]], purpose="personalisation")
    )
    assert answer == {u.pk: expected[u.pk] for u in users[:5]}

    cold()
    fifty, answer = count_queries(
        lambda: consents_given(user_ids=[u.pk for u in users], purpose=personalisation)
    )
    assert answer == expected
    assert fifty == five

    warm, answer = count_queries(
        lambda: consents_given(user_ids=[u.pk for u in users], purpose="personalisation")
    )
    assert answer == expected
    assert warm == 0
