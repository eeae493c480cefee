"""Words that read right (issue 16 point 8): the SMS code is 验证码 on every allauth page
the portal renders, sign-out has one name, phone numbers one format, security events
name the changed field in words, policy v1 has no unfilled placeholder, and no shared
data category reads as including the login password."""

import re

import pytest
from django.test import Client
from django.urls import reverse
from phonenumber_field.phonenumber import PhoneNumber

from accounts.models import SecurityEvent
from consents.models import PolicyVersion, Purpose
from consents.seed import POLICY_DIR
from privacyportal.templatetags.phones import phone_display
from tests.accounts.factories import UserFactory
from tests.helpers import last_code, signup_data

# Transactional: SMS go out on commit, as in production.
pytestmark = pytest.mark.django_db(transaction=True)

PHONE = "+8613800138000"
SHOWN = "+86 138 0013 8000"
NEW_PHONE = "+8613900139000"


def visible_text(response) -> str:
    body = response.content.decode()
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


def chinese_client(**kwargs) -> Client:
    client = Client(**kwargs)
    client.cookies.load({"django_language": "zh-hans"})
    return client


def allauth_pages_in_chinese(sms_outbox) -> dict[str, object]:
    """Every allauth page a person meets in the portal, reached the way they reach it."""
    pages = {}
    visitor = chinese_client()
    pages["sign in"] = visitor.get(reverse("account_login"))
    pages["sign up"] = visitor.get(reverse("account_signup"))
    pages["ask for a sign-in code"] = visitor.get(reverse("account_request_login_code"))
    UserFactory(phone=PHONE, password="a long passphrase 42")
    sent = visitor.post(reverse("account_request_login_code"), {"phone": PHONE}, follow=True)
    pages["sign-in code sent"] = sent
    pages["wrong sign-in code"] = visitor.post(
        reverse("account_confirm_login_code"), {"code": "000001"}
    )
    code = last_code(sms_outbox, PHONE)
    pages["signed in"] = visitor.post(
        reverse("account_confirm_login_code"), {"code": code}, follow=True
    )
    pages["change number"] = visitor.get(reverse("account_change_phone"))
    pages["new number's code"] = visitor.post(
        reverse("account_change_phone"), {"phone": NEW_PHONE, "action_add": ""}, follow=True
    )
    pages["wrong code for the new number"] = visitor.post(
        reverse("account_verify_phone"), {"code": "000001"}
    )
    pages["confirm it is you"] = visitor.get(reverse("account_reauthenticate"))
    pages["sign out"] = visitor.get(reverse("account_logout"))
    pages["signed out"] = visitor.post(reverse("account_logout"), follow=True)

    newcomer = chinese_client()
    signed_up = newcomer.post(reverse("account_signup"), signup_data("+8613700137000"))
    pages["sign-up code"] = newcomer.get(signed_up["Location"])
    pages["wrong sign-up code"] = newcomer.post(signed_up["Location"], {"code": "000001"})
    return pages


def test_allauth_pages_call_the_sms_code_a_verification_code(sms_outbox):
    pages = allauth_pages_in_chinese(sms_outbox)
    texts = {}
    for name, response in pages.items():
        assert response.status_code == 200, name
        texts[name] = text = visible_text(response)
        assert "错误代码" not in text, name
        # 代码 alone is allauth's word for the code; the SMS says 验证码.
        assert not re.search(r"(?<!验证)代码", text), (name, text)
        assert "登出" not in text, name
    for name in (
        "sign-in code sent",
        "wrong sign-in code",
        "new number's code",
        "sign-up code",
        "wrong sign-up code",
    ):
        assert "验证码" in texts[name], name
        assert 'placeholder="代码"' not in pages[name].content.decode(), name
    for name in ("wrong sign-in code", "wrong code for the new number", "wrong sign-up code"):
        assert "验证码不正确" in texts[name], name


def test_sign_out_has_one_name_in_both_languages(client):
    user = UserFactory()
    client.force_login(user)
    chinese = visible_text(client.get(reverse("account_logout")))
    assert chinese.count("退出登录") >= 3  # the menu, the heading and the button
    assert "登出" not in chinese
    client.cookies.load({"django_language": "en"})
    english = visible_text(client.get(reverse("account_logout")))
    assert "Sign out" in english
    assert "Sign Out" not in english and "Log out" not in english
    signed_out = visible_text(client.post(reverse("account_logout"), follow=True))
    assert "You have signed out." in signed_out


@pytest.mark.parametrize(
    "value",
    [PHONE, "13800138000", "+86 138-0013-8000", PhoneNumber.from_string(PHONE)],
)
def test_phone_numbers_have_one_format(value):
    assert phone_display(value) == SHOWN


def test_phone_display_keeps_what_it_cannot_read():
    assert phone_display(None) == ""
    assert phone_display("") == ""
    assert phone_display("not a number") == "not a number"


def test_pages_show_the_number_in_that_format(sms_outbox):
    pages = allauth_pages_in_chinese(sms_outbox)
    for name in ("sign-in code sent", "signed in", "change number"):
        body = pages[name].content.decode()
        assert SHOWN in body, name
        assert PHONE not in visible_text(pages[name]), name
    assert "+86 139 0013 9000" in visible_text(pages["new number's code"])


def test_security_events_name_the_changed_field_in_words():
    user = UserFactory()
    client = chinese_client()
    client.force_login(user)
    response = client.post(reverse("accounts:nickname"), {"nickname": "阿明"})
    assert response.status_code == 302
    event = user.security_events.get(kind=SecurityEvent.Kind.PROFILE_CHANGED)
    assert event.detail == "nickname"
    chinese = visible_text(client.get(reverse("accounts:security_events")))
    assert "修改了昵称" in chinese
    assert "nickname" not in chinese
    client.cookies.load({"django_language": "en"})
    english = visible_text(client.get(reverse("accounts:security_events")))
    assert "nickname changed" in english


def test_policy_version_1_has_no_unfilled_placeholder():
    version = PolicyVersion.objects.get(number=1)
    for text in (
        version.body_zh_hans,
        version.body_en,
        (POLICY_DIR / "v1.zh-hans.md").read_text(encoding="utf-8"),
        (POLICY_DIR / "v1.en.md").read_text(encoding="utf-8"),
    ):
        assert "【" not in text and "】" not in text
        assert "[System]" not in text


@pytest.mark.parametrize("code", ["third_party_sharing", "public_disclosure", "cross_border"])
def test_shared_or_disclosed_data_never_reads_as_including_the_password(code):
    purpose = Purpose.objects.get(code=code)
    names = [c.name_zh_hans for c in purpose.data_categories.all()] + [
        c.name_en for c in purpose.data_categories.all()
    ]
    assert names
    assert not [name for name in names if "密码" in name or "password" in name.lower()]


def test_the_password_is_named_where_it_is_used_to_sign_in():
    account = Purpose.objects.get(code="account")
    codes = set(account.data_categories.values_list("code", flat=True))
    assert {"phone_number", "profile", "login_password"} <= codes
