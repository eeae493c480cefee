"""The copy of a user's data: every registered kind, streamed into a ZIP, built once."""

import csv
import io
import json
import threading
import zipfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import pytest
from django.db import connection, transaction
from django.utils import timezone, translation
from phonenumber_field.phonenumber import PhoneNumber

from accounts.models import BrowsingRecord, SecurityEvent
from accounts.services import activity_record
from consents.models import Purpose
from consents.services import consent_grant
from privacyportal.registry import DataKind, registry
from requests import access_copy, services, timeline
from requests.deadlines import due_date
from requests.models import AccessCopy, PrivacyRequest, RequestEvent
from requests.tasks import build_access_copy_task
from tests.accounts.factories import UserFactory
from tests.requests.factories import AccessFactory

pytestmark = pytest.mark.django_db(transaction=True)
Status = PrivacyRequest.Status
CopyStatus = AccessCopy.Status
Action = RequestEvent.Action


@pytest.fixture(autouse=True)
def _media(media_root):
    return media_root


def user_with_data(nickname="Ming", searches=("privacy policy", "删除账户")):
    user = UserFactory(nickname=nickname)
    SecurityEvent.objects.create(
        user=user,
        kind=SecurityEvent.Kind.SIGNED_IN,
        detail="code",
        ip_address="203.0.113.7",
        user_agent=f"Browser of {nickname}",
    )
    SecurityEvent.objects.create(user=user, kind=SecurityEvent.Kind.PROFILE_CHANGED)
    consent_grant(user=user, purpose=Purpose.objects.get(code="personalisation"))
    for text in searches:
        assert activity_record(user=user, kind=BrowsingRecord.Kind.SEARCH, text=text)
    activity_record(user=user, kind=BrowsingRecord.Kind.VIEW, text="Help", path="/help/")
    return user


def in_progress_copy(user) -> AccessCopy:
    """An access request as filing leaves it, without queueing the build."""
    privacy_request = PrivacyRequest.objects.create(
        user=user,
        kind=PrivacyRequest.Kind.ACCESS,
        status=Status.IN_PROGRESS,
        verified_at=timezone.now(),
        due_on=due_date(timezone.now()),
    )
    return AccessCopy.objects.create(request=privacy_request)


def read_zip(copy: AccessCopy) -> dict[str, bytes]:
    with copy.file.open("rb") as handle, zipfile.ZipFile(handle) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def leftover_files(media_root) -> list[str]:
    directory = media_root / access_copy.DIRECTORY
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def fail_for(monkeypatch, code: str, *, times: int = 10**6, message: str = "boom"):
    """Make one kind's rows fail (``times`` times), as a broken query would."""
    original = DataKind.rows_for_user
    calls = {"n": 0}

    def rows_for_user(self, user):
        if self.code == code and calls["n"] < times:
            calls["n"] += 1
            yield from ()
            raise RuntimeError(message)
        yield from original(self, user)

    monkeypatch.setattr(DataKind, "rows_for_user", rows_for_user)
    return calls


