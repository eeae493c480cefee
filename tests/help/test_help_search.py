"""The public help search (policy 2.4.1(1): search needs no account) and what it records
for signed-in users (policy 2.4.1(2): only while personalisation is on)."""

import re

import pytest
from django.urls import reverse

from accounts.models import BrowsingRecord
from consents.models import Purpose
from consents.services import consent_grant, consent_withdraw
from help.search import QUERY_MAX, excerpt, highlight, policy_blocks
from help.topics import TOPICS
from tests.accounts.factories import UserFactory

HELP = "/help/"


@pytest.fixture
def english(client):
    client.cookies.load({"django_language": "en"})
    return client


def policy_results(body: str) -> str:
    return body[body.index('id="policy-results"') : body.index('id="h-all-topics"')]


def search(client, q):
    response = client.get(reverse("help_search"), {"q": q})
    assert response.status_code == 200
    return response.content.decode()


def personalisation() -> Purpose:
    return Purpose.objects.get(code="personalisation")


def test_the_search_lives_at_help(db):
    assert reverse("help_search") == HELP
    assert reverse("help_topic", args=["sign-up"]) == "/help/sign-up/"


def test_without_a_query_the_page_lists_every_topic(english, db):
    body = english.get(HELP).content.decode()
    for topic in TOPICS:
        assert reverse("help_topic", args=[topic.slug]) in body
        assert str(topic.title).replace("“", "&ldquo;") in body or str(topic.title) in body
    assert "You do not need an account" in body


def test_anonymous_search_works_and_records_nothing(english, db):
    body = search(english, "PASSWORD")
    assert "Signing in with a code or a <mark>password</mark>" in body
    assert reverse("help_topic", args=["sign-in"]) in body
    assert not BrowsingRecord.objects.exists()


def test_an_english_policy_phrase_finds_its_paragraph_under_its_heading(english, db):
    body = search(english, "connect and share with each other")
    section = policy_results(body)
    assert "<mark>connect and share with each other</mark> through our services" in section
    assert (
        "5. The storage of the information › 5.4.1 Prevention of account security risks" in section
    )
    assert "**" not in section


def test_a_chinese_policy_phrase_finds_its_paragraph(client, db):
    body = search(client, "遭遇电信网络诈骗")
    section = policy_results(body)
    assert "以免信息被窃取甚至<mark>遭遇电信网络诈骗</mark>" in section
    assert "5.4.1 账号安全风险的防范" in section


def test_a_heading_finds_the_paragraphs_right_under_it(english, db):
    body = search(english, "storage location")
    assert "will be stored in China" in body


def test_many_matching_paragraphs_are_limited(english, db):
    body = search(english, "the")
    section = policy_results(body)
    assert section.count("<li>") <= 20
    assert re.search(r"Showing the first 20 of \d+ matching paragraphs", section)


def test_nothing_found_says_so(english, db):
    body = search(english, "zebra crossing")
    assert "0 results for" in body
    assert "Try fewer or other words" in body


def test_the_query_and_the_highlight_are_escaped(english, db):
    body = search(english, "<script>alert(1)</script>")
    assert "<script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_highlight_escapes_the_text_and_the_match():
    pattern = re.compile(re.escape("<b>"), re.IGNORECASE)
    html = highlight('a <b> & <B> "x"', pattern)
    assert html == "a <mark>&lt;b&gt;</mark> &amp; <mark>&lt;B&gt;</mark> &quot;x&quot;"


@pytest.mark.parametrize("q", ["密" * 5000, "x" * (QUERY_MAX + 1), "a\x00b", "(" * 300, "   "])
def test_odd_queries_never_fail(english, db, q):
    english.get(HELP, {"q": q})  # the response is checked in search()
    search(english, q)


def test_an_over_long_query_is_shortened_with_a_notice(english, db):
    body = search(english, "password " * 40)
    assert "Your search was longer than 100 characters" in body


