"""Storage periods (policy 5.1-5.2): the purge run, its record, the command, the task,
and where staff and users see the periods."""

from datetime import timedelta
from io import StringIO

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import BrowsingRecord, SecurityEvent, User
from accounts.personal_data import UNVERIFIED_SIGNUPS
from consents.models import ConsentEvent
from privacyportal import retention
from privacyportal.models import AuditEntry, PurgeRun
from privacyportal.registry import ExpiryAction, registry
from privacyportal.retention import anonymise_in_batches, purge_in_batches, purge_run
from privacyportal.tasks import purge_expired_task
from requests.deadlines import due_date
from requests.models import AccessCopy, LegalHold, PrivacyRequest, RequestEvent
from requests.personal_data import ACCESS_COPIES
from tests.accounts.factories import UserFactory
from tests.requests.factories import QuestionFactory

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)
TIMED_KINDS = ["security_events", "browsing_records"]


@pytest.fixture
def now():
    return timezone.now()


def event(user, occurred_at, **fields):
    return SecurityEvent.all_objects.create(
        user=user, kind=SecurityEvent.Kind.SIGNED_IN, occurred_at=occurred_at, **fields
    )


def record(user, occurred_at, text="privacy"):
    # Straight to the table: the consent check of activity_record is not what is tested here.
    return BrowsingRecord.objects.create(
        user=user, kind=BrowsingRecord.Kind.SEARCH, text=text, occurred_at=occurred_at
    )


def runs_by_target(**filters):
    return {run.target: run for run in PurgeRun.objects.filter(**filters)}


# --- the registry: every kind has a period and an action ------------------------------------


def test_every_kind_has_an_explicit_storage_period_and_action():
    with translation.override("en"):
        for kind in registry.kinds():
            assert kind.retention_note, kind.code
            assert ExpiryAction(kind.expiry_action), kind.code
            assert kind.period_label and kind.action_label, kind.code
            if kind.retention is not None:
                assert kind.timestamp_field and callable(kind.purge_expired), kind.code
        assert {k.code for k in registry.kinds() if k.retention} >= set(TIMED_KINDS)
        assert registry.get("security_events").period_label == "180 days"
        assert registry.get("account").period_label == "while your account is open"
        assert registry.get("consent_history").expiry_action == ExpiryAction.ANONYMISE
        assert registry.get("privacy_requests").expiry_action == ExpiryAction.RETAIN


# --- what goes and what stays ------------------------------------------------------------------


def test_rows_past_their_period_go_and_rows_within_it_stay_for_every_user(now):
    alice, bob = UserFactory(), UserFactory()
    kept = []
    for user in (alice, bob):
        event(user, now - 181 * DAY)
        record(user, now - 181 * DAY)
        kept += [event(user, now - 179 * DAY).pk, event(user, now).pk]
        kept += [record(user, now - 179 * DAY).pk]

    results = {result.target: result for result in purge_run(now=now)}

    assert results["security_events"].rows == 2 and results["browsing_records"].rows == 2
    remaining = set(SecurityEvent.all_objects.values_list("pk", flat=True)) | set(
        BrowsingRecord.objects.values_list("pk", flat=True)
    )
    assert remaining == set(kept)
    for user in (alice, bob):
        assert SecurityEvent.objects.filter(user=user).count() == 2
        assert BrowsingRecord.objects.filter(user=user).count() == 1


def test_restricted_security_events_stay_for_their_legal_period_then_go(now):
    user, other = UserFactory(), UserFactory()
    old, recent = event(user, now - 100 * DAY), event(user, now - DAY)
    event(other, now - DAY)
    # A deletion request restricts them: hidden from every ordinary query, kept by law.
    assert registry.get("security_events").erase(user) == 2
    assert not SecurityEvent.objects.filter(user=user).exists()

    purge_run(now=now)
    assert SecurityEvent.all_objects.filter(pk__in=[old.pk, recent.pk]).count() == 2

    # 81 days on, the older one has had its 180 days; the newer one has not.
    purge_run(now=now + 81 * DAY)
    assert list(SecurityEvent.all_objects.filter(user=user).values_list("pk", flat=True)) == [
        recent.pk
    ]
    purge_run(now=now + 180 * DAY)
    assert not SecurityEvent.all_objects.filter(user=user).exists()