def test_a_copy_holds_every_kind_of_the_users_data_and_completes_the_request(
    sms_outbox, media_root
):
    user = user_with_data()
    other = user_with_data(nickname="Other", searches=("someone else's search",))
    sms_outbox.clear()

    # Filing queues the build after commit; tasks run eagerly in tests, here in the
    # portal's language, as a worker runs them (the user saved no language).
    with translation.override("zh-hans"):
        privacy_request = AccessFactory(user=user)

    copy = AccessCopy.objects.get(request=privacy_request)
    assert copy.status == CopyStatus.READY
    assert copy.progress == 100
    assert copy.file.name.startswith("access-copies/") and copy.file.name.endswith(".zip")
    assert copy.size == copy.file.size > 0
    assert abs(copy.expires_at - (timezone.now() + timedelta(days=7))) < timedelta(minutes=1)
    assert copy.built_at <= timezone.now()
    assert leftover_files(media_root) == [copy.file.name.split("/")[-1]]  # no .part file

    files = read_zip(copy)
    codes = [kind.code for kind in registry.kinds()]
    assert set(files) == {f"{c}.json" for c in codes} | {f"{c}.csv" for c in codes} | {"README.txt"}

    # Columns are the field labels; a coded value is its label, with the code beside it.
    data = {code: json.loads(files[f"{code}.json"]) for code in codes}
    assert data["account"] == [
        {
            "手机号": user.phone.as_e164,
            "手机号已验证": "是",
            "手机号已验证（代码）": True,
            "昵称": "Ming",
            "头像": "",
            "注册时间": data["account"][0]["注册时间"],
            "上次登录": None,
        }
    ]
    assert data["account"][0]["注册时间"].endswith("+08:00")  # the portal's time zone
    assert [e["事件（代码）"] for e in data["security_events"]] == ["profile_changed", "signed_in"]
    assert [e["事件"] for e in data["security_events"]] == ["修改资料", "登录"]
    assert data["security_events"][1]["IP 地址"] == "203.0.113.7"
    assert sorted(r["搜索内容或页面"] for r in data["browsing_records"]) == sorted(
        ["privacy policy", "删除账户", "Help"]
    )
    assert [c["目的（代码）"] for c in data["consents"]] == ["personalisation"]
    assert [c["目的"] for c in data["consents"]] == ["个性化展示"]
    # The grant, and the policy accepted at sign-up.
    assert [e["操作（代码）"] for e in data["consent_history"]] == ["granted", "policy_accepted"]
    assert len(data["policy_acceptances"]) == 1
    assert [r["类型（代码）"] for r in data["privacy_requests"]] == ["access"]
    with translation.override("zh-hans"):
        headers = {
            code: [
                header
                for field in registry.get(code).fields
                for header in (
                    [str(field.label), access_copy.code_header(str(field.label))]
                    if field.is_coded
                    else [str(field.label)]
                )
            ]
            for code in codes
        }
    for code in codes:
        assert all(list(row) == headers[code] for row in data[code]), code

    # Nothing of the other user's, in any file.
    everything = b"".join(files.values()).decode("utf-8")
    assert other.phone.as_e164 not in everything
    assert "someone else's search" not in everything and "Browser of Other" not in everything

    for code in codes:
        text = files[f"{code}.csv"].decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(text)))
        assert rows[0] == headers[code], code
        assert len(rows) == 1 + len(data[code]), code
    account_csv = list(csv.reader(io.StringIO(files["account.csv"].decode("utf-8-sig"))))
    # A leading + reads as a formula in spreadsheets: the cell is marked as text.
    assert account_csv[1][0] == "'" + user.phone.as_e164

    # The guide is in the copy's language and names every file and column.
    readme = files["README.txt"].decode("utf-8")
    with translation.override("zh-hans"):
        for kind in registry.kinds():
            assert str(kind.label) in readme, kind.code
            assert str(kind.description) in readme, kind.code
            for header in headers[kind.code]:
                assert f"\n  {header}" in readme, (kind.code, header)
    assert "您的个人信息副本" in readme and "A copy of your personal data" not in readme
    assert str(privacy_request.reference) in readme
    assert "4.1" in readme

    privacy_request.refresh_from_db()
    assert privacy_request.status == Status.COMPLETED
    assert privacy_request.closed_at is not None
    ready = privacy_request.events.get(action=Action.COPY_READY)
    assert (ready.from_status, ready.to_status) == (Status.IN_PROGRESS, Status.COMPLETED)
    # The note is a code rendered in the reader's language (requests.timeline).
    assert f"{timezone.localtime(copy.expires_at):%Y-%m-%d %H:%M}" in timeline.event_note(ready)
    assert ready.details["copy"] == copy.pk
    with translation.override("zh-hans"):
        completed = str(Status.COMPLETED.label)
    assert any(m.to == user.phone.as_e164 and completed in m.body for m in sms_outbox)


def test_building_again_changes_nothing(sms_outbox, media_root):
    user = user_with_data()
    copy = in_progress_copy(user)
    access_copy.build_access_copy(copy.pk)
    copy.refresh_from_db()
    first = (copy.file.name, copy.built_at, copy.expires_at, copy.size)
    events = RequestEvent.objects.count()
    messages = len(sms_outbox)

    access_copy.build_access_copy(copy.pk)
    build_access_copy_task.delay(copy.pk)

    copy.refresh_from_db()
    assert (copy.file.name, copy.built_at, copy.expires_at, copy.size) == first
    assert copy.status == CopyStatus.READY
    assert RequestEvent.objects.count() == events
    assert len(sms_outbox) == messages
    assert leftover_files(media_root) == [copy.file.name.split("/")[-1]]


