import pytest
from django.urls import reverse

from consents import services
from consents.models import Channel, ConsentEvent, ConsentState, Purpose
from consents.selectors import consent_is_given
from tests.accounts.factories import UserFactory

# The page reads consents through the cache, which a change invalidates on commit.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def user():
    return UserFactory(phone="+8613800138000")


def purpose_url(code):
    return reverse("consents:purpose", args=[code])


def set_consent(client, code, granted, **extra):
    return client.post(purpose_url(code), {"granted": granted, **extra})


def ledger_size():
    return ConsentEvent.objects.count(), ConsentState.objects.count()


def test_page_lists_basic_purposes_as_required_and_additional_ones_off(signed_in):
    response = signed_in.get(reverse("consents:page"))
    assert response.status_code == 200
    body = response.content.decode()
    basic, additional = body.split('id="h-additional"')
    for name in ["Account and identity", "Security and fraud prevention"]:
        assert name in basic
    assert "Required" in basic
    assert "The law requires a mobile number to create an account" in basic
    assert "Mobile number" in basic and "IP address" in basic
    assert 'name="granted"' not in basic
    for name in [
        "Personalised display",
        "Sharing with third parties",
        "Public disclosure",
        "Storage or transfer outside the PRC",
        "Use for a new purpose or identifiable research",
    ]:
        assert name in additional
    assert additional.count('<strong class="off">Off</strong>') == 5
    assert '<strong class="on">' not in additional
    assert "Browsing records" in additional
    # One-click on for the ordinary purpose; the separate-consent ones go to their own page.
    assert f'action="{purpose_url("personalisation")}"' in additional
    assert f'href="{purpose_url("third_party_sharing")}"' in additional
    assert f'action="{purpose_url("third_party_sharing")}"' not in additional
    assert reverse("accounts:settings") in body  # the Account Settings navigation


def test_one_click_grant_and_a_confirmed_withdraw_take_effect_at_once(signed_in, user):
    assert consent_is_given(user=user, purpose="personalisation") is False

    response = set_consent(signed_in, "personalisation", "1")
    assert response.status_code == 302
    assert response["Location"] == reverse("consents:page") + "#purpose-personalisation"
    state = ConsentState.objects.get(user=user, purpose__code="personalisation")
    assert state.granted is True
    granted = ConsentEvent.objects.get(user=user, action=ConsentEvent.Action.GRANTED)
    assert granted.purpose.code == "personalisation"
    assert granted.channel == Channel.SELF_SERVICE
    assert state.last_event == granted
    assert consent_is_given(user=user, purpose="personalisation") is True

    page = signed_in.get(response["Location"]).content.decode()
    assert "“Personalised display” is now on." in page
    assert '<strong class="on">On</strong>' in page
    assert reverse("consents:receipt", args=[granted.receipt_id]) in page

    # Turning it off deletes the browsing history: the page asks once before it does.
    assert 'data-testid="confirm-off-personalisation">' in page
    response = set_consent(signed_in, "personalisation", "0")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="confirm-off-personalisation" open>' in body
    assert "Turning “Personalised display” off deletes at once" in body
    assert "Browsing and search records" in body
    assert 'name="confirm_erase" value="1"' in body
    state.refresh_from_db()
    assert state.granted is True
    assert not ConsentEvent.objects.filter(action=ConsentEvent.Action.WITHDRAWN).exists()
    assert consent_is_given(user=user, purpose="personalisation") is True

    response = set_consent(signed_in, "personalisation", "0", confirm_erase="1")
    assert response.status_code == 302
    state.refresh_from_db()
    assert state.granted is False
    withdrawn = ConsentEvent.objects.get(user=user, action=ConsentEvent.Action.WITHDRAWN)
    assert withdrawn.channel == Channel.SELF_SERVICE
    assert withdrawn.previous_hash == granted.hash
    assert consent_is_given(user=user, purpose="personalisation") is False
    page = signed_in.get(response["Location"]).content.decode()
    assert "“Personalised display” is now off." in page
    assert "deleted what was collected for it" in page


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_turning_personalisation_off_says_the_history_goes_and_keeps_it_until_confirmed(
    signed_in, user, language
):
    from accounts.models import BrowsingRecord
    from accounts.services import activity_record

    signed_in.cookies.load({"django_language": language})
    services.consent_grant(user=user, purpose=Purpose.objects.get(code="personalisation"))
    activity_record(user=user, kind=BrowsingRecord.Kind.SEARCH, text="storage")
    assert BrowsingRecord.objects.filter(user=user).count() == 1

    body = signed_in.get(reverse("consents:page")).content.decode()
    box = body[body.index('data-testid="confirm-off-personalisation"') :]
    box = box[: box.index("</details>")]
    said = {
        "en": ["Turning “Personalised display” off deletes at once", "cannot be undone"],
        "zh-hans": [
            "关闭“个性化展示”将立即删除为此收集的信息：浏览和搜索记录。",
            "此操作无法撤销。",
        ],
    }[language]
    for text in said:
        assert text in box
    # No switch elsewhere on the page turns it off without the question.
    assert body.count(f'action="{purpose_url("personalisation")}"') == 1

    assert set_consent(signed_in, "personalisation", "0").status_code == 200
    assert BrowsingRecord.objects.filter(user=user).count() == 1
    response = set_consent(signed_in, "personalisation", "0", confirm_erase="1")
    assert response.status_code == 302
    assert not BrowsingRecord.objects.filter(user=user).exists()
    assert consent_is_given(user=user, purpose="personalisation") is False