def test_each_target_is_recorded_with_its_counts(now):
    user = UserFactory()
    for n in range(5):
        record(user, now - 200 * DAY - n * SECOND)
    event(user, now - 200 * DAY)

    purge_run(now=now, batch_size=2)

    runs = runs_by_target()
    assert set(runs) == {*TIMED_KINDS, ACCESS_COPIES, UNVERIFIED_SIGNUPS}
    assert len({run.run for run in runs.values()}) == 1
    browsing = runs["browsing_records"]
    # 2 + 2 + 1 rows: fewer than a batch left means this one is the last.
    assert (browsing.rows, browsing.batches) == (5, 3)
    assert browsing.cutoff == now - 180 * DAY
    assert browsing.finished_at >= browsing.started_at
    assert browsing.duration_ms is not None and browsing.longest_batch_ms is not None
    assert not browsing.dry_run and browsing.error == ""
    assert runs["security_events"].rows == 1
    assert runs[ACCESS_COPIES].rows == 0 and runs[UNVERIFIED_SIGNUPS].rows == 0


def test_a_failing_target_is_recorded_and_the_others_still_run(now, monkeypatch):
    user = UserFactory()
    record(user, now - 200 * DAY)
    event(user, now - 200 * DAY)
    real = retention._purge_kind

    def broken(kind, *args):
        if kind.code == "security_events":
            raise RuntimeError("disk on fire")
        return real(kind, *args)

    monkeypatch.setattr(retention, "_purge_kind", broken)
    results = {result.target: result for result in purge_run(now=now)}

    assert results["security_events"].error == "RuntimeError: disk on fire"
    assert results["browsing_records"].rows == 1 and not results["browsing_records"].error
    assert PurgeRun.objects.get(target="security_events").error == "RuntimeError: disk on fire"
    with pytest.raises(CommandError, match="security_events"):
        call_command("purge_expired", stdout=StringIO())


def test_a_dry_run_counts_and_changes_nothing(now, media_root):
    user = UserFactory()
    old_event, old_record = event(user, now - 200 * DAY), record(user, now - 200 * DAY)
    copy = ready_copy(user, expires_at=now - DAY)
    stale = UserFactory(phone_verified=False, date_joined=now - 2 * DAY)

    results = {result.target: result for result in purge_run(now=now, dry_run=True)}

    assert {target: result.rows for target, result in results.items()} == {
        "security_events": 1,
        "browsing_records": 1,
        ACCESS_COPIES: 1,
        UNVERIFIED_SIGNUPS: 1,
    }
    assert SecurityEvent.all_objects.filter(pk=old_event.pk).exists()
    assert BrowsingRecord.objects.filter(pk=old_record.pk).exists()
    copy.refresh_from_db()
    assert copy.status == AccessCopy.Status.READY and copy.file.storage.exists(copy.file.name)
    stale.refresh_from_db()
    assert stale.closed_at is None and stale.phone is not None
    assert not AuditEntry.objects.exists()
    # Recorded, flagged: staff see what was checked and what would have gone.
    runs = runs_by_target()
    assert all(run.dry_run for run in runs.values())
    assert runs["browsing_records"].rows == 1 and runs["browsing_records"].batches == 0


# --- access copies ---------------------------------------------------------------------------


def ready_copy(user, *, expires_at):
    privacy_request = PrivacyRequest.objects.create(
        user=user,
        kind=PrivacyRequest.Kind.ACCESS,
        status=PrivacyRequest.Status.COMPLETED,
        due_on=due_date(timezone.now()),
    )
    copy = AccessCopy(request=privacy_request, status=AccessCopy.Status.READY, progress=100)
    copy.file.save("copy.zip", ContentFile(b"PK\x05\x06" + b"\0" * 18), save=False)
    copy.built_at = expires_at - 7 * DAY
    copy.expires_at = expires_at
    copy.save()
    return copy


