"""A second factor for every staff account, a superuser's reset, and re-authentication before
the desk's dangerous actions (issue 19, point 4)."""

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
    yield_hotp_counters_from_time,
)
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from api.models import ServiceToken
from consents.models import DataCategory
from privacyportal.models import AuditEntry
from requests import services
from requests.models import LegalHold, PrivacyRequest, Recipient
from tests.accounts.factories import UserFactory
from tests.requests.factories import DeletionFactory, RecipientFactory

pytestmark = pytest.mark.django_db

PASSWORD = "staff desk passphrase 7"
REAUTHENTICATE = reverse("account_reauthenticate")


@pytest.fixture(autouse=True)
def _mfa_required(settings):
    settings.STAFF_REQUIRE_MFA = True
    # One step of clock drift either way, so a code made at the end of a 30-second step is
    # still good when the request arrives in the next one.
    settings.MFA_TOTP_TOLERANCE = 1


@pytest.fixture
def staff():
    return UserFactory(is_staff=True, is_superuser=True, password=PASSWORD)


def english(client):
    client.cookies.load({"django_language": "en"})
    return client


def totp_code(secret: str) -> str:
    counter = list(yield_hotp_counters_from_time())[1]  # the middle one: now
    return format_hotp_value(hotp_value(secret, counter))


def with_totp(user) -> str:
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def password_sign_in(client, user, next_url="/admin/"):
    return english(client).post(
        f"{reverse('account_login')}?next={next_url}",
        {"login": user.phone.as_e164, "password": PASSWORD},
    )


def age_authentication(client, seconds=600):
    """Every sign-in and re-authentication of this session happened ``seconds`` ago."""
    session = client.session
    records = session["account_authentication_methods"]
    for record in records:
        record["at"] -= seconds
    session["account_authentication_methods"] = records
    session.save()


def reauthenticate(client, asked):
    """Type the password again on the page ``asked`` sent to (its form keeps ``next``);
    allauth then carries out the request it kept."""
    assert client.get(asked["Location"]).status_code == 200
    return client.post(asked["Location"], {"password": PASSWORD})


def asks_to_reauthenticate(response, next_path) -> bool:
    return response.status_code == 302 and response["Location"].startswith(
        f"{REAUTHENTICATE}?next={next_path}"
    )


# --- the second factor ------------------------------------------------------------------------


def test_staff_without_a_second_factor_are_refused_the_desk_and_sent_to_set_one_up(client, staff):
    assert password_sign_in(client, staff)["Location"] == "/admin/"
    assert "_auth_user_id" in client.session
    for path in ("/admin/", reverse("admin:requests_privacyrequest_changelist")):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
        setup = client.get(response["Location"])
        assert setup.status_code == 302 and setup["Location"] == reverse("mfa_activate_totp")


# Transactional: allauth announces the new authenticator once the request's transaction has
# committed, and that is when this session is marked as having passed a second factor.
@pytest.mark.django_db(transaction=True)
def test_setting_up_an_authenticator_opens_the_desk(client, staff):
    password_sign_in(client, staff)
    # Adding a second factor needs the password again (allauth's re-authentication).
    response = client.get(reverse("mfa_activate_totp"))
    assert asks_to_reauthenticate(response, "%2Faccounts%2F2fa%2Ftotp%2Factivate%2F")
    assert reauthenticate(client, response)["Location"] == reverse("mfa_activate_totp")

    page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200
    html = page.content.decode()
    secret = page.context["form"].secret
    # The QR code is inline SVG (the Content-Security-Policy allows no data: images).
    assert "<svg" in html and "data:image" not in html and secret in html
    assert client.get("/admin/").status_code == 302

    done = client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)})
    assert done.status_code == 302 and done["Location"] == reverse("mfa_view_recovery_codes")
    assert Authenticator.objects.filter(user=staff, type=Authenticator.Type.TOTP).exists()
    codes = client.get(reverse("mfa_view_recovery_codes"))
    assert codes.status_code == 200 and reverse("admin:index") in codes.content.decode()
    assert client.get("/admin/").status_code == 200


def test_with_an_authenticator_sign_in_asks_for_its_code_and_then_opens_the_desk(client, staff):
    secret = with_totp(staff)
    response = password_sign_in(client, staff)
    assert response.status_code == 302 and response["Location"] == reverse("mfa_authenticate")
    assert "_auth_user_id" not in client.session

    wrong = client.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert wrong.status_code == 200 and "_auth_user_id" not in client.session

    response = client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    assert client.get(reverse("admin:requests_privacyrequest_changelist")).status_code == 200


