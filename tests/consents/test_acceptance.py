import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils.http import urlencode

from consents import services
from consents.models import (
    Channel,
    ConsentEvent,
    ConsentState,
    LedgerHead,
    PolicyAcceptance,
    PolicySmsNotice,
    PolicyVersion,
    Purpose,
)
from consents.selectors import consent_is_given
from consents.tasks import policy_version_sms_task
from requests.models import PrivacyRequest
from tests.accounts.factories import UserFactory
from tests.consents.factories import PolicyVersionFactory
from tests.requests.factories import QuestionFactory

# Consent-cache invalidation runs on commit, so the tests commit.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def personalisation():
    return Purpose.objects.get(code="personalisation")


@pytest.fixture
def staff():
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def publish(staff):
    def publish(*, material, changed_purposes=(), sentence="A new paragraph."):
        return PolicyVersionFactory(
            is_material=material, changed_purposes=changed_purposes, sentence=sentence, actor=staff
        )

    return publish


def accept_url(next_url):
    return f"{reverse('policy:accept')}?{urlencode({'next': next_url})}"


def banner(response) -> str:
    """The pending-version banner's text on a page ("" when there is none)."""
    html = response.content.decode()
    start = html.find('class="message policy-pending"')
    if start == -1:
        return ""
    return html[start : html.index("</section>", start)]


