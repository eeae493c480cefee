"""My requests told apart in the list; a closed request never says "we will answer by";
the policy linked from every page's footer and from the home page."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from requests import services
from requests.models import PrivacyRequest
from tests.accounts.factories import UserFactory
from tests.requests.factories import (
    CorrectionFactory,
    DeletionFactory,
    QuestionFactory,
    WholeAccountDeletionFactory,
)

Kind = PrivacyRequest.Kind
pytestmark = pytest.mark.django_db


def signed_in(client, user, language="en"):
    client.cookies.load({"django_language": language})
    client.force_login(user)
    return client


def list_items(client) -> list[str]:
    response = client.get(reverse("requests:list"))
    assert response.status_code == 200
    body = response.content.decode()
    block = body[body.index('class="request-list"') :]
    return re.findall(r"<li>.*?</li>", block[: block.index("</ul>")], re.S)


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_requests_of_one_kind_are_told_apart_by_what_they_ask(client, user, language):
    QuestionFactory(user=user, details="How long do you keep my data?")
    QuestionFactory(user=user, details="Who  did you share\nmy number with " + "x" * 80)
    DeletionFactory(user=user, ground="4.2.2")
    WholeAccountDeletionFactory(user=user, ground="4.2.4")
    CorrectionFactory(user=user, correction_value="Ann", details="Spelt wrong")
    QuestionFactory(details="Someone else's question")

    items = [text(item) for item in list_items(signed_in(client, user, language))]
    assert len(items) == 5
    expected = {
        "en": [
            "Nickname: Ann",
            "The whole account (the account is closed)",
            "Browsing and search records",
            "Who did you share my number with xxxxxxxxxxxxxx…",
            "How long do you keep my data?",
        ],
        "zh-hans": [
            "昵称：Ann",
            "整个账户（并注销账户）",
            "浏览和搜索记录",
            "Who did you share my number with xxxxxxxxxxxxxx…",
            "How long do you keep my data?",
        ],
    }[language]
    # Newest first, each with its own line; no two the same.
    for item, summary in zip(items, expected, strict=True):
        assert summary in item, (summary, item)
    assert len(set(items)) == len(items)
    assert not any("Someone else" in item for item in items)


def test_the_list_costs_the_same_queries_for_more_requests(client, user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    signed_in(client, user)
    QuestionFactory(user=user, details="one")
    client.get(reverse("requests:list"))  # the session and caches warm
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("requests:list"))
    for n in range(10):
        QuestionFactory(user=user, details=f"question {n}")
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("requests:list"))
    assert len(many) == len(few)


def test_a_completed_request_never_says_we_will_answer_by(client, user):
    staff = UserFactory(is_staff=True)
    privacy_request = QuestionFactory(user=user)
    signed_in(client, user)
    open_page = client.get(reverse("requests:detail", args=[privacy_request.reference]))
    assert "Answer due by" in open_page.content.decode()

    services.request_start(privacy_request=privacy_request, actor=staff)
    services.request_complete(privacy_request=privacy_request, actor=staff, answer="Because.")
    body = client.get(reverse("requests:detail", args=[privacy_request.reference])).content.decode()
    assert "Completed" in body
    assert "Answer due by" not in body
    assert "will answer" not in body.lower() and "answer by" not in body
    assert "Answer was due by" in body

    zh = signed_in(client, user, "zh-hans")
    body = zh.get(reverse("requests:detail", args=[privacy_request.reference])).content.decode()
    assert "已完成" in body or "完成" in body
    assert "答复期限" not in body.replace("原答复期限", "")


def test_filing_a_request_closed_at_once_does_not_promise_an_answer(client, user, monkeypatch):
    """A copy can be built on commit, before the page after filing: the message then
    follows the request's status, not the deadline."""
    file = services.request_file

    def file_and_complete(**kwargs):
        privacy_request = file(**kwargs)
        PrivacyRequest.objects.filter(pk=privacy_request.pk).update(
            status=PrivacyRequest.Status.COMPLETED, closed_at=timezone.now()
        )
        return privacy_request

    signed_in(client, user)
    response = client.post(reverse("requests:new", args=["question"]), {"details": "One"})
    page = client.get(response["Location"]).content.decode()
    assert "We will answer by" in page

    monkeypatch.setattr(services, "request_file", file_and_complete)
    response = client.post(reverse("requests:new", args=["question"]), {"details": "Two"})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Your request was filed." in page
    assert "We will answer by" not in page
    assert "Answer due by" not in page


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_policy_is_linked_from_every_pages_footer_and_the_home_page(client, user, language):
    client.cookies.load({"django_language": language})
    policy = reverse("policy:in_force")
    home = client.get(reverse("home")).content.decode()
    assert f'href="{policy}"' in home[home.index("<main") : home.index("</main>")]
    for name in ("home", "help_search", "account_login", "policy:versions"):
        body = client.get(reverse(name)).content.decode()
        footer = body[body.index('<footer class="site-footer">') :]
        assert f'href="{policy}"' in footer, name
    signed_in(client, user, language)
    for name in ("accounts:my_data", "consents:page", "requests:list", "accounts:settings"):
        body = client.get(reverse(name)).content.decode()
        footer = body[body.index('<footer class="site-footer">') :]
        assert f'href="{policy}"' in footer, name