def test_a_session_that_never_used_the_authenticator_confirms_with_a_code(client, staff):
    secret = with_totp(staff)
    client.force_login(staff)  # a password's worth of sign-in, no second factor
    response = client.get("/admin/requests/privacyrequest/")
    login = client.get(response["Location"])
    assert login.status_code == 302
    assert login["Location"] == (
        reverse("mfa_reauthenticate") + "?next=%2Fadmin%2Frequests%2Fprivacyrequest%2F"
    )
    confirmed = client.post(login["Location"], {"code": totp_code(secret)})
    assert confirmed.status_code == 302
    assert confirmed["Location"] == "/admin/requests/privacyrequest/"
    assert client.get("/admin/requests/privacyrequest/").status_code == 200


def test_signed_in_non_staff_get_a_403_not_a_loop(client):
    client.force_login(UserFactory())
    assert client.get(reverse("admin:login")).status_code == 403
    assert client.get("/admin/", follow=True).status_code == 403


def test_without_the_requirement_in_development_staff_get_in_with_the_password(
    client, staff, settings
):
    settings.STAFF_REQUIRE_MFA = False
    password_sign_in(client, staff)
    assert client.get("/admin/").status_code == 200


def test_the_requirement_cannot_be_switched_off_when_debug_is_off(monkeypatch):
    import importlib
    import sys

    monkeypatch.setenv("DEBUG", "false")
    monkeypatch.setenv("SECRET_KEY", "x" * 60)
    monkeypatch.setenv("STAFF_REQUIRE_MFA", "false")
    monkeypatch.delitem(sys.modules, "privacyportal.settings", raising=False)
    production = importlib.import_module("privacyportal.settings")
    monkeypatch.delitem(sys.modules, "privacyportal.settings")
    assert production.STAFF_REQUIRE_MFA is True


# --- the superuser's reset ------------------------------------------------------------------


def test_a_superuser_resets_a_staff_members_second_factor_with_an_audit_row(client, staff):
    officer = UserFactory(is_staff=True, password=PASSWORD)
    with_totp(officer)
    Authenticator.objects.create(user=officer, type=Authenticator.Type.RECOVERY_CODES, data={})
    boss_secret = with_totp(staff)
    client.force_login(staff)
    client.post(
        reverse("mfa_reauthenticate"), {"code": totp_code(boss_secret)}
    )  # the desk asks for it once
    changelist = reverse("admin:mfa_authenticator_changelist")
    listed = client.get(changelist)
    assert listed.status_code == 200
    assert boss_secret not in listed.content.decode()

    chosen = Authenticator.objects.filter(user=officer).values_list("pk", flat=True)
    response = client.post(
        changelist, {"action": "reset_second_factor", "_selected_action": list(chosen)}
    )
    assert response.status_code == 302
    assert not Authenticator.objects.filter(user=officer).exists()
    assert Authenticator.objects.filter(user=staff).exists()
    entry = AuditEntry.objects.get(action="mfa.reset")
    assert entry.actor == staff
    assert (entry.target_type, entry.target_id) == ("accounts.user", str(officer.pk))
    assert entry.details == {"removed": ["recovery_codes", "totp"]}

    # At the next visit the officer sets a new one up.
    other = Client()
    password_sign_in(other, officer)
    assert other.get(other.get("/admin/")["Location"])["Location"] == reverse("mfa_activate_totp")


def test_only_a_superuser_may_reset(client, settings):
    settings.STAFF_REQUIRE_MFA = False
    from tests.requests.test_roles import OFFICER, ensure_roles

    officer = UserFactory(is_staff=True, password=PASSWORD)
    officer.groups.add(ensure_roles()[OFFICER])
    target = UserFactory(is_staff=True)
    with_totp(target)
    client.force_login(officer)
    changelist = reverse("admin:mfa_authenticator_changelist")
    chosen = list(Authenticator.objects.values_list("pk", flat=True))
    response = client.post(
        changelist, {"action": "reset_second_factor", "_selected_action": chosen}
    )
    assert response.status_code == 403
    assert Authenticator.objects.filter(user=target).exists()
    assert not AuditEntry.objects.filter(action="mfa.reset").exists()


# --- re-authentication before dangerous actions ---------------------------------------------


@pytest.fixture
def desk(client, staff, settings):
    """A superuser on the desk (second factor done), whose last authentication is 10 min old."""
    settings.STAFF_REQUIRE_MFA = False
    client.force_login(staff)
    english(client)
    age_authentication(client)
    return client


