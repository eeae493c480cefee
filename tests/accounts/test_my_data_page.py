"""What a person reads on "My data" and the security events: purpose names, not codes;
fingerprints shortened with the full value on demand; devices as browser and system; every
table cell labelled with its column, so that a phone shows each row as a card."""

import re

import pytest
from django.urls import reverse

from accounts.models import SecurityEvent
from consents.models import ConsentEvent, Purpose
from consents.services import consent_grant, consent_withdraw
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

PHONE_UA = (
    "Mozilla/5.0 (Linux; Android 13; V2148A Build/TP1A.220624.014; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/107.0.5304.141 Mobile Safari/537.36 XWEB/5023 "
    "MMWEBSDK/20230405 MMWEBID/2585 MicroMessenger/8.0.35.2360(0x2800235B) WeChat/arm64 "
    "Weixin NetType/5G Language/zh_CN ABI/arm64"
)
NAMES = {
    "en": {
        "personalisation": "Personalised display",
        "third_party_sharing": "Sharing with third parties",
    },
    "zh-hans": {"personalisation": "个性化展示"},
}


@pytest.fixture
def user():
    user = UserFactory(phone="+8613800138000")
    consent_grant(
        user=user,
        purpose=Purpose.objects.get(code="personalisation"),
        request=None,
    )
    consent_grant(
        user=user,
        purpose=Purpose.objects.get(code="third_party_sharing"),
        separately_confirmed=True,
    )
    consent_withdraw(user=user, purpose=Purpose.objects.get(code="third_party_sharing"))
    ConsentEvent.objects.filter(user=user).update(user_agent=PHONE_UA)
    SecurityEvent.objects.create(
        user=user, kind=SecurityEvent.Kind.SIGNED_IN, user_agent=PHONE_UA, ip_address="10.0.0.1"
    )
    return user


def page(client, user, language, name="accounts:my_data") -> str:
    client.cookies.load({"django_language": language})
    client.force_login(user)
    response = client.get(reverse(name))
    assert response.status_code == 200
    return response.content.decode()


def section(body: str, code: str) -> str:
    start = body.index(f'id="kind-{code}"')
    return body[start : body.index("</section>", start)]


def cells(html: str) -> list[str]:
    return re.findall(r"<td[^>]*>(.*?)</td>", html, re.S)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_choices_and_their_history_name_the_purpose_not_its_code(client, user, language):
    body = page(client, user, language)
    for code in ("consents", "consent_history"):
        shown = section(body, code)
        values = [re.sub(r"<[^>]+>", "", cell).strip() for cell in cells(shown)]
        assert values
        for purpose_code, name in NAMES[language].items():
            assert name in values, (code, purpose_code, values)
        for purpose in Purpose.objects.all():
            assert purpose.code not in values, (code, purpose.code)


def test_fingerprints_are_shortened_with_the_full_value_on_demand(client, user):
    body = page(client, user, "en")
    shown = section(body, "consent_history")
    event = ConsentEvent.objects.filter(user=user).order_by("-pk").first()
    full = event.text_hash
    assert len(full) == 64
    summary = f"<summary><code>{full[:10]}…</code>"
    assert summary in shown
    # The 64 characters only inside the <details>, as a block selected whole to copy.
    outside = re.sub(r"<details.*?</details>", "", shown, flags=re.S)
    assert full not in outside and full in shown
    details = shown[shown.index(summary) : shown.index("</details>", shown.index(summary))]
    assert '<code class="copyable"' in details and full in details


@pytest.mark.parametrize(
    ("language", "summary"),
    [("en", "WeChat 8 (Android 13)"), ("zh-hans", "WeChat 8（Android 13）")],
)
def test_devices_read_as_browser_and_system_with_the_full_string_on_demand(
    client, user, language, summary
):
    for name, code in (("accounts:my_data", "security_events"), ("accounts:security_events", None)):
        body = page(client, user, language, name)
        shown = section(body, code) if code else body[body.index("<table") :]
        assert f"<summary>{summary}" in shown, name
        # The raw string is there only to be opened, never as the cell's text.
        for cell in cells(shown):
            if PHONE_UA in cell:
                assert cell.index("<details") < cell.index(PHONE_UA)
                assert f"<summary>{summary}" in cell


def test_every_table_cell_is_labelled_for_the_card_layout(client, user):
    for name in ("accounts:my_data", "accounts:security_events", "accounts:settings"):
        body = page(client, user, "zh-hans", name)
        tables = re.findall(r"<table[^>]*>.*?</table>", body, re.S)
        assert tables, name
        for table in tables:
            assert 'class="' in table[:40] and "stack" in table[: table.index(">")]
            tds = re.findall(r"<td[^>]*>", table)
            assert tds and all('data-label="' in td for td in tds), (name, tds[:3])
            headers = re.findall(r"<th scope=\"col\">(.*?)</th>", table)
            labels = re.findall(r'<td data-label="([^"]*)"', table)
            assert set(labels) <= set(headers), (name, set(labels) - set(headers))


def test_the_pages_name_whose_they_are_by_nickname(client, user):
    for name in ("accounts:my_data", "consents:page", "requests:list", "home"):
        body = page(client, user, "en", name)
        assert re.search(r'data-testid="signed-in-as">Signed in as \+86 138\W?0013\W?8000<', body)
    user.nickname = "小明"
    user.save(update_fields=["nickname"])
    for name in ("accounts:my_data", "accounts:settings", "consents:page", "requests:list", "home"):
        body = page(client, user, "zh-hans", name)
        assert re.search(r'data-testid="signed-in-as">[^<]*小明', body), name
    # One user's name never lands in a page rendered for another (fragments are shared).
    other = UserFactory()
    body = page(client, other, "zh-hans", "consents:page")
    assert "小明" not in body
