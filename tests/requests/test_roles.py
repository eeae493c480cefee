"""The staff roles (groups from requests/migrations/0002_staff_roles.py) against the desk.

A permission matrix: for each role and each thing staff do in the admin, either it
happens, or it is refused (403, or the action is not offered) and nothing changes.
"""

import importlib

import pytest
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.urls import reverse

from accounts.models import BrowsingRecord, User
from accounts.services import activity_record
from consents.models import Purpose
from consents.services import consent_grant
from requests import services
from requests.models import DeletionTombstone, LegalHold, PrivacyRequest
from tests.accounts.factories import UserFactory
from tests.requests.factories import CorrectionFactory, DeletionFactory, QuestionFactory

pytestmark = pytest.mark.django_db

Kind = PrivacyRequest.Kind
Status = PrivacyRequest.Status
roles_migration = importlib.import_module("requests.migrations.0002_staff_roles")
# Models added after 0002 get into the roles through migrations of their own, run in order.
LATER_ROLE_MIGRATIONS = [
    (
        "requests",
        "0008_roles_for_recipients",
        importlib.import_module("requests.migrations.0008_roles_for_recipients").grant,
    ),
    (
        "requests",
        "0012_roles_for_policy_sms_notices",
        importlib.import_module("requests.migrations.0012_roles_for_policy_sms_notices").grant,
    ),
    (
        "requests",
        "0014_roles_for_notice_callbacks",
        importlib.import_module("requests.migrations.0014_roles_for_notice_callbacks").grant,
    ),
    (
        "api",
        "0002_roles_for_service_tokens",
        importlib.import_module("api.migrations.0002_roles_for_service_tokens").grant,
    ),
]
OFFICER, AGENT, AUDITOR = (
    roles_migration.OFFICER,
    roles_migration.AGENT,
    roles_migration.AUDITOR,
)
NO_ROLE = "staff without a role"
CHANGELIST = "admin:requests_privacyrequest_changelist"


def ensure_roles():
    """The groups as the migration made them. A transactional test flushes the tables
    (post_migrate brings permissions back, not groups), so when they are gone re-run the
    migration's own function on the migration's own model state."""
    if Group.objects.filter(name__in=[OFFICER, AGENT, AUDITOR]).count() != 3:
        loader = MigrationLoader(connection)
        state = loader.project_state(("requests", "0002_staff_roles"))
        with connection.schema_editor() as schema_editor:
            roles_migration.create_roles(state.apps, schema_editor)
            for app_label, name, grant in LATER_ROLE_MIGRATIONS:
                grant(loader.project_state((app_label, name)).apps, schema_editor)
    return {group.name: group for group in Group.objects.all()}


@pytest.fixture(autouse=True)
def roles():
    return ensure_roles()


@pytest.fixture
def boss():
    """Prepares requests where the state machine needs earlier steps."""
    return UserFactory(is_staff=True, is_superuser=True)


def staff_in(role, roles):
    user = UserFactory(is_staff=True)
    if role != NO_ROLE:
        user.groups.add(roles[role])
    return User.objects.get(pk=user.pk)  # no cached permissions


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def post_action(client, action, objects, url=CHANGELIST, **data):
    return client.post(
        reverse(url), {"action": action, "_selected_action": [o.pk for o in objects], **data}
    )


# Each check does one thing through the admin and says whether it happened (from the database).


def changelist(client, staff, boss):
    response = client.get(reverse(CHANGELIST))
    return response.status_code == 200, response


def change_page(client, staff, boss):
    privacy_request = QuestionFactory()
    response = client.get(
        reverse("admin:requests_privacyrequest_change", args=[privacy_request.pk])
    )
    return response.status_code == 200, response


def assign_to_me(client, staff, boss):
    privacy_request = QuestionFactory()
    response = post_action(client, "assign_to_me", [privacy_request], index="0")
    privacy_request.refresh_from_db()
    return privacy_request.assignee_id == staff.pk, response


def start(client, staff, boss):
    privacy_request = QuestionFactory()
    response = post_action(client, "start_requests", [privacy_request], index="0")
    privacy_request.refresh_from_db()
    return privacy_request.status == Status.IN_PROGRESS, response