def test_a_material_change_suspends_what_it_changes_and_leaves_every_page_open(
    client, publish, personalisation
):
    user = UserFactory()
    services.consent_grant(user=user, purpose=personalisation)
    assert consent_is_given(user=user, purpose="personalisation")
    client.force_login(user)
    client.cookies["django_language"] = "en"
    response = client.get(reverse("accounts:settings"))
    assert response.status_code == 200 and banner(response) == ""

    v2 = publish(material=True, changed_purposes=[personalisation])

    assert not consent_is_given(user=user, purpose="personalisation")
    assert consent_is_given(user=user, purpose="account")
    for page in [reverse("accounts:settings"), reverse("accounts:my_data"), reverse("home")]:
        response = client.get(page)
        assert response.status_code == 200, page
        text = banner(response)
        assert "Version 2 of the privacy policy needs your decision." in text
        assert "What we changed." in text  # the version's summary of changes
        assert "we do not use your data for what it changes: Personalised display." in text
        assert f'href="{accept_url(page)}"' in text
    # A form post elsewhere goes through as before.
    response = client.post(reverse("accounts:nickname"), {"nickname": "Xiao"})
    assert response.status_code == 302
    assert not response["Location"].startswith(reverse("policy:accept"))
    user.refresh_from_db()
    assert user.nickname == "Xiao"

    page = client.get(accept_url(reverse("accounts:settings")))
    assert page.status_code == 200
    assert banner(page) == ""  # the acceptance page says it all itself
    html = page.content.decode()
    assert "I accept version 2" in html
    assert "I decline version 2" in html and "If you decline version 2" in html
    assert "What we changed." in html
    assert "What changed since version 1" in html and "<ins>A new paragraph.</ins>" in html
    assert "Personalised display" in html  # the purpose whose terms changed
    assert reverse("requests:new", args=["deletion"]) in html  # closing stays a choice
    assert reverse("account_logout") in html
    assert consent_is_given(user=user, purpose="account")

    response = client.post(
        reverse("policy:accept"), {"version": "2", "next": reverse("accounts:settings")}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:settings")

    acceptance = PolicyAcceptance.objects.get(user=user, version=v2)
    assert acceptance.express is True
    event = ConsentEvent.objects.get(pk=acceptance.event_id)
    assert event.action == ConsentEvent.Action.POLICY_ACCEPTED
    assert event.channel == Channel.SELF_SERVICE
    assert event.policy_version == v2
    assert consent_is_given(user=user, purpose="personalisation")
    assert consent_is_given(user=user, purpose="account")
    response = client.get(reverse("accounts:settings"))
    assert response.status_code == 200 and banner(response) == ""
    assert banner(client.get(reverse("home"))) == ""
    # The acceptance page now just says so.
    assert "You have accepted version 2" in client.get(reverse("policy:accept")).content.decode()


def test_acceptance_only_redirects_to_a_safe_next(client, publish):
    user = UserFactory()
    publish(material=True)
    client.force_login(user)
    response = client.post(
        reverse("policy:accept"), {"version": "2", "next": "https://evil.example/steal"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert PolicyAcceptance.objects.filter(user=user, version__number=2, express=True).exists()


def test_accepting_a_version_no_longer_in_force_is_refused(client, publish):
    user = UserFactory()
    publish(material=True)
    client.force_login(user)
    response = client.post(reverse("policy:accept"), {"version": "1", "next": "/account/"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("policy:accept"))
    assert not PolicyAcceptance.objects.filter(user=user, version__number=2).exists()
    response = client.get(reverse("accounts:settings"))
    assert response.status_code == 200 and banner(response)


def test_a_non_material_change_shows_a_dismissable_notice(client, publish):
    user = UserFactory()
    client.force_login(user)
    client.cookies["django_language"] = "en"
    v2 = publish(material=False)

    response = client.get(reverse("accounts:settings"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "The privacy policy was updated to version 2" in html
    assert f"{reverse('policy:diff')}?from=1&amp;to=2" in html
    assert reverse("policy:notice_dismiss") in html

    response = client.post(
        reverse("policy:notice_dismiss"), {"version": "2", "next": reverse("accounts:settings")}
    )
    assert response.status_code == 302 and response["Location"] == reverse("accounts:settings")
    acceptance = PolicyAcceptance.objects.get(user=user, version=v2)
    assert acceptance.express is False
    assert ConsentEvent.objects.get(pk=acceptance.event_id).action == (
        ConsentEvent.Action.POLICY_NOTICE_SEEN
    )
    html = client.get(reverse("accounts:settings")).content.decode()
    assert "The privacy policy was updated" not in html

    # A later material version still needs express acceptance: the banner asks for it.
    publish(material=True, sentence="Another paragraph.")
    response = client.get(reverse("accounts:settings"))
    assert response.status_code == 200
    assert "The privacy policy was updated" not in response.content.decode()
    assert "Version 3 of the privacy policy needs your decision." in banner(response)
    # The diff on the acceptance page starts from the last version accepted expressly.
    page = client.get(accept_url(reverse("accounts:settings"))).content.decode()
    assert "What changed since version 1" in page


def test_a_material_version_cannot_be_dismissed_as_a_notice(client, publish):
    user = UserFactory()
    publish(material=True)
    client.force_login(user)
    response = client.post(reverse("policy:notice_dismiss"), {"version": "2", "next": "/"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("policy:accept"))
    assert not PolicyAcceptance.objects.filter(user=user, version__number=2).exists()


def test_dismissing_needs_a_post_and_a_safe_next(client, publish):
    user = UserFactory()
    publish(material=False)
    client.force_login(user)
    assert client.get(reverse("policy:notice_dismiss")).status_code == 405
    response = client.post(
        reverse("policy:notice_dismiss"), {"version": "2", "next": "//evil.example/"}
    )
    assert response["Location"] == reverse("home")


def test_an_account_made_before_version_1_is_asked_to_accept_it(client):
    user = UserFactory(accepted_policy=False)
    client.force_login(user)
    client.cookies["django_language"] = "en"
    response = client.get(reverse("accounts:settings"))
    assert response.status_code == 200
    assert "Version 1 of the privacy policy needs your decision." in banner(response)
    html = client.get(accept_url(reverse("accounts:settings"))).content.decode()
    assert "Please read and accept the privacy policy" in html
    assert "I accept version 1" in html
    assert "This Agreement helps you" in html  # the full text, since there is nothing to compare
    client.post(reverse("policy:accept"), {"version": "1", "next": "/account/"})
    assert PolicyAcceptance.objects.get(user=user).express is True
    assert banner(client.get(reverse("accounts:settings"))) == ""


def test_signing_in_is_needed_to_accept(client):
    response = client.get(reverse("policy:accept"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


# --- under a pending material version: rights stay reachable, with the banner ------------


@pytest.fixture
def pending(client, publish, personalisation, media_root):
    """A signed-in user (English pages) with personalisation on, an access copy ready and
    a question filed, after staff published a material version changing personalisation."""
    from tests.requests.test_user_pages import access_request

    user = UserFactory()
    services.consent_grant(user=user, purpose=personalisation)
    copy_request = access_request(user)
    question = QuestionFactory(user=user, verified=True)
    publish(material=True, changed_purposes=[personalisation])
    client.force_login(user)
    client.cookies["django_language"] = "en"
    return {"user": user, "copy": copy_request, "question": question}


RIGHTS_PAGES = [
    ("home", lambda w: reverse("home")),
    ("consents", lambda w: reverse("consents:page")),
    ("consent history", lambda w: reverse("consents:history")),
    ("account settings", lambda w: reverse("accounts:settings")),
    ("my data", lambda w: reverse("accounts:my_data")),
    ("browsing history", lambda w: reverse("accounts:history")),
    ("security events", lambda w: reverse("accounts:security_events")),
    ("my requests", lambda w: reverse("requests:list")),
    ("disclosures", lambda w: reverse("requests:disclosures")),
    *[
        (f"file a {kind} request", lambda w, k=kind: reverse("requests:new", args=[k]))
        for kind in PrivacyRequest.Kind
        if kind != PrivacyRequest.Kind.ACCESS  # a copy is on its way: that page leads to it
    ],
    ("a request", lambda w: reverse("requests:detail", args=[w["question"].reference])),
    ("withdraw a request", lambda w: reverse("requests:withdraw", args=[w["question"].reference])),
    ("help", lambda w: reverse("help_search")),
    ("a help topic", lambda w: reverse("help_topic", args=["sign-in"])),
    ("the policy", lambda w: reverse("policy:in_force")),
    ("policy versions", lambda w: reverse("policy:versions")),
    ("a policy version", lambda w: reverse("policy:version", args=[1])),
    ("policy diff", lambda w: reverse("policy:diff") + "?from=1&to=2"),
    ("sign out", lambda w: reverse("account_logout")),
    ("set a password", lambda w: reverse("account_set_password")),
    ("change number", lambda w: reverse("account_change_phone")),
]


@pytest.mark.parametrize(("name", "url"), RIGHTS_PAGES, ids=[name for name, _ in RIGHTS_PAGES])
def test_every_rights_page_answers_with_the_banner(client, pending, name, url):
    address = url(pending)
    response = client.get(address)
    assert response.status_code == 200, (name, response.get("Location"))
    text = banner(response)
    assert "Version 2 of the privacy policy needs your decision." in text, name
    assert f'href="{accept_url(address)}"' in text.replace("&amp;", "&"), name


def test_the_access_copy_downloads_under_a_pending_version(client, pending):
    response = client.get(reverse("requests:download", args=[pending["copy"].reference]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"


def test_filing_a_request_goes_through_under_a_pending_version(client, pending):
    response = client.post(
        reverse("requests:new", args=["question"]), {"details": "I do not agree with v2."}
    )
    assert response.status_code == 302
    assert not response["Location"].startswith(reverse("policy:accept"))
    assert (
        PrivacyRequest.objects.filter(
            user=pending["user"], kind=PrivacyRequest.Kind.QUESTION
        ).count()
        == 2
    )


def test_the_changed_consent_can_be_withdrawn_but_not_switched_on(client, pending):
    user = pending["user"]
    purpose_url = reverse("consents:purpose", args=["personalisation"])
    refused = client.post(purpose_url, {"granted": "1"})
    assert refused.status_code == 400
    assert "To switch it on, first accept the new version" in refused.content.decode()
    assert not consent_is_given(user=user, purpose="personalisation")

    # Turning it off deletes what was collected for it: the page asks for that knowingly.
    response = client.post(purpose_url, {"granted": "0", "confirm_erase": "on"})
    assert response.status_code == 302
    state = ConsentState.objects.get(user=user, purpose__code="personalisation")
    assert state.granted is False
    assert ConsentEvent.objects.filter(
        user=user, action=ConsentEvent.Action.WITHDRAWN, purpose__code="personalisation"
    ).exists()
    # Accepting later does not bring back what was withdrawn meanwhile.
    client.post(reverse("policy:accept"), {"version": "2", "next": "/"})
    assert not consent_is_given(user=user, purpose="personalisation")


def purpose_item(response, code: str) -> str:
    """One purpose's part of the consent page, up to the next purpose."""
    page = response.content.decode()
    start = page.index(f'id="purpose-{code}"')
    end = page.find('<li class="purpose"', start)
    return page[start : end if end != -1 else None]


def test_the_consent_page_offers_to_turn_off_a_consent_held_back_by_the_new_version(
    client, pending
):
    item = purpose_item(client.get(reverse("consents:page")), "personalisation")
    assert "On hold" in item
    assert 'data-testid="held-personalisation"' in item
    assert 'name="granted" value="0"' in item
    assert "Turn off and delete" in item

    # Without the erasure confirmation the page asks again and nothing changes.
    purpose_url = reverse("consents:purpose", args=["personalisation"])
    asked = client.post(purpose_url, {"granted": "0"})
    assert asked.status_code == 200
    assert 'data-testid="confirm-off-personalisation" open' in asked.content.decode()
    assert ConsentState.objects.get(user=pending["user"], purpose__code="personalisation").granted

    client.post(purpose_url, {"granted": "0", "confirm_erase": "1"})
    item = purpose_item(client.get(reverse("consents:page")), "personalisation")
    assert "On hold" not in item
    assert "Off" in item


def test_the_separate_consent_page_of_a_changed_purpose_leads_to_acceptance(client, publish, staff):
    cross_border = Purpose.objects.get(code="cross_border")
    user = UserFactory()
    publish(material=True, changed_purposes=[cross_border])
    client.force_login(user)
    page = reverse("consents:purpose", args=["cross_border"])
    response = client.get(page)
    assert response.status_code == 302
    assert response["Location"] == accept_url(page)
    # Purposes the version leaves alone keep their page.
    assert client.get(reverse("consents:purpose", args=["public_disclosure"])).status_code == 200
    client.post(reverse("policy:accept"), {"version": "2", "next": page})
    assert client.get(page).status_code == 200


def test_declining_is_recorded_in_the_ledger_and_keeps_the_change_off(client, pending):
    user = pending["user"]
    v2 = PolicyVersion.objects.get(number=2)
    head_before = LedgerHead.objects.get().length
    response = client.post(
        reverse("policy:accept"),
        {"version": "2", "decision": "decline", "next": reverse("consents:page")},
    )
    assert response.status_code == 302 and response["Location"] == reverse("consents:page")

    event = ConsentEvent.objects.get(user=user, action=ConsentEvent.Action.POLICY_DECLINED)
    assert event.policy_version == v2 and event.channel == Channel.SELF_SERVICE
    assert event.purpose is None and event.text_hash == v2.text_hash()
    head = LedgerHead.objects.get()
    assert head.length == head_before + 1 and head.last_event_id == event.pk
    call_command("verify_consent_ledger")
    assert not PolicyAcceptance.objects.filter(user=user, version=v2).exists()
    # Still suspended; the rest goes on.
    assert not consent_is_given(user=user, purpose="personalisation")
    assert consent_is_given(user=user, purpose="account")

    page = client.get(reverse("consents:page"))
    assert page.status_code == 200
    assert "You declined version 2 of the privacy policy" in page.content.decode()
    text = banner(page)
    assert "You declined version 2 of the privacy policy." in text
    assert "Read it and accept it after all" in text
    accept_page = client.get(reverse("policy:accept")).content.decode()
    assert "You declined version 2. What it changes stays off" in accept_page
    assert "I decline version 2" not in accept_page and "I accept version 2" in accept_page

    # Declining again records nothing new; accepting later still works.
    client.post(reverse("policy:accept"), {"version": "2", "decision": "decline", "next": "/"})
    assert ConsentEvent.objects.filter(action=ConsentEvent.Action.POLICY_DECLINED).count() == 1
    client.post(reverse("policy:accept"), {"version": "2", "next": "/"})
    assert consent_is_given(user=user, purpose="personalisation")
    assert banner(client.get(reverse("home"))) == ""


def test_nothing_to_decline_once_accepted(client, publish):
    user = UserFactory()
    client.force_login(user)
    with pytest.raises(services.ConsentError):
        services.policy_decline(user=user, version=PolicyVersion.objects.get(number=1))
    publish(material=False)
    response = client.post(
        reverse("policy:accept"), {"version": "2", "decision": "decline", "next": "/"}
    )
    assert response["Location"].startswith(reverse("policy:accept"))
    assert not ConsentEvent.objects.filter(action=ConsentEvent.Action.POLICY_DECLINED).exists()


def test_only_the_version_in_force_can_be_declined(publish):
    user = UserFactory(accepted_policy=False)
    publish(material=True)
    with pytest.raises(services.ConsentError):
        services.policy_decline(user=user, version=PolicyVersion.objects.get(number=1))
    assert not ConsentEvent.objects.filter(action=ConsentEvent.Action.POLICY_DECLINED).exists()


# --- users are told by SMS when a material version is published --------------------------


def test_a_material_version_is_texted_once_to_each_user_who_must_decide(
    publish, staff, sms_outbox, monkeypatch, personalisation
):
    monkeypatch.setattr(services, "POLICY_SMS_BATCH", 2)  # several batches
    users = [staff, *(UserFactory() for _ in range(4))]
    closed = UserFactory(is_active=False)
    sms_outbox.clear()

    v2 = publish(material=True, changed_purposes=[personalisation])

    assert sorted(m.to for m in sms_outbox) == sorted(u.phone.as_e164 for u in users)
    assert closed.phone.as_e164 not in {m.to for m in sms_outbox}
    body = sms_outbox[0].body
    assert "第 2 版隐私政策变更了个性化展示的条款" in body and "同意或不同意" in body
    assert PolicySmsNotice.objects.filter(version=v2).count() == 5

    # The task running again (a retry, a duplicate message) texts nobody twice.
    assert policy_version_sms_task.delay(v2.pk).get() == 0
    assert len(sms_outbox) == 5


def test_a_user_who_accepted_already_or_a_minor_version_gets_no_text(publish, staff, sms_outbox):
    user = UserFactory()
    publish(material=False)
    assert sms_outbox == []
    v3 = publish(material=True, sentence="Another paragraph.")
    assert sorted(m.to for m in sms_outbox) == sorted([staff.phone.as_e164, user.phone.as_e164])
    assert "第 3 版隐私政策需要您作出决定" in sms_outbox[0].body  # it names no purpose
    sms_outbox.clear()
    # A late signer-up who accepted version 3 at sign-up is not texted about it.
    late = UserFactory()
    assert services.policy_version_sms_batch(version_id=v3.pk) == 0
    assert late.phone.as_e164 not in {m.to for m in sms_outbox}
