"""Every service that writes leaves its audit row (issue 11, after Zulip's test_audit_log.py).

The service modules are walked by introspection: each public function has a case here,
which calls it and asserts the rows it wrote (action, actor, target, user concerned), or
sits in ``EXEMPT`` with the reason it writes none. A new public function in a service
module fails ``test_every_public_service_function_has_a_case_or_an_exemption`` until it
gets one or the other, and an action on the fixed list that no case writes fails
``test_every_action_on_the_list_is_written_by_a_case``. The desk's own paths to the newer
rows (the add form, data categories, deleting a draft) and the audit log's admin are at the
end; the replay command's row is asserted in tests/requests/test_replay_deletions.py.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.db import models
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from accounts import personal_data as accounts_data
from accounts import services as accounts_services
from accounts.audit import AuditAction as AccountsAction
from accounts.models import BrowsingRecord, User
from api import services as api_services
from api.audit import AuditAction as ApiAction
from api.models import Scope
from consents import services as consents_services
from consents.audit import AuditAction as ConsentsAction
from consents.models import DataCategory, PolicyVersion
from privacyportal import services as kernel_services
from privacyportal.audit import AuditAction as KernelAction
from privacyportal.audit import audit_actions
from privacyportal.models import AuditEntry
from privacyportal.services import audit_record
from requests import disclosures, propagation, register, tombstones
from requests import personal_data as requests_data
from requests import services as requests_services
from requests.audit import AuditAction as RequestsAction
from requests.models import AccessCopy, DeletionNotice, Disclosure, Recipient
from tests.accounts.factories import UserFactory
from tests.consents.factories import PolicyDraftFactory, PurposeFactory
from tests.requests.factories import AccessFactory, NoticeFactory, RecipientFactory

pytestmark = pytest.mark.django_db

# The modules whose public functions are the writes (DESIGN §3), every app's services.py
# among them (``test_every_apps_service_module_is_walked``).
SERVICE_MODULES = (
    "accounts.services",
    "accounts.personal_data",
    "consents.services",
    "requests.services",
    "requests.lifecycle",
    "requests.propagation",
    "requests.register",
    "requests.disclosures",
    "requests.access_copies",
    "requests.tombstones",
    "requests.personal_data",
    "api.services",
    "privacyportal.services",
    "privacyportal.staff_access",
)

READS = "reads only: writes nothing"
OWN_CHANGE = "the user's own change: its security event is the record, shown to the user"
CONSENT_LEDGER = "the user's own decision: the chained consent ledger is its record"
TIMELINE = "the request's timeline (RequestEvent: actor, action, details) is its record"
ERASE = (
    "a kind's erasure, run by an approved deletion (timeline and tombstone), its replay "
    "(deletion.replayed) or the purge of unverified sign-ups (account.closed_unverified)"
)
PURGE = "a batch of the storage-period purge: its PurgeRun row is the record"
WORKER = "the worker building an access copy: the copy's row and the request's timeline"

EXEMPT: dict[str, str] = {
    "requests.register.recipient_has_records": READS,
    "requests.register.recipient_check_deletable": READS,
    "accounts.services.client_of": READS,
    "accounts.services.security_event_record": "writes the security events themselves",
    "accounts.services.user_sign_up": OWN_CHANGE,
    "accounts.services.user_mark_phone_verified": OWN_CHANGE,
    "accounts.services.user_update_nickname": OWN_CHANGE,
    "accounts.services.user_set_language": OWN_CHANGE,
    "accounts.services.user_language_adopted": (
        "the language the user signs in with, kept for their texts: nothing changes for them"
    ),
    "accounts.services.user_language_chosen": "the switch's receiver: user_set_language",
    "accounts.services.user_set_avatar": OWN_CHANGE,
    "accounts.services.user_remove_avatar": OWN_CHANGE,
    "accounts.services.user_set_password": OWN_CHANGE,
    "accounts.services.user_remove_password": OWN_CHANGE,
    "accounts.services.activity_record": (
        "the user's own browsing record, kept under their consent: the record is the data"
    ),
    "accounts.services.browsing_record_delete": (
        "the user deleting their own history: a trail would keep what they asked to forget"
    ),
    "accounts.services.browsing_history_clear": (
        "the user deleting their own history: a trail would keep what they asked to forget"
    ),
    "accounts.services.user_close": (
        "a step of an approved deletion (timeline, tombstone) or of the purge of unverified "
        "sign-ups, whose callers write the record"
    ),
    "accounts.personal_data.erase_profile": ERASE,
    "accounts.personal_data.erase_security_events": ERASE,
    "accounts.personal_data.erase_second_factors": ERASE,
    "accounts.personal_data.erase_browsing_records": ERASE,
    "accounts.personal_data.purge_security_events": PURGE,
    "accounts.personal_data.purge_browsing_records": PURGE,
    "accounts.personal_data.unverified_signups_stale": READS,
    "consents.services.consent_set": CONSENT_LEDGER,
    "consents.services.consent_grant": CONSENT_LEDGER,
    "consents.services.consent_withdraw": CONSENT_LEDGER,
    "consents.services.policy_accept": CONSENT_LEDGER,
    "consents.services.policy_decline": CONSENT_LEDGER,
    "consents.services.policy_version_sms_batch": (
        "the texts about a published material version (audited when published); each "
        "user's PolicySmsNotice marker is the record"
    ),
    "requests.services.request_validate": READS,
    "requests.services.request_file": TIMELINE,
    "requests.services.request_withdraw": TIMELINE,
    "requests.services.request_assign": TIMELINE,
    "requests.services.request_start": TIMELINE,
    "requests.services.request_extend": TIMELINE,
    "requests.services.request_reject": TIMELINE,
    "requests.services.request_complete": TIMELINE,
    "requests.services.correction_apply": TIMELINE,
    "requests.services.deletion_approve": TIMELINE + "; the tombstone keeps what was erased",
    "requests.services.active_hold": READS,
    "requests.services.access_copy_announce": "sends a text; writes no row",
    "requests.lifecycle.request_lock": "locks the request's row; writes nothing",
    "requests.lifecycle.sms_body": READS,
    "requests.lifecycle.request_notify": "queues a text; writes no row",
    "requests.lifecycle.event_record": "writes the timeline itself",
    "requests.lifecycle.request_transition": TIMELINE,
    "requests.propagation.scope_categories": READS,
    "requests.propagation.deletion_notice_plan": READS,
    "requests.propagation.deletion_notices_create": (
        "part of an approved deletion, whose timeline event names every recipient told"
    ),
    "requests.propagation.queue_notices": "queues tasks; writes no row",
    "requests.propagation.notices_deliver": "the worker's posts: each NoticeAttempt is the record",
    "requests.propagation.notices_due": READS,
    "requests.propagation.notice_acknowledge": (
        "the recipient's signed confirmation: its NoticeCallback row and the timeline"
    ),
    "requests.disclosures.disclosure_refusals": READS,
    "requests.disclosures.disclosure_check": READS,
    "requests.access_copies.access_copies_due": READS,
    "requests.access_copies.access_copy_claim": WORKER,
    "requests.access_copies.access_copy_progress": WORKER,
    "requests.access_copies.access_copy_mark_ready": WORKER,
    "requests.access_copies.access_copy_mark_failed": WORKER,
    "requests.tombstones.journal_append": "writes the deletion journal itself, after commit",
    "requests.tombstones.all_tombstones": READS,
    "requests.personal_data.keep_as_evidence": "erases nothing: requests are kept as evidence",
    "requests.personal_data.users_under_legal_hold": READS,
    "requests.personal_data.access_copies_expired": READS,
    "privacyportal.services.audit_record": "writes the audit rows themselves",
    "privacyportal.staff_access.second_factor_step": READS,
    "privacyportal.staff_access.require_recent_reauthentication": "checks the session",
}


def public_service_functions() -> set[str]:
    found = set()
    for name in SERVICE_MODULES:
        module = importlib.import_module(name)
        for attribute, value in vars(module).items():
            if (
                inspect.isfunction(value)
                and value.__module__ == name
                and not attribute.startswith("_")
            ):
                found.add(f"{name}.{attribute}")
    return found


# --- the cases: each calls its service and returns what it wrote and what it should have ---


def row(action, *, actor, target, user=None) -> tuple:
    """An audit row as compared: taken at once, as a deleted target loses its pk."""
    return (
        str(action),
        actor.pk if actor else None,
        target._meta.label_lower,
        str(target.pk),
        user.pk if user else None,
    )


class Written:
    """The audit rows written inside the ``with`` block, oldest first."""

    def __enter__(self):
        self.after = AuditEntry.objects.aggregate(last=Max("pk"))["last"] or 0
        return self

    def __exit__(self, *exc):
        self.rows = [
            (entry.action, entry.actor_id, entry.target_type, entry.target_id, entry.user_id)
            for entry in AuditEntry.objects.filter(pk__gt=self.after).order_by("pk")
        ]


CASES: dict[str, tuple[tuple[str, ...], Callable]] = {}


def case(function: str, *actions):
    def register(body):
        CASES[function] = (tuple(str(action) for action in actions), body)
        return body

    return register


@pytest.fixture
def officer():
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def user():
    return UserFactory()


@case("accounts.services.user_create_by_staff", AccountsAction.USER_CREATED)
def _user_create_by_staff(officer, user):
    new = User(phone="+8613900139111")
    new.set_unusable_password()
    with Written() as written:
        accounts_services.user_create_by_staff(actor=officer, user=new)
    return written, [row(AccountsAction.USER_CREATED, actor=officer, target=new, user=new)]


@case("accounts.services.user_change_by_staff", AccountsAction.USER_CHANGED)
def _user_change_by_staff(officer, user):
    with Written() as written:
        accounts_services.user_change_by_staff(
            actor=officer, user=user, changes={"nickname": "Renamed"}
        )
    return written, [row(AccountsAction.USER_CHANGED, actor=officer, target=user, user=user)]


@case(
    "accounts.services.user_password_set_by_staff",
    AccountsAction.USER_PASSWORD_SET,
    AccountsAction.USER_PASSWORD_REMOVED,
)
def _user_password_set_by_staff(officer, user):
    with Written() as written:
        accounts_services.user_password_set_by_staff(
            actor=officer, user=user, password="a long and unusual passphrase"
        )
        accounts_services.user_password_set_by_staff(actor=officer, user=user, password=None)
    return written, [
        row(AccountsAction.USER_PASSWORD_SET, actor=officer, target=user, user=user),
        row(AccountsAction.USER_PASSWORD_REMOVED, actor=officer, target=user, user=user),
    ]


@case("accounts.services.group_save", AccountsAction.GROUP_CREATED, AccountsAction.GROUP_CHANGED)
def _group_save(officer, user):
    group = Group(name="Scratch role")
    with Written() as written:
        accounts_services.group_save(actor=officer, group=group, permissions=[])
        group.name = "Scratch role, renamed"
        accounts_services.group_save(actor=officer, group=group, permissions=[])
    return written, [
        row(AccountsAction.GROUP_CREATED, actor=officer, target=group),
        row(AccountsAction.GROUP_CHANGED, actor=officer, target=group),
    ]


@case("accounts.services.group_delete", AccountsAction.GROUP_DELETED)
def _group_delete(officer, user):
    group = Group.objects.create(name="Scratch role")
    expected = [row(AccountsAction.GROUP_DELETED, actor=officer, target=group)]
    with Written() as written:
        accounts_services.group_delete(actor=officer, group=group)
    return written, expected


@case("accounts.personal_data.unverified_signups_close", AccountsAction.ACCOUNT_CLOSED_UNVERIFIED)
def _unverified_signups_close(officer, user):
    stale = UserFactory(phone_verified=False, accepted_policy=False)
    User.objects.filter(pk=stale.pk).update(date_joined=timezone.now() - timedelta(days=2))
    with Written() as written:
        accounts_data.unverified_signups_close(timezone.now() - timedelta(days=1))
    return written, [
        row(AccountsAction.ACCOUNT_CLOSED_UNVERIFIED, actor=None, target=stale, user=stale)
    ]


@case(
    "consents.services.data_category_save",
    ConsentsAction.DATA_CATEGORY_CREATED,
    ConsentsAction.DATA_CATEGORY_CHANGED,
)
def _data_category_save(officer, user):
    category = DataCategory(code="loyalty_points", name_zh_hans="积分", name_en="Points")
    with Written() as written:
        consents_services.data_category_save(category=category, actor=officer)
        category.name_en = "Loyalty points"
        consents_services.data_category_save(category=category, actor=officer)
    return written, [
        row(ConsentsAction.DATA_CATEGORY_CREATED, actor=officer, target=category),
        row(ConsentsAction.DATA_CATEGORY_CHANGED, actor=officer, target=category),
    ]


@case(
    "consents.services.purpose_save", ConsentsAction.PURPOSE_CREATED, ConsentsAction.PURPOSE_CHANGED
)
def _purpose_save(officer, user):
    with Written() as written:
        purpose = PurposeFactory(actor=officer)
        purpose.is_active = False
        consents_services.purpose_save(purpose=purpose, actor=officer)
    return written, [
        row(ConsentsAction.PURPOSE_CREATED, actor=officer, target=purpose),
        row(ConsentsAction.PURPOSE_CHANGED, actor=officer, target=purpose),
    ]


@case(
    "consents.services.policy_version_draft_save",
    ConsentsAction.POLICY_VERSION_DRAFT_CREATED,
    ConsentsAction.POLICY_VERSION_DRAFT_SAVED,
)
def _policy_version_draft_save(officer, user):
    with Written() as written:
        draft = PolicyDraftFactory(actor=officer)
        draft.summary_en = "What we changed, in other words."
        consents_services.policy_version_draft_save(version=draft, actor=officer)
    return written, [
        row(ConsentsAction.POLICY_VERSION_DRAFT_CREATED, actor=officer, target=draft),
        row(ConsentsAction.POLICY_VERSION_DRAFT_SAVED, actor=officer, target=draft),
    ]


@case("consents.services.policy_version_draft_delete", ConsentsAction.POLICY_VERSION_DRAFT_DELETED)
def _policy_version_draft_delete(officer, user):
    draft = PolicyDraftFactory(actor=officer)
    expected = [row(ConsentsAction.POLICY_VERSION_DRAFT_DELETED, actor=officer, target=draft)]
    with Written() as written:
        consents_services.policy_version_draft_delete(version=draft, actor=officer)
    assert not PolicyVersion.objects.filter(pk=expected[0][3]).exists()
    return written, expected


@case("consents.services.policy_version_publish", ConsentsAction.POLICY_VERSION_PUBLISHED)
def _policy_version_publish(officer, user):
    draft = PolicyDraftFactory(actor=officer)
    with Written() as written:
        consents_services.policy_version_publish(version=draft, actor=officer)
    return written, [row(ConsentsAction.POLICY_VERSION_PUBLISHED, actor=officer, target=draft)]


@case("requests.services.legal_hold_set", RequestsAction.LEGAL_HOLD_SET)
def _legal_hold_set(officer, user):
    with Written() as written:
        hold = requests_services.legal_hold_set(user=user, reason="Court order 7", actor=officer)
    return written, [row(RequestsAction.LEGAL_HOLD_SET, actor=officer, target=hold, user=user)]


@case("requests.services.legal_hold_release", RequestsAction.LEGAL_HOLD_RELEASED)
def _legal_hold_release(officer, user):
    hold = requests_services.legal_hold_set(user=user, reason="Court order 7", actor=officer)
    with Written() as written:
        requests_services.legal_hold_release(hold=hold, actor=officer)
    return written, [row(RequestsAction.LEGAL_HOLD_RELEASED, actor=officer, target=hold, user=user)]


@case(
    "requests.register.recipient_save",
    RequestsAction.RECIPIENT_ADDED,
    RequestsAction.RECIPIENT_CHANGED,
)
def _recipient_save(officer, user):
    recipient = Recipient(name="Acme Logistics", contact="privacy@acme.example")
    categories = list(DataCategory.objects.filter(code="phone_number"))
    with Written() as written:
        register.recipient_save(recipient=recipient, actor=officer, categories=categories)
        recipient.contact = "dpo@acme.example"
        register.recipient_save(recipient=recipient, actor=officer)
    changed = AuditEntry.objects.get(action=RequestsAction.RECIPIENT_CHANGED)
    # Only what changed is kept, with its value before and after.
    assert changed.details["changes"] == {
        "contact": {"from": "privacy@acme.example", "to": "dpo@acme.example"}
    }
    return written, [
        row(RequestsAction.RECIPIENT_ADDED, actor=officer, target=recipient),
        row(RequestsAction.RECIPIENT_CHANGED, actor=officer, target=recipient),
    ]


@case("requests.register.recipient_delete", RequestsAction.RECIPIENT_DELETED)
def _recipient_delete(officer, user):
    recipient = RecipientFactory()
    expected = [row(RequestsAction.RECIPIENT_DELETED, actor=officer, target=recipient)]
    with Written() as written:
        register.recipient_delete(recipient=recipient, actor=officer)
    assert not Recipient.objects.filter(name=recipient.name).exists()
    return written, expected


@case("requests.register.recipient_secret_set", RequestsAction.RECIPIENT_SECRET_SET)
def _recipient_secret_set(officer, user):
    recipient = RecipientFactory()
    with Written() as written:
        register.recipient_secret_set(recipient=recipient, actor=officer)
    return written, [row(RequestsAction.RECIPIENT_SECRET_SET, actor=officer, target=recipient)]


@case("requests.disclosures.disclosure_record", RequestsAction.DISCLOSURE_RECORDED)
def _disclosure_record(officer, user):
    recipient = RecipientFactory()
    with Written() as written:
        disclosure = disclosures.disclosure_record(
            user=user,
            recipient=recipient,
            categories=list(DataCategory.objects.filter(code="browsing_records")),
            subject_identifier="C-7",
            basis=Disclosure.Basis.LEGAL_EXCEPTION,
            legal_exception=Disclosure.LegalException.LEGAL_OBLIGATION,
            legal_note="Required by law.",
            actor=officer,
        )
    return written, [
        row(RequestsAction.DISCLOSURE_RECORDED, actor=officer, target=disclosure, user=user)
    ]


def _notice_case(officer, status, action, act):
    """A staff action on a deletion notice in ``status``; its row names the requester."""
    notice = NoticeFactory(staff=officer)
    DeletionNotice.objects.filter(pk=notice.pk).update(status=status)
    notice.refresh_from_db()
    with Written() as written:
        act(notice)
    return written, [row(action, actor=officer, target=notice, user=notice.request.user)]


@case("requests.propagation.notice_retry", RequestsAction.DELETION_NOTICE_RETRIED)
def _notice_retry(officer, user):
    return _notice_case(
        officer,
        DeletionNotice.Status.FAILED,
        RequestsAction.DELETION_NOTICE_RETRIED,
        lambda notice: propagation.notice_retry(notice=notice, actor=officer),
    )


@case("requests.propagation.notice_mark_sent", RequestsAction.DELETION_NOTICE_SENT_BY_HAND)
def _notice_mark_sent(officer, user):
    return _notice_case(
        officer,
        DeletionNotice.Status.MANUAL,
        RequestsAction.DELETION_NOTICE_SENT_BY_HAND,
        lambda notice: propagation.notice_mark_sent(
            notice=notice, actor=officer, note="Posted a letter."
        ),
    )


@case("requests.propagation.notice_close", RequestsAction.DELETION_NOTICE_CLOSED)
def _notice_close(officer, user):
    return _notice_case(
        officer,
        DeletionNotice.Status.FAILED,
        RequestsAction.DELETION_NOTICE_CLOSED,
        lambda notice: propagation.notice_close(
            notice=notice, actor=officer, reason="The recipient closed."
        ),
    )


@case("requests.tombstones.replay", RequestsAction.DELETION_REPLAYED)
def _replay(officer, user):
    # A restore brought back a record the deletion had erased.
    BrowsingRecord.objects.create(user=user, kind=BrowsingRecord.Kind.SEARCH, text="tents")
    tombstone = tombstones.Tombstone(
        user_id=user.pk,
        request_reference="0b0c9a52-4f0e-4a55-9d4c-5d2b8f6f1a10",
        whole_account=False,
        kinds=("browsing_records",),
        erased_at=timezone.now().isoformat(),
    )
    with Written() as written:
        tombstones.replay(tombstone)
        # Nothing is left to erase: the second replay records nothing.
        tombstones.replay(tombstone)
    return written, [row(RequestsAction.DELETION_REPLAYED, actor=None, target=user, user=user)]


@case("requests.personal_data.access_copies_expire", RequestsAction.ACCESS_COPY_EXPIRED)
def _access_copies_expire(officer, user, media_root):
    copy = AccessFactory(user=user).access_copy
    copy.file.save("copy.zip", ContentFile(b"PK\x05\x06" + b"\0" * 18), save=False)
    copy.status = AccessCopy.Status.READY
    copy.expires_at = timezone.now() - timedelta(minutes=1)
    copy.save()
    with Written() as written:
        requests_data.access_copies_expire(timezone.now())
    return written, [row(RequestsAction.ACCESS_COPY_EXPIRED, actor=None, target=copy, user=user)]


@case("api.services.service_token_create", ApiAction.SERVICE_TOKEN_CREATED)
def _service_token_create(officer, user):
    with Written() as written:
        token, _ = api_services.service_token_create(
            service="shop", scopes=[Scope.values[0]], actor=officer
        )
    return written, [row(ApiAction.SERVICE_TOKEN_CREATED, actor=officer, target=token)]


@case("api.services.service_token_revoke", ApiAction.SERVICE_TOKEN_REVOKED)
def _service_token_revoke(officer, user):
    token, _ = api_services.service_token_create(
        service="shop", scopes=[Scope.values[0]], actor=officer
    )
    with Written() as written:
        api_services.service_token_revoke(token=token, actor=officer)
    return written, [row(ApiAction.SERVICE_TOKEN_REVOKED, actor=officer, target=token)]


@case("privacyportal.services.second_factor_reset", KernelAction.MFA_RESET)
def _second_factor_reset(officer, user):
    with Written() as written:
        kernel_services.second_factor_reset(user=user, actor=officer)
    return written, [row(KernelAction.MFA_RESET, actor=officer, target=user, user=user)]


# --- the walk ------------------------------------------------------------------------------


@pytest.mark.parametrize("function", sorted(CASES))
def test_each_service_writes_its_audit_row(function, request):
    actions, body = CASES[function]
    fixtures = {name: request.getfixturevalue(name) for name in inspect.signature(body).parameters}
    written, expected = body(**fixtures)
    assert written.rows == expected
    assert {row[0] for row in expected} == set(actions)


def test_every_public_service_function_has_a_case_or_an_exemption():
    found = public_service_functions()
    assert not set(CASES) & set(EXEMPT), "a function is both a case and exempt"
    missing = found - set(CASES) - set(EXEMPT)
    assert not missing, f"Give these a case here, or an exemption with the reason: {missing}"
    gone = (set(CASES) | set(EXEMPT)) - found
    assert not gone, f"These are no public service functions (any more): {gone}"
    assert all(reason.strip() for reason in EXEMPT.values())


def test_every_apps_service_module_is_walked():
    # The project's apps sit at the top of the checkout (the venv's do not).
    project = [
        config.name
        for config in apps.get_app_configs()
        if Path(config.path).parent == Path(settings.BASE_DIR)
    ]
    with_services = {
        f"{name}.services" for name in project if importlib.util.find_spec(f"{name}.services")
    }
    assert with_services
    assert with_services <= set(SERVICE_MODULES)


def test_every_action_on_the_list_is_written_by_a_case():
    written = {action for actions, _ in CASES.values() for action in actions}
    assert written == audit_actions.codes()


def test_an_action_not_on_the_list_is_refused_and_nothing_is_written(officer):
    with pytest.raises(ValueError, match="not an audit action"):
        audit_record(actor=officer, action="user.renamed", target=officer, user=officer)
    assert not AuditEntry.objects.exists()


def test_each_app_names_its_own_actions_and_a_code_cannot_be_taken_twice():
    class Clash(models.TextChoices):
        USER_CHANGED = "user.changed", "Someone else's account change"

    assert audit_actions.label("user.changed") == AccountsAction.USER_CHANGED.label
    with pytest.raises(ImproperlyConfigured):
        audit_actions.register(Clash)


# --- the desk's paths to the newer rows, and the audit log on the desk ------------------------


@pytest.fixture
def desk(client, officer):
    client.force_login(officer)
    client.cookies["django_language"] = "en"
    return client


def test_a_user_added_on_the_desk_is_an_end_user_with_its_audit_row(desk, officer):
    response = desk.post(
        reverse("admin:accounts_user_add"), {"phone": "139 0013 9222", "usable_password": "false"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    added = User.objects.get(phone="+8613900139222")
    assert not added.is_staff and not added.has_usable_password()
    entry = AuditEntry.objects.get(action=AccountsAction.USER_CREATED)
    assert (entry.actor, entry.user, entry.target_id) == (officer, added, str(added.pk))
    assert entry.details == {"password": False}
    assert added.security_events.filter(kind="signed_up", detail="staff").exists()


def test_data_categories_added_and_renamed_on_the_desk_are_audited(desk, officer):
    response = desk.post(
        reverse("admin:consents_datacategory_add"),
        {"code": "loyalty_points", "name_zh_hans": "积分", "name_en": "Points"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    category = DataCategory.objects.get(code="loyalty_points")
    created = AuditEntry.objects.get(action=ConsentsAction.DATA_CATEGORY_CREATED)
    assert created.actor == officer and created.target_id == str(category.pk)
    assert created.details["names"]["name_en"] == {"from": None, "to": "Points"}

    response = desk.post(
        reverse("admin:consents_datacategory_change", args=[category.pk]),
        {"name_zh_hans": "积分", "name_en": "Loyalty points"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    changed = AuditEntry.objects.get(action=ConsentsAction.DATA_CATEGORY_CHANGED)
    # Only the name that changed, as it was and became.
    assert changed.details == {
        "code": "loyalty_points",
        "names": {"name_en": {"from": "Points", "to": "Loyalty points"}},
    }


def test_a_draft_deleted_on_the_desk_is_audited(desk, officer):
    draft = PolicyDraftFactory(actor=officer)
    response = desk.post(
        reverse("admin:consents_policyversion_delete", args=[draft.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not PolicyVersion.objects.filter(pk=draft.pk).exists()
    entry = AuditEntry.objects.get(action=ConsentsAction.POLICY_VERSION_DRAFT_DELETED)
    assert entry.actor == officer and entry.target_id == str(draft.pk)


def test_the_audit_log_shows_labels_filters_by_action_and_finds_the_user_by_number(desk, officer):
    concerned = UserFactory(phone="+8613800138123")
    requests_services.legal_hold_set(user=concerned, reason="Court order 7", actor=officer)
    api_services.service_token_create(service="shop", scopes=[Scope.values[0]], actor=officer)
    url = reverse("admin:privacyportal_auditentry_changelist")

    page = desk.get(url).content.decode()
    assert "Legal hold set (legal_hold.set)" in page
    # The filter lists every action on the list, by its label.
    assert "?action=deletion.replayed" in page and "Deletion replayed after a restore" in page

    filtered = desk.get(url, {"action": "legal_hold.set"})
    assert list(filtered.context["cl"].result_list.values_list("action", flat=True)) == [
        "legal_hold.set"
    ]
    found = desk.get(url, {"q": "138 0013 8123"})
    assert [entry.user for entry in found.context["cl"].result_list] == [concerned]