def test_a_purpose_that_deletes_nothing_turns_off_in_one_click(signed_in, user):
    services.consent_grant(
        user=user,
        purpose=Purpose.objects.get(code="third_party_sharing"),
        separately_confirmed=True,
    )
    body = signed_in.get(reverse("consents:page")).content.decode()
    assert 'data-testid="confirm-off-third_party_sharing"' not in body
    response = set_consent(signed_in, "third_party_sharing", "0")
    assert response.status_code == 302
    assert consent_is_given(user=user, purpose="third_party_sharing") is False


def test_repeating_a_choice_records_nothing_and_says_so(signed_in, user):
    before = ledger_size()
    response = set_consent(signed_in, "personalisation", "0")
    assert response.status_code == 302
    assert ledger_size() == before
    assert (
        "“Personalised display” was already off."
        in signed_in.get(response["Location"]).content.decode()
    )


def test_separate_consent_is_given_only_on_the_confirmation_page(signed_in, user):
    before = ledger_size()
    # A grant posted straight from anywhere but the confirmation page grants nothing.
    response = set_consent(signed_in, "third_party_sharing", "1")
    assert response.status_code == 302
    assert response["Location"] == purpose_url("third_party_sharing")
    assert ledger_size() == before
    assert consent_is_given(user=user, purpose="third_party_sharing") is False

    page = signed_in.get(purpose_url("third_party_sharing"))
    assert page.status_code == 200
    body = page.content.decode()
    assert "we may share your personal information with third parties" in body
    for category in ["Mobile number", "Browsing records", "Search records"]:
        assert category in body
    assert 'name="separate_consent" value="1"' in body
    assert "I separately agree" in body

    response = set_consent(signed_in, "third_party_sharing", "1", separate_consent="1")
    assert response.status_code == 302
    event = ConsentEvent.objects.get(user=user, purpose__code="third_party_sharing")
    assert event.action == ConsentEvent.Action.GRANTED
    assert event.channel == Channel.SELF_SERVICE
    assert consent_is_given(user=user, purpose="third_party_sharing") is True

    # Withdrawing stays one click from the list.
    page = signed_in.get(reverse("consents:page")).content.decode()
    assert f'action="{purpose_url("third_party_sharing")}"' in page
    response = set_consent(signed_in, "third_party_sharing", "0")
    assert response.status_code == 302
    assert consent_is_given(user=user, purpose="third_party_sharing") is False
    assert ConsentState.objects.get(user=user, purpose__code="third_party_sharing").granted is False


