"""Timeline notes are codes rendered in the reader's language; the desk reads sentences.

What the system says on a request's timeline is stored as a code and its values
(``RequestEvent.note_code`` / ``note_params``); what staff wrote stays as written. The
user's request page and the desk's timeline render both in their reader's language,
and rows written before codes existed still show their plain note.
"""

import re

import pytest
from django.urls import reverse

from requests import services
from requests.models import PrivacyRequest, RequestEvent
from tests.accounts.factories import UserFactory
from tests.requests.factories import CorrectionFactory, DeletionFactory, QuestionFactory

pytestmark = pytest.mark.django_db

Kind = PrivacyRequest.Kind
Action = RequestEvent.Action


@pytest.fixture
def officer():
    return UserFactory(is_staff=True, is_superuser=True)


def page(client, user, privacy_request, language):
    client.force_login(user)
    client.cookies["django_language"] = language
    response = client.get(reverse("requests:detail", args=[privacy_request.reference]))
    assert response.status_code == 200
    body = response.content.decode()
    return body.split('data-testid="timeline"', 1)[1].split("</ol>", 1)[0]


def desk_timeline(client, officer, privacy_request, language="en"):
    client.force_login(officer)
    client.cookies["django_language"] = language
    response = client.get(
        reverse("admin:requests_privacyrequest_change", args=[privacy_request.pk])
    )
    assert response.status_code == 200
    body = response.content.decode()
    start = body.index('id="events-group"')
    return body[start : body.index("</fieldset>", start)]


def cells(html, field):
    return [
        re.sub(r"<[^>]+>", "", cell).strip()
        for cell in re.findall(rf'<td class="field-{field}">(.*?)</td>', html, re.S)
    ]


def test_a_rejection_reads_in_the_language_of_whoever_reads_it(client, officer):
    user = UserFactory()
    privacy_request = QuestionFactory(user=user)
    services.request_reject(
        privacy_request=privacy_request, actor=officer, reason="no_ground", text="见附件。"
    )
    event = privacy_request.events.get(action=Action.REJECTED)
    assert event.note == "见附件。"  # staff's words, as written

    english = page(client, user, privacy_request, "en")
    assert "None of the policy&#x27;s grounds applies" in english
    assert "见附件。" in english and "PIPL art. 50" in english
    chinese = page(client, user, privacy_request, "zh-hans")
    assert "None of the policy" not in chinese and "PIPL art. 50" not in chinese
    assert "见附件。" in chinese and "人民法院" in chinese

    # The desk shows the same words, in the staff member's language.
    (note,) = [n for n in cells(desk_timeline(client, officer, privacy_request), "message") if n]
    assert "None of the policy" in note and "见附件。" in note


def test_a_note_written_before_codes_still_shows(client, officer):
    user = UserFactory()
    privacy_request = QuestionFactory(user=user)
    RequestEvent.objects.create(
        request=privacy_request, action=Action.COMPLETED, note="您的副本已准备好。"
    )
    assert "您的副本已准备好。" in page(client, user, privacy_request, "en")
    assert "您的副本已准备好。" in cells(desk_timeline(client, officer, privacy_request), "message")


def test_the_desk_reads_the_details_as_sentences(client, officer):
    user = UserFactory(nickname="Old")
    privacy_request = CorrectionFactory(user=user, correction_value="New")
    services.request_assign(privacy_request=privacy_request, assignee=officer, actor=officer)
    services.request_start(privacy_request=privacy_request, actor=officer)
    privacy_request = services.request_extend(
        privacy_request=privacy_request, actor=officer, reason="Checking with the team."
    )
    services.correction_apply(privacy_request=privacy_request, actor=officer)
    deletion = DeletionFactory(user=user, approved_by=officer)

    details = [d for d in cells(desk_timeline(client, officer, privacy_request), "what") if d]
    assert details == [
        f"Assigned to {officer}.",
        f"Due date moved from {privacy_request.due_on:%Y-%m-%d} to "
        f"{privacy_request.extended_to:%Y-%m-%d}.",
        "Nickname changed from “Old” to “New”.",
    ]
    messages = cells(desk_timeline(client, officer, privacy_request), "message")
    assert f"The answer is now due by {privacy_request.extended_to:%Y-%m-%d}." in messages[3]
    assert "Checking with the team." in messages[3]
    assert "Nickname is now “New”." in messages

    erased = [d for d in cells(desk_timeline(client, officer, deletion), "what") if d]
    assert erased == ["Erased: Browsing and search records (0 rows). 0 deletion notices created."]
    (chinese,) = [
        d for d in cells(desk_timeline(client, officer, deletion, "zh-hans"), "what") if d
    ]
    assert chinese.startswith("已删除：") and chinese.endswith("（0 条）。已创建 0 条删除通知。")