def extend(client, staff, boss):
    privacy_request = QuestionFactory()
    response = post_action(
        client, "extend_requests", [privacy_request], post="yes", reason="Archive"
    )
    privacy_request.refresh_from_db()
    return privacy_request.extended_to is not None, response


def reject(client, staff, boss):
    privacy_request = QuestionFactory()
    response = post_action(
        client, "reject_requests", [privacy_request], post="yes", reason="no_ground"
    )
    privacy_request.refresh_from_db()
    return privacy_request.status == Status.REJECTED, response


def complete(client, staff, boss):
    privacy_request = QuestionFactory(started_by=boss)
    response = post_action(
        client, "complete_requests", [privacy_request], post="yes", answer="Because."
    )
    privacy_request.refresh_from_db()
    return privacy_request.status == Status.COMPLETED, response


def approve_deletion(client, staff, boss):
    user = UserFactory()
    consent_grant(user=user, purpose=Purpose.objects.get(code="personalisation"))
    activity_record(user=user, kind=BrowsingRecord.Kind.SEARCH, text="forget me")
    privacy_request = DeletionFactory(user=user, started_by=boss)
    response = post_action(client, "approve_deletions", [privacy_request], post="yes")
    erased = not BrowsingRecord.objects.filter(user=user).exists()
    assert erased == DeletionTombstone.objects.filter(request=privacy_request).exists()
    return erased, response


def apply_correction(client, staff, boss):
    user = UserFactory(nickname="Old")
    privacy_request = CorrectionFactory(user=user, correction_value="New", started_by=boss)
    response = post_action(client, "apply_corrections", [privacy_request], post="yes")
    user.refresh_from_db()
    return user.nickname == "New", response


def set_legal_hold(client, staff, boss):
    user = UserFactory()
    response = client.post(
        reverse("admin:requests_legalhold_add"), {"user": user.pk, "reason": "Court order"}
    )
    return LegalHold.objects.filter(user=user).exists(), response


def release_legal_hold(client, staff, boss):
    hold = services.legal_hold_set(user=UserFactory(), reason="Court order", actor=boss)
    response = post_action(
        client, "release_holds", [hold], url="admin:requests_legalhold_changelist", index="0"
    )
    hold.refresh_from_db()
    return hold.released_at is not None, response


def add_user(client, staff, boss):
    response = client.post(
        reverse("admin:accounts_user_add"), {"phone": "139 0013 9000", "usable_password": "false"}
    )
    return User.objects.filter(phone="+8613900139000").exists(), response


def change_user(client, staff, boss):
    target = UserFactory(nickname="Before")
    response = client.post(
        reverse("admin:accounts_user_change", args=[target.pk]),
        {
            "phone": str(target.phone),
            "phone_verified": "on",
            "nickname": "After",
            "is_active": "on",
            "groups": [],
            "user_permissions": [],
        },
    )
    target.refresh_from_db()
    return target.nickname == "After", response


def change_group(client, staff, boss):
    group = Group.objects.create(name="Scratch")
    response = client.post(
        reverse("admin:auth_group_change", args=[group.pk]), {"name": "Renamed", "permissions": []}
    )
    group.refresh_from_db()
    return group.name == "Renamed", response


CHECKS = [
    changelist,
    change_page,
    assign_to_me,
    start,
    extend,
    reject,
    complete,
    approve_deletion,
    apply_correction,
    set_legal_hold,
    release_legal_hold,
    add_user,
    change_user,
    change_group,
]
# The admin action each check posts, where it posts one.
ACTION_NAMES = {
    assign_to_me: "assign_to_me",
    start: "start_requests",
    extend: "extend_requests",
    reject: "reject_requests",
    complete: "complete_requests",
    approve_deletion: "approve_deletions",
    apply_correction: "apply_corrections",
    release_legal_hold: "release_holds",
}
DESK = {changelist, change_page}
WORK = {assign_to_me, start, extend, reject, complete, approve_deletion, apply_correction}
ALLOWED = {
    # Roles are read-only for everyone but a superuser (tests/security/test_roles_read_only.py).
    OFFICER: set(CHECKS) - {change_group},
    AGENT: DESK | WORK,
    AUDITOR: DESK,
    NO_ROLE: set(),
}


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("role", list(ALLOWED))
def test_permission_matrix(client, roles, boss, role, check):
    staff = staff_in(role, roles)
    client.force_login(staff)
    client.cookies["django_language"] = "en"

    happened, response = check(client, staff, boss)

    if check in ALLOWED[role]:
        assert happened, (response.status_code, messages_of(response))
        assert response.status_code in (200, 302)
        return
    assert not happened
    if response.status_code != 403:
        # Actions the role lacks are not offered: the changelist ignores the post
        # ("No action selected." when the role has other actions) and shows the list.
        assert response.status_code == 200, response.status_code
        assert response.context["cl"] is not None
        assert ACTION_NAMES.get(check) not in offered_actions(response)
        assert set(messages_of(response)) <= {"No action selected."}


