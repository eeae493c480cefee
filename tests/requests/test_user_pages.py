"""The requester's pages: list, filing (with the SMS code for copies and deletions),
the request page with its timeline, withdrawal and the download of the copy."""

import io
import uuid
import zipfile
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from requests import services
from requests.deadlines import due_date
from requests.models import AccessCopy, PrivacyRequest, RequestEvent
from tests.accounts.factories import UserFactory
from tests.helpers import last_code
from tests.requests.factories import (
    AccessFactory,
    CorrectionFactory,
    QuestionFactory,
    WholeAccountDeletionFactory,
)

PHONE = "+8613800138000"
Kind = PrivacyRequest.Kind
Status = PrivacyRequest.Status


@pytest.fixture
def user(db):
    return UserFactory(phone=PHONE, nickname="old name")


@pytest.fixture
def no_copy_builder(monkeypatch):
    """The ZIP builder is tested on its own (and was still being written with these pages):
    filing only has to create the request and its AccessCopy row."""
    monkeypatch.setattr("requests.access_copy.build_access_copy", lambda copy_id: None)


def new_url(kind):
    return reverse("requests:new", args=[kind])


def verify_url(kind):
    return reverse("requests:verify", args=[kind])


def detail_url(privacy_request):
    return reverse("requests:detail", args=[privacy_request.reference])


def zip_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("account.json", '{"phone": "+8613800138000"}')
    return out.getvalue()


def access_request(user, *, copy_status=AccessCopy.Status.READY, expires_in=timedelta(days=7)):
    """An access request whose copy is in ``copy_status``, as the builder would leave it."""
    privacy_request = AccessFactory(user=user)
    copy = privacy_request.access_copy
    if copy_status in (AccessCopy.Status.READY, AccessCopy.Status.EXPIRED):
        data = zip_bytes()
        copy.file.save("copy.zip", ContentFile(data), save=False)
        copy.size = len(data)
        copy.progress = 100
        copy.built_at = timezone.now() - timedelta(hours=1)
        copy.expires_at = timezone.now() + expires_in
    elif copy_status == AccessCopy.Status.BUILDING:
        copy.progress = 40
    copy.status = copy_status
    copy.save()
    return privacy_request


# --- access control and the list ---------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("requests:list", []),
        ("requests:new", ["question"]),
        ("requests:verify", ["deletion"]),
        ("requests:detail", [uuid.uuid4()]),
        ("requests:download", [uuid.uuid4()]),
    ],
)
def test_pages_need_a_signed_in_user(client, db, name, args):
    response = client.get(reverse(name, args=args))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_account_menu_links_to_my_requests(signed_in):
    body = signed_in.get(reverse("accounts:settings")).content.decode()
    assert f'href="{reverse("requests:list")}"' in body


def test_list_shows_only_own_requests_newest_first(signed_in, user):
    older = QuestionFactory(user=user, details="first question")
    newer = CorrectionFactory(user=user, correction_value="Ming")
    others = QuestionFactory(details="someone else's")
    response = signed_in.get(reverse("requests:list"))
    assert response.status_code == 200
    body = response.content.decode()
    assert detail_url(older) in body and detail_url(newer) in body
    assert detail_url(others) not in body
    assert body.index(detail_url(newer)) < body.index(detail_url(older))
    assert "Question or complaint" in body and "Submitted" in body
    assert newer.effective_due_on.strftime("%Y-%m-%d") in body
    assert "working days left" in body
    for kind in Kind.values:
        assert f'href="{new_url(kind)}"' in body


def test_closed_requests_show_no_countdown(signed_in, user):
    withdrawn = services.request_withdraw(privacy_request=QuestionFactory(user=user), user=user)
    body = signed_in.get(reverse("requests:list")).content.decode()
    assert detail_url(withdrawn) in body
    assert "Withdrawn" in body
    assert "working day" not in body.split('id="h-requests"')[1]


def test_unknown_kind_is_not_found(signed_in):
    assert signed_in.get(new_url("complaint")).status_code == 404
    assert signed_in.post(new_url("complaint"), {"details": "x"}).status_code == 404
    assert signed_in.get(verify_url("question")).status_code == 404


# --- filing without a code ---------------------------------------------------------------


