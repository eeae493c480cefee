"""Screenshots of the pages a person and a staff member meet, in zh-hans, at 390 and 1280 px.

A demo-like user (consents given and withdrawn, requests of every kind, browsing records,
security events from a phone and a computer, a sharing with a recipient) signs in; each
page must answer 200 as itself (no detour) and, on a phone-sized screen, must not be wider
than the screen. The PNGs go to ``var/screenshots/<page>-<width>.png`` (or the folder in
``SCREENSHOT_DIR``), the test run's artifacts named in the README.
"""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import BrowsingRecord, SecurityEvent
from accounts.services import activity_record
from consents import services as consent_services
from consents.models import Purpose
from requests import services as request_services
from requests.models import PrivacyRequest
from tests.accounts.factories import UserFactory
from tests.consents.factories import PolicyVersionFactory
from tests.requests.factories import (
    AccessFactory,
    CorrectionFactory,
    DeletionFactory,
    QuestionFactory,
    RecipientFactory,
    disclose,
)

pytestmark = pytest.mark.browser

WIDTHS = {390: 844, 1280: 900}
STAFF_PASSWORD = "a long staff passphrase 42"
DEVICES = [
    "Mozilla/5.0 (Linux; Android 13; V2148A Build/TP1A.220624.014; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/107.0.5304.141 Mobile Safari/537.36 XWEB/5023 "
    "MMWEBSDK/20230405 MMWEBID/2585 MicroMessenger/8.0.35.2360(0x2800235B) WeChat/arm64 "
    "Weixin NetType/5G Language/zh_CN ABI/arm64",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
    "like Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
]


