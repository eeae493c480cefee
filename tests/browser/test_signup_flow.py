"""A new user's first visit, end to end through the real UI in headless Chromium.

Sign up with a mobile number typed with spaces, verify it with the SMS code,
set a nickname and an avatar, sign out, sign back in with a code, and find
both sign-ins among the security events.
"""

import json
import os
import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from PIL import Image
from playwright.sync_api import expect

from accounts.models import SecurityEvent
from tests.helpers import CODE_RE

pytestmark = pytest.mark.browser

TYPED_NUMBER = "138 0013 8000"
E164 = "+8613800138000"
NICKNAME = "Xiao Ming 小明"
SETTINGS_URL = re.compile(r"^https?://[^/]+/account/$")


def sms_files_to(sms_dir: Path, to: str) -> list[tuple[Path, dict]]:
    """Messages the file backend wrote to ``to``, oldest first (file names sort by time)."""
    if not sms_dir.exists():
        return []
    found = []
    for path in sorted(sms_dir.glob("*.json")):
        payload = json.loads(path.read_text(encoding="utf-8"))
        if payload["to"] == to:
            found.append((path, payload))
    return found


def newest_code(sms_dir: Path, to: str, *, not_in: set[Path] = frozenset()) -> tuple[Path, str]:
    """The code in the newest message to ``to`` that is not one of ``not_in``."""
    messages = [(path, msg) for path, msg in sms_files_to(sms_dir, to) if path not in not_in]
    assert messages, f"no new SMS to {to} in {sms_dir}: {sorted(p.name for p in sms_dir.glob('*'))}"
    path, payload = messages[-1]
    assert {"to", "body", "sent_at"} <= payload.keys()
    match = CODE_RE.search(payload["body"])
    assert match, f"no 6-digit code in {payload['body']!r}"
    return path, match.group(1)


def submit(form):
    form.locator("button[type=submit]").first.click()