@pytest.mark.parametrize(
    ("code", "granted", "status", "message"),
    [
        ("account", "0", 400, "needed for the basic service"),
        ("security", "1", 400, "needed for the basic service"),
        ("nope", "1", 404, "This purpose does not exist."),
        ("personalisation", "yes", 400, "Choose whether to turn this purpose on or off."),
        ("personalisation", "", 400, "Choose whether to turn this purpose on or off."),
    ],
)
def test_forged_changes_are_refused_and_change_nothing(
    signed_in, user, code, granted, status, message
):
    before = ledger_size()
    response = set_consent(signed_in, code, granted)
    assert response.status_code == status
    assert message in response.content.decode()
    assert "Nothing was changed." in response.content.decode()
    assert ledger_size() == before


def test_a_retired_purpose_cannot_be_granted(signed_in, user):
    Purpose.objects.filter(code="personalisation").update(is_active=False)
    before = ledger_size()
    response = set_consent(signed_in, "personalisation", "1")
    assert response.status_code == 400
    assert "This purpose is no longer in use" in response.content.decode()
    assert ledger_size() == before
    assert not ConsentState.objects.filter(user=user).exists()


def test_a_post_without_the_csrf_token_is_refused(client, user):
    client.force_login(user)
    client.handler.enforce_csrf_checks = True
    response = client.post(purpose_url("personalisation"), {"granted": "1"})
    assert response.status_code == 403
    assert not ConsentState.objects.exists()


def test_purpose_urls_without_a_confirmation_step(signed_in):
    # Ordinary and basic purposes have nothing to confirm: back to the list, at the purpose.
    for code in ["personalisation", "account"]:
        response = signed_in.get(purpose_url(code))
        assert response.status_code == 302
        assert response["Location"] == reverse("consents:page") + f"#purpose-{code}"
    response = signed_in.get(purpose_url("nope"))
    assert response.status_code == 404
    assert "This purpose does not exist." in response.content.decode()


def test_history_lists_only_the_users_own_events(signed_in, user):
    other = UserFactory()
    personalisation = Purpose.objects.get(code="personalisation")
    theirs = services.consent_grant(user=other, purpose=personalisation)
    mine = services.consent_grant(user=user, purpose=personalisation)

    response = signed_in.get(reverse("consents:history"))
    assert response.status_code == 200
    body = response.content.decode()
    assert reverse("consents:receipt", args=[mine.receipt_id]) in body
    assert reverse("consents:receipt", args=[theirs.receipt_id]) not in body
    assert "Personalised display" in body and "Granted" in body
    assert "Privacy policy version 1" in body and "Policy accepted" in body
    assert "Sign-up" in body and "Self-service page" in body
    assert body.count("Download receipt") == 2
    # Newest first.
    assert body.index("Personalised display") < body.index("Privacy policy version 1")


def test_history_is_paginated(signed_in, user):
    personalisation = Purpose.objects.get(code="personalisation")
    for _ in range(15):
        services.consent_grant(user=user, purpose=personalisation)
        services.consent_withdraw(user=user, purpose=personalisation)
    first = signed_in.get(reverse("consents:history")).content.decode()
    second = signed_in.get(reverse("consents:history") + "?page=2").content.decode()
    assert first.count("Download receipt") == 25
    assert second.count("Download receipt") == 6
    assert "Page 2 of 2" in second


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize(
    "url",
    [
        reverse("consents:page"),
        reverse("consents:history"),
        reverse("consents:purpose", args=["personalisation"]),
        reverse("consents:purpose", args=["third_party_sharing"]),
        reverse("consents:receipt", args=["7b0c1a52-6a43-4a4e-9d0b-0f6c5a2b9e11"]),
    ],
)
def test_every_page_needs_a_signed_in_user(client, method, url):
    response = getattr(client, method)(url, {"granted": "1"} if method == "post" else None)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert not ConsentState.objects.exists()
