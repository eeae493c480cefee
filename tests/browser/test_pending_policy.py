"""A material version waits for the user's decision: their rights stay open meanwhile.

In zh-hans on a phone-sized screen, a user whose personalised display is suspended by a
newly published version turns it off for good and withdraws another consent, opens my requests and my data (each
with the banner saying what waits), then declines the version on the acceptance page:
the decline is in the ledger, the changed use stays off, and the banner says they can
still accept. Screenshots of the acceptance page at 390 and 1280 px go to var/screenshots/.
"""

import os
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from playwright.sync_api import expect

from consents import services
from consents.models import ConsentEvent, ConsentState, Purpose
from consents.selectors import consent_is_given
from tests.accounts.factories import UserFactory
from tests.browser.conftest import PHONE
from tests.consents.factories import PolicyVersionFactory

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(os.environ.get("SCREENSHOT_DIR") or Path(settings.BASE_DIR) / "var/screenshots")
DESKTOP = {"width": 1280, "height": 900}


def test_a_pending_version_leaves_the_rights_open_and_can_be_declined(
    live_server, zh_phone_context, sign_in, wait_until
):
    base = live_server.url
    personalisation = Purpose.objects.get(code="personalisation")
    cross_border = Purpose.objects.get(code="cross_border")
    staff = UserFactory(is_staff=True, is_superuser=True)
    user = UserFactory()
    services.consent_grant(user=user, purpose=personalisation)
    services.consent_grant(user=user, purpose=cross_border, separately_confirmed=True)
    PolicyVersionFactory(
        longer_search_records=True,
        changed_purposes=[personalisation],
        actor=staff,
    )
    assert wait_until(lambda: not consent_is_given(user=user, purpose="personalisation"))

    page = sign_in(zh_phone_context, user).new_page()

    def banner_reads_pending():
        pending = page.locator(".policy-pending")
        expect(pending).to_contain_text("第 2 版隐私政策需要您作出决定。")
        expect(pending).to_contain_text("搜索记录现保存 90 天。")
        expect(pending).to_contain_text("个性化展示")
        return pending

    # 1. The consent page opens. The consent the version changes is on hold, and a user
    # who disagrees turns it off for good without accepting; another one is withdrawn too.
    response = page.goto(base + reverse("consents:page"))
    assert response.status == 200
    expect(page).to_have_url(base + reverse("consents:page"))
    banner_reads_pending()
    expect(page.locator("#state-personalisation")).to_contain_text("已暂停")
    expect(page.get_by_test_id("held-personalisation")).to_be_visible()
    page.get_by_test_id("confirm-off-personalisation").locator("summary").click()
    page.locator("#purpose-personalisation").get_by_role("button", name="关闭并删除").click()
    expect(page.locator("#state-personalisation")).to_contain_text("已关闭")
    assert not ConsentState.objects.get(user=user, purpose=personalisation).granted
    assert ConsentEvent.objects.filter(
        user=user, purpose=personalisation, action=ConsentEvent.Action.WITHDRAWN
    ).exists()
    expect(page.locator("#state-cross_border")).to_contain_text("已开启")
    page.locator("#purpose-cross_border button[type=submit]").click()
    expect(page.locator("#state-cross_border")).to_contain_text("已关闭")
    assert not ConsentState.objects.get(user=user, purpose=cross_border).granted
    assert ConsentEvent.objects.filter(
        user=user, purpose=cross_border, action=ConsentEvent.Action.WITHDRAWN
    ).exists()

    # 2. My requests and my data open too, each with the banner.
    for name, heading in [("requests:list", "我的请求"), ("accounts:my_data", "我的数据")]:
        response = page.goto(base + reverse(name))
        assert response.status == 200, name
        expect(page).to_have_url(base + reverse(name))
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        banner_reads_pending()
    # Nothing on a 390 px screen runs wider than it.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # 3. The banner leads to the acceptance page, which says what declining means.
    banner_reads_pending().get_by_role("link", name="阅读后选择同意或不同意").click()
    expect(page).to_have_url(re.compile(re.escape(base + reverse("policy:accept")) + r"\?next="))
    main = page.locator("main")
    expect(main.get_by_role("heading", name="如果您不同意第 2 版")).to_be_visible()
    expect(main).to_contain_text("上面列出的数据用途保持关闭，即使您此前已开启。")
    expect(main.get_by_role("link", name="注销账户")).to_have_attribute(
        "href", reverse("requests:new", args=["deletion"])
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "acceptance-390.png"), full_page=True)
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(SCREENSHOTS / "acceptance-1280.png"), full_page=True)
    page.set_viewport_size(PHONE)

    # 4. Decline: back to my data, told what it means; the banner says they can still accept.
    main.get_by_role("button", name="我不同意第 2 版").click()
    expect(page).to_have_url(base + reverse("accounts:my_data"))
    expect(page.locator("ul.messages")).to_contain_text(
        "您不同意第 2 版隐私政策。该版本变更的处理保持关闭"
    )
    pending = page.locator(".policy-pending")
    expect(pending).to_contain_text("您不同意第 2 版隐私政策。")
    expect(pending.get_by_role("link", name="阅读并改为同意")).to_be_visible()

    declined = ConsentEvent.objects.get(user=user, action=ConsentEvent.Action.POLICY_DECLINED)
    assert declined.policy_version.number == 2
    assert not consent_is_given(user=user, purpose="personalisation")
    assert consent_is_given(user=user, purpose="account")
    for path in ("acceptance-390.png", "acceptance-1280.png"):
        assert (SCREENSHOTS / path).stat().st_size > 10_000
