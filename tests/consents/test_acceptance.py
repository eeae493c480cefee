import pytest
from django.urls import reverse
from django.utils.http import urlencode

from consents import services
from consents.models import Channel, ConsentEvent, PolicyAcceptance, PolicyVersion, Purpose
from consents.selectors import consent_is_given
from tests.factories import UserFactory

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
        v1 = PolicyVersion.objects.get(number=1)
        draft = PolicyVersion.objects.create(
            title_zh_hans=v1.title_zh_hans,
            title_en=v1.title_en,
            body_zh_hans=f"{v1.body_zh_hans}\n\n{sentence}\n",
            body_en=f"{v1.body_en}\n\n{sentence}\n",
            summary_zh_hans="变更摘要。",
            summary_en="What we changed.",
            is_material=material,
        )
        draft.changed_purposes.set(changed_purposes)
        return services.policy_version_publish(version=draft, actor=staff)

    return publish


def accept_url(next_url):
    return f"{reverse('policy:accept')}?{urlencode({'next': next_url})}"


def test_a_material_change_needs_express_acceptance_before_anything_else(
    client, publish, personalisation
):
    user = UserFactory()
    services.consent_grant(user=user, purpose=personalisation)
    assert consent_is_given(user=user, purpose="personalisation")
    client.force_login(user)
    assert client.get(reverse("accounts:settings")).status_code == 200

    v2 = publish(material=True, changed_purposes=[personalisation])

    assert not consent_is_given(user=user, purpose="personalisation")
    assert consent_is_given(user=user, purpose="account")
    for page in [reverse("accounts:settings"), reverse("accounts:my_data"), reverse("home")]:
        response = client.get(page)
        assert response.status_code == 302
        assert response["Location"] == accept_url(page)
    # A form post elsewhere is not replayed: it just lands on the acceptance page.
    response = client.post(reverse("accounts:nickname"), {"nickname": "x"})
    assert response["Location"] == reverse("policy:accept")
    # Reading the policy and signing out stay open.
    assert client.get(reverse("policy:in_force")).status_code == 200
    assert client.get(reverse("policy:diff"), {"from": 1, "to": 2}).status_code == 200
    assert client.get(reverse("account_logout")).status_code == 200

    client.cookies["django_language"] = "en"
    page = client.get(accept_url(reverse("accounts:settings")))
    assert page.status_code == 200
    html = page.content.decode()
    assert "I accept version 2" in html
    assert "What we changed." in html
    assert "What changed since version 1" in html and "<ins>A new paragraph.</ins>" in html
    assert "Personalised display" in html  # the purpose whose terms changed
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
    assert client.get(reverse("accounts:settings")).status_code == 200
    assert client.get(reverse("home")).status_code == 200
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
    assert client.get(reverse("accounts:settings")).status_code == 302


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

    # A later material version still needs express acceptance.
    publish(material=True, sentence="Another paragraph.")
    response = client.get(reverse("accounts:settings"))
    assert response.status_code == 302
    assert response["Location"] == accept_url(reverse("accounts:settings"))
    # The diff on the acceptance page starts from the last version accepted expressly.
    page = client.get(response["Location"]).content.decode()
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


def test_an_account_made_before_version_1_meets_the_acceptance_page(client):
    user = UserFactory(accepted_policy=False)
    client.force_login(user)
    client.cookies["django_language"] = "en"
    response = client.get(reverse("accounts:settings"))
    assert response.status_code == 302
    assert response["Location"] == accept_url(reverse("accounts:settings"))
    html = client.get(response["Location"]).content.decode()
    assert "Please read and accept the privacy policy" in html
    assert "I accept version 1" in html
    assert "This Agreement helps you" in html  # the full text, since there is nothing to compare
    client.post(reverse("policy:accept"), {"version": "1", "next": "/account/"})
    assert PolicyAcceptance.objects.get(user=user).express is True
    assert client.get(reverse("accounts:settings")).status_code == 200


def test_signing_in_is_needed_to_accept(client):
    response = client.get(reverse("policy:accept"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