def test_filing_a_question_needs_no_code(signed_in, user):
    response = signed_in.post(new_url("question"), {"details": "Who sees my number?"})
    privacy_request = PrivacyRequest.objects.get(user=user)
    assert response.status_code == 302
    assert response["Location"] == detail_url(privacy_request)
    assert privacy_request.kind == Kind.QUESTION
    assert privacy_request.details == "Who sees my number?"
    assert privacy_request.verified_at is None
    assert privacy_request.due_on == due_date(privacy_request.created_at)
    assert list(privacy_request.events.values_list("action", flat=True)) == [
        RequestEvent.Action.SUBMITTED
    ]
    page = signed_in.get(response["Location"]).content.decode()
    assert "Your request was filed" in page


def test_a_question_needs_text(signed_in, user):
    response = signed_in.post(new_url("question"), {"details": "  "})
    assert response.status_code == 400
    assert "Write your question or complaint." in response.content.decode()
    assert not PrivacyRequest.objects.exists()


def test_correction_page_points_to_what_users_edit_themselves(signed_in):
    body = signed_in.get(new_url("correction")).content.decode()
    for name in ["accounts:settings", "account_change_phone", "consents:page", "accounts:history"]:
        assert f'href="{reverse(name)}"' in body
    assert "nickname, avatar and password" in body
    assert '<option value="nickname">Nickname</option>' in body
    assert '<option value="other">' in body


def test_filing_a_correction_needs_no_code(signed_in, user):
    response = signed_in.post(
        new_url("correction"),
        {"correction_field": "nickname", "correction_value": " Ming ", "details": "typo"},
    )
    privacy_request = PrivacyRequest.objects.get(user=user)
    assert response["Location"] == detail_url(privacy_request)
    assert privacy_request.kind == Kind.CORRECTION
    assert privacy_request.correction_field == "nickname"
    assert privacy_request.correction_value == "Ming"
    assert privacy_request.verified_at is None
    body = signed_in.get(detail_url(privacy_request)).content.decode()
    assert "Nickname" in body and "Ming" in body and "typo" in body


def test_a_refused_correction_shows_the_service_message_and_files_nothing(signed_in):
    response = signed_in.post(
        new_url("correction"), {"correction_field": "other", "correction_value": "", "details": ""}
    )
    assert response.status_code == 400
    assert "Say what the correct value is." in response.content.decode()
    assert not PrivacyRequest.objects.exists()


# --- filing with a code ----------------------------------------------------------------

DELETION = {"ground": "4.2.2", "scope": "kinds", "scope_kinds": ["browsing_records"]}


@pytest.mark.django_db(transaction=True)
def test_deletion_is_filed_only_with_the_right_code(signed_in, user, sms_outbox):
    response = signed_in.post(new_url("deletion"), {**DELETION, "details": "stop tracking"})
    assert response.status_code == 302
    assert response["Location"] == verify_url("deletion")
    assert not PrivacyRequest.objects.exists()
    assert [m.to for m in sms_outbox] == [PHONE]
    assert "Your code to confirm your privacy request is" in sms_outbox[0].body
    code = last_code(sms_outbox, PHONE)

    page = signed_in.get(verify_url("deletion")).content.decode()
    assert "+86*******8000" in page
    assert "4.2.2 The data was collected or used without my consent" in page
    assert "Browsing" in page and "stop tracking" in page
    assert 'inputmode="numeric"' in page and 'autocomplete="one-time-code"' in page

    wrong = "000000" if code != "000000" else "111111"
    response = signed_in.post(verify_url("deletion"), {"code": wrong})
    assert response.status_code == 400
    assert "That code is not right. You can try 2 more times." in response.content.decode()
    assert not PrivacyRequest.objects.exists()

    before = timezone.now()
    response = signed_in.post(verify_url("deletion"), {"code": code})
    privacy_request = PrivacyRequest.objects.get(user=user)
    assert response["Location"] == detail_url(privacy_request)
    assert privacy_request.kind == Kind.DELETION
    assert privacy_request.ground == "4.2.2"
    assert privacy_request.scope_kinds == ["browsing_records"]
    assert privacy_request.whole_account is False
    assert privacy_request.details == "stop tracking"
    assert before <= privacy_request.verified_at <= timezone.now()
    assert privacy_request.due_on == due_date(privacy_request.verified_at)
    assert privacy_request.events.get().action == RequestEvent.Action.SUBMITTED
    # The code works once: the pending filing is gone.
    assert "requests.pending.deletion" not in signed_in.session
    assert signed_in.post(verify_url("deletion"), {"code": code})["Location"] == new_url("deletion")
    assert PrivacyRequest.objects.count() == 1
    # And the user is told it was filed.
    assert len(sms_outbox) == 2