def test_sign_up_profile_sign_out_and_back_in_by_code(
    transactional_db, live_server, page, sms_dir, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    User = get_user_model()
    base = live_server.url

    # 1. Sign up with the number typed the way people type it.
    page.goto(base + reverse("account_signup"))
    phone_input = page.locator("input[name=phone]")
    expect(phone_input).to_have_attribute("type", "tel")
    phone_input.fill(TYPED_NUMBER)
    # Acceptance of the policy is its own box, never pre-ticked.
    accept = page.locator("input[name=accept_policy]")
    expect(accept).not_to_be_checked()
    accept.check()
    submit(page.locator("form", has=phone_input))
    expect(page).to_have_url(base + reverse("account_verify_phone"))

    user = User.objects.get()
    assert user.phone.as_e164 == E164
    assert user.phone_verified is False
    assert not user.has_usable_password()

    # 2. The code, from the newest SMS file to the number.
    signup_sms, code = newest_code(sms_dir, E164)

    # 3. Enter it: the number is verified and the user lands in Account Settings.
    code_input = page.locator("input[name=code]")
    code_input.fill(code)
    submit(page.locator("form", has=code_input))
    expect(page).to_have_url(SETTINGS_URL)
    expect(page.get_by_role("heading", level=1)).to_have_text("Account Settings")
    expect(page.get_by_test_id("phone")).to_have_text("+86 138 0013 8000")
    user.refresh_from_db()
    assert user.phone_verified is True

    # 4a. Nickname.
    nickname_input = page.locator("input[name=nickname]")
    nickname_input.fill(NICKNAME)
    submit(page.locator(f"form[action='{reverse('accounts:nickname')}']"))
    expect(page).to_have_url(SETTINGS_URL)
    expect(page.get_by_role("status")).to_contain_text("Your nickname was saved.")
    expect(page.locator("input[name=nickname]")).to_have_value(NICKNAME)
    user.refresh_from_db()
    assert user.nickname == NICKNAME

    # 4b. Avatar: a small PNG made on the spot.
    picture = tmp_path / "me.png"
    Image.new("RGB", (64, 48), (200, 80, 40)).save(picture, "PNG")
    expect(page.get_by_role("img", name="Your avatar")).to_have_count(0)
    avatar_form = page.locator(f"form[action='{reverse('accounts:avatar')}']")
    avatar_form.locator("input[name=avatar]").set_input_files(picture)
    submit(avatar_form)
    expect(page).to_have_url(SETTINGS_URL)
    expect(page.get_by_role("status")).to_contain_text("Your avatar was saved.")
    avatar = page.get_by_role("img", name="Your avatar")
    expect(avatar).to_be_visible()
    # The browser really loaded and decoded it (a broken image has naturalWidth 0).
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=avatar.element_handle()
    )
    user.refresh_from_db()
    assert user.avatar
    assert (Path(settings.MEDIA_ROOT) / user.avatar.name).is_file()

    avatar_url = avatar.evaluate("img => img.src")
    response = page.request.get(avatar_url)
    assert response.status == 200
    assert response.headers["content-type"] == "image/png"
    assert response.body().startswith(b"\x89PNG\r\n\x1a\n")

    # 5. Sign out: the nav link leads to allauth's confirmation page.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sign out").click()
    expect(page).to_have_url(base + reverse("account_logout"))
    submit(page.locator(f"form[action='{reverse('account_logout')}']"))
    expect(page).to_have_url(base + reverse("home"))
    main_nav = page.get_by_role("navigation", name="Main")
    expect(main_nav.get_by_role("link", name="Sign in")).to_be_visible()
    expect(main_nav.get_by_role("link", name="Sign out")).to_have_count(0)
    # The avatar is private: signed out, its URL sends to the sign-in page.
    response = page.request.get(avatar_url, max_redirects=0)
    assert response.status == 302
    assert response.headers["location"].startswith(reverse("account_login"))

    # 6. Back in with a sign-in code.
    page.goto(base + reverse("account_request_login_code"))
    phone_input = page.locator("input[name=phone]")
    phone_input.fill(TYPED_NUMBER)
    submit(page.locator("form", has=phone_input))
    expect(page).to_have_url(base + reverse("account_confirm_login_code"))
    _, code = newest_code(sms_dir, E164, not_in={signup_sms})
    code_input = page.locator("input[name=code]")
    code_input.fill(code)
    submit(page.locator("form", has=code_input))
    expect(page).to_have_url(SETTINGS_URL)
    expect(page.locator("input[name=nickname]")).to_have_value(NICKNAME)
    expect(page.get_by_role("img", name="Your avatar")).to_be_visible()

    # 7. Both sign-ins are listed among the security events.
    page.get_by_role("navigation", name="Account Settings").get_by_role(
        "link", name="Security events"
    ).click()
    expect(page).to_have_url(base + reverse("accounts:security_events"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Security events")
    rows = page.locator("table.events tbody tr")
    expect(rows.filter(has_text="Signed in")).to_have_count(2)
    expect(rows.filter(has_text="Signed out")).to_have_count(1)
    expect(rows.filter(has_text="Signed up")).to_have_count(1)

    assert User.objects.count() == 1
    user.refresh_from_db()
    assert user.phone.as_e164 == E164
    assert user.phone_verified is True
    assert user.nickname == NICKNAME
    assert user.avatar
    assert user.security_events.filter(kind=SecurityEvent.Kind.SIGNED_IN).count() == 2
    assert len(sms_files_to(sms_dir, E164)) == 2

    # On request, a phone-sized screenshot of Account Settings for a human to look at.
    screenshot = os.environ.get("SETTINGS_PHONE_SCREENSHOT")
    if screenshot:
        phone = page.context.browser.new_context(
            viewport={"width": 390, "height": 844},
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
            locale="en-US",
            storage_state=page.context.storage_state(),
        )
        try:
            phone_page = phone.new_page()
            phone_page.goto(base + reverse("accounts:settings"))
            expect(phone_page.get_by_role("img", name="Your avatar")).to_be_visible()
            phone_page.screenshot(path=screenshot, full_page=True)
        finally:
            phone.close()