def test_expired_access_copies_lose_their_file_and_ready_ones_stay(now, media_root):
    user = UserFactory()
    expired = ready_copy(user, expires_at=now - timedelta(minutes=1))
    ready = ready_copy(user, expires_at=now + 7 * DAY - timedelta(minutes=1))
    expired_name, storage = expired.file.name, expired.file.storage

    results = {result.target: result for result in purge_run(now=now)}

    assert results[ACCESS_COPIES].rows == 1
    expired.refresh_from_db()
    ready.refresh_from_db()
    assert expired.status == AccessCopy.Status.EXPIRED and expired.file.name == ""
    assert not storage.exists(expired_name)
    assert ready.status == AccessCopy.Status.READY and storage.exists(ready.file.name)
    audit = AuditEntry.objects.get(action="access_copy.expired")
    assert audit.target_id == str(expired.pk) and audit.actor is None
    assert audit.user == user
    # Idempotent: the next day finds nothing more to do.
    assert {r.target: r.rows for r in purge_run(now=now)}[ACCESS_COPIES] == 0


# --- unverified sign-ups --------------------------------------------------------------------


def test_stale_unverified_sign_ups_are_closed_and_their_number_freed(now):
    stale = UserFactory(
        phone="+8613900000001", phone_verified=False, date_joined=now - timedelta(hours=25)
    )
    fresh = UserFactory(
        phone="+8613900000002", phone_verified=False, date_joined=now - timedelta(hours=23)
    )
    verified = UserFactory(phone="+8613900000003", date_joined=now - 30 * DAY)
    signed_up = event(stale, now - timedelta(hours=25), ip_address="198.51.100.7")

    results = {result.target: result for result in purge_run(now=now)}

    assert results[UNVERIFIED_SIGNUPS].rows == 1
    stale.refresh_from_db()
    assert stale.phone is None and stale.closed_at is not None and not stale.is_active
    # Erased through the registry: the ledger stays, as proof, without the device; the
    # security log is restricted for its legal period.
    assert ConsentEvent.objects.filter(user=stale).exists()
    assert not ConsentEvent.objects.filter(user=stale, ip_address__isnull=False).exists()
    assert SecurityEvent.all_objects.get(pk=signed_up.pk).restricted_at is not None
    audit = AuditEntry.objects.get(action="account.closed_unverified")
    assert audit.target_id == str(stale.pk) and "+86139" not in str(audit.details)
    # The number is free for whoever really holds it.
    assert UserFactory(phone="+8613900000001").pk != stale.pk
    for user in (fresh, verified):
        user.refresh_from_db()
        assert user.closed_at is None and user.phone is not None


def test_a_legal_hold_keeps_a_stale_sign_up_open(now):
    staff = UserFactory(is_staff=True)
    stale = UserFactory(phone_verified=False, date_joined=now - 2 * DAY)
    LegalHold.objects.create(user=stale, reason="Court order 2026-17", set_by=staff)

    assert {r.target: r.rows for r in purge_run(now=now)}[UNVERIFIED_SIGNUPS] == 0
    stale.refresh_from_db()
    assert stale.closed_at is None


# --- batches -----------------------------------------------------------------------------


def test_batches_walk_the_timestamp_by_key_ranges(now):
    user = UserFactory()
    expired = [record(user, now - 200 * DAY - n * SECOND).pk for n in range(5)]
    fresh = [record(user, now - 179 * DAY).pk, record(user, now).pk]
    stats = retention.BatchStats()
    with CaptureQueriesContext(connection) as queries:
        deleted = purge_in_batches(
            BrowsingRecord.objects.filter(occurred_at__lt=now - 180 * DAY),
            batch_size=2,
            stats=stats,
            order_by="occurred_at",
        )
    assert deleted == 5 and (stats.batches, stats.rows) == (3, 5)
    assert set(BrowsingRecord.objects.values_list("pk", flat=True)) == set(fresh)
    assert not BrowsingRecord.objects.filter(pk__in=expired).exists()
    sql = [q["sql"] for q in queries.captured_queries]
    deletes = [q for q in sql if q.startswith("DELETE")]
    reads = [q for q in sql if q.startswith("SELECT")]
    # Each batch: one key read (a single value), one delete of a key range; no id lists.
    assert len(deletes) == 3 and len(reads) == 3
    assert all("LIMIT 1 OFFSET 1" in q for q in reads)
    assert not any(" IN (" in q for q in deletes)
    assert '"occurred_at" > ' in deletes[1] and '"occurred_at" <= ' in deletes[1]


