"""The history of choices (the ledger, as its owner reads it): purpose names in the reader's
language, each entry's fingerprint shortened with the full chain on demand, and cells
labelled so that a phone shows each entry as a card."""

import re

import pytest
from django.urls import reverse

from consents.models import ConsentEvent, Purpose
from consents.services import consent_grant, consent_withdraw
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def user():
    user = UserFactory()
    personalisation = Purpose.objects.get(code="personalisation")
    consent_grant(user=user, purpose=personalisation)
    consent_withdraw(user=user, purpose=personalisation)
    return user


def history(client, user, language) -> str:
    client.cookies.load({"django_language": language})
    client.force_login(user)
    response = client.get(reverse("consents:history"))
    assert response.status_code == 200
    body = response.content.decode()
    return body[body.index("<table") : body.index("</table>")]


def rows(table: str) -> list[str]:
    return re.findall(r"<tr>\s*<td.*?</tr>", table, re.S)


@pytest.mark.parametrize(
    ("language", "name", "policy"),
    [
        ("en", "Personalised display", "Privacy policy version 1"),
        ("zh-hans", "个性化展示", "隐私政策"),
    ],
)
def test_entries_name_the_purpose_in_the_readers_language(client, user, language, name, policy):
    table = history(client, user, language)
    entries = rows(table)
    assert len(entries) == 3
    texts = [re.sub(r"<[^>]+>", "", e) for e in entries]
    assert sum(name in text for text in texts) == 2
    assert policy in texts[-1]
    assert "personalisation" not in re.sub(r'href="[^"]*"', "", table)


def test_each_fingerprint_is_shortened_with_the_chain_on_demand(client, user):
    table = history(client, user, "en")
    events = list(ConsentEvent.objects.filter(user=user).order_by("-pk"))
    entries = rows(table)
    for entry, event in zip(entries, events, strict=True):
        assert f"<summary><code>{event.hash[:10]}…</code>" in entry
        details = entry[entry.index("<details") : entry.index("</details>")]
        for value in (event.hash, event.previous_hash, event.text_hash):
            assert f'<code class="copyable">{value}</code>' in details
        # Outside the opened box only the first ten characters show.
        outside = re.sub(r"<details.*?</details>", "", entry, flags=re.S)
        assert event.hash not in outside and event.hash[:10] not in outside


def test_every_cell_is_labelled_with_its_column(client, user):
    table = history(client, user, "zh-hans")
    assert re.search(r'<table class="[^"]*\bstack\b', table)
    headers = re.findall(r'<th scope="col">(.*?)</th>', table)
    assert "指纹" in headers
    for entry in rows(table):
        labels = re.findall(r'<td data-label="([^"]*)"', entry)
        assert labels == headers
