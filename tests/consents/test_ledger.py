import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from consents import services
from consents.models import Channel, ConsentEvent, ConsentState, LedgerHead, Purpose
from consents.selectors import version_in_force
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def personalisation():
    return Purpose.objects.get(code="personalisation")


def test_grant_and_withdraw_append_chained_events_and_keep_the_state_beside_them(
    personalisation, rf
):
    user = UserFactory(accepted_policy=False)
    request = rf.post("/", HTTP_USER_AGENT="TestPhone", REMOTE_ADDR="10.1.2.3")
    granted = services.consent_grant(user=user, purpose=personalisation, request=request)
    withdrawn = services.consent_withdraw(user=user, purpose=personalisation, request=request)

    assert granted.action == ConsentEvent.Action.GRANTED
    assert withdrawn.action == ConsentEvent.Action.WITHDRAWN
    assert withdrawn.previous_hash == granted.hash
    assert granted.policy_version == version_in_force()
    assert granted.text_hash == personalisation.text_hash()
    assert granted.channel == Channel.SELF_SERVICE
    assert granted.ip_address == "10.1.2.3" and granted.user_agent == "TestPhone"
    state = ConsentState.objects.get(user=user, purpose=personalisation)
    assert state.granted is False and state.last_event == withdrawn
    head = LedgerHead.objects.get()
    assert head.last_hash == withdrawn.hash and head.length == 2


def test_repeating_the_current_choice_records_nothing(personalisation):
    user = UserFactory(accepted_policy=False)
    assert services.consent_withdraw(user=user, purpose=personalisation) is None
    assert services.consent_grant(user=user, purpose=personalisation) is not None
    assert services.consent_grant(user=user, purpose=personalisation) is None
    assert ConsentEvent.objects.count() == 1


@pytest.mark.parametrize("code", ["account", "security"])
def test_basic_purposes_cannot_be_switched(code):
    user = UserFactory(accepted_policy=False)
    with pytest.raises(services.ConsentError, match="needed for the basic service"):
        services.consent_withdraw(user=user, purpose=Purpose.objects.get(code=code))
    assert not ConsentEvent.objects.exists()


def test_inactive_purposes_cannot_be_granted(personalisation):
    Purpose.objects.filter(pk=personalisation.pk).update(is_active=False)
    personalisation.refresh_from_db()
    with pytest.raises(services.ConsentError, match="no longer in use"):
        services.consent_grant(user=UserFactory(accepted_policy=False), purpose=personalisation)
    assert not ConsentEvent.objects.exists()


def test_staff_changes_need_the_written_instruction_noted(personalisation):
    staff = UserFactory(is_staff=True, accepted_policy=False)
    with pytest.raises(services.ConsentError):
        services.consent_grant(
            user=UserFactory(accepted_policy=False),
            purpose=personalisation,
            channel=Channel.STAFF,
            actor=staff,
        )
    event = services.consent_grant(
        user=UserFactory(accepted_policy=False),
        purpose=personalisation,
        channel=Channel.STAFF,
        actor=staff,
        note="Letter of 2026-11-20, ref. PP-17",
    )
    assert event.actor == staff


def _ledger_with_events(personalisation, n=4):
    users = [UserFactory(accepted_policy=False) for _ in range(n)]
    return [services.consent_grant(user=u, purpose=personalisation) for u in users]


def test_verify_passes_on_an_intact_ledger(personalisation, capsys):
    _ledger_with_events(personalisation)
    call_command("verify_consent_ledger")
    assert "Consent ledger intact: 4 events" in capsys.readouterr().out


def test_verify_names_an_event_changed_in_the_database(personalisation):
    events = _ledger_with_events(personalisation)
    ConsentEvent.objects.filter(pk=events[1].pk).update(action=ConsentEvent.Action.WITHDRAWN)
    with pytest.raises(CommandError, match=rf"Broken link at event #{events[1].pk}: its content"):
        call_command("verify_consent_ledger")


def test_verify_names_the_event_after_a_removed_one(personalisation):
    events = _ledger_with_events(personalisation)
    ConsentState.objects.all().delete()
    ConsentEvent.objects.filter(pk=events[1].pk).delete()
    with pytest.raises(
        CommandError, match=rf"Broken link at event #{events[2].pk}: it does not follow"
    ):
        call_command("verify_consent_ledger")


def test_verify_notices_events_cut_from_the_end(personalisation):
    events = _ledger_with_events(personalisation)
    ConsentState.objects.all().delete()
    LedgerHead.objects.update(last_event=events[2])
    ConsentEvent.objects.filter(pk=events[3].pk).delete()
    with pytest.raises(CommandError, match="events were removed from the end"):
        call_command("verify_consent_ledger")


def test_verify_notices_a_changed_ip_address(personalisation, rf):
    event = services.consent_grant(
        user=UserFactory(accepted_policy=False),
        purpose=personalisation,
        request=rf.post("/", REMOTE_ADDR="10.0.0.1"),
    )
    ConsentEvent.objects.filter(pk=event.pk).update(ip_address="10.0.0.2")
    with pytest.raises(CommandError, match="IP address or device was changed"):
        call_command("verify_consent_ledger")


def test_erasing_client_details_keeps_the_chain_verifiable(personalisation, rf, capsys):
    from privacyportal.registry import registry

    user = UserFactory(accepted_policy=False)
    services.consent_grant(
        user=user, purpose=personalisation, request=rf.post("/", REMOTE_ADDR="10.0.0.1")
    )
    assert registry.get("consent_history").erase(user) == 1
    event = ConsentEvent.objects.get()
    assert event.ip_address is None and event.user_agent == "" and event.client_salt == ""
    call_command("verify_consent_ledger")
    assert "intact: 1 events" in capsys.readouterr().out


def test_separate_consent_purposes_need_their_own_confirmation():
    sharing = Purpose.objects.get(code="third_party_sharing")
    user = UserFactory(accepted_policy=False)
    with pytest.raises(services.ConsentError, match="separate consent"):
        services.consent_grant(user=user, purpose=sharing)
    assert not ConsentEvent.objects.exists()
    assert services.consent_grant(user=user, purpose=sharing, separately_confirmed=True)
    # Withdrawing needs no confirmation: it is one click, like any withdrawal.
    assert services.consent_withdraw(user=user, purpose=sharing)