def test_rows_sharing_a_timestamp_are_never_skipped(now):
    user = UserFactory()
    moment = now - 200 * DAY
    for _ in range(5):
        record(user, moment)
    record(user, moment + SECOND)
    assert purge_run(now=now, batch_size=2, only=["browsing_records"])[0].rows == 6
    assert not BrowsingRecord.objects.exists()


def test_a_filter_across_tables_still_goes_by_key_ranges(now):
    active, inactive = UserFactory(), UserFactory(is_active=False)
    for n in range(3):
        record(active, now - 200 * DAY - n * SECOND)
        record(inactive, now - 200 * DAY - n * SECOND)
    deleted = purge_in_batches(
        BrowsingRecord.objects.filter(occurred_at__lt=now - DAY, user__is_active=False),
        batch_size=2,
        order_by="occurred_at",
    )
    assert deleted == 3
    assert set(BrowsingRecord.objects.values_list("user_id", flat=True)) == {active.pk}


def test_without_an_order_the_batches_walk_the_primary_key(now):
    user = UserFactory()
    old = [record(user, now - 200 * DAY).pk for _ in range(3)]
    fresh = record(user, now)
    stats = retention.BatchStats()
    with CaptureQueriesContext(connection) as queries:
        deleted = purge_in_batches(
            BrowsingRecord.objects.filter(occurred_at__lt=now - 180 * DAY),
            batch_size=2,
            stats=stats,
        )
    assert deleted == 3 and (stats.batches, stats.rows) == (2, 3)
    assert list(BrowsingRecord.objects.values_list("pk", flat=True)) == [fresh.pk]
    deletes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("DELETE")]
    assert len(deletes) == 2
    assert f'"id" <= {old[1]}' in deletes[0] and f'"id" > {old[1]}' in deletes[1]