def screenshot_dir() -> Path:
    folder = Path(os.environ.get("SCREENSHOT_DIR") or Path(settings.BASE_DIR) / "var/screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def zh_context(chromium, live_server):
    context = chromium.new_context(locale="zh-CN")
    context.add_cookies([{"name": "django_language", "value": "zh-hans", "url": live_server.url}])
    context.set_default_timeout(15_000)
    yield context
    context.close()


def _client_request(user_agent: str, ip: str):
    request = RequestFactory().get("/", HTTP_USER_AGENT=user_agent, REMOTE_ADDR=ip)
    return request


def demo_user(staff):
    """Someone who has used the portal for a while, with something in every section."""
    user = UserFactory(phone="+8613800138000", nickname="小明")
    purposes = {p.code: p for p in Purpose.objects.all()}
    phone = _client_request(DEVICES[0], "10.20.30.40")
    consent_services.consent_grant(user=user, purpose=purposes["personalisation"], request=phone)
    consent_services.consent_grant(
        user=user, purpose=purposes["third_party_sharing"], separately_confirmed=True, request=phone
    )
    consent_services.consent_grant(
        user=user,
        purpose=purposes["cross_border"],
        separately_confirmed=True,
        request=_client_request(DEVICES[2], "10.20.30.41"),
    )
    for text in ["保存期限", "如何删除我的数据", "个人信息副本"]:
        activity_record(user=user, kind=BrowsingRecord.Kind.SEARCH, text=text)
    activity_record(
        user=user,
        kind=BrowsingRecord.Kind.VIEW,
        text="要求更正或删除您的信息",
        path="/help/correct-or-delete/",
    )
    for index, user_agent in enumerate(DEVICES):
        SecurityEvent.objects.create(
            user=user,
            kind=SecurityEvent.Kind.SIGNED_IN,
            user_agent=user_agent,
            ip_address=f"10.20.30.{40 + index}",
        )

    shared = ["phone_number", "profile"]
    recipient = RecipientFactory(
        name="顺达物流有限公司", contact="隐私专员 privacy@shunda.example", categories=shared
    )
    disclose(
        user,
        recipient,
        "SD-20260001",
        *shared,
        on_consent=True,
        disclosed_at=timezone.now() - timedelta(days=3),
    )
    # Sharing withdrawn since: its separate-consent page asks again.
    consent_services.consent_withdraw(user=user, purpose=purposes["third_party_sharing"])

    question = QuestionFactory(
        user=user, details="你们会把我的手机号提供给哪些公司？保存多久？", started_by=staff
    )
    request_services.request_complete(
        privacy_request=question,
        actor=staff,
        answer="仅提供给“我的数据”中列出的接收方，保存期限见隐私政策第五章。",
    )
    CorrectionFactory(
        user=user, correction_value="小明同学", details="昵称少了两个字。", started_by=staff
    )
    DeletionFactory(user=user, ground="4.2.4", details="不再需要个性化展示。")
    AccessFactory(user=user)
    return user


def shoot(page, url: str, name: str, heading: str | None = None, act=None) -> None:
    """Screenshots of ``url`` at each width (after ``act(page)``, if given)."""
    for width, height in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        response = page.goto(url)
        assert response is not None, url
        assert response.status == 200, (name, width, response.status)
        assert response.request.redirected_from is None, (name, page.url)
        if heading:
            expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
        page.wait_for_load_state("networkidle")
        if act is not None:
            act(page)
        page.screenshot(path=str(screenshot_dir() / f"{name}-{width}.png"), full_page=True)
        if width == 390:
            scroll = page.evaluate("document.documentElement.scrollWidth")
            wide = page.evaluate(
                """() => [...document.querySelectorAll('body *')]
                    .filter(e => e.getBoundingClientRect().right > 391)
                    .slice(0, 5).map(e => e.tagName + '.' + e.className)"""
            )
            assert scroll <= 390, (name, scroll, wide)


def test_screenshots_of_the_pages_people_meet(
    live_server, zh_context, sign_in, admin_sign_in, media_root
):
    base = live_server.url
    staff = UserFactory(
        is_staff=True, is_superuser=True, password=STAFF_PASSWORD, nickname="隐私专员"
    )
    user = demo_user(staff)
    assert PrivacyRequest.objects.filter(user=user).count() == 4

    page = sign_in(zh_context, user).new_page()
    shoot(page, base + reverse("accounts:my_data"), "my-data", "我的数据")
    shoot(page, base + reverse("consents:page"), "consents", "授权管理")

    def ask_to_turn_off(page):
        box = page.get_by_test_id("confirm-off-personalisation")
        box.locator("summary").click()
        expect(box.get_by_role("button", name="关闭并删除")).to_be_visible()
        expect(box).to_contain_text("浏览和搜索记录")
        box.scroll_into_view_if_needed()

    shoot(page, base + reverse("consents:page"), "consents-turn-off", "授权管理", ask_to_turn_off)
    shoot(page, base + reverse("consents:history"), "consent-history", "授权记录")
    shoot(page, base + reverse("accounts:security_events"), "security-events", "安全记录")
    sharing = Purpose.objects.get(code="third_party_sharing")
    shoot(
        page,
        base + reverse("consents:purpose", args=[sharing.code]),
        "separate-consent",
        sharing.name_zh_hans,
    )
    shoot(page, base + reverse("requests:list"), "requests", "我的请求")
    shoot(page, base + reverse("requests:new", args=["deletion"]), "deletion-form", "删除个人信息")

    desk = zh_context.browser.new_context(locale="zh-CN")
    desk.add_cookies([{"name": "django_language", "value": "zh-hans", "url": base}])
    try:
        desk_page = admin_sign_in(desk.new_page(), staff, STAFF_PASSWORD)
        shoot(
            desk_page, base + reverse("admin:requests_privacyrequest_changelist"), "desk-requests"
        )
    finally:
        desk.close()

    # Last: a material version now waits for the user's decision.
    PolicyVersionFactory(
        longer_search_records=True,
        changed_purposes=[Purpose.objects.get(code="personalisation")],
        actor=staff,
    )
    shoot(page, base + reverse("policy:accept"), "acceptance")

    names = sorted(path.name for path in screenshot_dir().glob("*.png"))
    for name in [
        "my-data",
        "consents",
        "separate-consent",
        "requests",
        "desk-requests",
        "acceptance",
    ]:
        for width in WIDTHS:
            assert f"{name}-{width}.png" in names
