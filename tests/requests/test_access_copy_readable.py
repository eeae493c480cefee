"""The copy a person can read (issue 16 point 5): labels, codes beside them, the avatar.

A user with data of every registered kind files an access request through the pages
(the SMS code, then the eager build), downloads the ZIP from the request's page, and
the test reads every file in it: no value is an internal code without its label
beside it, every file a row points to is in the archive, and the column names and
the guide are in the copy's language.
"""

import csv
import io
import json
import re
import zipfile

import pytest
from allauth.mfa.models import Authenticator
from django.urls import reverse
from django.utils import translation
from PIL import Image

from accounts.models import BrowsingRecord, SecurityEvent
from accounts.services import activity_record, security_event_record
from consents.models import Purpose
from consents.services import consent_grant
from privacyportal.registry import registry
from requests.access_copy import FILES_FOLDER, GUIDE_NAME, code_header
from requests.models import Disclosure, PrivacyRequest
from tests.accounts.factories import UserFactory
from tests.helpers import last_code
from tests.requests.factories import AccessFactory, QuestionFactory, RecipientFactory, disclose

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = "+8613800138123"
CJK = re.compile(r"[\u4e00-\u9fff]")


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 40), (10, 120, 200)).save(out, format="PNG")
    return out.getvalue()


def user_with_every_kind(client, language: str):
    """Signed in, in ``language``, with rows in every registered kind, avatar included."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    user = UserFactory(phone=PHONE, nickname="小明")
    client.cookies.load({"django_language": language})
    client.force_login(user)
    upload = SimpleUploadedFile("me.png", png_bytes(), content_type="image/png")
    assert client.post(reverse("accounts:avatar"), {"avatar": upload}).status_code == 302
    security_event_record(user=user, kind=SecurityEvent.Kind.SIGNED_IN, detail="code")
    consent_grant(user=user, purpose=Purpose.objects.get(code="personalisation"))
    assert activity_record(user=user, kind=BrowsingRecord.Kind.SEARCH, text="保存期限")
    assert activity_record(user=user, kind=BrowsingRecord.Kind.VIEW, text="Help", path="/help/")
    disclose(user, RecipientFactory(name="Courier Ltd"), "C-1001")
    QuestionFactory(user=user, details="How long do you keep it?")
    # A staff member's second factor: its kind and dates go in the copy, its secret never.
    Authenticator.objects.create(
        user=user, type=Authenticator.Type.TOTP, data={"secret": "NEVER-IN-THE-COPY"}
    )
    user.refresh_from_db()
    return user


def download_copy(client, sms_outbox) -> tuple[PrivacyRequest, dict[str, bytes]]:
    """File the access request with the SMS code, open its page, download the ZIP."""
    assert client.post(reverse("requests:new", args=["access"])).status_code == 302
    response = client.post(
        reverse("requests:verify", args=["access"]), {"code": last_code(sms_outbox, PHONE)}
    )
    privacy_request = PrivacyRequest.objects.get(kind=PrivacyRequest.Kind.ACCESS)
    assert response["Location"] == reverse("requests:detail", args=[privacy_request.reference])
    page = client.get(response["Location"]).content.decode()
    download_url = reverse("requests:download", args=[privacy_request.reference])
    assert download_url in page
    response = client.get(download_url)
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert archive.testzip() is None
        return privacy_request, {name: archive.read(name) for name in archive.namelist()}


def expected_columns(kind) -> tuple[list[str], dict[str, object], dict[str, object]]:
    """Headers in the active language; the field behind each label column and code column."""
    headers, labels, codes = [], {}, {}
    for field in kind.fields:
        header = str(field.label)
        headers.append(header)
        labels[header] = field
        if field.is_coded:
            headers.append(code_header(header))
            codes[code_header(header)] = field
    return headers, labels, codes


def every_code() -> set:
    """Every code of every coded field of every registered kind (empty ones say nothing)."""
    return {
        code
        for kind in registry.kinds()
        for field in kind.fields
        if field.is_coded
        for code in field.choice_labels()
        if code != ""
    }


def assert_readable(files: dict[str, bytes]) -> dict[str, list[dict]]:
    """Walk every value of every file: a code only in its code column, its label beside it."""
    codes = every_code()
    assert {"in_progress", "personalisation", "signed_in", "search", True} <= codes
    data = {}
    for kind in registry.kinds():
        headers, label_fields, code_fields = expected_columns(kind)
        records = json.loads(files[f"{kind.code}.json"].decode("utf-8"))
        assert records, f"no {kind.code} rows: the test must cover every kind"
        table = list(csv.reader(io.StringIO(files[f"{kind.code}.csv"].decode("utf-8-sig"))))
        assert table[0] == headers, kind.code
        assert len(table) == 1 + len(records), kind.code
        for record, row in zip(records, table[1:], strict=True):
            assert list(record) == headers, kind.code
            for (key, value), cell in zip(record.items(), row, strict=True):
                if key in code_fields:
                    field = code_fields[key]
                    label_key = headers[headers.index(key) - 1]
                    assert record[label_key] == field.labeller()(value), (kind.code, key)
                    continue
                # Outside the code columns no value is a code: yes/no are codes too.
                assert key in label_fields, (kind.code, key)
                assert not isinstance(value, bool), (kind.code, key, value)
                assert not (isinstance(value, str) and value in codes), (kind.code, key, value)
                assert cell not in codes, (kind.code, key, cell)
        data[kind.code] = records
    return data


def assert_files_are_in_the_zip(files, data, user) -> None:
    """Every file a registered kind points to is in the archive, under the name its row gives."""
    pointed = []
    for kind in registry.kinds():
        for field in kind.fields:
            if field.is_file:
                header = str(field.label)
                pointed += [record[header] for record in data[kind.code] if record[header]]
    assert pointed, "the avatar must be pointed to"
    for name in pointed:
        assert name.startswith(f"{FILES_FOLDER}/"), name
        assert name in files, name
    with user.avatar.open("rb") as stored:
        assert files[pointed[0]] == stored.read()
    # The storage path (avatars/<random>.png) appears nowhere.
    texts = [content for name, content in files.items() if name.endswith((".json", ".csv", ".txt"))]
    assert user.avatar.name.encode() not in b"".join(texts)


def test_a_zh_hans_copy_is_labelled_coded_and_complete(client, sms_outbox, media_root):
    user = user_with_every_kind(client, "zh-hans")

    privacy_request, files = download_copy(client, sms_outbox)
    assert not any(b"NEVER-IN-THE-COPY" in content for content in files.values())

    codes = {kind.code for kind in registry.kinds()}
    with translation.override("zh-hans"):
        data = assert_readable(files)
        assert_files_are_in_the_zip(files, data, user)
        for kind in registry.kinds():
            headers, _, _ = expected_columns(kind)
            # Every column name is Chinese (a missing translation would leave English).
            assert all(CJK.search(header) for header in headers), (kind.code, headers)
    assert {name.split(".")[0] for name in files if "/" not in name} == codes | {"README"}

    # What the pages show, with the code beside it.
    (account,) = data["account"]
    assert account["手机号已验证"] == "是" and account["手机号已验证（代码）"] is True
    assert account["昵称"] == "小明"
    access = next(r for r in data["privacy_requests"] if r["类型（代码）"] == "access")
    assert access["状态"] == "处理中" and access["状态（代码）"] == "in_progress"
    (consent,) = data["consents"]
    assert consent["目的（代码）"] == "personalisation"
    assert consent["目的"] == Purpose.objects.get(code="personalisation").name_zh_hans
    signed_in = next(e for e in data["security_events"] if e["事件（代码）"] == "signed_in")
    assert signed_in["详情"] == "短信验证码" and signed_in["详情（代码）"] == "code"
    (disclosure,) = data["disclosures"]
    assert disclosure["法定例外情形（代码）"] == "3.4.1"
    with translation.override("zh-hans"):
        assert disclosure["法定例外情形"] == str(Disclosure.LegalException.LEGAL_OBLIGATION.label)
    csv_rows = list(csv.reader(io.StringIO(files["privacy_requests.csv"].decode("utf-8-sig"))))
    assert "处理中" in {cell for row in csv_rows for cell in row}

    # The guide, in Chinese: every file and column, the codes and the convention.
    guide = files[GUIDE_NAME].decode("utf-8")
    assert str(privacy_request.reference) in guide
    assert '{"状态":"处理中","状态（代码）":"in_progress"}' in guide
    assert "Columns:" not in guide and "A copy of your personal data" not in guide
    assert "您的个人信息副本" in guide and "files/" in guide
    with translation.override("zh-hans"):
        for kind in registry.kinds():
            assert f"{kind.code}.json / {kind.code}.csv — {kind.label}" in guide
            for header in expected_columns(kind)[0]:
                assert f"\n  {header}" in guide, header
        assert "in_progress — 处理中" in guide
        assert "personalisation — " + consent["目的"] in guide
        assert "true — 是" in guide


def test_an_english_copy_has_english_columns_and_guide(client, sms_outbox, media_root):
    user = user_with_every_kind(client, "en")

    _, files = download_copy(client, sms_outbox)

    with translation.override("en"):
        data = assert_readable(files)
        assert_files_are_in_the_zip(files, data, user)
        for kind in registry.kinds():
            headers, _, _ = expected_columns(kind)
            assert not any(CJK.search(header) for header in headers), (kind.code, headers)
    access = next(r for r in data["privacy_requests"] if r["Kind (code)"] == "access")
    assert access["Status"] == "In progress" and access["Status (code)"] == "in_progress"
    assert access["Kind"] == "Copy of my data"
    (account,) = data["account"]
    assert account["Avatar"].startswith("files/account/") and account["Avatar"].endswith(".png")
    guide = files[GUIDE_NAME].decode("utf-8")
    assert guide.startswith("A copy of your personal data")
    assert '{"Status":"In progress","Status (code)":"in_progress"}' in guide
    assert "\n  Status (code) — the code, one of:\n      submitted — Submitted" in guide
    assert not CJK.search(guide), "an English guide has no Chinese text"


def test_every_kind_names_its_columns_apart_in_both_languages(db):
    for language in ("zh-hans", "en"):
        with translation.override(language):
            for kind in registry.kinds():
                headers, _, _ = expected_columns(kind)
                assert len(set(headers)) == len(headers), (language, kind.code, headers)


def test_a_file_gone_from_storage_leaves_its_cell_empty_and_the_copy_built(
    client, sms_outbox, media_root
):
    user = user_with_every_kind(client, "en")
    user.avatar.storage.delete(user.avatar.name)

    _, files = download_copy(client, sms_outbox)

    (account,) = json.loads(files["account.json"])
    assert account["Avatar"] == ""
    assert not [name for name in files if name.startswith(f"{FILES_FOLDER}/")]


def test_the_language_saved_on_the_account_wins_over_the_one_active(media_root):
    from requests import access_copy

    user = UserFactory(language="en")
    with translation.override("zh-hans"):
        privacy_request = AccessFactory(user=user)
    copy = privacy_request.access_copy
    copy.refresh_from_db()
    with copy.file.open("rb") as handle, zipfile.ZipFile(handle) as archive:
        (account,) = json.loads(archive.read("account.json"))
        guide = archive.read(access_copy.GUIDE_NAME).decode("utf-8")
    assert "Mobile number" in account and "Number verified (code)" in account
    assert guide.startswith("A copy of your personal data")