@pytest.mark.django_db(transaction=True)
def test_relaxed_commits_are_for_the_purge_only(now):
    user = UserFactory()
    record(user, now - 200 * DAY)

    def setting():
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            return cursor.fetchone()[0]

    seen = []
    real = retention.BatchStats.batch

    def spy(self, *args, **kwargs):
        seen.append(setting())
        return real(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(retention.BatchStats, "batch", spy)
        assert purge_run(now=now, only=["browsing_records"])[0].rows == 1
    assert seen and set(seen) == {"off"}
    assert setting() == "on"


def test_a_model_with_dependants_still_cascades():
    user = UserFactory()
    privacy_request = QuestionFactory(user=user)  # filing wrote its "submitted" event
    assert purge_in_batches(PrivacyRequest.objects.filter(pk=privacy_request.pk)) == 1
    assert not RequestEvent.objects.filter(request_id=privacy_request.pk).exists()


def test_anonymise_in_batches_overwrites_only_the_rows_asked(now):
    user = UserFactory()
    old = [event(user, now - 200 * DAY, ip_address="198.51.100.1") for _ in range(3)]
    new = event(user, now, ip_address="198.51.100.2")
    changed = anonymise_in_batches(
        SecurityEvent.all_objects.filter(occurred_at__lt=now - DAY),
        values={"ip_address": None, "user_agent": ""},
        batch_size=2,
    )
    assert changed == 3
    assert not SecurityEvent.all_objects.filter(
        pk__in=[e.pk for e in old], ip_address__isnull=False
    )
    new.refresh_from_db()
    assert new.ip_address == "198.51.100.2"


# --- the command and the task -----------------------------------------------------------------


def test_the_command_prints_a_line_per_target_and_its_dry_run_changes_nothing(now):
    user = UserFactory()
    old = record(user, now - 200 * DAY)

    out = StringIO()
    call_command("purge_expired", "--dry-run", stdout=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 4
    assert any(line.startswith("browsing_records: 1 rows would go (") for line in lines)
    assert all(line.endswith(" ms)") for line in lines)
    assert BrowsingRecord.objects.filter(pk=old.pk).exists()

    out = StringIO()
    call_command("purge_expired", stdout=out)
    assert "browsing_records: 1 rows went (" in out.getvalue()
    assert "security_events: 0 rows went (" in out.getvalue()
    assert not BrowsingRecord.objects.filter(pk=old.pk).exists()


def test_the_beat_schedule_runs_the_purge_daily_at_0330_shanghai_time():
    from privacyportal import celery_app

    entries = [
        entry
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == "privacyportal.tasks.purge_expired_task"
    ]
    assert len(entries) == 1
    schedule = entries[0]["schedule"]
    assert isinstance(schedule, crontab)
    assert schedule.hour == {3} and schedule.minute == {30}
    assert schedule.day_of_week == set(range(7))
    assert celery_app.conf.timezone == "Asia/Shanghai"
    # What beat reads: the settings went through the app's CELERY_ namespace.
    assert entries[0] in celery_app.conf.beat_schedule.values()
    assert "privacyportal.tasks.purge_expired_task" in celery_app.tasks


def test_the_task_runs_the_purge(now):
    user = UserFactory()
    old = record(user, now - 200 * DAY)
    lines = purge_expired_task.delay().get()
    assert "browsing_records: 1 rows went" in " ".join(lines)
    assert not BrowsingRecord.objects.filter(pk=old.pk).exists()


# --- where staff and users see the periods ----------------------------------------------------


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    client.cookies["django_language"] = "en"
    return client


def test_staff_see_every_kinds_storage_period_and_action(admin_client, now):
    purge_run(now=now)
    url = reverse("admin:privacyportal_purgerun_storage_periods")
    body = admin_client.get(url).content.decode()
    for kind in registry.kinds():
        assert f'id="period-{kind.code}"' in body
        assert kind.model._meta.label in body
    for code in (ACCESS_COPIES, UNVERIFIED_SIGNUPS):
        assert f'id="period-{code}"' in body
    assert "180 days" in body and "while your account is open" in body
    assert "kept as a record, used for nothing else" in body
    changelist = admin_client.get(reverse("admin:privacyportal_purgerun_changelist"))
    assert url in changelist.content.decode()


def test_purge_runs_are_read_only_in_the_admin(admin_client, now):
    purge_run(now=now)
    run = PurgeRun.objects.get(target="browsing_records")
    changelist = reverse("admin:privacyportal_purgerun_changelist")
    assert admin_client.get(changelist, {"dry_run__exact": "0"}).status_code == 200
    assert admin_client.get(changelist, {"outcome": "failed"}).status_code == 200
    change = reverse("admin:privacyportal_purgerun_change", args=[run.pk])
    assert admin_client.get(change).status_code == 200
    assert admin_client.post(change, {"rows": 99}).status_code == 403
    assert admin_client.get(reverse("admin:privacyportal_purgerun_add")).status_code == 403
    delete = reverse("admin:privacyportal_purgerun_delete", args=[run.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    run.refresh_from_db()
    assert run.rows == 0


def test_staff_without_the_permission_do_not_see_the_storage_periods(client):
    client.force_login(UserFactory(is_staff=True))
    url = reverse("admin:privacyportal_purgerun_storage_periods")
    assert client.get(url).status_code == 403


def test_users_see_the_period_and_action_of_each_kind_on_my_data(client):
    user = UserFactory()
    client.cookies["django_language"] = "en"
    client.force_login(user)
    body = client.get(reverse("accounts:my_data")).content.decode()
    for kind in registry.kinds():
        section = body.split(f'id="kind-{kind.code}"', 1)[1].split("</section>", 1)[0]
        assert kind.period_label[:1].upper() + kind.period_label[1:] in section, kind.code
        assert kind.action_label[:1].upper() + kind.action_label[1:] in section, kind.code
    assert "180 days" in body and "Deleted" in body


def test_closed_accounts_are_not_touched_again(now):
    closed = User.objects.create_user(phone="+8613900000009", date_joined=now - 3 * DAY)
    User.objects.filter(pk=closed.pk).update(phone=None, closed_at=now - 2 * DAY)
    assert {r.target: r.rows for r in purge_run(now=now)}[UNVERIFIED_SIGNUPS] == 0
