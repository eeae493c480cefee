import json

import pytest
from django.urls import reverse

from consents import services
from consents.models import Channel, ConsentEvent, Purpose
from consents.receipts import receipt_for_event
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def user():
    return UserFactory(phone="+8613800138000")


def download(client, event):
    return client.get(reverse("consents:receipt", args=[event.receipt_id]))


def grant_through_the_page(client, code, **extra):
    response = client.post(reverse("consents:purpose", args=[code]), {"granted": "1", **extra})
    assert response.status_code == 302
    return ConsentEvent.objects.filter(purpose__code=code).latest("pk")


def test_receipt_for_a_grant_has_the_kantara_fields(signed_in, user):
    event = grant_through_the_page(signed_in, "personalisation")
    purpose = Purpose.objects.get(code="personalisation")

    response = download(signed_in, event)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == (
        f'attachment; filename="consent-receipt-{event.receipt_id}.json"'
    )
    assert "no-store" in response["Cache-Control"]
    receipt = json.loads(response.content)

    assert receipt["version"] == "KI-CR-v1.1.0"
    assert receipt["jurisdiction"] == "CN"
    assert receipt["consentTimestamp"] == int(event.occurred_at.timestamp())
    assert isinstance(receipt["consentTimestamp"], int)
    assert receipt["collectionMethod"] == "Self-service page"
    assert receipt["consentReceiptID"] == str(event.receipt_id)
    assert receipt["language"] == "en"
    assert receipt["piiPrincipalId"] == "+8613800138000"
    assert receipt["policyUrl"] == "http://testserver/policy/v1/"
    assert receipt["sensitive"] is False
    assert receipt["spiCat"] == []

    [controller] = receipt["piiControllers"]
    assert set(controller) >= {
        "piiController",
        "contact",
        "address",
        "email",
        "phone",
        "piiControllerUrl",
    }
    assert controller["piiController"] and controller["contact"]
    assert controller["address"]["addressCountry"] == "CN"

    [service] = receipt["services"]
    assert service["service"] == "Privacy portal"
    assert service["purposes"] == [
        {
            "purpose": "Personalised display",
            "purposeCategory": ["personalisation"],
            "consentType": "EXPLICIT",
            "piiCategory": ["Browsing records", "Search records"],
            "primaryPurpose": False,
            "termination": "Until withdrawn in Account Settings",
            "thirdPartyDisclosure": False,
            "thirdPartyName": "",
        }
    ]

    ledger = receipt["x-ledger"]
    assert ledger["action"] == "granted"
    assert ledger["policyVersion"] == 1
    assert ledger["purposeTextHash"] == event.text_hash == purpose.text_hash()
    assert ledger["eventHash"] == event.hash
    assert ledger["previousHash"] == event.previous_hash


def test_third_party_sharing_is_a_disclosure_with_named_recipients(signed_in):
    event = grant_through_the_page(signed_in, "third_party_sharing", separate_consent="1")
    [purpose] = json.loads(download(signed_in, event).content)["services"][0]["purposes"]
    assert purpose["thirdPartyDisclosure"] is True
    assert purpose["thirdPartyName"]


def test_the_controller_comes_from_settings(signed_in, settings):
    settings.PRIVACY_CONTROLLER_NAME = "示例科技有限公司"
    settings.PRIVACY_CONTROLLER_CONTACT = "个人信息保护负责人"
    settings.PRIVACY_CONTROLLER_ADDRESS = "北京市海淀区示例路 1 号"
    settings.PRIVACY_CONTROLLER_EMAIL = "privacy@example.cn"
    settings.PRIVACY_CONTROLLER_PHONE = "+86 10 0000 0000"
    settings.PRIVACY_CONTROLLER_URL = "https://example.cn/"
    event = grant_through_the_page(signed_in, "personalisation")
    [controller] = json.loads(download(signed_in, event).content)["piiControllers"]
    assert controller == {
        "piiController": "示例科技有限公司",
        "onBehalf": False,
        "contact": "个人信息保护负责人",
        "address": {"streetAddress": "北京市海淀区示例路 1 号", "addressCountry": "CN"},
        "email": "privacy@example.cn",
        "phone": "+86 10 0000 0000",
        "piiControllerUrl": "https://example.cn/",
    }


def test_a_withdrawal_and_a_policy_acceptance_have_receipts_too(signed_in, user):
    grant_through_the_page(signed_in, "personalisation")
    signed_in.post(
        reverse("consents:purpose", args=["personalisation"]),
        {"granted": "0", "confirm_erase": "1"},
    )
    withdrawn = ConsentEvent.objects.get(action=ConsentEvent.Action.WITHDRAWN)
    receipt = json.loads(download(signed_in, withdrawn).content)
    assert receipt["x-ledger"]["action"] == "withdrawn"
    assert receipt["x-ledger"]["previousHash"] != receipt["x-ledger"]["eventHash"]

    accepted = ConsentEvent.objects.get(user=user, action=ConsentEvent.Action.POLICY_ACCEPTED)
    receipt = json.loads(download(signed_in, accepted).content)
    assert receipt["collectionMethod"] == "Sign-up"
    assert receipt["policyUrl"] == "http://testserver/policy/v1/"
    [purpose] = receipt["services"][0]["purposes"]
    assert purpose["purpose"] == "Privacy policy version 1"
    assert purpose["consentType"] == "EXPLICIT"
    assert receipt["x-ledger"]["action"] == "policy_accepted"


def test_receipt_language_follows_the_page(client, user):
    client.force_login(user)  # no language cookie: the default, zh-hans
    event = services.consent_grant(
        user=user, purpose=Purpose.objects.get(code="personalisation"), channel=Channel.API
    )
    receipt = json.loads(download(client, event).content)
    assert receipt["language"] == "zh-hans"
    assert receipt["services"][0]["purposes"][0]["purpose"] == "个性化展示"
    assert receipt["services"][0]["purposes"][0]["piiCategory"] == ["浏览记录", "搜索记录"]


def test_receipt_builder_is_a_function_of_the_event(rf, user, settings):
    settings.ALLOWED_HOSTS = ["portal.example.cn"]
    event = services.consent_grant(user=user, purpose=Purpose.objects.get(code="personalisation"))
    request = rf.get("/", HTTP_HOST="portal.example.cn", secure=True)
    receipt = receipt_for_event(event, request=request)
    assert receipt["policyUrl"] == "https://portal.example.cn/policy/v1/"
    assert receipt == receipt_for_event(event, request=request)
    json.dumps(receipt)  # JSON-ready as it is


def test_another_users_receipt_is_not_found(signed_in):
    other_event = services.consent_grant(
        user=UserFactory(), purpose=Purpose.objects.get(code="personalisation")
    )
    response = download(signed_in, other_event)
    assert response.status_code == 404
    body = response.content.decode()
    assert other_event.hash not in body
    assert other_event.user.phone.as_e164 not in body


def test_an_unknown_receipt_is_not_found(signed_in):
    response = signed_in.get(
        reverse("consents:receipt", args=["7b0c1a52-6a43-4a4e-9d0b-0f6c5a2b9e11"])
    )
    assert response.status_code == 404


def test_receipts_need_a_signed_in_user(client, user):
    event = services.consent_grant(user=user, purpose=Purpose.objects.get(code="personalisation"))
    response = download(client, event)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