@pytest.mark.django_db(transaction=True)
def test_whole_account_deletion_ignores_ticked_kinds(signed_in, user, sms_outbox):
    signed_in.post(
        new_url("deletion"),
        {"ground": "4.2.4", "scope": "account", "scope_kinds": ["browsing_records"]},
    )
    signed_in.post(verify_url("deletion"), {"code": last_code(sms_outbox, PHONE)})
    privacy_request = PrivacyRequest.objects.get(user=user)
    assert privacy_request.whole_account is True
    assert privacy_request.scope_kinds == []
    body = signed_in.get(detail_url(privacy_request)).content.decode()
    assert "The whole account (the account is closed)" in body


@pytest.mark.django_db(transaction=True)
def test_access_is_filed_only_with_the_right_code(signed_in, user, sms_outbox, no_copy_builder):
    page = signed_in.get(new_url("access")).content.decode()
    assert "ZIP" in page and "7 days" in page
    assert signed_in.post(new_url("access"))["Location"] == verify_url("access")
    assert not PrivacyRequest.objects.exists()
    response = signed_in.post(verify_url("access"), {"code": last_code(sms_outbox, PHONE)})
    privacy_request = PrivacyRequest.objects.get(user=user)
    assert response["Location"] == detail_url(privacy_request)
    assert privacy_request.kind == Kind.ACCESS
    assert privacy_request.verified_at is not None
    assert privacy_request.due_on == due_date(privacy_request.verified_at)
    assert AccessCopy.objects.filter(request=privacy_request).exists()
    # While one copy is on its way, asking again leads to it rather than a second code.
    response = signed_in.get(new_url("access"))
    assert response["Location"] == detail_url(privacy_request)


@pytest.mark.django_db(transaction=True)
def test_a_filed_copy_is_built_and_downloadable(signed_in, user, sms_outbox, media_root):
    """End to end with the real builder (run in-process, as tasks are in tests)."""
    signed_in.post(new_url("access"))
    response = signed_in.post(verify_url("access"), {"code": last_code(sms_outbox, PHONE)})
    privacy_request = PrivacyRequest.objects.get(user=user)
    assert privacy_request.access_copy.status == AccessCopy.Status.READY
    body = signed_in.get(response["Location"]).content.decode()
    download_url = reverse("requests:download", args=[privacy_request.reference])
    assert download_url in body
    response = signed_in.get(download_url)
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.namelist()


@pytest.mark.django_db(transaction=True)
def test_a_filing_the_service_refuses_after_the_code_shows_why(
    signed_in, user, sms_outbox, no_copy_builder
):
    signed_in.post(new_url("access"))
    # Meanwhile another tab filed a copy request.
    AccessFactory(user=user)
    response = signed_in.post(verify_url("access"), {"code": last_code(sms_outbox, PHONE)})
    assert response.status_code == 400
    assert "A copy of your data is already being prepared." in response.content.decode()
    assert PrivacyRequest.objects.filter(user=user).count() == 1
    assert "requests.pending.access" not in signed_in.session


@pytest.mark.django_db(transaction=True)
def test_three_wrong_codes_clear_the_pending_filing(signed_in, user, sms_outbox):
    signed_in.post(new_url("deletion"), DELETION)
    code = last_code(sms_outbox, PHONE)
    wrong = "000000" if code != "000000" else "111111"
    for left in (2, 1):
        response = signed_in.post(verify_url("deletion"), {"code": wrong})
        assert f"You can try {left} more time" in response.content.decode()
    response = signed_in.post(verify_url("deletion"), {"code": wrong}, follow=True)
    assert response.redirect_chain[-1][0] == new_url("deletion")
    assert "The code was entered wrongly 3 times" in response.content.decode()
    assert "requests.pending.deletion" not in signed_in.session
    # Even the right code is now useless.
    response = signed_in.post(verify_url("deletion"), {"code": code})
    assert response["Location"] == new_url("deletion")
    assert not PrivacyRequest.objects.exists()


def test_deletion_needs_a_scope_and_a_ground(signed_in, user, sms_outbox):
    response = signed_in.post(new_url("deletion"), {"ground": "4.2.2", "scope": "kinds"})
    assert response.status_code == 400
    assert "Tick at least one kind of data, or choose the whole account." in (
        response.content.decode()
    )
    response = signed_in.post(new_url("deletion"), {"scope": "account"})
    assert response.status_code == 400
    assert "Choose the ground for the deletion." in response.content.decode()
    response = signed_in.post(
        new_url("deletion"), {"ground": "4.2.2", "scope": "kinds", "scope_kinds": ["nope"]}
    )
    assert response.status_code == 400
    assert not PrivacyRequest.objects.exists()
    assert "requests.pending.deletion" not in signed_in.session
    assert sms_outbox == []