def test_approving_a_deletion_asks_to_reauthenticate_then_carries_it_out(desk, staff):
    privacy_request = DeletionFactory(started_by=staff)
    changelist = reverse("admin:requests_privacyrequest_changelist")
    payload = {"action": "approve_deletions", "_selected_action": [privacy_request.pk]}

    response = desk.post(changelist, {**payload, "post": "yes"})
    assert asks_to_reauthenticate(response, "%2Fadmin%2Frequests%2Fprivacyrequest%2F")
    privacy_request.refresh_from_db()
    assert privacy_request.status == PrivacyRequest.Status.IN_PROGRESS

    # The password again: allauth carries out the approval that it kept.
    done = reauthenticate(desk, response)
    assert done.status_code == 302 and done["Location"] == changelist
    privacy_request.refresh_from_db()
    assert privacy_request.status == PrivacyRequest.Status.COMPLETED

    # Right after, the next one needs no new re-authentication.
    another = DeletionFactory(started_by=staff)
    desk.post(changelist, {**payload, "_selected_action": [another.pk], "post": "yes"})
    another.refresh_from_db()
    assert another.status == PrivacyRequest.Status.COMPLETED


def test_releasing_a_legal_hold_asks_to_reauthenticate(desk, staff):
    hold = services.legal_hold_set(user=UserFactory(), reason="Court order", actor=staff)
    changelist = reverse("admin:requests_legalhold_changelist")
    payload = {"action": "release_holds", "_selected_action": [hold.pk]}
    asked = desk.post(changelist, payload)
    assert asks_to_reauthenticate(asked, "%2Fadmin%2Frequests%2Flegalhold%2F")
    assert LegalHold.objects.get(pk=hold.pk).released_at is None
    reauthenticate(desk, asked)
    assert LegalHold.objects.get(pk=hold.pk).released_at is not None


def test_changing_a_recipients_endpoint_asks_to_reauthenticate(desk):
    recipient = RecipientFactory(name="Acme", categories=[])
    change = reverse("admin:requests_recipient_change", args=[recipient.pk])
    form = {
        "name": "Acme",
        "contact": "dpo@acme.example",
        "data_categories": [DataCategory.objects.order_by("pk").first().pk],
        "endpoint": "https://erasure.acme.example/notices",
        "is_active": "on",
    }
    asked = desk.post(change, form)
    assert asks_to_reauthenticate(asked, change.replace("/", "%2F"))
    assert Recipient.objects.get(pk=recipient.pk).endpoint == ""
    done = reauthenticate(desk, asked)
    assert done.status_code == 302
    assert Recipient.objects.get(pk=recipient.pk).endpoint == form["endpoint"]

    # Other fields change without asking (the endpoint stays as it is).
    age_authentication(desk)
    renamed = desk.post(change, {**form, "name": "Acme Ltd"})
    assert renamed.status_code == 302 and not renamed["Location"].startswith(REAUTHENTICATE)
    assert Recipient.objects.get(pk=recipient.pk).name == "Acme Ltd"


def test_setting_a_recipients_secret_asks_to_reauthenticate(desk):
    recipient = RecipientFactory(name="Acme", categories=[])
    secret_url = reverse("admin:requests_recipient_secret", args=[recipient.pk])
    asked = desk.post(secret_url)
    assert asks_to_reauthenticate(asked, secret_url.replace("/", "%2F"))
    assert Recipient.objects.get(pk=recipient.pk).secret_set_at is None
    shown = reauthenticate(desk, asked)
    recipient.refresh_from_db()
    assert recipient.secret_set_at is not None
    assert shown.status_code == 200 and recipient.secret in shown.content.decode()


def test_creating_a_service_token_asks_to_reauthenticate(desk):
    add = reverse("admin:api_servicetoken_add")
    assert asks_to_reauthenticate(desk.get(add), add.replace("/", "%2F"))
    response = desk.post(add, {"service": "shop", "scopes": ["consent:read"]})
    assert asks_to_reauthenticate(response, add.replace("/", "%2F"))
    assert not ServiceToken.objects.exists()
    created = reauthenticate(desk, response)
    assert created.status_code == 200
    token = ServiceToken.objects.get()
    assert token.service == "shop" and token.prefix in created.content.decode()


def test_a_fresh_reauthentication_with_the_authenticator_counts_too(client, staff):
    secret = with_totp(staff)
    client.force_login(staff)
    age_authentication(client)
    cache.clear()
    add = reverse("admin:api_servicetoken_add")
    response = client.post(
        reverse("mfa_reauthenticate") + f"?next={add}", {"code": totp_code(secret)}
    )
    assert response.status_code == 302
    assert client.get(add).status_code == 200
