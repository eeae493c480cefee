"""A copy of my data, from the filing to the downloaded ZIP.

The user files an access request through My requests with an SMS code; the copy is
built by the (eager) Celery task once the filing commits, and the request's page,
which refreshes itself while the copy is being prepared, offers the download. The ZIP
holds a JSON and a CSV file for every kind of the personal-data registry and a README,
and the browsing records in it are the user's own searches.
"""

import csv
import io
import json
import zipfile
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from playwright.sync_api import expect

from accounts.models import BrowsingRecord, SecurityEvent
from accounts.services import activity_record, security_event_record
from consents.models import Purpose
from consents.selectors import consent_is_given
from consents.services import consent_grant
from privacyportal.registry import registry
from requests.models import AccessCopy, PrivacyRequest
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.browser

PURPOSE = "personalisation"
QUERIES = ["storage period", "consent receipt", "隐私政策"]
COPY_TIMEOUT_MS = 20_000


def test_user_gets_a_copy_of_every_kind_of_their_data(
    live_server, new_context, sign_in, sms_code, sms_outbox, settings, tmp_path, wait_until
):
    settings.MEDIA_ROOT = tmp_path / "media"
    base = live_server.url

    # A user with personalised display on, a few searches and a security event.
    user = UserFactory()
    consent_grant(user=user, purpose=Purpose.objects.get(code=PURPOSE))
    assert wait_until(lambda: consent_is_given(user=user, purpose=PURPOSE))
    for query in QUERIES:
        assert activity_record(user=user, kind=BrowsingRecord.Kind.SEARCH, text=query)
    security_event_record(user=user, kind=SecurityEvent.Kind.PASSWORD_SET)
    codes = [kind.code for kind in registry.kinds()]
    assert {"browsing_records", "security_events", "privacy_requests"} <= set(codes)

    # 1. My requests → Get a copy of my data → Send me a code.
    page = sign_in(new_context(), user).new_page()
    page.goto(base + reverse("requests:list"))
    expect(page.get_by_role("heading", level=1)).to_have_text("My requests")
    page.get_by_test_id("file-links").get_by_role("link", name="Get a copy of my data").click()
    expect(page).to_have_url(base + reverse("requests:new", args=["access"]))
    expect(page.get_by_role("heading", level=1)).to_have_text("Get a copy of my data")
    # The page lists every kind the copy will hold.
    with translation.override("en"):
        labels = [str(kind.label) for kind in registry.kinds()]
    expect(page.get_by_role("main").get_by_role("list").first.get_by_role("listitem")).to_have_text(
        labels
    )
    sent_before = len(sms_outbox)
    page.get_by_role("button", name="Send me a code").click()

    # 2. The code from the SMS files it.
    expect(page).to_have_url(base + reverse("requests:verify", args=["access"]))
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter the code")
    assert not PrivacyRequest.objects.filter(user=user).exists()
    code = sms_code(user.phone.as_e164, after=sent_before)
    page.get_by_label("Code from the text message").fill(code)
    page.get_by_role("button", name="Confirm and file the request").click()

    privacy_request = PrivacyRequest.objects.get(user=user)
    assert privacy_request.kind == PrivacyRequest.Kind.ACCESS
    assert privacy_request.verified_at is not None
    detail_url = base + reverse("requests:detail", args=[privacy_request.reference])
    expect(page).to_have_url(detail_url)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Copy of my data")
    expect(page.get_by_test_id("due")).to_contain_text(
        f"{privacy_request.effective_due_on:%Y-%m-%d}"
    )

    # 3. The page refreshes itself while the copy is prepared; wait for the download link.
    download_link = page.get_by_test_id("copy").get_by_role("link", name="Download the ZIP file")
    expect(download_link).to_be_visible(timeout=COPY_TIMEOUT_MS)
    expect(page.get_by_test_id("copy")).to_have_attribute("data-state", "ready")
    expect(page.get_by_test_id("status")).to_have_text("Completed")
    expect(page.get_by_test_id("timeline")).to_contain_text("Copy of your data ready")
    copy = AccessCopy.objects.get(request=privacy_request)
    assert copy.status == AccessCopy.Status.READY
    assert copy.file.name.startswith("access-copies/")
    assert Path(settings.MEDIA_ROOT, copy.file.name).is_file()

    # 4. Download the ZIP.
    with page.expect_download() as info:
        download_link.click()
    download = info.value
    assert download.failure() is None
    built = timezone.localtime(copy.built_at).date()
    assert download.suggested_filename == f"privacy-copy-{built:%Y-%m-%d}.zip"
    path = Path(download.path())
    assert path.read_bytes() == Path(settings.MEDIA_ROOT, copy.file.name).read_bytes()

    # 5. A JSON and a CSV file for every kind of the registry, and the README.
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        names = set(archive.namelist())
        expected = {f"{code}.{ext}" for code in codes for ext in ("json", "csv")}
        assert names == expected | {"README.txt"}, sorted(names ^ (expected | {"README.txt"}))
        files = {name: archive.read(name) for name in names}

    exported = {code: json.loads(files[f"{code}.json"].decode("utf-8")) for code in codes}
    assert all(isinstance(rows, list) for rows in exported.values())

    # The browsing records are the user's own searches, and nobody else's. The copy is in
    # the language the request was filed in (English here): columns are the field labels,
    # a code is its label with the code beside it.
    records = exported["browsing_records"]
    assert sorted(row["Search or page"] for row in records) == sorted(QUERIES)
    assert {row["Kind (code)"] for row in records} == {BrowsingRecord.Kind.SEARCH}
    assert {row["Kind"] for row in records} == {"Search query"}
    table = list(csv.DictReader(io.StringIO(files["browsing_records.csv"].decode("utf-8-sig"))))
    assert sorted(row["Search or page"] for row in table) == sorted(QUERIES)

    # The rest of what the user has is there too.
    assert [row["Event (code)"] for row in exported["security_events"]] == [
        SecurityEvent.Kind.PASSWORD_SET
    ]
    assert [row["Mobile number"] for row in exported["account"]] == [user.phone.as_e164]
    assert [row["Kind (code)"] for row in exported["privacy_requests"]] == [
        PrivacyRequest.Kind.ACCESS
    ]

    readme = files["README.txt"].decode("utf-8")
    assert str(privacy_request.reference) in readme
    for code in codes:
        assert f"{code}.json / {code}.csv" in readme