def test_an_expired_or_building_copy_is_left_alone(media_root):
    user = user_with_data()
    for status in (CopyStatus.EXPIRED, CopyStatus.BUILDING):
        copy = in_progress_copy(user)
        AccessCopy.objects.filter(pk=copy.pk).update(status=status)
        access_copy.build_access_copy(copy.pk)
        copy.refresh_from_db()
        assert copy.status == status and not copy.file
        copy.request.delete()
    assert leftover_files(media_root) == []


def test_a_copy_whose_row_another_worker_holds_is_skipped(media_root):
    copy = in_progress_copy(user_with_data())
    locked, release = threading.Event(), threading.Event()

    def other_worker():
        try:
            with transaction.atomic():
                AccessCopy.objects.select_for_update().get(pk=copy.pk)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=other_worker)
    thread.start()
    try:
        assert locked.wait(10)
        access_copy.build_access_copy(copy.pk)  # returns at once, does not wait for the lock
    finally:
        release.set()
        thread.join()
    copy.refresh_from_db()
    assert copy.status == CopyStatus.PENDING
    assert leftover_files(media_root) == []


def test_a_failure_marks_the_copy_failed_leaves_no_file_and_a_retry_builds_it(
    monkeypatch, sms_outbox, media_root
):
    user = user_with_data()
    copy = in_progress_copy(user)
    calls = fail_for(monkeypatch, "browsing_records", times=1, message="row 删除账户 broke")

    with pytest.raises(RuntimeError):
        access_copy.build_access_copy(copy.pk)

    assert calls["n"] == 1
    copy.refresh_from_db()
    assert copy.status == CopyStatus.FAILED and not copy.file
    assert "RuntimeError" in copy.error and "browsing_records" in copy.error
    assert "删除账户" not in copy.error  # the exception's message may quote personal data
    failed = copy.request.events.get(action=Action.COPY_FAILED)
    assert failed.details["error"] == copy.error and failed.note == ""
    copy.request.refresh_from_db()
    assert copy.request.status == Status.IN_PROGRESS
    assert leftover_files(media_root) == []  # neither a ZIP nor a half-written part
    assert sms_outbox == []

    # What Celery's retry does: the failed copy is taken up again.
    access_copy.build_access_copy(copy.pk)
    copy.refresh_from_db()
    assert copy.status == CopyStatus.READY and copy.error == ""
    copy.request.refresh_from_db()
    assert copy.request.status == Status.COMPLETED
    assert leftover_files(media_root) == [copy.file.name.split("/")[-1]]


@pytest.fixture
def like_a_worker(monkeypatch):
    """Eager tasks in tests propagate errors instead of retrying; a worker retries."""
    from privacyportal import celery_app

    monkeypatch.setitem(celery_app.conf, "task_eager_propagates", False)


def test_the_task_retries_a_failed_build(monkeypatch, like_a_worker):
    copy = in_progress_copy(user_with_data())
    fail_for(monkeypatch, "consent_history", times=2)

    result = build_access_copy_task.apply(args=(copy.pk,))

    assert result.successful()
    copy.refresh_from_db()
    assert copy.status == CopyStatus.READY
    assert list(copy.request.events.values_list("action", flat=True)) == [
        Action.COPY_FAILED,
        Action.COPY_FAILED,
        Action.COPY_READY,
    ]


def test_the_task_gives_up_after_three_retries(monkeypatch, like_a_worker, media_root):
    copy = in_progress_copy(user_with_data())
    calls = fail_for(monkeypatch, "account")

    result = build_access_copy_task.apply(args=(copy.pk,))

    assert result.failed() and isinstance(result.result, RuntimeError)
    assert calls["n"] == 4  # the first try and three retries
    copy.refresh_from_db()
    assert copy.status == CopyStatus.FAILED
    assert copy.request.events.filter(action=Action.COPY_FAILED).count() == 4
    assert leftover_files(media_root) == []


