"""After a backup restore, replay_deletions erases again what deletions erased."""

import json

import pytest
from django.core.management import call_command

from accounts.models import BrowsingRecord, SecurityEvent
from accounts.services import activity_record
from consents.models import Purpose
from consents.services import consent_grant
from privacyportal.models import AuditEntry
from requests.models import DeletionTombstone
from tests.accounts.factories import UserFactory
from tests.requests.factories import DeletionFactory, WholeAccountDeletionFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _history(user, n=3):
    consent_grant(user=user, purpose=Purpose.objects.get(code="personalisation"))
    for i in range(n):
        activity_record(user=user, kind="search", text=f"query {i}")


def _restore_browsing_rows(rows):
    """What a restore from an older backup does: the erased rows are back."""
    BrowsingRecord.objects.bulk_create([BrowsingRecord(**row) for row in rows])


def test_replay_erases_restored_rows_again_and_a_second_run_changes_nothing(capsys, settings):
    user, other = UserFactory(), UserFactory()
    staff = UserFactory(is_staff=True)
    _history(user)
    _history(other)
    backup = list(
        BrowsingRecord.objects.filter(user=user).values("user_id", "kind", "text", "occurred_at")
    )
    privacy_request = DeletionFactory(user=user, approved_by=staff)
    assert not BrowsingRecord.objects.filter(user=user).exists()

    _restore_browsing_rows(backup)
    assert BrowsingRecord.objects.filter(user=user).count() == 3
    call_command("replay_deletions")
    assert not BrowsingRecord.objects.filter(user=user).exists()
    assert BrowsingRecord.objects.filter(user=other).count() == 3  # untouched
    first = capsys.readouterr().out
    assert "browsing_records: 3" in first and "3 rows erased again" in first
    replayed = AuditEntry.objects.get(action="deletion.replayed")
    assert replayed.actor is None and replayed.user == user
    assert replayed.details["request"] == str(privacy_request.reference)
    assert replayed.details["erased"] == {"browsing_records": 3}

    call_command("replay_deletions")
    assert "0 rows erased again" in capsys.readouterr().out
    # Nothing erased, nothing recorded.
    assert AuditEntry.objects.filter(action="deletion.replayed").count() == 1
    assert BrowsingRecord.objects.filter(user=other).count() == 3


def test_a_restore_that_lost_the_tombstone_is_cleaned_from_the_journal(capsys, settings):
    """A backup older than the deletion has neither the erasure nor its tombstone row."""
    user = UserFactory(nickname="Xiao Ming")
    staff = UserFactory(is_staff=True)
    phone = user.phone.as_e164
    _history(user)
    SecurityEvent.objects.create(user=user, kind=SecurityEvent.Kind.SIGNED_IN)
    backup = list(
        BrowsingRecord.objects.filter(user=user).values("user_id", "kind", "text", "occurred_at")
    )
    privacy_request = WholeAccountDeletionFactory(user=user, approved_by=staff)
    journal = [json.loads(line) for line in settings.TOMBSTONE_JOURNAL.read_text().splitlines()]
    assert journal == [
        {
            "user_id": user.pk,
            "request": str(privacy_request.reference),
            "whole_account": True,
            "kinds": journal[0]["kinds"],
            "erased_at": journal[0]["erased_at"],
        }
    ]

    # The restore: the account and its history are back, the tombstone row is not.
    DeletionTombstone.objects.all().delete()
    type(user).objects.filter(pk=user.pk).update(
        phone=phone, nickname="Xiao Ming", is_active=True, closed_at=None
    )
    SecurityEvent.all_objects.filter(user=user).update(restricted_at=None)
    _restore_browsing_rows(backup)

    call_command("replay_deletions")
    user.refresh_from_db()
    assert user.phone is None and user.nickname == "" and not user.is_active
    assert not BrowsingRecord.objects.filter(user=user).exists()
    assert not SecurityEvent.objects.filter(user=user).exists()  # restricted again
    call_command("replay_deletions")
    assert "0 rows erased again" in capsys.readouterr().out.splitlines()[-1]
