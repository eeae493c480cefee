"""The separate consent to sharing says to whom (issue 16 point 7), in zh-hans on a phone.

The page names each active recipient of the register with its contact and the data it
receives, and nothing on it reads as sharing the login password.
"""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.accounts.factories import UserFactory
from tests.requests.factories import RecipientFactory

pytestmark = pytest.mark.browser

PURPOSE = "third_party_sharing"


def test_the_sharing_consent_names_the_recipients_and_never_the_password(
    live_server, zh_phone_context, sign_in
):
    RecipientFactory(
        name="顺达物流有限公司",
        contact="隐私专员 privacy@shunda.example",
        categories=["phone_number", "profile"],
    )
    RecipientFactory(
        name="旧合作方", contact="old@partner.example", categories=["phone_number"], is_active=False
    )
    user = UserFactory()
    sign_in(zh_phone_context, user)
    page = zh_phone_context.new_page()

    response = page.goto(live_server.url + reverse("consents:purpose", args=[PURPOSE]))
    assert response is not None and response.status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text("向第三方共享")
    section = page.locator("section.recipients")
    expect(section.get_by_role("heading", name="接收方")).to_be_visible()
    entries = section.locator("li.recipient")
    expect(entries).to_have_count(1)
    entry = entries.first
    expect(entry.get_by_role("heading", level=3)).to_have_text("顺达物流有限公司")
    expect(entry).to_contain_text("联系方式")
    expect(entry).to_contain_text("隐私专员 privacy@shunda.example")
    expect(entry).to_contain_text("接收的信息")
    expect(entry).to_contain_text("手机号、账户资料（昵称、头像）")
    expect(entry).to_contain_text("向第三方共享")
    expect(section).to_contain_text(
        "您同意后，我们登记的以下接收方将为“向第三方共享”接收您的信息："
    )
    expect(page.locator("main")).not_to_contain_text("旧合作方")

    text = page.locator("main").inner_text()
    assert "密码" not in text
    assert "password" not in text.lower()
    # Readable on a phone: nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    # The consent is still given only by the page's own button.
    page.get_by_role("button", name="我单独同意").click()
    expect(page).to_have_url(live_server.url + reverse("consents:page") + f"#purpose-{PURPOSE}")


def test_a_purpose_without_a_register_shows_no_recipients(live_server, zh_phone_context, sign_in):
    sign_in(zh_phone_context, UserFactory())
    page = zh_phone_context.new_page()
    response = page.goto(live_server.url + reverse("consents:purpose", args=["public_disclosure"]))
    assert response is not None and response.status == 200
    expect(page.locator("section.recipients")).to_have_count(0)
    assert "密码" not in page.locator("main").inner_text()
