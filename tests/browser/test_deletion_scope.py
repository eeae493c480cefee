"""A partial deletion, in zh-hans on a phone: the request page names only who was told what.

A user whose data went to two recipients (one received the mobile number, the other the
browsing records) files a deletion of the browsing and search records in Chromium at
390x844 with the SMS code; staff approve it (the service the desk's button calls); the
request page then names the one recipient in scope and its category, and not the other.
"""

import pytest
from django.urls import reverse
from django.utils import translation
from playwright.sync_api import expect

from consents.models import DataCategory, Purpose
from consents.services import consent_grant
from requests import services
from requests.models import PrivacyRequest
from tests.accounts.factories import UserFactory
from tests.browser.conftest import PHONE
from tests.requests.factories import RecipientFactory, disclose

pytestmark = pytest.mark.browser


def test_the_request_page_names_only_the_recipient_in_scope_and_its_category(
    live_server, zh_phone_context, sign_in, sms_code, sms_outbox
):
    base = live_server.url
    user = UserFactory()
    consent_grant(user=user, purpose=Purpose.objects.get(code="personalisation"))
    disclose(user, RecipientFactory(name="Shop Partner"), "shop", "browsing_records")
    disclose(user, RecipientFactory(name="Courier Co"), "courier", "phone_number")
    staff = UserFactory(is_staff=True)
    with translation.override("zh-hans"):
        browsing = DataCategory.objects.get(code="browsing_records").name
        number = DataCategory.objects.get(code="phone_number").name

    # The user files the deletion of the browsing and search records, with the code.
    page = sign_in(zh_phone_context, user).new_page()
    page.goto(base + reverse("requests:new", args=["deletion"]))
    page.check(f"input[name=ground][value='{PrivacyRequest.Ground.NO_CONSENT}']")
    page.check("input[name=scope][value=kinds]")
    page.check("input[name=scope_kinds][value=browsing_records]")
    sent_before = len(sms_outbox)
    page.locator("form:has(input[name=ground]) button[type=submit]").click()
    expect(page).to_have_url(base + reverse("requests:verify", args=["deletion"]))
    page.fill("input[name=code]", sms_code(user.phone.as_e164, after=sent_before))
    page.locator("form:has(input[name=code]) button[type=submit]:not([name=resend])").click()

    privacy_request = PrivacyRequest.objects.get(user=user)
    assert privacy_request.scope_kinds == ["browsing_records"]
    detail = base + reverse("requests:detail", args=[privacy_request.reference])
    expect(page).to_have_url(detail)

    # Staff start and approve it.
    services.request_start(privacy_request=privacy_request, actor=staff)
    services.deletion_approve(privacy_request=privacy_request, actor=staff)

    page.goto(detail)
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    notices = page.get_by_test_id("notices")
    expect(notices.locator("li")).to_have_count(1)
    expect(notices).to_contain_text("Shop Partner")
    expect(notices.get_by_test_id("told")).to_have_text(f"已通知删除：{browsing}")
    expect(notices).not_to_contain_text("Courier Co")
    expect(notices).not_to_contain_text(number)
    expect(page.locator("body")).not_to_contain_text("Courier Co")
    expect(page.get_by_test_id("timeline")).to_contain_text(
        f"已通知 Shop Partner 删除：{browsing}。"
    )
    # Phone-sized: the page fits the screen's width.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