@pytest.mark.django_db(transaction=True)
def test_a_signed_in_users_search_is_recorded_only_while_personalisation_is_on(client):
    user = UserFactory()
    client.cookies.load({"django_language": "en"})
    client.force_login(user)

    body = search(client, "before")
    assert "Personalised display is off" in body
    assert not BrowsingRecord.objects.exists()

    consent_grant(user=user, purpose=personalisation())
    body = search(client, "  during\x00  ")
    assert "Personalised display is on" in body
    assert list(BrowsingRecord.objects.values_list("user", "kind", "text")) == [
        (user.pk, "search", "during")
    ]
    search(client, "")  # an empty query is no search
    assert BrowsingRecord.objects.count() == 1

    consent_withdraw(user=user, purpose=personalisation())
    assert not BrowsingRecord.objects.exists()  # erased with the consent
    search(client, "after")
    assert not BrowsingRecord.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_long_search_is_recorded_as_searched(client):
    user = UserFactory()
    consent_grant(user=user, purpose=personalisation())
    client.force_login(user)
    search(client, "隐" * 500)
    assert BrowsingRecord.objects.get().text == "隐" * QUERY_MAX


def test_topic_pages_are_public_and_anonymous_views_are_not_recorded(english, db):
    response = english.get(reverse("help_topic", args=["security-events"]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "<h1>Security events</h1>" in body
    assert reverse("accounts:security_events") in body
    assert reverse("help_search") in body
    assert not BrowsingRecord.objects.exists()


def test_an_unknown_topic_is_not_found(client, db):
    assert client.get("/help/no-such-topic/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_a_topic_page_records_a_view_only_while_personalisation_is_on(client):
    user = UserFactory()
    client.force_login(user)
    url = reverse("help_topic", args=["sign-up"])
    assert client.get(url).status_code == 200
    assert not BrowsingRecord.objects.exists()

    consent_grant(user=user, purpose=personalisation())
    client.get(url)  # in zh-hans, the default language
    record = BrowsingRecord.objects.get()
    assert (record.kind, record.path) == ("view", url)
    client.cookies.load({"django_language": "en"})
    history = client.get(reverse("accounts:history")).content.decode()
    assert f'<a href="{url}">{record.text}</a>' in history


def test_policy_blocks_are_plain_text_with_their_headings():
    blocks = policy_blocks(
        "# Title\n\nIntro with **bold** and a [link](https://x.example).\n\n"
        "## 1. Scope\n\n### 1.1 Part\n\n**1.1.1** First\nline two.\n\n"
        "- **a** one\n- two\n\n## 2. Next\n\nAfter.\n"
    )
    assert [(b.headings, b.text) for b in blocks] == [
        ((), "Intro with bold and a link."),
        (("1. Scope", "1.1 Part"), "1.1.1 First line two."),
        (("1. Scope", "1.1 Part"), "a one"),
        (("1. Scope", "1.1 Part"), "two"),
        (("2. Next",), "After."),
    ]


def test_a_long_paragraph_is_cut_around_the_match_between_words():
    text = " ".join(f"word{i:03d}" for i in range(200))
    cut = excerpt(text, re.compile("word100"))
    assert cut.startswith("…word") and cut.endswith("…")
    assert "word100" in cut and len(cut) < 300
    chinese = "甲" * 400 + "诈骗" + "乙" * 400
    assert "诈骗" in excerpt(chinese, re.compile("诈骗"))


# Words that promise a feature for later: the help must describe what the portal does now.
LATER = re.compile(
    r"later (version|release)|coming soon|not yet available|in a future|"
    r"以后的版本|后续版本|未来版本|即将推出|敬请期待",
    re.IGNORECASE,
)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_no_topic_promises_a_later_version(client, db, language):
    client.cookies.load({"django_language": language})
    for topic in TOPICS:
        body = client.get(reverse("help_topic", args=[topic.slug])).content.decode()
        assert not LATER.search(body), (topic.slug, LATER.search(body))


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_correcting_and_deleting_link_the_real_request_pages(client, db, language):
    client.cookies.load({"django_language": language})
    body = client.get(reverse("help_topic", args=["correct-or-delete"])).content.decode()
    for kind in ("correction", "deletion", "access", "question"):
        assert f'href="{reverse("requests:new", args=[kind])}"' in body
    assert f'href="{reverse("requests:list")}"' in body
    words = {
        "en": ["“My requests”", "“Delete my data”", "within 15 working days"],
        "zh-hans": ["“我的请求”", "“删除个人信息”", "15 个工作日内"],
    }[language]
    for text in words:
        assert text in body
    # Each link leads to a page a signed-in user can open.
    client.force_login(UserFactory())
    links = re.findall(r'<li><a href="(/[^"]*requests[^"]*)"', body)
    assert len(links) == 5
    for url in links:
        assert client.get(url).status_code == 200, url
