"""Browsing and search records (policy 2.4.1(2)): kept only through the consent check,
shown and deletable in Account Settings, covered by the personal-data registry."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse
from django.utils import timezone

from accounts.models import BrowsingRecord
from accounts.services import activity_record
from consents.models import Purpose
from consents.services import consent_grant, consent_withdraw
from privacyportal.registry import registry
from tests.accounts.factories import UserFactory

SEARCH = BrowsingRecord.Kind.SEARCH
VIEW = BrowsingRecord.Kind.VIEW


def personalisation() -> Purpose:
    return Purpose.objects.get(code="personalisation")


def stored(user, text="query", kind=SEARCH, **fields) -> BrowsingRecord:
    # Rows for the page tests go in directly; how they get written is tested on its own.
    return BrowsingRecord.objects.create(user=user, kind=kind, text=text, **fields)


# --- recording only through the consent check ------------------------------------------


def test_nothing_is_recorded_while_personalisation_is_off(user):
    assert activity_record(user=user, kind=SEARCH, text="privacy") is None
    assert activity_record(user=user, kind=VIEW, text="Help", path="/help/") is None
    assert not BrowsingRecord.objects.exists()


def test_nothing_is_recorded_for_an_anonymous_visitor(db):
    assert activity_record(user=AnonymousUser(), kind=SEARCH, text="privacy") is None
    assert activity_record(user=None, kind=SEARCH, text="privacy") is None
    assert not BrowsingRecord.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_recording_starts_with_the_consent_and_stops_as_soon_as_it_is_withdrawn():
    user = UserFactory()
    assert activity_record(user=user, kind=SEARCH, text="before") is None

    consent_grant(user=user, purpose=personalisation())
    record = activity_record(user=user, kind=SEARCH, text="during")
    assert record is not None
    assert (record.user, record.kind, record.text) == (user, SEARCH, "during")

    consent_withdraw(user=user, purpose=personalisation())
    assert activity_record(user=user, kind=SEARCH, text="after") is None
    # Withdrawal also erased what was recorded under the consent (PIPL art. 47).
    assert not BrowsingRecord.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_text_is_one_clean_line_cut_to_200_characters_and_only_local_paths_are_kept():
    user = UserFactory()
    consent_grant(user=user, purpose=personalisation())
    record = activity_record(user=user, kind=SEARCH, text="  pass\x00word \n\t reset " + "x" * 300)
    assert record.text.startswith("password reset x")
    assert len(record.text) == 200
    assert activity_record(user=user, kind=SEARCH, text=" \n ") is None

    def path_of(path, kind=VIEW):
        return activity_record(user=user, kind=kind, text="Page", path=path).path

    assert path_of("/help/sign-up/") == "/help/sign-up/"
    assert path_of("javascript:alert(1)") == ""
    assert path_of("//evil.example/") == ""
    assert path_of("https://evil.example/") == ""
    assert path_of("/" + "a" * 400) == ""
    assert path_of("/help/", kind=SEARCH) == ""


def test_an_unknown_kind_is_a_bug_not_a_record(user):
    with pytest.raises(ValueError):
        activity_record(user=user, kind="purchase", text="x")


# --- the history page ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "name"),
    [("get", "accounts:history"), ("post", "accounts:history_clear"), ("post", "delete")],
)
def test_history_needs_a_signed_in_user(client, db, method, name):
    record = stored(UserFactory())
    if name == "delete":
        url = reverse("accounts:history_delete", args=[record.pk])
    else:
        url = reverse(name)
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert BrowsingRecord.objects.count() == 1


def test_history_lists_only_my_records_newest_first_and_says_recording_is_off(signed_in, user):
    now = timezone.now()
    stored(user, "older search", occurred_at=now - timedelta(hours=2))
    stored(user, "Security events", kind=VIEW, path="/help/security-events/", occurred_at=now)
    stored(UserFactory(), "their secret search")
    response = signed_in.get(reverse("accounts:history"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "older search" in body and "their secret search" not in body
    assert body.index("Security events</a>") < body.index("older search")
    assert '<a href="/help/security-events/">Security events</a>' in body
    assert "Search query" in body and "Page viewed" in body
    assert "Personalised display is off." in body
    assert reverse("consents:page") in body
    assert reverse("help_search") in body
    assert f'href="{reverse("accounts:history")}"' in body  # the Account Settings nav


def test_a_stored_path_that_is_not_local_is_never_a_link(signed_in, user):
    stored(user, "Odd", kind=VIEW, path="javascript:alert(1)")
    body = signed_in.get(reverse("accounts:history")).content.decode()
    assert "Odd" in body and "javascript:" not in body


@pytest.mark.django_db(transaction=True)
def test_history_says_when_recording_is_on(client):
    user = UserFactory()
    consent_grant(user=user, purpose=personalisation())
    client.cookies.load({"django_language": "en"})
    client.force_login(user)
    body = client.get(reverse("accounts:history")).content.decode()
    assert "Personalised display is on." in body


def test_history_is_paginated(signed_in, user):
    BrowsingRecord.objects.bulk_create(
        BrowsingRecord(user=user, kind=SEARCH, text=f"q{i}") for i in range(30)
    )
    first = signed_in.get(reverse("accounts:history")).context["page"]
    second = signed_in.get(reverse("accounts:history"), {"page": 2}).context["page"]
    assert len(first.object_list) == 25 and len(second.object_list) == 5


def test_deleting_one_of_my_records(signed_in, user):
    mine, kept = stored(user, "delete me"), stored(user, "keep me")
    response = signed_in.post(
        reverse("accounts:history_delete", args=[mine.pk]), {"page": "2"}, follow=True
    )
    assert response.redirect_chain[0] == (reverse("accounts:history") + "?page=2", 302)
    assert "The record was deleted." in response.content.decode()
    assert list(BrowsingRecord.objects.values_list("pk", flat=True)) == [kept.pk]


def test_someone_elses_record_is_not_found_and_not_deleted(signed_in, user):
    theirs = stored(UserFactory(), "not yours")
    response = signed_in.post(reverse("accounts:history_delete", args=[theirs.pk]))
    assert response.status_code == 404
    assert BrowsingRecord.objects.filter(pk=theirs.pk).exists()


def test_deleting_needs_a_post(signed_in, user):
    mine = stored(user)
    assert signed_in.get(reverse("accounts:history_delete", args=[mine.pk])).status_code == 405
    assert signed_in.get(reverse("accounts:history_clear")).status_code == 405
    assert BrowsingRecord.objects.filter(pk=mine.pk).exists()


def test_clearing_deletes_all_my_records_and_no_one_elses(signed_in, user):
    for text in ("a", "b", "c"):
        stored(user, text)
    theirs = stored(UserFactory(), "theirs")
    body = signed_in.get(reverse("accounts:history")).content.decode()
    assert "Delete all 3 records" in body
    response = signed_in.post(reverse("accounts:history_clear"), follow=True)
    assert "Your history was deleted (3 records)." in response.content.decode()
    assert list(BrowsingRecord.objects.values_list("pk", flat=True)) == [theirs.pk]
    response = signed_in.post(reverse("accounts:history_clear"), follow=True)
    assert "Your history was already empty." in response.content.decode()


# --- the personal-data registry ---------------------------------------------------------


def test_browsing_records_are_registered_and_shown_on_my_data(signed_in, user):
    kind = registry.get("browsing_records")
    assert kind.model is BrowsingRecord
    assert kind.retention == timedelta(days=180) and kind.timestamp_field == "occurred_at"
    stored(user, "my search")
    rows = list(kind.rows_for_user(user))
    assert [(r["kind"], r["text"]) for r in rows] == [("search", "my search")]
    body = signed_in.get(reverse("accounts:my_data")).content.decode()
    assert 'id="kind-browsing_records"' in body and "my search" in body
    assert "Search query" in body


def test_erase_deletes_only_that_users_records(user):
    other = UserFactory()
    stored(user), stored(user), stored(other)
    assert registry.get("browsing_records").erase(user) == 2
    assert list(BrowsingRecord.objects.values_list("user", flat=True)) == [other.pk]


def test_purge_deletes_only_records_older_than_180_days(user):
    kind = registry.get("browsing_records")
    now = timezone.now()
    old = [stored(user, f"old {i}", occurred_at=now - timedelta(days=181)) for i in range(5)]
    fresh = stored(user, "fresh", occurred_at=now - timedelta(days=179))
    assert kind.purge_expired(kind.expires_before(now), batch_size=2) == len(old)
    assert list(BrowsingRecord.objects.values_list("pk", flat=True)) == [fresh.pk]


@pytest.mark.django_db(transaction=True)
def test_withdrawing_personalisation_erases_what_was_collected_under_it():
    from accounts.models import BrowsingRecord
    from accounts.services import activity_record
    from consents.models import Purpose
    from consents.services import consent_grant, consent_withdraw

    user, other = UserFactory(), UserFactory()
    personalisation = Purpose.objects.get(code="personalisation")
    for someone in (user, other):
        consent_grant(user=someone, purpose=personalisation)
        activity_record(user=someone, kind="search", text="storage period")
    consent_withdraw(user=user, purpose=personalisation)
    assert not BrowsingRecord.objects.filter(user=user).exists()
    assert BrowsingRecord.objects.filter(user=other).count() == 1