def test_a_request_withdrawn_while_the_copy_is_made_gets_no_copy(monkeypatch, media_root):
    user = user_with_data()
    copy = in_progress_copy(user)
    original = DataKind.rows_for_user

    def rows_for_user(self, user):
        if self.code == registry.kinds()[-1].code:
            services.request_withdraw(privacy_request=copy.request, user=user)
        yield from original(self, user)

    monkeypatch.setattr(DataKind, "rows_for_user", rows_for_user)
    access_copy.build_access_copy(copy.pk)

    copy.refresh_from_db()
    assert copy.status == CopyStatus.FAILED and not copy.file
    copy.request.refresh_from_db()
    assert copy.request.status == Status.WITHDRAWN
    assert not copy.request.events.filter(action=Action.COPY_READY).exists()
    assert leftover_files(media_root) == []


def test_rows_are_written_as_they_are_read(monkeypatch):
    """Streaming: each row is written before the next is pulled, never a kind held whole."""
    user = user_with_data(searches=("one", "two", "three"))
    copy = in_progress_copy(user)
    log = []
    original_rows, original_cell = DataKind.rows_for_user, access_copy.csv_cell

    def rows_for_user(self, user):
        for row in original_rows(self, user):
            if self.code == "browsing_records":
                log.append("pulled")
            yield row

    def csv_cell(value):
        if log and log[-1] != "written":
            log.append("written")
        return original_cell(value)

    monkeypatch.setattr(DataKind, "rows_for_user", rows_for_user)
    monkeypatch.setattr(access_copy, "csv_cell", csv_cell)
    access_copy.build_access_copy(copy.pk)

    assert log == ["pulled", "written"] * 4  # three searches and a page view
    copy.refresh_from_db()
    assert copy.status == CopyStatus.READY


def test_values_are_exported_as_their_owner_reads_them():
    moment = datetime(2025, 3, 1, 4, 5, 6, tzinfo=UTC)
    assert access_copy.plain(moment) == "2025-03-01T12:05:06+08:00"
    assert access_copy.plain(PhoneNumber.from_string("+8613900000001")) == "+8613900000001"
    assert access_copy.plain(Decimal("1.50")) == "1.50"
    uuid = UUID("12345678-1234-5678-1234-567812345678")
    assert access_copy.plain(uuid) == str(uuid)
    assert access_copy.plain(date(2025, 3, 1)) == "2025-03-01"
    assert access_copy.csv_cell(None) == "" and access_copy.csv_cell(True) == "true"
    assert access_copy.csv_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert access_copy.csv_cell("@sum") == "'@sum" and access_copy.csv_cell("隐私") == "隐私"
    assert access_copy.csv_cell({"a": "隐"}) == '{"a": "隐"}'
    assert access_copy.csv_cell(-1) == "-1"  # only text can be taken for a formula


@pytest.mark.django_db(transaction=True)
def test_a_build_whose_worker_died_is_claimed_again_by_the_sweep(settings, tmp_path, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    from requests import tasks
    from requests.models import AccessCopy, PrivacyRequest

    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setattr(tasks.build_access_copy_task, "delay", lambda copy_id: None)
    user = UserFactory()
    privacy_request = AccessFactory(user=user)
    copy = privacy_request.access_copy
    # A worker claimed it 31 minutes ago and was killed.
    AccessCopy.objects.filter(pk=copy.pk).update(
        status=AccessCopy.Status.BUILDING, building_since=timezone.now() - timedelta(minutes=31)
    )
    monkeypatch.undo()
    tasks.access_copies_sweep()
    copy.refresh_from_db()
    assert copy.status == AccessCopy.Status.READY
    assert PrivacyRequest.objects.get(pk=privacy_request.pk).status == "completed"


@pytest.mark.django_db(transaction=True)
def test_a_build_in_progress_elsewhere_is_left_alone(settings, tmp_path, monkeypatch):
    from django.utils import timezone

    from requests import tasks
    from requests.access_copies import access_copies_due
    from requests.models import AccessCopy

    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setattr(tasks.build_access_copy_task, "delay", lambda copy_id: None)
    privacy_request = AccessFactory()
    AccessCopy.objects.filter(pk=privacy_request.access_copy.pk).update(
        status=AccessCopy.Status.BUILDING, building_since=timezone.now()
    )
    assert access_copies_due() == []
