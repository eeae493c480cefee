"""The consent check's cache: process memory kept honest by Redis pub/sub and version numbers."""

import time

import pytest
from django.core.cache import cache

from consents import selectors, services
from consents.cache import ConsentCache, consent_cache, user_value_key, user_version_key
from consents.models import DataCategory, Purpose
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def wait_until(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


def listening(cache_instance: ConsentCache) -> ConsentCache:
    cache_instance._ensure_listener()
    assert wait_until(lambda: cache_instance._live), "the invalidation listener did not subscribe"
    return cache_instance


@pytest.fixture
def personalisation():
    return Purpose.objects.get(code="personalisation")


def test_a_change_reaches_another_process_memory_at_once(personalisation):
    """A second ConsentCache stands in for another gunicorn or Celery worker process."""
    user = UserFactory()
    other_process = listening(ConsentCache())
    listening(consent_cache)
    before = other_process.users([user.pk], selectors._compute_users)[user.pk]
    assert "personalisation" not in before.granted
    assert user.pk in other_process._users  # now answered from its memory

    services.consent_grant(user=user, purpose=personalisation)

    assert wait_until(lambda: user.pk not in other_process._users), "invalidation not received"
    after = other_process.users([user.pk], selectors._compute_users)[user.pk]
    assert "personalisation" in after.granted


def test_warm_checks_need_no_query(django_assert_num_queries, personalisation):
    user = UserFactory()
    listening(consent_cache)
    selectors.consent_is_given(user=user, purpose="personalisation")
    with django_assert_num_queries(0):
        for _ in range(5):
            assert selectors.consent_is_given(user=user, purpose="personalisation") is False
            assert selectors.consent_is_given(user=user, purpose="account") is True


def test_without_the_listener_every_check_asks_redis_and_stays_correct(personalisation):
    user = UserFactory()
    offline = ConsentCache()
    offline._ensure_listener = lambda: None  # never subscribed: memory must not be trusted
    assert offline.users([user.pk], selectors._compute_users)[user.pk].granted == {}
    assert offline._users == {}
    services.consent_grant(user=user, purpose=personalisation)
    assert "personalisation" in offline.users([user.pk], selectors._compute_users)[user.pk].granted


def test_a_value_computed_before_a_change_is_not_served_after_it(personalisation):
    """A reader that computed before a writer committed left its value tagged with the
    old version; once the writer bumps the version the value is recomputed."""
    user = UserFactory()
    stale = selectors._compute_users([user.pk])[user.pk]
    version = cache.get(user_version_key(user.pk), 0)
    services.consent_grant(user=user, purpose=personalisation)
    # The slow reader now stores what it computed before the grant, with the version it read.
    cache.set(user_value_key(user.pk), (version, stale))
    consent_cache.reset_local()
    assert selectors.consent_is_given(user=user, purpose="personalisation") is True


def test_unknown_purposes_are_a_programming_error():
    with pytest.raises(selectors.UnknownPurpose):
        selectors.consent_is_given(user=UserFactory(), purpose="no-such-purpose")


def test_bulk_check_matches_single_checks(personalisation):
    users = [UserFactory() for _ in range(6)]
    for user in users[::2]:
        services.consent_grant(user=user, purpose=personalisation)
    bulk = selectors.consents_given(user_ids=[u.pk for u in users], purpose="personalisation")
    assert bulk == {
        u.pk: selectors.consent_is_given(user=u, purpose="personalisation") for u in users
    }
    assert list(bulk.values()) == [True, False, True, False, True, False]
    assert set(
        selectors.consents_given(user_ids=[u.pk for u in users], purpose="security").values()
    ) == {True}


def test_deactivating_a_purpose_turns_it_off_for_everyone(personalisation):
    user = UserFactory()
    services.consent_grant(user=user, purpose=personalisation)
    assert selectors.consent_is_given(user=user, purpose="personalisation") is True
    personalisation.is_active = False
    services.purpose_save(purpose=personalisation, actor=UserFactory(is_staff=True))
    assert selectors.consent_is_given(user=user, purpose="personalisation") is False


def test_values_made_from_the_catalogue_are_dropped_in_every_process_on_a_change():
    other_process = listening(ConsentCache())
    listening(consent_cache)
    assert other_process.catalogue_derived("names", lambda: "before") == "before"
    assert other_process.catalogue_derived("names", lambda: "recomputed") == "before"

    category = DataCategory.objects.get(code="phone_number")
    category.name_en = "Phone"
    services.data_category_save(category=category, actor=None)

    assert wait_until(lambda: "names" not in other_process._derived), "invalidation not received"
    assert other_process.catalogue_derived("names", lambda: "after") == "after"
