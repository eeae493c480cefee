"""A copy of my data in zh-hans, on a phone: filed, built, downloaded, readable.

The user (in Chinese, on a 390 px screen) uploads an avatar, files an access request
with the SMS code, waits on the request's page for the copy (built by the eager task
once the filing commits) and downloads it. The ZIP holds the avatar itself, and its
files name their columns and values as the pages do, with the codes beside them.
"""

import csv
import io
import json
import zipfile
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from PIL import Image
from playwright.sync_api import expect

from accounts.models import BrowsingRecord
from accounts.services import activity_record
from consents.models import Purpose
from consents.selectors import consent_is_given
from consents.services import consent_grant
from requests.models import AccessCopy, PrivacyRequest
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.browser

COPY_TIMEOUT_MS = 20_000


def test_a_user_downloads_a_readable_copy_with_their_avatar(
    live_server, zh_phone_context, sign_in, sms_code, sms_outbox, settings, tmp_path, wait_until
):
    settings.MEDIA_ROOT = tmp_path / "media"
    base = live_server.url
    user = UserFactory(nickname="小明")
    consent_grant(user=user, purpose=Purpose.objects.get(code="personalisation"))
    assert wait_until(lambda: consent_is_given(user=user, purpose="personalisation"))
    assert activity_record(user=user, kind=BrowsingRecord.Kind.SEARCH, text="隐私政策")
    with translation.override("zh-hans"):
        get_a_copy = gettext("Get a copy of my data")
        download_zip = gettext("Download the ZIP file")
        completed = gettext("Completed")

    # 1. The avatar, through Account Settings.
    page = sign_in(zh_phone_context, user).new_page()
    page.goto(base + reverse("accounts:settings"))
    avatar = tmp_path / "me.png"
    Image.new("RGB", (80, 80), (200, 40, 40)).save(avatar, format="PNG")
    page.locator("input[name=avatar]").set_input_files(str(avatar))
    page.locator("form:has(input[name=avatar]) [type=submit]").click()
    assert wait_until(lambda: bool(type(user).objects.get(pk=user.pk).avatar))

    # 2. My requests → 获取个人信息副本 → the code from the SMS files it.
    page.goto(base + reverse("requests:list"))
    page.get_by_test_id("file-links").get_by_role("link", name=get_a_copy).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(get_a_copy)
    sent_before = len(sms_outbox)
    page.locator("main form [type=submit]").click()
    expect(page).to_have_url(base + reverse("requests:verify", args=["access"]))
    page.locator("input[name=code]").fill(sms_code(user.phone.as_e164, after=sent_before))
    page.locator("form:has(input[name=code]) [type=submit]").click()

    # 3. The request's page offers the download once the copy is ready.
    privacy_request = PrivacyRequest.objects.get(user=user, kind=PrivacyRequest.Kind.ACCESS)
    expect(page).to_have_url(base + reverse("requests:detail", args=[privacy_request.reference]))
    link = page.get_by_test_id("copy").get_by_role("link", name=download_zip)
    expect(link).to_be_visible(timeout=COPY_TIMEOUT_MS)
    expect(page.get_by_test_id("status")).to_have_text(completed)
    assert AccessCopy.objects.get(request=privacy_request).status == AccessCopy.Status.READY

    # 4. Download it, and open it.
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.failure() is None
    with zipfile.ZipFile(Path(download.path())) as archive:
        assert archive.testzip() is None
        files = {name: archive.read(name) for name in archive.namelist()}

    # The avatar itself, where the account's row says it is; no storage path anywhere.
    (account,) = json.loads(files["account.json"])
    assert account["头像"].startswith("files/account/"), account
    user.refresh_from_db()
    with user.avatar.open("rb") as stored:
        assert files[account["头像"]] == stored.read()
    texts = b"".join(content for name, content in files.items() if not name.startswith("files/"))
    assert user.avatar.name.encode() not in texts
    assert account["昵称"] == "小明"
    assert account["手机号已验证"] == "是" and account["手机号已验证（代码）"] is True

    # Values are the labels the pages show, with the code beside them.
    (request_row,) = json.loads(files["privacy_requests.json"])
    assert request_row["类型"] == "获取个人信息副本" and request_row["类型（代码）"] == "access"
    assert request_row["状态"] == "处理中" and request_row["状态（代码）"] == "in_progress"
    (consent,) = json.loads(files["consents.json"])
    assert consent["目的"] == "个性化展示" and consent["目的（代码）"] == "personalisation"
    table = list(csv.reader(io.StringIO(files["browsing_records.csv"].decode("utf-8-sig"))))
    assert table[0][:3] == ["时间", "类型", "类型（代码）"]
    assert table[1][1:4] == ["搜索内容", "search", "隐私政策"]

    # The guide, in Chinese, explains the columns and the codes.
    guide = files["README.txt"].decode("utf-8")
    assert guide.startswith("您的个人信息副本")
    assert "状态（代码） — " in guide and "in_progress — 处理中" in guide
    assert "files/" in guide