def offered_actions(response):
    action_form = response.context["action_form"]
    if action_form is None:
        return set()
    return {name for name, _label in action_form.fields["action"].choices if name}


@pytest.mark.parametrize(
    ("role", "offered"),
    [
        (
            OFFICER,
            {
                "assign_to_me",
                "start_requests",
                "extend_requests",
                "reject_requests",
                "complete_requests",
                "approve_deletions",
                "apply_corrections",
            },
        ),
        (
            AGENT,
            {
                "assign_to_me",
                "start_requests",
                "extend_requests",
                "reject_requests",
                "complete_requests",
                "approve_deletions",
                "apply_corrections",
            },
        ),
        (AUDITOR, set()),
    ],
)
def test_each_role_is_offered_only_its_actions(client, roles, boss, role, offered):
    staff = staff_in(role, roles)
    client.force_login(staff)
    QuestionFactory()
    response = client.get(reverse(CHANGELIST))
    assert offered_actions(response) == offered

    hold = services.legal_hold_set(user=UserFactory(), reason="Court order", actor=boss)
    page = client.get(reverse("admin:requests_legalhold_change", args=[hold.pk])).content.decode()
    assert ('value="release_holds"' in page) is (role == OFFICER)


def test_the_roles_match_the_documented_matrix(roles):
    def codes(name):
        return {
            f"{p.content_type.app_label}.{p.codename}"
            for p in roles[name].permissions.select_related("content_type")
        }

    officer, agent, auditor = codes(OFFICER), codes(AGENT), codes(AUDITOR)
    assert {
        "requests.work_privacyrequest",
        "requests.approve_deletion",
        "requests.apply_correction",
        "requests.add_legalhold",
        "requests.change_legalhold",
        "accounts.add_user",
        "accounts.change_user",
        "privacyportal.view_auditentry",
        "auth.add_group",
        "auth.change_group",
        "auth.delete_group",
        "auth.view_group",
        # api/migrations/0002_roles_for_service_tokens
        "api.add_servicetoken",
        "api.change_servicetoken",
        "api.view_servicetoken",
    } <= officer
    assert "auth.add_permission" not in officer
    assert "api.delete_servicetoken" not in officer
    assert agent == {
        "requests.view_privacyrequest",
        "requests.work_privacyrequest",
        "requests.approve_deletion",
        "requests.apply_correction",
        "requests.view_requestevent",
        "requests.view_accesscopy",
        "requests.view_deletiontombstone",
        "requests.view_legalhold",
        "accounts.view_user",
        "accounts.view_securityevent",
        "consents.view_consentevent",
        "consents.view_consentstate",
        "consents.view_policyacceptance",
        "consents.view_purpose",
        "consents.view_datacategory",
        "consents.view_policyversion",
        # 0008_roles_for_recipients
        "requests.view_recipient",
        "requests.view_disclosure",
        "requests.add_disclosure",
        "requests.view_deletionnotice",
        "requests.change_deletionnotice",
        "requests.view_noticeattempt",
    }
    assert auditor and all(code.split(".")[1].startswith("view_") for code in auditor)
    assert {
        "requests.view_privacyrequest",
        "privacyportal.view_auditentry",
        "accounts.view_browsingrecord",
        "auth.view_group",
        "api.view_servicetoken",
    } <= auditor
    # Every view permission of the four apps goes to the auditor and to the officer.
    assert {c for c in officer if c.split(".")[1].startswith("view_")} == auditor


def test_the_roles_come_back_from_the_migration_after_a_flush(roles):
    before = {name: set(group.permissions.all()) for name, group in roles.items()}
    Group.objects.all().delete()
    again = ensure_roles()
    assert {name: set(group.permissions.all()) for name, group in again.items()} == before