def test_deletion_form_offers_only_what_a_deletion_removes_and_names_what_is_kept(signed_in):
    from privacyportal.registry import registry

    body = signed_in.get(new_url("deletion")).content.decode()
    start = body.index('<form method="post" novalidate>')
    form = body[start:]
    kept = body[body.index('data-testid="kept-kinds"') : start]
    offered = {"account", "consents", "browsing_records"}
    kept_codes = {"security_events", "consent_history", "policy_acceptances"}
    kept_codes |= {"privacy_requests", "disclosures"}
    assert {kind.code for kind in registry.kinds()} >= offered | kept_codes
    for kind in registry.kinds():
        escaped = str(kind.description).replace("'", "&#x27;").replace('"', "&quot;")
        if kind.code in kept_codes:
            # Named in the box with why it is kept, never a box to tick.
            assert f'value="{kind.code}"' not in form
            assert str(kind.label) in kept
            assert str(kind.retention_note) in kept
        else:
            assert f'value="{kind.code}"' in form
            assert escaped in form
    for ground in PrivacyRequest.Ground.values:
        assert f'value="{ground}"' in body
    assert "kept as evidence" in body


def test_a_kept_kind_cannot_be_posted_for_deletion(signed_in, sms_outbox):
    response = signed_in.post(
        new_url("deletion"),
        {"ground": "4.2.2", "scope": "kinds", "scope_kinds": ["security_events"]},
    )
    assert response.status_code == 400
    assert not PrivacyRequest.objects.exists()
    assert sms_outbox == []


# --- the request page ------------------------------------------------------------------


def test_detail_shows_what_was_asked_due_date_and_timeline(signed_in, user):
    staff = UserFactory(is_staff=True)
    privacy_request = QuestionFactory(user=user, details="Do you sell my data?")
    services.request_start(privacy_request=privacy_request, actor=staff)
    services.request_extend(
        privacy_request=privacy_request, actor=staff, reason="We are asking our partner."
    )
    privacy_request.refresh_from_db()
    body = signed_in.get(detail_url(privacy_request)).content.decode()
    assert "Do you sell my data?" in body
    assert privacy_request.extended_to.strftime("%Y-%m-%d") in body
    assert privacy_request.due_on.strftime("%Y-%m-%d") in body
    assert "We are asking our partner." in body
    timeline = body.split('data-testid="timeline"')[1]
    assert timeline.index("Request filed") < timeline.index("Work started")
    assert timeline.index("Work started") < timeline.index("Deadline extended")
    assert "Our privacy team is preparing the answer" in body
    assert "working days left" in body


def test_detail_explains_a_rejection_and_where_to_complain(signed_in, user):
    staff = UserFactory(is_staff=True)
    privacy_request = QuestionFactory(user=user)
    services.request_reject(
        privacy_request=privacy_request, actor=staff, reason="excessive", text="Answered on 1 May."
    )
    body = signed_in.get(detail_url(privacy_request)).content.decode()
    assert "The request is manifestly unfounded" in body
    assert "Answered on 1 May." in body
    assert "Cyberspace Administration" in body
    assert "Withdraw request" not in body


def test_legal_hold_pauses_a_deletion_on_its_page(signed_in, user):
    staff = UserFactory(is_staff=True)
    privacy_request = WholeAccountDeletionFactory(user=user, ground="4.2.4")
    assert "legal hold" not in signed_in.get(detail_url(privacy_request)).content.decode()
    services.legal_hold_set(user=user, reason="Court order 2025-17", actor=staff)
    body = signed_in.get(detail_url(privacy_request)).content.decode()
    assert "Deletion is paused by a legal hold: Court order 2025-17" in body
    # Other kinds of request are not paused.
    assert (
        "legal hold" not in signed_in.get(detail_url(QuestionFactory(user=user))).content.decode()
    )


@pytest.mark.django_db(transaction=True)
def test_withdraw_writes_the_timeline_and_tells_the_user(signed_in, user, sms_outbox):
    privacy_request = QuestionFactory(user=user)
    sms_outbox.clear()
    page = signed_in.get(detail_url(privacy_request)).content.decode()
    withdraw_url = reverse("requests:withdraw", args=[privacy_request.reference])
    assert f'action="{withdraw_url}"' in page
    assert "Yes, withdraw it" in signed_in.get(withdraw_url).content.decode()

    response = signed_in.post(withdraw_url)
    assert response["Location"] == detail_url(privacy_request)
    privacy_request.refresh_from_db()
    assert privacy_request.status == Status.WITHDRAWN
    event = privacy_request.events.get(action=RequestEvent.Action.WITHDRAWN)
    assert event.actor == user
    assert (event.from_status, event.to_status) == (Status.SUBMITTED, Status.WITHDRAWN)
    assert [m.to for m in sms_outbox] == [PHONE]
    body = signed_in.get(detail_url(privacy_request)).content.decode()
    assert "You withdrew this request" in body
    assert f'action="{withdraw_url}"' not in body
    # A second try changes nothing and says why.
    response = signed_in.post(withdraw_url, follow=True)
    assert "This request can no longer be withdrawn." in response.content.decode()
    assert privacy_request.events.filter(action=RequestEvent.Action.WITHDRAWN).count() == 1


# --- the copy ----------------------------------------------------------------------------


def test_building_copy_shows_progress_and_refreshes(signed_in, user, media_root):
    privacy_request = access_request(user, copy_status=AccessCopy.Status.BUILDING)
    body = signed_in.get(detail_url(privacy_request)).content.decode()
    assert '<meta http-equiv="refresh" content="3">' in body
    assert "Being prepared: 40%" in body
    assert reverse("requests:download", args=[privacy_request.reference]) not in body


def test_ready_copy_links_to_the_download(signed_in, user, media_root):
    privacy_request = access_request(user)
    body = signed_in.get(detail_url(privacy_request)).content.decode()
    assert 'http-equiv="refresh"' not in body
    assert reverse("requests:download", args=[privacy_request.reference]) in body
    assert (
        privacy_request.access_copy.expires_at.astimezone(timezone.get_current_timezone()).strftime(
            "%Y-%m-%d"
        )
        in body
    )


def test_download_streams_the_zip_to_its_owner(signed_in, user, media_root):
    privacy_request = access_request(user)
    response = signed_in.get(reverse("requests:download", args=[privacy_request.reference]))
    assert response.status_code == 200
    content = b"".join(response.streaming_content)
    assert zipfile.ZipFile(io.BytesIO(content)).namelist() == ["account.json"]
    # Named after the day the copy was built (an hour ago), in local time: not "today",
    # which differs just after midnight.
    built = timezone.localtime(privacy_request.access_copy.built_at).date()
    assert (
        response["Content-Disposition"]
        == f'attachment; filename="privacy-copy-{built:%Y-%m-%d}.zip"'
    )
    assert response["Cache-Control"] == "private, no-store"
    assert response["Content-Type"] == "application/zip"


@pytest.mark.parametrize(
    ("copy_status", "expires_in"),
    [
        (AccessCopy.Status.READY, timedelta(seconds=-1)),
        (AccessCopy.Status.EXPIRED, timedelta(days=-1)),
    ],
)
def test_expired_download_is_gone_with_a_clear_message(
    signed_in, user, media_root, copy_status, expires_in
):
    privacy_request = access_request(user, copy_status=copy_status, expires_in=expires_in)
    response = signed_in.get(reverse("requests:download", args=[privacy_request.reference]))
    assert response.status_code == 410
    body = response.content.decode()
    assert "This download has expired" in body
    assert "File a new request" in body
    assert f'href="{new_url("access")}"' in body
    page = signed_in.get(detail_url(privacy_request)).content.decode()
    assert "The download period has ended" in page


def test_download_of_an_unfinished_copy_is_refused(signed_in, user, media_root):
    privacy_request = access_request(user, copy_status=AccessCopy.Status.BUILDING)
    response = signed_in.get(reverse("requests:download", args=[privacy_request.reference]))
    assert response.status_code == 409
    assert "not ready" in response.content.decode()


def test_download_of_a_request_without_a_copy_is_not_found(signed_in, user):
    privacy_request = QuestionFactory(user=user)
    response = signed_in.get(reverse("requests:download", args=[privacy_request.reference]))
    assert response.status_code == 404


def test_pages_work_in_chinese(client, user):
    client.force_login(user)
    privacy_request = QuestionFactory(user=user)
    body = client.get(detail_url(privacy_request)).content.decode()
    assert '<html lang="zh-hans">' in body
